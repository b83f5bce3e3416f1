// The WebGL target on a browser's WebGL 2: every sample at small shapes, run in headless
// Chromium (WebGL 2 on SwiftShader: `texelFetch`, GLSL ES 3.00) through the WebGL runtime
// bundled for the browser, against the float64 reference computed here on the same
// seeded inputs — under the schedule's strategy and the other one, and with rows folded
// (a small texture side). headless-gl in Node is WebGL 1 (test/webgl-*.test.ts).

import test from 'ava';
import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { close } from './helpers/tolerance.js';
import { smallCase } from './helpers/samples.js';
import { compile } from '../compiler/compile.js';
import { planWebGL, type WebGLOptions } from '../runtime/webgl/index.js';

const samples = readdirSync('samples').filter((f) => f.endsWith('.attn')).sort();
let server: Server;
let browser: Browser;
let page: Page;

test.before(async () => {
  const bundle = await build({ bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', entryPoints: ['test/webgl-browser.page.ts'] });
  const js = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-angle=swiftshader'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => 'attnc' in globalThis);
});

test.after.always(async () => {
  await browser?.close();
  server?.close();
});

const SEED = 5;

for (const file of samples) {
  test.serial(`${file} on the page's WebGL 2 matches the reference, under both strategies`, async (t) => {
    const source = readFileSync(`samples/${file}`, 'utf8');
    const graph = compile(source).graph!;
    const { dims, want } = smallCase(graph, SEED, 40);
    const auto = planWebGL(graph, dims).strategies;
    const other = Object.values(auto).some((s) => s === 'scores') ? 'fused' : 'scores';
    for (const options of [{}, { strategy: other }] as WebGLOptions[]) {
      const r = await page.evaluate(([s, d, seed, o]) => (globalThis as any).attnc.runWebGL(s, d, seed, o), [source, dims, SEED, options] as const);
      t.falsy(r.error, `${file} ${JSON.stringify(options)}: ${r.error}`);
      t.is(r.version, 2, 'WebGL 2');
      close(t, { data: Float32Array.from(r.data), shape: r.shape }, want);
    }
  });
}

test.serial('rows folded side by side (a 64-texel texture side): both strategies and normalisations on WebGL 2', async (t) => {
  for (const normalize of ['keys', 'queries']) {
    const source = `attention f {
      input q, k, v: f32[B, H, N, D]
      dims B = 2, H = 2, N = 45, D = 6
      return attend(q, k, v, mask: sliding(7) || sink(2), normalize: ${normalize})
    }`;
    const graph = compile(source).graph!;
    const { dims, want } = smallCase(graph, SEED, 45);
    for (const strategy of ['scores', 'fused'] as const) {
      const options: WebGLOptions = { strategy, maxTextureSize: 64 };
      t.true(Object.values(planWebGL(graph, dims, options).layouts).some((l) => l.fold > 1), 'some texture folds');
      const r = await page.evaluate(([s, d, seed, o]) => (globalThis as any).attnc.runWebGL(s, d, seed, o), [source, dims, SEED, options] as const);
      t.falsy(r.error, r.error);
      close(t, { data: Float32Array.from(r.data), shape: r.shape }, want);
    }
  }
});
