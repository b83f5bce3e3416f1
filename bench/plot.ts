// Pictures of a benchmark results file (bench/results/latest.json, written by bench.ts):
// `npm run bench -- --plot DIR` writes
//   DIR/bench-time.svg     time of one run (fused, inputs resident) against N, per program;
//   DIR/bench-speedup.svg  each program's speed-up over dense attention at the same N
//                          beside its ideal (1 / density), with the fraction reached.
// Drawn with vega-lite (compiled to a vega spec) and rendered to SVG by vega in Node: no
// browser, canvas or fonts needed (vega estimates text widths without a canvas).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile as compileLite, type TopLevelSpec } from 'vega-lite';

/** The fields of a results row that the plots read (see `Row` in bench.ts). */
export interface ResultRow {
  program: string;
  N: number;
  fusedMs: number | null;
  speedup: number | null;
  idealSpeedup: number | null;
  fractionOfIdeal: number | null;
  error?: string;
}

export interface Results {
  date: string;
  node?: string;
  rows: ResultRow[];
}

const FONT = { font: 'system-ui, -apple-system, "Segoe UI", sans-serif' };
const CONFIG = { ...FONT, view: { stroke: '#ccc' }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } };

/** Time of one run against N: one line (and a point per measured N) per program, log time axis. */
export function timeSpec(results: Results): TopLevelSpec {
  const values = results.rows.filter((r) => !r.error && typeof r.fusedMs === 'number');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'attnc benchmark: time of one run vs N', subtitle: `fused WGSL, inputs resident; B = 1, H = 8, D = 64 — ${results.date.slice(0, 10)}` },
    width: 420,
    height: 300,
    config: CONFIG,
    data: { values },
    // N is a power of two: an ordinal axis spaces them as a log₂ axis would, and stays
    // readable when a results file holds one size only.
    encoding: {
      x: { field: 'N', type: 'ordinal', title: 'N (queries = keys)', axis: { labelAngle: 0 } },
      y: { field: 'fusedMs', type: 'quantitative', title: 'ms per run (median)', scale: { type: 'log' } },
      color: { field: 'program', type: 'nominal', title: 'program', sort: { field: 'fusedMs', op: 'max', order: 'descending' } },
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 2 } },
      { mark: { type: 'point', filled: true, size: 70, opacity: 1 } },
      { mark: { type: 'text', align: 'left', dx: 7, fontSize: 11 }, encoding: { text: { field: 'fusedMs', type: 'quantitative', format: '.3~r' } } },
    ],
  };
}

/**
 * Speed-up over dense attention (the median of alternated-run ratios) as a bar per
 * program, the ideal speed-up 1/density as a tick on the same log axis, and the fraction
 * of the ideal reached as a label; one panel per N. Dense itself (1×) is left out.
 */
export function speedupSpec(results: Results): TopLevelSpec {
  const values = results.rows
    .filter((r) => !r.error && r.program !== 'dense' && r.speedup !== null && r.idealSpeedup !== null)
    .map((r) => ({
      ...r,
      label: `${r.speedup!.toFixed(1)}× of ${r.idealSpeedup!.toFixed(1)}× (${Math.round(100 * (r.fractionOfIdeal ?? r.speedup! / r.idealSpeedup!))} %)`,
      top: Math.max(r.speedup!, r.idealSpeedup!),
    }));
  const y = { field: 'program', type: 'nominal' as const, title: null, sort: { field: 'idealSpeedup', op: 'max' as const, order: 'descending' as const } };
  const x = { type: 'quantitative' as const, scale: { type: 'log' as const, domainMin: 1 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'attnc benchmark: speed-up over dense attention vs the ideal', subtitle: `bar: measured (dense / this, alternated runs); tick: ideal = 1 / density — ${results.date.slice(0, 10)}` },
    config: CONFIG,
    data: { values },
    facet: { row: { field: 'N', type: 'ordinal', title: null, header: { labelAngle: 0, labelFontSize: 12, labelExpr: "'N = ' + datum.value" } } },
    spec: {
      width: 420,
      height: { step: 26 },
      layer: [
        // Bars start at 1× (no speed-up): a log axis has no zero to start from.
        { mark: { type: 'bar', color: '#1f4e9c', height: 16 }, encoding: { y, x: { ...x, field: 'speedup', title: 'speed-up over dense (log scale)' }, x2: { datum: 1 } } },
        { mark: { type: 'tick', color: '#f28e2b', thickness: 3, size: 24, opacity: 1 }, encoding: { y, x: { ...x, field: 'idealSpeedup' } } },
        { mark: { type: 'text', align: 'left', dx: 8, fontSize: 11 }, encoding: { y, x: { ...x, field: 'top' }, text: { field: 'label' } } },
      ],
    },
  };
}

/** A vega-lite spec rendered to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compileLite(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Draw `resultsFile` into `dir`; returns the paths written. */
export async function plotResults(resultsFile: string, dir: string): Promise<string[]> {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
  if (!Array.isArray(results.rows)) throw new Error(`${resultsFile}: no "rows": not a results file of bench/bench.ts`);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, spec] of [['bench-time.svg', timeSpec(results)], ['bench-speedup.svg', speedupSpec(results)]] as const) {
    const path = join(dir, name);
    writeFileSync(path, await renderSvg(spec));
    written.push(path);
  }
  return written;
}
