// In headless Chromium: every sample through attnc/tfjs (tfjs-core + tfjs-backend-webgpu on
// the page's navigator.gpu, bundled for the browser) and through its emitted standalone
// module (`attnc compile --emit module`, imported by the page as served), each compared in
// Node with the reference on the same inputs.
import test from 'ava';
import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { emitModule } from '../cli/module.js';
import { compile } from '../compiler/compile.js';
import { smallCase } from './helpers/samples.js';
import { compare } from './helpers/webgpu-check.js';

const samples = readdirSync('samples').filter((f) => f.endsWith('.attn')).sort();
let server: Server;
let browser: Browser;
let page: Page;

test.before(async () => {
  const bundle = await build({ bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', entryPoints: ['test/browser/tfjs-entry.ts'] });
  const files: Record<string, string> = {
    '/entry.js': bundle.outputFiles![0]!.text,
    '/': '<!doctype html><script type="module" src="/entry.js"></script>',
  };
  for (const f of samples) {
    const r = compile(readFileSync(`samples/${f}`, 'utf8'));
    files[`/mod/${r.graph!.name}.js`] = emitModule(r).js;
  }
  server = createServer((req, res) => {
    const body = files[req.url ?? '/'];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': req.url === '/' ? 'text/html' : 'text/javascript' }).end(body ?? 'not found');
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

for (const file of samples) {
  test.serial(`${file}: attnc/tfjs and the emitted module in Chromium match the reference`, async (t) => {
    const source = readFileSync(`samples/${file}`, 'utf8');
    const graph = compile(source).graph!;
    const { dims, inputs, want } = smallCase(graph, 4, 64);
    const isInt = (n: string) => graph.nodes[graph.inputs.find((id) => graph.nodes[id]!.name === n)!]!.elem === 'i32';
    const plain = Object.fromEntries(Object.entries(inputs).map(([n, x]) => [n, { data: Array.from(x.data), shape: x.shape, int: isInt(n) }]));
    const viaTf = await page.evaluate(([s, i]) => (globalThis as any).attnc.tfjsRun(s, i), [source, plain] as const);
    t.falsy(viaTf.error, viaTf.error);
    t.is(viaTf.backend, 'webgpu');
    t.deepEqual(compare({ data: Float32Array.from(viaTf.data), shape: viaTf.shape }, want).bad, [], `${file} through attnc/tfjs`);
    const viaModule = await page.evaluate(([u, i, d]) => (globalThis as any).attnc.moduleRun(u, i, d), [`/mod/${graph.name}.js`, plain, dims] as const);
    t.falsy(viaModule.error, viaModule.error);
    t.deepEqual(compare({ data: Float32Array.from(viaModule.data), shape: want.shape }, want).bad, [], `${file} through its module`);
  });
}
