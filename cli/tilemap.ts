// The tile map of an attend at concrete sizes: which tiles of queries × keys the mask
// analysis finds full, mixed or empty, and which the kernel's key ranges skip without
// visiting. `attnc compile --emit tiles --dims N=…` prints it; `-o` also writes an SVG
// (tilemap-svg.ts). Browser-safe (no node: imports): the playground draws the same maps.

import { compileBool, compileNumber, evalExpr, type TensorTable } from '../compiler/evaluate.js';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import { rewrite, type Expr, type Graph, type NodeOf } from '../compiler/ir.js';

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

/**
 * Tensors for a mask that reads them (`attnc compile --emit tiles --inputs DIR`), and the
 * batch and head whose tiles to draw: the predicates bound the lookups by the tensors'
 * values as the WGSL kernels do (block summaries).
 */
export interface TileTensors {
  tensors: TensorTable;
  b: number;
  h: number;
}

export function tileMap(
  g: Graph,
  attend: NodeOf<'attend'>,
  dims: Record<string, number>,
  tileQ = 64,
  tileK = 64,
  read?: TileTensors,
): TileMap {
  const n = evalExpr(g.nodes[attend.q]!.shape[2]!, { dims }) as number;
  const m = evalExpr(g.nodes[attend.k]!.shape[2]!, { dims }) as number;
  // Bounded through the tensors only where every tensor the mask reads is given (an
  // intermediate, such as cluster ids, is not: then as without tensors).
  const analysis = { tensors: !!read && loadsOf(attend.mask).every((id) => has(read.tensors, id)) };
  const { full, empty } = tilePredicates(attend.mask, analysis);
  const ranges = keyRanges(attend.mask, analysis);
  // Compiled once; the tile bounds are rebound per tile (the evaluator reads vars per call).
  const vars = { q_lo: 0, q_hi: 0, k_lo: 0, k_hi: 0 };
  const ctx = { dims, vars, scope: 'mask' as const, ...(read ? { tensors: read.tensors } : {}) };
  const at = read ? headOf(g, attend, dims, read) : { b: 0, h: 0, hk: 0 };
  const env = { ...at, i: NaN, j: NaN, s: NaN };
  const [isFull, isEmpty] = [compileBool(full, ctx), compileBool(empty, ctx)];
  const bounds = ranges?.map((r) => [compileNumber(r.lo, ctx), compileNumber(r.hi, ctx)] as const);
  const rows = Math.ceil(n / tileQ);
  const cols = Math.ceil(m / tileK);
  const tiles: TileClass[] = [];
  const visited: boolean[] = [];
  for (let r = 0; r < rows; r++) {
    [vars.q_lo, vars.q_hi] = [r * tileQ, Math.min((r + 1) * tileQ, n) - 1];
    const spans = bounds?.map(([lo, hi]) => [lo(env), hi(env)] as const);
    for (let c = 0; c < cols; c++) {
      [vars.k_lo, vars.k_hi] = [c * tileK, Math.min((c + 1) * tileK, m) - 1];
      tiles.push(isFull(env) ? 'full' : isEmpty(env) ? 'empty' : 'mixed');
      visited.push(!spans || spans.some(([lo, hi]) => lo <= vars.k_hi && vars.k_lo <= hi));
    }
  }
  return { node: attend.id, n, m, rows, cols, tileQ, tileK, tiles, visited };
}

function loadsOf(e: Expr): number[] {
  const ids: number[] = [];
  rewrite(e, (x) => (x.op === 'load' && ids.push(x.tensor), x));
  return ids;
}

const has = (t: TensorTable, id: number) => (t instanceof Map ? t.has(id) : (t as readonly unknown[])[id] !== undefined);

/** b, h and the K/V head h reads (GQA), checked against the attend's batch and heads. */
function headOf(g: Graph, attend: NodeOf<'attend'>, dims: Record<string, number>, read: TileTensors) {
  const [B, H] = g.nodes[attend.q]!.shape.map((e) => evalExpr(e, { dims }) as number) as [number, number];
  const Hk = evalExpr(g.nodes[attend.k]!.shape[1]!, { dims }) as number;
  if (!(read.b >= 0 && read.b < B && read.h >= 0 && read.h < H)) throw new RangeError(`b = ${read.b}, h = ${read.h} outside B = ${B}, H = ${H}`);
  return { b: read.b, h: read.h, hk: Math.floor(read.h / Math.max(1, Math.floor(H / Math.max(Hk, 1)))) };
}

/**
 * The fraction of 64 × 64 tiles the WGSL kernels visit and compute (inside the key ranges
 * and not proved empty), over every batch and head, for the tensors of one run: what the
 * mask analysis saves there (`attnc run --json`, `visited`).
 */
export function visitedFraction(g: Graph, attend: NodeOf<'attend'>, dims: Record<string, number>, tensors: TensorTable): number {
  const [B, H] = g.nodes[attend.q]!.shape.map((e) => evalExpr(e, { dims }) as number) as [number, number];
  let seen = 0;
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const t = tileMap(g, attend, dims, 64, 64, { tensors, b, h });
      t.tiles.forEach((cls, k) => { if (t.visited[k] && cls !== 'empty') seen++; });
      total += t.tiles.length;
    }
  }
  return total ? seen / total : 0;
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
