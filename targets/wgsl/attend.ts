// Attention kernels → WGSL: the fused online-softmax attend, the two passes of
// normalize: queries (colstats, colapply), and the unfused baseline (scores, softmax, pv).
//
// All attention-like kernels share one skeleton: each invocation owns one row (a query;
// a key for colstats/scores), keeps that row's vectors in registers, and streams the other
// side in tiles — staged in workgroup memory between barriers (`workgroup` staging) or read
// straight from storage (`storage` staging) — `block` entries per step, unrolled. Loop
// bounds and barriers depend only on the workgroup index and uniforms (uniform control
// flow); rows past the end take part in staging but compute nothing.
//
// Numerics: scores are f32; a masked entry, or one whose score is ≤ −1e30 (−inf), is the
// sentinel −3e38 and contributes exactly 0. The online softmax keeps a running max and sum
// per row, rescales the accumulator only when the max grows, and divides once at the end;
// a row with no allowed key has sum 0 and is written as exact zeros.
//
// Every `var` has an initializer (Tint → lavapipe zero-initialises an uninitialised `var`
// in a loop body only once: TOOLCHAIN.md).

import type { Expr } from '../../compiler/ir.js';
import type { AttendGeometry, AttendKernel, SoftmaxKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { renderDimsAttend } from './attend-dims.js';
import { renderSubgroupAttend } from './attend-subgroup.js';
import { KernelSource, MASKED_BELOW, NEG, lseName, softmaxExp } from './common.js';
import { storeLse } from './subgroup-steps.js';

export function isFalse(e: Expr): boolean {
  return e.op === 'const' && e.value === false;
}

export interface Side {
  /** WGSL name of the row index (i or j) and of the streamed one. */
  row: 'i' | 'j';
  streamed: 'i' | 'j';
  /** Row count / streamed count (WGSL). */
  rows: string;
  len: string;
}

/** The attention's runtime sizes as lets: batch, query heads, K/V heads, query and key lengths. */
export function geometryLines(c: Code, src: KernelSource, g: AttendGeometry): void {
  c.line(`let B = ${src.expr(g.B)};`);
  c.line(`let H = ${src.expr(g.H)};`);
  c.line(`let Hk = ${src.expr(g.Hk)};`);
  c.line(`let N = ${src.expr(g.N)};`);
  c.line(`let M = ${src.expr(g.M)};`);
}

/**
 * From `bh` (the flat b·H + h of this workgroup's rows): the batch, the query head, the
 * key/value head it reads (GQA, in place) and the first rows of its Q and K/V.
 */
/** The head's index variables as headLines declares them (tile predicates and ranges may read tensors at b, h). */
export const HEAD_VARS = { b: 'b', h: 'h', hk: 'hk' } as const;

export function headLines(c: Code): void {
  c.line('let b = bh / H;');
  c.line('let h = bh - b * H;');
  c.line('let hk = h / max(H / max(Hk, 1), 1); // GQA: the shared K/V head, read in place');
  c.line('let q_row0 = (b * H + h) * N;');
  c.line('let kv_row0 = (b * Hk + hk) * M;');
}

export function scheduleLines(k: AttendKernel): string[] {
  const s = k.schedule!;
  const rowsAre = s.rows;
  const streamAre = rowsAre === 'keys' ? 'queries' : 'keys';
  return [
    s.staging === 'dims'
      ? `schedule: dims staging; ${s.workgroupSize} invocations (one subgroup) share ${s.rowsPerWorkgroup} query row${s.rowsPerWorkgroup > 1 ? 's' : ''}/workgroup, each lane its head-dim chunks;`
      : `schedule: ${s.staging} staging; ${s.workgroupSize} invocations × ${s.rowsPerThread} ${rowsAre === 'keys' ? 'key' : 'query'} row${s.rowsPerThread > 1 ? 's' : ''} = ${s.rowsPerWorkgroup} ${rowsAre}/workgroup;`,
    `  ${streamAre} streamed in tiles of ${s.tile}, ${s.block} per step` +
      (s.staging === 'subgroup' ? `, shared across ${s.subgroupSize} subgroup lanes by broadcast`
        : s.staging === 'dims' ? `; the ${s.subgroupSize} lanes split the head dims (subgroupAdd)` : `; ${s.workgroupBytes} B workgroup memory`),
    `geometry: D = ${k.geom.D}, Dv = ${k.geom.Dv}`,
  ];
}

export function renderAttendKernel(k: AttendKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  if (s.staging === 'subgroup') return renderSubgroupAttend(k);
  if (s.staging === 'dims') return renderDimsAttend(k);
  if (k.kind === 'attend' && k.topk !== undefined) throw new Error(`internal: kernel ${k.name}: fused top-k needs the subgroup schedule`);
  if (s.rowsPerThread !== 1) throw new Error(`internal: kernel ${k.name}: ${s.rowsPerThread} rows per invocation is not supported by the workgroup path`);
  const src = new KernelSource(k);
  src.declare(scheduleLines(k));
  const D4 = Math.ceil(k.geom.D / 4);
  const DV4 = Math.ceil(k.geom.Dv / 4);
  src.mod.decls.push(
    `const D4 = ${D4}; // head dim ${k.geom.D} as vec4s`,
    `const DV4 = ${DV4}; // value dim ${k.geom.Dv} as vec4s`,
    `const WG = ${s.workgroupSize};`,
    `const TILE = ${s.tile};`,
  );
  const byKeys = s.rows === 'keys';
  const side: Side = byKeys
    ? { row: 'j', streamed: 'i', rows: 'M', len: 'N' }
    : { row: 'i', streamed: 'j', rows: 'N', len: 'M' };
  if (k.kind !== 'pv') maskAndScoreFunctions(src, k);
  const staging = stagedTiles(src, k, side, D4, DV4);

  const c = new Code();
  rowPrologue(c, src, k, side);
  streamLoops(c, src, k, byKeys, side, s.ranges, () => {
    staging.load(c);
    c.block('if (row_ok)', () => {
      c.block(`for (var e = 0; e < nt; e = e + ${s.block})`, () => {
        blockStep(c, k, s.block, side, staging.tileAt, staging.tiles, staging.statAt);
      });
    });
  });
  storeRow(c, src, k);
  src.entry(s.workgroupSize, c);
  return src.toString();
}

/** `attn_mask` and `attn_score` as functions of the index variables. */
export function maskAndScoreFunctions(src: KernelSource, k: AttendKernel): void {
  const vars = { b: 'b', h: 'h', hk: 'hk', i: 'i', j: 'j' };
  src.mod.functions.push(
    `fn attn_mask(b: i32, h: i32, hk: i32, i: i32, j: i32) -> bool {\n  return ${src.expr(k.mask, vars)};\n}`,
    `fn attn_score(s: f32, b: i32, h: i32, hk: i32, i: i32, j: i32) -> f32 {\n  return ${src.expr(k.score, vars)};\n}`,
  );
}

/** A streamed tile of row vectors: its workgroup array, its vec4 count per row, its loader. */
interface StreamedTile {
  name: string;
  vecs: string;
  from: string;
}

/**
 * The streamed tiles of a workgroup/storage kernel (Q rows for key rows; K and V rows, or
 * V alone for pv, for query rows; and colapply's column statistics): their declarations,
 * the cooperative load of one tile between barriers (`workgroup` staging; nothing to load
 * with `storage` staging), and the WGSL reading entry `e` of the current tile.
 */
function stagedTiles(src: KernelSource, k: AttendKernel, side: Side, D4: number, DV4: number) {
  const s = k.schedule!;
  const mod = src.mod;
  const staged = s.staging === 'workgroup';
  const tiles: StreamedTile[] = [];
  if (s.rows === 'keys') tiles.push({ name: 'q_tile', vecs: 'D4', from: src.load4(src.binding('q')) });
  else {
    if (k.kind !== 'pv') tiles.push({ name: 'k_tile', vecs: 'D4', from: src.load4(src.binding('k')) });
    tiles.push({ name: 'v_tile', vecs: 'DV4', from: src.load4(src.binding('v')) });
  }
  const stats = k.kind === 'colapply';
  if (staged) {
    for (const t of tiles) mod.decls.push(`var<workgroup> ${t.name}: array<vec4<f32>, ${s.tile * (t.vecs === 'D4' ? D4 : DV4)}>;`);
    if (stats) mod.decls.push(`var<workgroup> st_tile: array<vec2<f32>, ${s.tile}>;`);
  }
  if (stats) mod.functions.push('fn ld_stats(col: i32) -> vec2<f32> {\n  return vec2<f32>(stats[2 * col], stats[2 * col + 1]);\n}');
  const streamRow0 = s.rows === 'keys' ? 'q_row0' : 'kv_row0';
  return {
    tiles,
    /** WGSL for vec4 `c` of streamed entry `e` (tile-relative) of tile `t`. */
    tileAt: (t: StreamedTile, e: string, c: string) =>
      staged ? `${t.name}[(${e}) * ${t.vecs} + ${c}]` : `${t.from}(${streamRow0} + min(t0 + ${e}, ${side.len} - 1), ${c})`,
    statAt: (e: string) => (staged ? `st_tile[${e}]` : `ld_stats(bh * M + min(t0 + ${e}, M - 1))`),
    load: (c: Code) => {
      if (!staged) return;
      c.line('workgroupBarrier();');
      for (const t of tiles) {
        c.block(`for (var x = lid; x < TILE * ${t.vecs}; x = x + WG)`, () => {
          c.line(`let e = x / ${t.vecs};`);
          c.line(`${t.name}[x] = ${t.from}(${streamRow0} + min(t0 + e, ${side.len} - 1), x - e * ${t.vecs});`);
        });
      }
      if (stats) c.line('for (var x = lid; x < TILE; x = x + WG) { st_tile[x] = ld_stats(bh * M + min(t0 + x, M - 1)); }');
      c.line('workgroupBarrier();');
    },
  };
}

/** Sizes, this workgroup's rows, and the invocation's row registers and running state. */
function rowPrologue(c: Code, src: KernelSource, k: AttendKernel, side: Side): void {
  const s = k.schedule!;
  geometryLines(c, src, k.geom);
  c.line(`let RPW = ${s.rowsPerWorkgroup}; // ${side.row === 'i' ? 'queries' : 'keys'} per workgroup`);
  src.decodeGrid(c, s.grid);
  c.line('let r0 = rb * RPW;');
  headLines(c);
  c.line(`let ${side.row} = r0 + lid;`);
  c.line(`let row_ok = ${side.row} < ${side.rows};`);
  c.line(`let rc = min(${side.row}, ${side.rows} - 1);`);
  if (k.kind !== 'pv') c.line(`let scale = ${src.expr(k.scale)};`);
  if (k.kind === 'colstats' || k.kind === 'scores') {
    c.line('var kr = array<vec4<f32>, D4>();');
    c.line(`for (var c = 0; c < D4; c = c + 1) { kr[c] = ${src.load4(src.binding('k'))}(kv_row0 + rc, c); }`);
  } else if (k.kind !== 'pv') {
    c.line('var qr = array<vec4<f32>, D4>();');
    c.line(`for (var c = 0; c < D4; c = c + 1) { qr[c] = ${src.load4(src.binding('q'))}(q_row0 + rc, c); }`);
  }
  if (s.rows === 'queries') c.line('var acc = array<vec4<f32>, DV4>();');
  if (k.kind === 'attend' || k.kind === 'colstats') {
    c.line(`var m_run = ${NEG};`);
    c.line('var l_run = 0.0f;');
  }
}

/** The row's result: the normalised output row, the unnormalised one, or the column statistics. */
function storeRow(c: Code, src: KernelSource, k: AttendKernel): void {
  c.block('if (row_ok)', () => {
    switch (k.kind) {
      case 'attend': {
        c.line('let inv = select(0.0f, 1.0f / l_run, l_run > 0.0f); // a row with no allowed key is exactly 0');
        c.line(`for (var c = 0; c < DV4; c = c + 1) { ${src.store4(src.binding('out'))}(q_row0 + i, c, acc[c] * inv); }`);
        const lse = lseName(src);
        if (lse) storeLse(c, lse, 'q_row0 + i', 'm_run', 'l_run');
        break;
      }
      case 'colapply': case 'pv':
        c.line(`for (var c = 0; c < DV4; c = c + 1) { ${src.store4(src.binding('out'))}(q_row0 + i, c, acc[c]); }`);
        break;
      case 'colstats':
        c.line('stats[2 * (bh * M + j)] = m_run;');
        c.line('stats[2 * (bh * M + j) + 1] = l_run;');
        break;
      case 'scores':
        break;
    }
  });
}

/**
 * The loops over the streamed index: the visited ranges of the mask analysis (clipped to
 * the streamed length; their union visited once, in increasing order), each in tiles of
 * `TILE` entries. Per tile, `empty` skips it and `full` (a WGSL bool) lets the body skip
 * the mask. `body` emits the work on one tile (`t0`, `nt` entries).
 */
export function streamLoops(
  c: Code,
  src: KernelSource,
  k: AttendKernel,
  byKeys: boolean,
  side: Side,
  ranges: AttendKernel['keyRanges'],
  body: () => void,
  /** Row/streamed index (WGSL) → position, for the tile predicates (dilation regrouping). */
  real: (x: string) => string = (x) => x,
  /** WGSL names of a slice [lo, hi) of the streamed entries to stay within (split-KV). */
  clip?: [string, string],
): void {
  const lo = (e: string) => (clip ? `max(${e}, ${clip[0]})` : e);
  const hi = (e: string) => (clip ? `min(${e}, ${clip[1]})` : e);
  c.line(`let r_last = min(r0 + RPW, ${side.rows}) - 1;`);
  // `GL` is a let of regrouped kernels only, and only their ranges read it.
  const rowVars = { ...HEAD_VARS, ...(byKeys ? { k_lo: 'r0', k_hi: 'r_last' } : { q_lo: 'r0', q_hi: 'r_last', group_len: 'GL' }) };
  // Regrouped, the tile's positions lie in the box of its first and last positions: sound.
  const tileVars = {
    ...HEAD_VARS,
    ...(byKeys
      ? { k_lo: real('r0'), k_hi: real('r_last'), q_lo: real('t0'), q_hi: real('t0 + nt - 1') }
      : { q_lo: real('r0'), q_hi: real('r_last'), k_lo: real('t0'), k_hi: real('t0 + nt - 1') }),
  };
  const tileLoop = () => {
    c.block('for (var t0 = s_lo; t0 < s_hi; t0 = t0 + TILE)', () => {
      c.line('let nt = min(TILE, s_hi - t0);');
      if (k.kind !== 'pv') {
        if (k.schedule!.skipEmptyTiles && !isFalse(k.tileEmpty)) {
          c.line(`if (${src.expr(k.tileEmpty, tileVars)}) { continue; } // no entry of this tile is allowed`);
        }
        c.line(`let full = ${src.expr(k.tileFull, tileVars)}; // every entry allowed: skip the mask`);
      }
      body();
    });
  };
  if (!ranges) {
    c.line(`let s_lo = ${lo('0')};`);
    c.line(clip ? `let s_hi = max(${hi(side.len)}, s_lo);` : `let s_hi = ${side.len};`);
    tileLoop();
  } else if (ranges.length === 1) {
    c.line(`let s_lo = ${lo(`max(${src.expr(ranges[0]!.lo, rowVars)}, 0)`)};`);
    c.line(`let s_hi = max(${hi(`min(${src.expr(ranges[0]!.hi, rowVars)}, ${side.len} - 1) + 1`)}, s_lo);`);
    tileLoop();
  } else if (ranges.length > 1) {
    const R = ranges.length;
    c.line(`var r_lo = array<i32, ${R}>(${ranges.map((r) => src.expr(r.lo, rowVars)).join(', ')});`);
    c.line(`var r_hi = array<i32, ${R}>(${ranges.map((r) => src.expr(r.hi, rowVars)).join(', ')});`);
    // Sort by lower bound (a tiny sorting network; the values are uniform).
    const pairs = R === 2 ? [[0, 1]] : R === 3 ? [[0, 1], [1, 2], [0, 1]] : null;
    if (!pairs) throw new Error(`internal: ${R} key ranges (the mask analysis caps them at 3)`);
    for (const [a, b2] of pairs) {
      c.line(`if (r_lo[${b2}] < r_lo[${a}]) { let tl = r_lo[${a}]; r_lo[${a}] = r_lo[${b2}]; r_lo[${b2}] = tl; let th = r_hi[${a}]; r_hi[${a}] = r_hi[${b2}]; r_hi[${b2}] = th; }`);
    }
    c.line(`var cursor = ${lo('0')};`);
    c.block(`for (var rr = 0; rr < ${R}; rr = rr + 1)`, () => {
      c.line('let s_lo = max(r_lo[rr], cursor);');
      c.line(`let s_hi = max(${hi(`min(r_hi[rr], ${side.len} - 1) + 1`)}, s_lo);`);
      tileLoop();
      c.line('cursor = max(cursor, s_hi);');
    });
  }
}

/** One step over `BLOCK` streamed entries `t0 + e + u` (unrolled). */
function blockStep(
  c: Code,
  k: AttendKernel,
  BLOCK: number,
  side: Side,
  tileAt: (t: StreamedTile, e: string, c: string) => string,
  tiles: StreamedTile[],
  statAt: (e: string) => string,
): void {
  const us = [...Array(BLOCK).keys()];
  const vt = tiles.find((t) => t.name === 'v_tile');
  const dotTile = tiles.find((t) => t.name !== 'v_tile');
  const regs = side.row === 'i' ? 'qr' : 'kr';
  const streamedVar = side.streamed;
  if (k.kind === 'pv') {
    for (const u of us) {
      c.line(`let p${u} = select(0.0f, scores[(q_row0 + i) * M + min(t0 + e + ${u}, M - 1)], e + ${u} < nt);`);
    }
  } else {
    for (const u of us) {
      c.line(`let ${streamedVar}${u} = t0 + e + ${u};`);
      const args = side.row === 'i' ? `b, h, hk, i, j${u}` : `b, h, hk, i${u}, j`;
      entryScore(c, u, `e + ${u} < nt && (full || attn_mask(${args}))`, regs, tileAt(dotTile!, `e + ${u}`, 'c'), args);
    }
  }
  const accumulate = () => {
    const terms = us.map((u) => `p${u} * ${tileAt(vt!, `e + ${u}`, 'c')}`).join(' + ');
    c.line(`for (var c = 0; c < DV4; c = c + 1) { acc[c] = acc[c] + ${terms}; }`);
  };
  switch (k.kind) {
    case 'attend':
      onlineSoftmaxFold(c, us, accumulate);
      break;
    case 'colstats':
      c.line(`let mb = ${maxOf(us.map((u) => `x${u}`))};`);
      c.block('if (mb > m_run)', () => {
        c.line(`l_run = l_run * ${softmaxExp(`m_run - mb`)};`);
        c.line('m_run = mb;');
      });
      c.block(`if (mb > ${MASKED_BELOW})`, () => {
        c.line(`l_run = l_run + ${us.map((u) => `select(0.0f, ${softmaxExp(`x${u} - m_run`)}, x${u} > ${MASKED_BELOW})`).join(' + ')};`);
      });
      break;
    case 'colapply':
      c.line(`let mb = ${maxOf(us.map((u) => `x${u}`))};`);
      c.block(`if (mb > ${MASKED_BELOW})`, () => {
        for (const u of us) {
          c.line(`let st${u} = ${statAt(`e + ${u}`)};`);
          c.line(`let p${u} = select(0.0f, ${softmaxExp(`x${u} - st${u}.x`)} / st${u}.y, x${u} > ${MASKED_BELOW} && st${u}.y > 0.0f);`);
        }
        accumulate();
      });
      break;
    case 'scores':
      for (const u of us) c.line(`if (e + ${u} < nt) { scores[(q_row0 + i${u}) * M + j] = x${u}; }`);
      break;
    case 'pv':
      accumulate();
      break;
  }
}

/**
 * The score `x<u>` of one streamed entry for a row held in registers `regs` (one
 * vec4 per chunk, `kAt` the entry's vec4 `c`): `attn_score` of the scaled dot product
 * where `allowed` holds and the score is not masked (≤ −1e30), else the masked sentinel.
 */
export function entryScore(c: Code, u: number, allowed: string, regs: string, kAt: string, args: string): void {
  c.line(`var x${u} = ${NEG};`);
  c.block(`if (${allowed})`, () => {
    c.line(`var d${u} = vec4<f32>(0.0f);`);
    c.line(`for (var c = 0; c < D4; c = c + 1) { d${u} = d${u} + ${regs}[c] * ${kAt}; }`);
    c.line(`let y${u} = attn_score((d${u}.x + d${u}.y + d${u}.z + d${u}.w) * scale, ${args});`);
    c.line(`if (y${u} > ${MASKED_BELOW}) { x${u} = y${u}; }`);
  });
}

/**
 * Fold the scores `x<u>` of a block into the row's running max `m_run` and sum `l_run`,
 * rescaling the accumulator `acc` when the max grows; `accumulate` then adds the weights
 * `p<u>` times their V rows. (The subgroup kernels' form, several rows at once, is
 * subgroup-steps.ts's onlineSoftmaxStep.)
 */
export function onlineSoftmaxFold(c: Code, us: number[], accumulate: () => void): void {
  c.line(`let mb = ${maxOf(us.map((u) => `x${u}`))};`);
  c.block('if (mb > m_run)', () => {
    c.line(`let corr = ${softmaxExp(`m_run - mb`)};`);
    c.line('l_run = l_run * corr;');
    c.line('for (var c = 0; c < DV4; c = c + 1) { acc[c] = acc[c] * corr; }');
    c.line('m_run = mb;');
  });
  c.block(`if (mb > ${MASKED_BELOW})`, () => {
    for (const u of us) c.line(`let p${u} = select(0.0f, ${softmaxExp(`x${u} - m_run`)}, x${u} > ${MASKED_BELOW});`);
    c.line(`l_run = l_run + ${us.map((u) => `p${u}`).join(' + ')};`);
    accumulate();
  });
}

/** `max(…)` of WGSL values, as a balanced tree. */
function maxOf(xs: string[]): string {
  return xs.length === 1 ? xs[0]! : `max(${maxOf(xs.slice(0, xs.length >> 1))}, ${maxOf(xs.slice(xs.length >> 1))})`;
}

/** Unfused softmax of the materialised scores, in place (scores → probabilities). */
/**
 * Top-k over the row `scores[base .. base + M)` (one workgroup; `reduce` folds `part` of
 * every invocation into `red[0]`): the k-th largest score `thr` by rounds of "the largest
 * score below the last one" (each round also counts the scores equal to it), then among
 * the scores equal to `thr` the `need` lowest keys, by rounds of "the smallest key above
 * the last"; every other score of the row becomes masked. Fewer than k allowed scores:
 * the row is left as it is. Every branch is on workgroup-uniform values (loaded with
 * workgroupUniformLoad), so the barriers in the reductions stay in uniform control flow.
 */
function topkLines(c: Code, K: number, WG: number, reduce: (op: string) => void): void {
  c.line(`var thr = ${NEG};`);
  c.line('var need = 0;');
  c.line('var above = 0; // scores above the current level');
  c.line('var done = false;');
  c.block(`for (var r = 0; r < ${K} && !done; r = r + 1)`, () => {
    c.line('let last = workgroupUniformLoad(&lvl);');
    c.line(`var part = ${NEG};`);
    c.line(`for (var j = lid; j < M; j = j + ${WG}) { let x = scores[base + j]; if (r == 0 || x < last) { part = max(part, x); } }`);
    reduce('max(red[lid], red[lid + w])');
    c.line('if (lid == 0) { lvl = red[0]; }');
    c.line('let best = workgroupUniformLoad(&lvl);');
    c.block(`if (best <= ${MASKED_BELOW})`, () => c.line('done = true; // fewer than k allowed scores: keep them all'));
    c.block('else', () => {
      c.line('var part = 0.0f;');
      c.line(`for (var j = lid; j < M; j = j + ${WG}) { if (scores[base + j] == best) { part = part + 1.0f; } }`);
      reduce('red[lid] + red[lid + w]');
      c.line('if (lid == 0) { cnt = red[0]; }');
      c.line('let equal = i32(workgroupUniformLoad(&cnt));');
      c.block(`if (above + equal >= ${K})`, () => {
        c.line('thr = best;');
        c.line(`need = ${K} - above;`);
        c.line('done = true;');
      });
      c.line('above = above + equal;');
    });
  });
  // Among the scores equal to thr, the `need` lowest keys: `jt`, the need-th of them.
  c.line('var jt = -1;');
  c.block(`for (var r = 0; r < need; r = r + 1)`, () => {
    c.line('var pj = M;');
    c.line('for (var j = lid; j < M; j = j + ' + WG + ') { if (scores[base + j] == thr && j > jt) { pj = min(pj, j); } }');
    c.line('var part = f32(pj);');
    reduce('min(red[lid], red[lid + w])');
    c.line('if (lid == 0) { lvl = red[0]; }');
    c.line('jt = i32(workgroupUniformLoad(&lvl));');
  });
  c.block('if (need > 0)', () => {
    c.line(`for (var j = lid; j < M; j = j + ${WG}) { let x = scores[base + j]; if (!(x > thr || (x == thr && j <= jt))) { scores[base + j] = ${NEG}; } }`);
  });
  c.line('workgroupBarrier();');
}

/**
 * A topk(…) selection: one invocation per query row — its row of scores read from memory
 * by the same rounds as topkLines (the k-th largest score `thr`, then the `need` lowest
 * keys among those equal to it), without workgroup barriers: a row of a few summaries
 * costs a few reads per round — then the row rewritten as 1 for each kept key, else 0.
 */
function renderSelectionKernel(k: SoftmaxKernel, src: KernelSource, WG: number): string {
  const K = k.topk!;
  src.declare([`schedule: one invocation per query row, ${WG} per workgroup; top-${K}: rounds of "the largest score below the last", then 1 for each kept key, else 0`]);
  const c = new Code();
  const g = k.geom;
  c.line(`let M = ${src.expr(g.M)};`);
  c.line(`let row = wg * ${WG} + lid; // (b·H + h)·N + i`);
  c.line(`if (row >= ${src.expr(g.B)} * ${src.expr(g.H)} * ${src.expr(g.N)}) { return; }`);
  c.line('let base = row * M;');
  c.line(`var thr = ${NEG};`);
  c.line('var need = 0; // 0: fewer than k allowed scores, all kept');
  c.line('var above = 0; // scores above the current level');
  c.line(`var last = ${NEG};`);
  c.block(`for (var r = 0; r < ${K}; r = r + 1)`, () => {
    c.line(`var best = ${NEG};`);
    c.line('for (var j = 0; j < M; j = j + 1) { let x = scores[base + j]; if ((r == 0 || x < last) && x > best) { best = x; } }');
    c.line(`if (best <= ${MASKED_BELOW}) { break; }`);
    c.line('var equal = 0;');
    c.line('for (var j = 0; j < M; j = j + 1) { if (scores[base + j] == best) { equal = equal + 1; } }');
    c.line(`if (above + equal >= ${K}) { thr = best; need = ${K} - above; break; }`);
    c.line('above = above + equal;');
    c.line('last = best;');
  });
  c.line('// Among the scores equal to thr, the need lowest keys: jt, the need-th of them.');
  c.line('var jt = -1;');
  c.line('var seen = 0;');
  c.line('for (var j = 0; j < M && seen < need; j = j + 1) { if (scores[base + j] == thr) { seen = seen + 1; jt = j; } }');
  c.line(`for (var j = 0; j < M; j = j + 1) { let x = scores[base + j]; scores[base + j] = select(0.0f, 1.0f, x > ${MASKED_BELOW} && (need == 0 || x > thr || (x == thr && j <= jt))); }`);
  src.entry(WG, c);
  return src.toString();
}

export function renderSoftmaxKernel(k: SoftmaxKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  const WG = s.workgroupSize;
  if (k.indicator) return renderSelectionKernel(k, src, WG);
  src.declare([
    k.axis === 'keys'
      ? `schedule: one workgroup of ${WG} invocations per query row; tree reductions in workgroup memory${k.topk === undefined ? '' : `; top-${k.topk}: rounds of "the largest score below the last"`}`
      : `schedule: one invocation per key column, ${WG} per workgroup`,
  ]);
  const c = new Code();
  const g = k.geom;
  c.line(`let B = ${src.expr(g.B)};`);
  c.line(`let H = ${src.expr(g.H)};`);
  c.line(`let N = ${src.expr(g.N)};`);
  c.line(`let M = ${src.expr(g.M)};`);
  if (k.axis === 'keys') {
    src.mod.decls.push(`var<workgroup> red: array<f32, ${WG}>;`);
    if (k.topk !== undefined) src.mod.decls.push('var<workgroup> lvl: f32;', 'var<workgroup> cnt: f32;');
    c.line('let base = wg * M; // row wg = (b·H + h)·N + i');
    const reduce = (op: string) => {
      c.line('red[lid] = part;');
      c.line('workgroupBarrier();');
      c.block(`for (var w = ${WG >> 1}; w > 0; w = w >> 1u)`, () => {
        c.line(`if (lid < w) { red[lid] = ${op}; }`);
        c.line('workgroupBarrier();');
      });
    };
    if (k.topk !== undefined) topkLines(c, k.topk, WG, reduce);
    c.line(`var part = ${NEG};`);
    c.line(`for (var j = lid; j < M; j = j + ${WG}) { part = max(part, scores[base + j]); }`);
    reduce('max(red[lid], red[lid + w])');
    c.line('let mx = red[0];');
    c.line('workgroupBarrier();');
    c.line('part = 0.0f;');
    c.line(`for (var j = lid; j < M; j = j + ${WG}) { let x = scores[base + j]; if (x > ${MASKED_BELOW}) { part = part + ${softmaxExp(`x - mx`)}; } }`);
    reduce('red[lid] + red[lid + w]');
    c.line('let l = red[0];');
    const lse = lseName(src);
    if (lse) c.block('if (lid == 0)', () => storeLse(c, lse, 'wg', 'mx', 'l'));
    c.line('let inv = select(0.0f, 1.0f / l, l > 0.0f);');
    c.line(`for (var j = lid; j < M; j = j + ${WG}) { let x = scores[base + j]; scores[base + j] = select(0.0f, ${softmaxExp(`x - mx`)} * inv, x > ${MASKED_BELOW}); }`);
  } else {
    c.line(`let col = wg * ${WG} + lid; // (b·H + h)·M + j`);
    c.block('if (col < B * H * M)', () => {
      c.line('let bh = col / M;');
      c.line('let j = col - bh * M;');
      c.line('let base = bh * N * M + j;');
      c.line(`var mx = ${NEG};`);
      c.line('for (var i = 0; i < N; i = i + 1) { mx = max(mx, scores[base + i * M]); }');
      c.line('var l = 0.0f;');
      c.line(`for (var i = 0; i < N; i = i + 1) { let x = scores[base + i * M]; if (x > ${MASKED_BELOW}) { l = l + ${softmaxExp(`x - mx`)}; } }`);
      c.line('let inv = select(0.0f, 1.0f / l, l > 0.0f);');
      c.line(`for (var i = 0; i < N; i = i + 1) { let x = scores[base + i * M]; scores[base + i * M] = select(0.0f, ${softmaxExp(`x - mx`)} * inv, x > ${MASKED_BELOW}); }`);
    });
  }
  src.entry(WG, c);
  return src.toString();
}
