// The playground, end to end: `node playground/serve.mjs --port 0` builds it and serves it
// on 127.0.0.1 (as `npm run playground` does), headless Chromium opens it (SwiftShader's
// WebGPU and WebGL2, as in test/browser.test.ts), and the test uses it as a person would:
// types a program with a misspelt builtin and reads the diagnostic; picks every sample in
// the gallery and reads its block map's counts (compared with tileMap(), what `attnc
// compile --emit tiles` prints); presses Run on WebGPU and on WebGL and reads the backend,
// the time and the max error; reloads a shared link. It also takes the README's screenshot:
// into the temp dir, or into playground/screenshot.png with UPDATE_SCREENSHOT=1.

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { printPlan } from '../cli/plan.js';
import { tileCounts, tileMap } from '../cli/tilemap.js';
import { compile } from '../compiler/compile.js';
import { printGraph } from '../compiler/print.js';
import { resolveDims } from '../runtime/shapes.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = process.env.UPDATE_SCREENSHOT ? 'playground/screenshot.png' : join(tmpdir(), 'attnc-playground.png');

let server: ChildProcess;
let browser: Browser;
let url: string;

test.before(async () => {
  server = spawn(process.execPath, ['playground/serve.mjs', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the playground server printed no URL in 60 s: ${out}${stderr}`)), 60_000);
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /attnc playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    server.on('exit', (code) => reject(new Error(`the playground server exited (${code}): ${out}${stderr}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-angle=swiftshader'],
  });
});

test.after.always(async () => {
  await browser?.close();
  server?.kill();
});

/** A fresh page on `at` (default: the playground), ready once its block map is drawn. */
async function open(at = url): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1280 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(at);
  await page.waitForSelector('#pane-blockmap[data-state=ready]');
  return page;
}

/** Replace the editor's text by typing it, as a person would (one line: no Enter for the completion popup to take). */
async function typeProgram(page: Page, text: string): Promise<void> {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
  await page.keyboard.press('Escape');
}

const editorText = (page: Page) => page.$$eval('.cm-line', (lines) => lines.map((l) => l.textContent).join('\n'));

test('a misspelt builtin: its code, message and hint in the page, underlined in the editor; named arguments complete', async (t) => {
  const page = await open();
  try {
    await typeProgram(page, 'attention typo { input q, k, v: f32[B, H, N, D] dims B = 1, H = 2, N = 64, D = 16 return attend(q, k, v, mask: windw(3)) }');
    const diag = await page.waitForSelector('#diagnostics li.diag[data-code=AT206]');
    t.is(await diag.$eval('.code', (e) => e.textContent), 'error[AT206]');
    t.is(await diag.$eval('.msg', (e) => e.textContent), 'unknown function `windw`');
    t.is(await diag.$eval('.hint', (e) => e.textContent), 'hint: did you mean `window`?');
    t.is(await diag.$eval('.pos', (e) => e.textContent), '1:112');
    t.is(await page.$eval('.cm-lintRange-error', (e) => e.textContent), 'windw');
    // Completion of a builtin's named arguments at an argument position.
    await typeProgram(page, 'attention c { input q, k, v: f32[B, H, N, D] dims B = 1, H = 2, N = 64, D = 16 return attend(q, k, v, ');
    await page.keyboard.press('Control+Space');
    const options = await (await page.waitForSelector('.cm-tooltip-autocomplete')).$$eval('li .cm-completionLabel', (ls) => ls.map((l) => l.textContent));
    for (const named of ['mask:', 'score:', 'scale:', 'normalize:']) t.true(options.includes(named), `${named} in ${options.slice(0, 12).join(' ')}`);
  } finally {
    await page.close();
  }
});

test('every sample in the gallery: its block map has the full/mixed/empty counts of tileMap() (attnc compile --emit tiles)', async (t) => {
  const files = readdirSync('samples').filter((f) => f.endsWith('.attn')).sort();
  const page = await open();
  try {
    t.deepEqual(await page.$$eval('#gallery .card', (cs) => cs.map((c) => c.getAttribute('data-sample'))), files);
    for (const file of files) {
      const text = readFileSync(join('samples', file), 'utf8');
      const graph = compile(text, { path: file }).graph!;
      const dims = resolveDims(graph);
      const want = graph.nodes.flatMap((n) => (n.op === 'attend' ? [{ node: n.id, ...tileCounts(tileMap(graph, n, dims)) }] : []));
      await page.click(`#gallery .card[data-sample="${file}"]`);
      await page.waitForSelector(`#pane-blockmap[data-program="${file}"][data-state=ready]`);
      // (no named functions inside page callbacks: tsx's __name helper does not exist there)
      const got = await page.$$eval('#pane-blockmap svg.tilemap', (svgs) => svgs.map((s) => Object.fromEntries(
        ['node', 'full', 'mixed', 'empty', 'visited', 'total'].map((k) => [k, Number(s.getAttribute(`data-${k}`))]))));
      t.deepEqual(got, want, file);
      t.is(await editorText(page), text, `${file}: the editor holds the sample`);
      t.is(await page.$eval('#diagnostics', (e) => e.getAttribute('data-count')), '0', `${file} compiles`);
    }
  } finally {
    await page.close();
  }
});

