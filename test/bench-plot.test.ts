// The benchmark's pictures (bench/plot.ts: vega-lite → vega → SVG in Node) drawn from a
// results file of known values, and its progress lines (bench/progress.ts) on a fake clock.

import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plotResults, renderSvg, speedupSpec, timeSpec, type Results } from '../bench/plot.js';
import { duration, Progress } from '../bench/progress.js';

const row = (program: string, N: number, fusedMs: number, speedup: number | null, idealSpeedup: number | null) => ({
  program, N, fusedMs, speedup, idealSpeedup, fractionOfIdeal: speedup !== null && idealSpeedup !== null ? speedup / idealSpeedup : null,
});
const RESULTS: Results = {
  date: '2026-12-01T10:00:00.000Z',
  rows: [
    row('dense', 1024, 60, 1, 1), row('sliding', 1024, 10, 6, 8), row('causal', 1024, 31.5, 1.9, 2),
    row('dense', 2048, 240, 1, 1), row('sliding', 2048, 20, 12, 16), row('causal', 2048, 125, 1.92, 2),
    { ...row('routing', 2048, 0, null, null), fusedMs: null, error: 'device lost' },
  ],
};

/** The texts an SVG shows, in order. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
/** The marks of one layer: the paths inside its `<g class="mark-… layer_K_marks">`. */
const marks = (svg: string, layer: number) => {
  const g = new RegExp(`class="mark-\\w+ role-mark layer_${layer}_marks"[^>]*>([\\s\\S]*?)</g>`).exec(svg);
  return g ? (g[1]!.match(/<(path|text|line)[ >]/g) ?? []).length : 0;
};

test('time vs N: a point and a value label per measured row, a line per program', async (t) => {
  const svg = await renderSvg(timeSpec(RESULTS));
  t.regex(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const shown = texts(svg);
  for (const s of ['attnc benchmark: time of one run vs N', 'N (queries = keys)', 'ms per run (median)', '1024', '2048', 'dense', 'sliding', 'causal', '240', '31.5', '125']) {
    t.true(shown.includes(s), s);
  }
  t.false(shown.includes('routing'), 'a row with an error is not drawn');
  t.is(marks(svg, 1), 6); // points
  t.is(marks(svg, 2), 6); // labels
  t.is((svg.match(/class="mark-line role-mark layer_0_marks"/g) ?? []).length, 3);
});

test('speed-up vs ideal: a bar, an ideal tick and a label per sparse program and N', async (t) => {
  const svg = await renderSvg(speedupSpec(RESULTS));
  const shown = texts(svg);
  for (const s of ['N = 1024', 'N = 2048', '6.0× of 8.0× (75 %)', '12.0× of 16.0× (75 %)', '1.9× of 2.0× (95 %)', '1.9× of 2.0× (96 %)', 'speed-up over dense (log scale)']) {
    t.true(shown.includes(s), s);
  }
  t.false(shown.some((s) => s.startsWith('1.0× of 1.0×')), 'dense is the baseline, not a bar');
});

test('plotResults writes both SVGs from a results file, and refuses a file without rows', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-plot-'));
  const file = join(dir, 'results.json');
  writeFileSync(file, JSON.stringify(RESULTS));
  t.deepEqual(await plotResults(file, join(dir, 'out')), [join(dir, 'out', 'bench-time.svg'), join(dir, 'out', 'bench-speedup.svg')]);
  t.true(readFileSync(join(dir, 'out', 'bench-speedup.svg'), 'utf8').includes('12.0× of 16.0× (75 %)'));
  writeFileSync(file, '{"date": "x"}');
  await t.throwsAsync(plotResults(file, dir), { message: /no "rows"/ });
});

test('progress: count, elapsed and time left from the mean step time', (t) => {
  let now = 1000;
  const lines: string[] = [];
  const p = new Progress(4, (l) => lines.push(l), () => now);
  p.step('dense N=1024');
  now += 30_000;
  p.step('sliding N=1024');
  now += 90_000;
  p.step('dense N=2048');
  t.deepEqual(lines, [
    '[1/4 · 0s elapsed · time left: after the first step] dense N=1024',
    '[2/4 · 30s elapsed · ~1m 30s left] sliding N=1024',
    '[3/4 · 2m 00s elapsed · ~2m 00s left] dense N=2048',
  ]);
  t.is(duration(3_725_000), '1h 02m');
});
