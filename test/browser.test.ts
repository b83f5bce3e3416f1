// The browser path, for real: the same compile()/run() bundled for a page, served from
// 127.0.0.1 and run in headless Chromium on navigator.gpu (SwiftShader's WebGPU) and on
// WebGL2 through gpu.js, each compared with the reference executor in the page.

import test from 'ava';
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
let server: Server;
let browser: Browser;
let page: Page;

test.before(async () => {
  const bundle = await build({
    entryPoints: ['test/browser/entry.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    // Node-only modules sit behind dynamic imports that a page never takes.
    external: ['webgpu', 'gl', 'node:*'],
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/attnc.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/attnc.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-angle=swiftshader'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => 'attnc' in globalThis);
});

test.after.always(async () => {
  await browser?.close();
  server?.close();
});

const PROGRAMS: [string, Record<string, number>][] = [
  [readFileSync('samples/streaming.attn', 'utf8'), { B: 1, H: 4, N: 77, D: 32 }],
  [readFileSync('samples/gqa.attn', 'utf8'), { B: 2, H: 4, Hk: 2, N: 50, D: 16 }],
  [readFileSync('samples/reversed.attn', 'utf8'), { B: 1, H: 2, N: 45, D: 16 }],
  [readFileSync('samples/agent.attn', 'utf8'), { B: 1, H: 2, N: 64, D: 16 }],
];

test('the page has a WebGPU adapter', async (t) => {
  const info = await page.evaluate(() => (globalThis as any).attnc.adapterInfo());
  t.truthy(info, 'navigator.gpu gave no adapter');
});

for (const backend of ['webgpu', 'webgl'] as const) {
  test(`${backend} in the browser matches the reference`, async (t) => {
    for (const [source, dims] of PROGRAMS) {
      const name = /attention (\w+)/.exec(source)![1];
      const r = await page.evaluate(([s, d, b]) => (globalThis as any).attnc.check(s, d, b), [source, dims, backend] as const);
      t.falsy(r.error, `${name}: ${r.error}`);
      t.is(r.backend, backend, name);
      t.true(r.worst <= 1, `${name}: worst error ${r.worst.toFixed(3)}× the tolerance`);
    }
  });
}