test('the views: the graph IR after a pass, the WGSL, the dispatch plan and the WebGL kernels as the CLI prints them', async (t) => {
  const text = readFileSync('samples/gqa.attn', 'utf8');
  const passes: Record<string, string> = {};
  const dims = resolveDims(compile(text).graph!);
  const want = compile(text, { target: 'wgsl', dims, onPass: (p, m) => (passes[p.name] = printGraph(m.graph, { bodies: true })) });
  const page = await open();
  try {
    await page.click('#gallery .card[data-sample="gqa.attn"]');
    await page.waitForSelector('#pane-blockmap[data-program="gqa.attn"][data-state=ready]');
    await page.click('#tab-ir');
    await page.selectOption('select[name=pass]', 'expand-builtins');
    t.is(await page.textContent('#pane-ir pre'), passes['expand-builtins']);
    await page.click('#tab-wgsl');
    t.is(await page.textContent('#pane-wgsl pre'), want.wgsl![0]!.source);
    await page.click('#tab-plan');
    t.is(await page.textContent('#pane-plan pre'), printPlan(want.kernels!, dims));
    await page.click('#tab-webgl');
    const webgl = await page.waitForSelector('#pane-webgl pre:has-text("==== kernel")', { timeout: 120_000 });
    t.regex((await webgl.textContent())!, /^\/\/ WebGL kernels at B=1, H=8, N=512, D=64, Hk=2 \(specialised on every dim\)\n[^]*\/\/ ==== kernel gqa_attend3\w*: attend %3[^]*void main\(void\)/);
  } finally {
    await page.close();
  }
});

/** Press Run on `backend` and read the result table: field → value. */
async function runOn(page: Page, backend: 'webgpu' | 'webgl'): Promise<Record<string, string>> {
  await page.selectOption('select[name=backend]', backend);
  await page.click('button.run');
  await page.waitForSelector('.result[data-state=running]', { state: 'attached' });
  await page.waitForSelector('.result:is([data-state=done], [data-state=error])', { state: 'attached', timeout: 240_000 });
  const error = await page.$eval('.result', (e) => e.getAttribute('data-state') === 'error' ? e.textContent : null);
  if (error) throw new Error(`${backend}: ${error}`);
  return Object.fromEntries(await page.$$eval('.result tr', (rows) => rows.map((r) => [r.getAttribute('data-field')!, r.querySelector('.value')!.textContent!])));
}

test('Run on WebGPU and on WebGL: the backend, a median time in ms, the speed-up and a max error within tolerance', async (t) => {
  const page = await open();
  try {
    await page.click('#gallery .card[data-sample="streaming.attn"]');
    for (const [d, v] of [['N', 256], ['H', 2], ['D', 32]] as const) {
      await page.fill(`#dim-${d}`, String(v));
      await page.press(`#dim-${d}`, 'Tab');
    }
    await page.waitForSelector('svg.tilemap[data-total="16"]'); // 4 × 4 tiles at N = 256
    for (const backend of ['webgl', 'webgpu'] as const) {
      const r = await runOn(page, backend);
      t.log(`${backend}: ${JSON.stringify(r)}`);
      t.is(r.backend, backend);
      t.regex(r.time!, /^\d+(\.\d+)? ms$/);
      t.true(parseFloat(r.time!) > 0);
      t.regex(r['speed-up']!, /^\d+\.\d\d×$/);
      t.true(parseFloat(r['max error']!) <= 1e-4, `${backend}: max error ${r['max error']}`);
      t.is(await page.$eval('.result', (e) => e.getAttribute('data-ok')), 'true');
      t.is(r.output, '[1, 2, 256, 32]');
    }
    // The README's picture: the exact mask over the tiles, below the WebGPU run.
    await page.click('input[value=elements]');
    await page.waitForSelector('#pane-blockmap[data-state=ready] svg.tilemap image');
    await page.screenshot({ path: SCREENSHOT });
    t.log(`screenshot: ${SCREENSHOT}`);
  } finally {
    await page.close();
  }
});

test('an error of a run shows in the page, with its code', async (t) => {
  const page = await open();
  try {
    await page.click('#gallery .card[data-sample="local_window.attn"]');
    await page.fill('#dim-N', '12'); // kernel 7 · dilation 2 = 14 > 12 keys
    await page.press('#dim-N', 'Tab');
    await page.waitForSelector('svg.tilemap[data-total="1"]');
    await page.click('button.run');
    await page.waitForSelector('.result[data-state=error]', { state: 'attached', timeout: 60_000 });
    t.regex((await page.textContent('.result pre.error'))!, /AT709/);
  } finally {
    await page.close();
  }
});

test('a shared link brings the program, its params and dims back', async (t) => {
  const program = 'attention shared { input q, k, v: f32[B, H, N, D] dims B = 1, H = 2, N = 192, D = 16 param w = 40 return attend(q, k, v, mask: sliding(w)) }';
  const page = await open();
  let link: string;
  try {
    await typeProgram(page, program);
    await page.waitForSelector('#param-w');
    await page.fill('#param-w', '24');
    await page.press('#param-w', 'Tab');
    await page.fill('#dim-N', '160');
    await page.press('#dim-N', 'Tab');
    await page.waitForSelector('svg.tilemap[data-total="9"]'); // 3 × 3 tiles at N = 160
    link = page.url();
    t.regex(link, /#p=[\w-]+$/);
    t.is(await editorText(page), program);
  } finally {
    await page.close();
  }
  const again = await open(link);
  try {
    t.is(await editorText(again), program);
    t.is(await again.inputValue('#param-w'), '24');
    t.is(await again.inputValue('#dim-N'), '160');
    const graph = compile(program, { params: { w: 24 } }).graph!;
    const attend = graph.nodes.find((n) => n.op === 'attend')!;
    const want = tileCounts(tileMap(graph, attend as Extract<typeof attend, { op: 'attend' }>, resolveDims(graph, { N: 160 })));
    t.is(await again.$eval('svg.tilemap', (s) => s.getAttribute('data-mixed')), String(want.mixed));
    t.is(await again.$eval('svg.tilemap', (s) => s.getAttribute('data-full')), String(want.full));
  } finally {
    await again.close();
  }
});
