// The browser path, for real. The main entry (index.ts) is bundled for the browser by
// esbuild with NO externals, stubs or plugins — a Node-only import reached from it (a
// `node:` module, Dawn, headless-gl) fails the bundle and every test here — served from
// 127.0.0.1 and run in headless Chromium: compile()/run() on navigator.gpu (SwiftShader's
// WebGPU) and on WebGL2 through gpu.js, and prepare().encode() on a device of the page's,
// each compared with the reference executor in the page. The prebuilt
// dist/attnc.browser.js (scripts/build-browser.mjs, as `npm run build` makes it) is loaded
// by the README's five-line page, and imported and run by the page too.

import test from 'ava';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** How a page's bundler would build it: for the browser, everything bundled. */
const BROWSER_BUILD: BuildOptions = { bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' };

let server: Server;
let browser: Browser;
let page: Page;
let origin: string;
let metafile: Metafile;
let prebuiltBytes = 0;

/** The README's page: the ```html block after "## In a web page", importing the prebuilt bundle. */
function readmePage(): string {
  const readme = readFileSync('README.md', 'utf8');
  const block = /## In a web page[\s\S]*?```html\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```html block under "## In a web page"');
  return block[1]!;
}

test.before(async () => {
  const bundle = await build({ ...BROWSER_BUILD, entryPoints: ['test/browser/entry.ts'], metafile: true });
  metafile = bundle.metafile!;
  const js = bundle.outputFiles![0]!.text;
  // The prebuilt bundle exactly as the package ships it (rebuilt: the sources may have changed).
  execFileSync(process.execPath, ['scripts/build-browser.mjs'], { stdio: 'pipe' });
  const prebuilt = readFileSync('dist/attnc.browser.js');
  prebuiltBytes = prebuilt.length;
  const pages: Record<string, [string, string | Buffer]> = {
    '/attnc.js': ['text/javascript', js],
    '/attnc.browser.js': ['text/javascript', prebuilt],
    '/readme.html': ['text/html', `<!doctype html><body>${readmePage()}</body>`],
    '/': ['text/html', '<!doctype html><script type="module" src="/attnc.js"></script>'],
  };
  server = createServer((req, res) => {
    const [type, body] = pages[req.url ?? '/'] ?? ['text/plain', 'not found'];
    res.writeHead(pages[req.url ?? '/'] ? 200 : 404, { 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-angle=swiftshader'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => 'attnc' in globalThis);
});

test.after.always(async () => {
  await browser?.close();
  server?.close();
});

test('the bundle holds nothing Node-only, and a node: import would fail it', async (t) => {
  const inputs = Object.keys(metafile.inputs);
  t.deepEqual(inputs.filter((i) => i.startsWith('node:') || /node_modules\/(webgpu|gl)\//.test(i) || /runtime\/node\//.test(i)), []);
  t.true(inputs.some((i) => i.endsWith('gpu.js/dist/gpu-browser.js')), 'gpu.js comes from its browser build');
  // The same build options refuse a Node built-in: the check above is not vacuous.
  await t.throwsAsync(build({ ...BROWSER_BUILD, stdin: { contents: "import { readFileSync } from 'node:fs'; readFileSync('x');" } }), {
    message: /Could not resolve "node:fs"/,
  });
});

test('the page has a WebGPU adapter', async (t) => {
  const info = await page.evaluate(() => (globalThis as any).attnc.adapterInfo());
  t.truthy(info, 'navigator.gpu gave no adapter');
});

const PROGRAMS: [string, Record<string, number>][] = [
  [readFileSync('samples/streaming.attn', 'utf8'), { B: 1, H: 4, N: 77, D: 32 }],
  [readFileSync('samples/gqa.attn', 'utf8'), { B: 2, H: 4, Hk: 2, N: 50, D: 16 }],
  [readFileSync('samples/reversed.attn', 'utf8'), { B: 1, H: 2, N: 45, D: 16 }],
  [readFileSync('samples/agent.attn', 'utf8'), { B: 1, H: 2, N: 64, D: 16 }],
];
const nameOf = (source: string) => /attention (\w+)/.exec(source)![1];

for (const backend of ['webgpu', 'webgl'] as const) {
  test(`${backend} in the browser matches the reference`, async (t) => {
    for (const [source, dims] of PROGRAMS) {
      const r = await page.evaluate(([s, d, b]) => (globalThis as any).attnc.check(s, d, b), [source, dims, backend] as const);
      t.falsy(r.error, `${nameOf(source)}: ${r.error}`);
      t.is(r.backend, backend, nameOf(source));
      t.true(r.worst <= 1, `${nameOf(source)}: worst error ${r.worst.toFixed(3)}× the tolerance`);
    }
  });
}

test('prepare().encode() on the page\'s own device and buffers matches the reference', async (t) => {
  for (const [source, dims] of [PROGRAMS[0]!, PROGRAMS[2]!, PROGRAMS[3]!]) {
    const r = await page.evaluate(([s, d]) => (globalThis as any).attnc.encodeCheck(s, d), [source, dims] as const);
    t.falsy(r.error, `${nameOf(source)}: ${r.error}`);
    t.true(r.worst <= 1, `${nameOf(source)} (${r.kernels}): worst error ${r.worst.toFixed(3)}× the tolerance`);
  }
});

/**
 * In the page: import the prebuilt bundle, run `source` on WebGPU and WebGL and the
 * reference; the worst error of each backend in units of the tolerance. Plain JS text, not
 * a function of this file: the TypeScript loader would add helpers the page lacks.
 */
const PREBUILT_CHECK = `async ([source, d]) => {
  const attnc = await import(location.origin + '/attnc.browser.js');
  const program = attnc.compile(source);
  const n = d.B * d.H * d.N * d.D;
  const x = (seed) => attnc.tensor([d.B, d.H, d.N, d.D], Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.1 + seed)));
  const inputs = { q: x(1), k: x(2), v: x(3) };
  const want = (await attnc.run(program, inputs, { backend: 'reference' })).output.data;
  const out = {};
  for (const backend of ['webgpu', 'webgl']) {
    const got = await attnc.run(program, inputs, { backend });
    let w = 0;
    for (let k = 0; k < want.length; k++) w = Math.max(w, Math.abs(got.output.data[k] - want[k]) / (1e-4 + 1e-4 * Math.abs(want[k])));
    out[got.backend] = w;
  }
  return out;
}`;

test('the prebuilt dist/attnc.browser.js: the README page runs it, and imported it matches the reference', async (t) => {
  t.log(`dist/attnc.browser.js: ${prebuiltBytes} bytes`);
  const readme = await browser.newPage();
  try {
    await readme.goto(`${origin}/readme.html`);
    // (page functions run in the page: `document` there, not in this file's Node types)
    await readme.waitForFunction(() => /^\w+: /.test((globalThis as any).document.body.textContent ?? ''), undefined, { timeout: 120_000 });
    t.regex(await readme.evaluate(() => (globalThis as any).document.body.textContent as string), /^webgpu: \[1,4,128,32\] (-?\d[\d.e-]* ){3}-?\d/);
  } finally {
    await readme.close();
  }
  const [source, dims] = PROGRAMS[0]!;
  const r = await page.evaluate(`(${PREBUILT_CHECK})(${JSON.stringify([source, dims])})`) as Record<string, number>;
  t.deepEqual(Object.keys(r).sort(), ['webgl', 'webgpu']);
  for (const [backend, w] of Object.entries(r)) t.true(w <= 1, `${backend}: worst error ${w.toFixed(3)}× the tolerance`);
});
