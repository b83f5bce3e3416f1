// The tile map of an attend at concrete sizes: which tiles of queries × keys the mask
// analysis finds full, mixed or empty, and which the kernel's key ranges skip without
// visiting. `attnc compile --emit tiles --dims N=…` prints it; `-o` also writes an SVG
// (tilemap-svg.ts). Browser-safe (no node: imports): the playground draws the same maps.

import { evalExpr } from '../compiler/evaluate.js';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import type { Graph, NodeOf } from '../compiler/ir.js';

export type TileClass = 'full' | 'mixed' | 'empty';

export interface TileMap {
  node: number;
  /** Queries (N) and keys (M) of the attend at these dims. */
  n: number;
  m: number;
  rows: number;
  cols: number;
  tileQ: number;
  tileK: number;
  /** rows × cols classes, row-major. */
  tiles: TileClass[];
  /** Tiles inside the key ranges (what the kernel visits). */
  visited: boolean[];
}

export function tileMap(
  g: Graph,
  attend: NodeOf<'attend'>,
  dims: Record<string, number>,
  tileQ = 64,
  tileK = 64,
): TileMap {
  const n = evalExpr(g.nodes[attend.q]!.shape[2]!, { dims }) as number;
  const m = evalExpr(g.nodes[attend.k]!.shape[2]!, { dims }) as number;
  const { full, empty } = tilePredicates(attend.mask);
  const ranges = keyRanges(attend.mask);
  const rows = Math.ceil(n / tileQ);
  const cols = Math.ceil(m / tileK);
  const tiles: TileClass[] = [];
  const visited: boolean[] = [];
  for (let r = 0; r < rows; r++) {
    const q = { q_lo: r * tileQ, q_hi: Math.min((r + 1) * tileQ, n) - 1 };
    const spans = ranges?.map((x) => [evalExpr(x.lo, { vars: q, dims }), evalExpr(x.hi, { vars: q, dims })] as number[]);
    for (let c = 0; c < cols; c++) {
      const vars = { ...q, k_lo: c * tileK, k_hi: Math.min((c + 1) * tileK, m) - 1 };
      tiles.push(evalExpr(full, { vars, dims }) ? 'full' : evalExpr(empty, { vars, dims }) ? 'empty' : 'mixed');
      visited.push(!spans || spans.some(([lo, hi]) => lo! <= vars.k_hi && vars.k_lo <= hi!));
    }
  }
  return { node: attend.id, n, m, rows, cols, tileQ, tileK, tiles, visited };
}

export interface TileCounts {
  full: number;
  mixed: number;
  empty: number;
  /** Tiles inside the key ranges, whatever their class. */
  visited: number;
  total: number;
}

/** How many tiles of each class (over all tiles, visited or not), and how many are visited. */
export function tileCounts(t: TileMap): TileCounts {
  const c: TileCounts = { full: 0, mixed: 0, empty: 0, visited: 0, total: t.tiles.length };
  t.tiles.forEach((cls, k) => {
    c[cls]++;
    if (t.visited[k]) c.visited++;
  });
  return c;
}

/** `full 21, mixed 7, empty 21; visited 28 of 49 (57.1 %)`: the CLI's summary, also under the SVG. */
export function summaryLine(c: TileCounts): string {
  const pct = c.total ? ((100 * c.visited) / c.total).toFixed(1) : '0.0';
  return `full ${c.full}, mixed ${c.mixed}, empty ${c.empty}; visited ${c.visited} of ${c.total} (${pct} %)`;
}

const GLYPH: Record<TileClass, string> = { full: '#', mixed: '+', empty: '.' };

/** Rows of glyphs (`#` full, `+` mixed, `.` empty, ` ` skipped by the key ranges) and a summary. */
export function printTileMap(t: TileMap): string {
  const lines = [`%${t.node}: ${t.rows} × ${t.cols} tiles of ${t.tileQ} queries × ${t.tileK} keys`];
  for (let r = 0; r < t.rows; r++) {
    let line = '';
    for (let c = 0; c < t.cols; c++) {
      const k = r * t.cols + c;
      line += t.visited[k] ? GLYPH[t.tiles[k]!] : ' ';
    }
    lines.push(`  |${line}|`);
  }
  lines.push(`  ${summaryLine(tileCounts(t))}`);
  return lines.join('\n') + '\n';
}
