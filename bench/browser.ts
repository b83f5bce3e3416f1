// `npm run bench:browser`: the programs of `npm run bench` in one headless Chromium page,
// attnc against TensorFlow.js (tfjs-core + tfjs-backend-webgl / -webgpu 4.22, dense
// attention as matMul · softmax · matMul) on the page's WebGL2 and WebGPU. The page
// (bench/browser-page.ts) is bundled from the sources with esbuild and served from
// 127.0.0.1, as test/browser.test.ts does; Chromium is Debian's (/usr/bin/chromium), driven
// by playwright-core, WebGPU and WebGL2 on SwiftShader.
//
//   npm run bench:browser -- [--n 1024,2048] [--programs dense,sliding] [--backends webgl,webgpu]
//                            [--repeat 3] [--e2e]
//
// Prints one table per backend and N and writes bench/results/browser-latest.json. Columns:
// ms (one run on resident inputs, output read back; median), tfjs dense ms (the same, in
// the same rounds), tfjs dense / this (median of per-round ratios), the ideal 1/density,
// the fraction of it reached, effective GFLOP/s (4·N·M·D·H·density / ms), and the max
// |difference| from tfjs (dense) and from the other backend.

import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { compile } from '../compiler/compile.js';
import { attendDensity, benchCase, PROGRAMS } from './browser-programs.js';
import type { BlockResult, BlockSpec, PageBackend } from './browser-page.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sizes = (arg('--n') ?? '1024,2048').split(',').map(Number);
const programs = (arg('--programs') ?? Object.keys(PROGRAMS).join(',')).split(',');
const backends = (arg('--backends') ?? 'webgl,webgpu').split(',') as PageBackend[];
const repeat = Math.max(1, Number(arg('--repeat') ?? 3));
const e2e = argv.includes('--e2e');
for (const p of programs) if (!PROGRAMS[p]) throw new Error(`unknown program ${p}; known: ${Object.keys(PROGRAMS).join(', ')}`);
for (const b of backends) if (b !== 'webgl' && b !== 'webgpu') throw new Error(`unknown backend ${b}; known: webgl, webgpu`);
const log = (s: string) => process.stderr.write(s + '\n');

/** The programs that run at N. */
const programsAt = (N: number) => programs.filter((p) => !PROGRAMS[p]!.only || PROGRAMS[p]!.only!.includes(N));

/** Density and full-density FLOPs of each program at N (the driver's side: not timed). */
function densities(N: number): Record<string, { density: number; flops: number }> {
  const out: Record<string, { density: number; flops: number }> = {};
  for (const name of programsAt(N)) {
    const g = compile(PROGRAMS[name]!.src).graph!;
    const { dims, inputs } = benchCase(name, g, N);
    out[name] = attendDensity(g, dims, inputs);
  }
  return out;
}

const fmt = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

function table(r: BlockResult, dens: Record<string, { density: number; flops: number }>): string {
  const lines = [
    `${r.backend} — ${r.device}, N = ${r.N}: tfjs dense ${fmt(r.tfjsMs, 0)} ms${r.tfjsNote ? ` (${r.tfjsNote})` : ''}`,
    '| program | density | ms | e2e ms | tfjs dense / this | ideal | % of ideal | GFLOP/s | diff vs tfjs | diff vs other backend |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of r.results) {
    const d = dens[p.program]!;
    const ideal = 1 / d.density;
    const gflops = p.ms ? (d.flops * d.density) / (p.ms * 1e6) : null;
    const pct = p.tfjsOverThis && p.program !== 'dense' ? `${fmt((100 * p.tfjsOverThis) / ideal, 0)} %` : '—';
    lines.push(
      `| ${p.program} | ${fmt(d.density, 4)} | ${p.error ? `error: ${p.error}` : fmt(p.ms, 0)} | ${fmt(p.e2eMs, 0)} | ${fmt(p.tfjsOverThis, 2)} | ` +
        `${fmt(ideal, 1)} | ${pct} | ${fmt(gflops, 2)} | ${p.diffTfjs === null ? '—' : p.diffTfjs.toExponential(1)} | ` +
        `${p.diffOtherBackend === null ? '—' : p.diffOtherBackend.toExponential(1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const bundle = await build({
    entryPoints: [join(root, 'bench', 'browser-page.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error',
  });
  const js = bundle.outputFiles[0]!.text;
  const server = createServer((req, res) => {
    if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-angle=swiftshader'],
  });
  const results: (BlockResult & { densities: Record<string, { density: number; flops: number }> })[] = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'bench' in globalThis);
    for (const N of sizes) {
      const dens = densities(N);
      for (const backend of backends) {
        const spec: BlockSpec = { backend, N, programs: programsAt(N), repeat, e2e };
        log(`[${new Date().toISOString().slice(11, 19)}] ${backend} N=${N}: ${spec.programs.join(', ')}`);
        const r = (await page.evaluate((s) => (globalThis as any).bench.block(s), spec)) as BlockResult;
        results.push({ ...r, densities: dens });
        console.log(`\n${table(r, dens)}`);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'browser-latest.json'), JSON.stringify({ date: new Date().toISOString(), repeat, results }, null, 2) + '\n');
  log(`results: ${join(dir, 'browser-latest.json')}`);
}

await main();
