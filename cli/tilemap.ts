// The tile map of an attend at concrete sizes: which tiles of queries × keys the mask
// analysis finds full, mixed or empty, and which the kernel's key ranges skip without
// visiting. `attnc compile --emit tiles --dims N=…` prints it; `-o` also writes a PNG.

import { deflateSync } from 'node:zlib';
import { evalExpr } from '../compiler/evaluate.js';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import type { Graph, NodeOf } from '../compiler/ir.js';

export type TileClass = 'full' | 'mixed' | 'empty';

export interface TileMap {
  node: number;
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
  return { node: attend.id, rows, cols, tileQ, tileK, tiles, visited };
}

const GLYPH: Record<TileClass, string> = { full: '#', mixed: '+', empty: '.' };

/** Rows of glyphs (`#` full, `+` mixed, `.` empty, ` ` skipped by the key ranges) and a summary. */
export function printTileMap(t: TileMap): string {
  const lines = [`%${t.node}: ${t.rows} × ${t.cols} tiles of ${t.tileQ} queries × ${t.tileK} keys`];
  const count = (c: TileClass) => t.tiles.filter((x) => x === c).length;
  const visited = t.visited.filter(Boolean).length;
  for (let r = 0; r < t.rows; r++) {
    let line = '';
    for (let c = 0; c < t.cols; c++) {
      const k = r * t.cols + c;
      line += t.visited[k] ? GLYPH[t.tiles[k]!] : ' ';
    }
    lines.push(`  |${line}|`);
  }
  const total = t.tiles.length;
  lines.push(`  full ${count('full')}, mixed ${count('mixed')}, empty ${count('empty')}; visited ${visited} of ${total} (${((100 * visited) / total).toFixed(1)} %)`);
  return lines.join('\n') + '\n';
}

/** The tile map as a PNG, one pixel per tile: black full, grey mixed, white empty, pale blue skipped. */
export function tileMapPng(t: TileMap, scale = 4): Uint8Array {
  const colour: Record<TileClass, number[]> = { full: [20, 20, 20], mixed: [140, 140, 140], empty: [255, 255, 255] };
  const w = t.cols * scale;
  const h = t.rows * scale;
  const raw = new Uint8Array(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + 3 * w)] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const k = Math.floor(y / scale) * t.cols + Math.floor(x / scale);
      const rgb = t.visited[k] ? colour[t.tiles[k]!] : [215, 230, 250];
      raw.set(rgb!, y * (1 + 3 * w) + 1 + 3 * x);
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, w);
  view.setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return concat([
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let k = 0; k < 4; k++) out[4 + k] = type.charCodeAt(k);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
