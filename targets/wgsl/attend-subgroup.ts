// Attention kernels with `subgroup` staging: the fast path where the device grants
// `subgroups` (lavapipe, recent Chrome; TOOLCHAIN.md "What is fast"). Used for the fused
// attend (normalize: keys) and both passes of normalize: queries (colstats owns key rows
// and streams queries; colapply owns query rows and streams keys, values and the column
// statistics).
//
// - Each invocation owns R rows (register blocking: R·(D + Dv) floats of q and
//   accumulators), so every K/V vector it receives is used R times.
// - Streamed entries (keys, or queries for colstats) are processed in blocks of KB. The S lanes of a subgroup (S = the schedule's
//   subgroup size, at most the device's minimum) load *different* vec4s of the block —
//   lane ℓ loads key ℓ % KB, vec4 chunk (c·G + ℓ / KB) with G = S / KB — and share them
//   with `subgroupBroadcast(x, constLane)`. No workgroup memory, no barriers.
// - Lanes past S in a wider subgroup load duplicates and are never broadcast from, so the
//   kernel is correct for any actual subgroup size ≥ S.
// - Subgroup operations run in uniform control flow: every invocation takes part in every
//   block (rows past N compute on clamped data and write nothing); only the per-entry
//   mask/score work and the online-softmax updates are per row.
// - Dilation regrouping (`schedule.regroup`, fused attend only): the workgroup index also
//   picks a dilation group g; rows and streamed keys are in-group indices (position =
//   g + d·index), key ranges are in-group, the tile predicates and the mask see positions.

import type { AttendKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource, MASKED_BELOW, NEG, softmaxExp } from './common.js';
import { geometryLines, headLines, scheduleLines, streamLoops, type Side } from './attend.js';
import {
  blockAccumulateV, blockDots, blockScores, declareWeights, forSlot, onlineSoftmaxStep, storeNormalizedRow, weightDecl, type Unroll,
} from './subgroup-steps.js';

export function renderSubgroupAttend(k: AttendKernel): string {
  const s = k.schedule!;
  if (k.kind !== 'attend' && k.kind !== 'colapply' && k.kind !== 'colstats') {
    throw new Error(`internal: subgroup staging is not implemented for ${k.kind} kernels`);
  }
  const S = s.subgroupSize;
  const KB = s.block;
  const R = s.rowsPerThread;
  const WG = s.workgroupSize;
  if (!(S >= KB && S % KB === 0)) throw new Error(`internal: subgroup size ${S} is not a multiple of the block ${KB}`);
  const G = S / KB;
  const D4 = Math.ceil(k.geom.D / 4);
  const DV4 = Math.ceil(k.geom.Dv / 4);
  const DC = Math.ceil(D4 / G);
  const DVC = Math.ceil(DV4 / G);
  const byKeys = s.rows === 'keys';
  const withV = !byKeys;
  const src = new KernelSource(k);
  src.declare(scheduleLines(k));
  const mod = src.mod;
  mod.enables.add('subgroups');
  mod.decls.push(
    `const D4 = ${D4}; // head dim ${k.geom.D} as vec4s`,
    `const DV4 = ${DV4}; // value dim ${k.geom.Dv} as vec4s`,
    `const WG = ${WG};`,
    `const TILE = ${s.tile}; // ${byKeys ? 'queries' : 'keys'} per tile (mask-analysis granularity)`,
    `const S = ${S}; // subgroup lanes used`,
    `const KB = ${KB}; // ${byKeys ? 'queries' : 'keys'} per block`,
    `const G = ${G}; // vec4 chunks of one row loaded per lane step (S / KB)`,
  );
  const vars = { b: 'b', h: 'h', hk: 'hk', i: 'i', j: 'j' };
  mod.functions.push(
    `fn attn_mask(b: i32, h: i32, hk: i32, i: i32, j: i32) -> bool {\n  return ${src.expr(k.mask, vars)};\n}`,
    `fn attn_score(s: f32, b: i32, h: i32, hk: i32, i: i32, j: i32) -> f32 {\n  return ${src.expr(k.score, vars)};\n}`,
  );
  if (k.kind === 'colapply') {
    mod.functions.push('fn ld_stats(col: i32) -> vec2<f32> {\n  return vec2<f32>(stats[2 * col], stats[2 * col + 1]);\n}');
  }
  const ldRow = src.load4(src.binding(byKeys ? 'k' : 'q'));
  const ldDot = src.load4(src.binding(byKeys ? 'q' : 'k'));
  const ldv = withV ? src.load4(src.binding('v')) : '';
  const st = withV ? src.store4(src.binding('out')) : '';
  const rs = [...Array(R).keys()];
  const us = [...Array(KB).keys()];
  const gs = [...Array(G).keys()];
  const unroll: Unroll = { rs, us, gs, D4, DV4, DC, DVC };
  const side: Side = byKeys
    ? { row: 'j', streamed: 'i', rows: 'M', len: 'N' }
    : { row: 'i', streamed: 'j', rows: 'N', len: 'M' };
  const rowBase = byKeys ? 'kv_row0' : 'q_row0';
  const streamBase = byKeys ? 'q_row0' : 'kv_row0';
  const rg = s.regroup;
  if (rg && k.kind !== 'attend') throw new Error(`internal: dilation regrouping is not implemented for ${k.kind} kernels`);
  if (rg) {
    side.rows = 'GL';
    side.len = 'GL';
  }
  /** Row or streamed index → position: in a regrouped kernel, in-group index → g + d·index. */
  const real = (x: string) => (rg ? `gq + DIL * (${x})` : x);
  /** Mask/score arguments for row r and streamed entry u. */
  const args = (r: number, u: number) => (byKeys ? `b, h, hk, t0 + e + ${u}, j${r}` : rg ? `b, h, hk, iq${r}, ${real(`t0 + e + ${u}`)}` : `b, h, hk, i${r}, t0 + e + ${u}`);

  const c = new Code();
  const g = k.geom;
  geometryLines(c, src, g);
  c.line(`let RPW = ${s.rowsPerWorkgroup}; // ${byKeys ? 'keys' : 'queries'} per workgroup (${WG} invocations × ${R} rows)`);
  if (rg) {
    c.line(`let DIL = ${rg.dilation}; // dilation: rows and keys regrouped by group g = position % DIL`);
    c.line('let n_rb = ((N + DIL - 1) / DIL + RPW - 1) / RPW; // row blocks of the longest group');
    c.line('let bhg = wg / n_rb; // (b·H + h)·DIL + g');
    c.line('let r0 = (wg - bhg * n_rb) * RPW; // first in-group row');
    c.line('let bh = bhg / DIL;');
    c.line('let gq = bhg - bh * DIL;');
    c.line('let GL = (N - gq + DIL - 1) / DIL; // positions in this group (N = M)');
    c.line('if (r0 >= GL) { return; } // uniform: past the end of a shorter group');
  } else {
    c.line(`let n_rb = (${side.rows} + RPW - 1) / RPW;`);
    c.line('let bh = wg / n_rb;');
    c.line('let r0 = (wg - bh * n_rb) * RPW;');
  }
  headLines(c);
  c.line(`let scale = ${src.expr(k.scale)};`);
  c.line('let lane = i32(sg_lane) % S;');
  c.line(`let lk = lane % KB; // the ${byKeys ? 'query' : 'key'} of the block this lane loads`);
  c.line('let lg = lane / KB; // the chunk group this lane loads');
  for (const r of rs) {
    c.line(`let ${side.row}${r} = r0 + lid + ${r * WG};`);
    c.line(`let ok${r} = ${side.row}${r} < ${side.rows};`);
    if (rg) c.line(`let iq${r} = ${real(`i${r}`)}; // the query's position`);
    c.line(`var w${r} = array<vec4<f32>, ${DC * G}>(); // the row's ${byKeys ? 'key' : 'query'} vector`);
    c.line(`for (var c = 0; c < D4; c = c + 1) { w${r}[c] = ${ldRow}(${rowBase} + ${real(`min(${side.row}${r}, ${side.rows} - 1)`)}, c); }`);
    if (withV) c.line(`var a${r} = array<vec4<f32>, ${DVC * G}>();`);
    if (k.kind !== 'colapply') {
      c.line(`var m${r} = ${NEG};`);
      c.line(`var l${r} = 0.0f;`);
    }
  }
  // Slot guards (the schedule's `slotGuards`, chosen by the tile pass): each slot's own
  // streamed range, none for a slot past the last row.
  const guards = s.slotGuards;
  const range = guards?.range ?? null;
  if (guards) {
    unroll.active = rs.map((r) => `act${r}`);
    for (const r of rs) {
      const first = `r0 + ${r * WG}`;
      const slotVars = { q_lo: first, q_hi: `min(${first} + ${WG - 1}, ${side.rows} - 1)`, group_len: 'GL' };
      const [lo, hi] = range ? [src.expr(range.lo, slotVars), src.expr(range.hi, slotVars)] : ['0', `${side.len} - 1`];
      c.line(`let klo${r} = select(1, ${lo}, ${first} < ${side.rows}); // slot ${r}'s keys (none past the end)`);
      c.line(`let khi${r} = select(0, ${hi}, ${first} < ${side.rows});`);
    }
  }
  streamLoops(c, src, k, byKeys, side, s.ranges, () => {
    c.block('for (var e = 0; e < nt; e = e + KB)', () => {
      if (guards) {
        for (const r of rs) {
          const inRange = `t0 + e <= khi${r} && t0 + e + KB - 1 >= klo${r}`;
          // (A 2-D window's mixed tile holds only a few of its columns per grid row.)
          const first = `r0 + ${r * WG}`;
          const last = `min(${first} + ${WG - 1}, ${side.rows} - 1)`;
          const box = byKeys
            ? { k_lo: real(first), k_hi: real(last), q_lo: real('t0 + e'), q_hi: real('t0 + e + KB - 1') }
            : { q_lo: real(first), q_hi: real(last), k_lo: real('t0 + e'), k_hi: real('t0 + e + KB - 1') };
          const empty = guards.tileEmpty ? ` && (full || !(${src.expr(k.tileEmpty, box)}))` : '';
          c.line(`let act${r} = ${inRange}${empty};`);
        }
      }
      c.line(`let jl = ${streamBase} + ${real(`min(t0 + e + lk, ${side.len} - 1)`)}; // the row this lane loads`);
      blockDots(c, unroll, (chunk) => `${ldDot}(jl, ${chunk})`);
      if (k.kind === 'colapply') {
        c.line(`let st = ld_stats(bh * M + min(t0 + e + lk, M - 1)); // (max, sum) of this lane's key column`);
        for (const u of us) c.line(`let st${u} = subgroupBroadcast(st, ${u}u);`);
      }
      declareWeights(c, unroll);
      for (const r of rs) {
        forSlot(c, unroll, r, () => {
          blockScores(c, unroll, r, (u) => `e + ${u} < nt && ok${r} && (full || attn_mask(${args(r, u)}))`, (u) => args(r, u));
          if (k.kind === 'colapply') {
            for (const u of us) {
              c.line(`${weightDecl(unroll)}p${r}_${u} = select(0.0f, ${softmaxExp(`x${r}_${u} - st${u}.x`)} / st${u}.y, x${r}_${u} > ${MASKED_BELOW} && st${u}.y > 0.0f);`);
            }
            return;
          }
          onlineSoftmaxStep(c, unroll, r, withV);
        });
      }
      if (!withV) return;
      blockAccumulateV(c, unroll, (chunk) => `${ldv}(jl, ${chunk})`);
    });
  }, real);
  for (const r of rs) {
    c.block(`if (ok${r})`, () => {
      if (k.kind === 'attend') {
        storeNormalizedRow(c, r, st, `q_row0 + ${rg ? `iq${r}` : `i${r}`}`);
      } else if (k.kind === 'colapply') {
        c.line(`for (var c = 0; c < DV4; c = c + 1) { ${st}(q_row0 + i${r}, c, a${r}[c]); }`);
      } else {
        c.line(`stats[2 * (bh * M + j${r})] = m${r};`);
        c.line(`stats[2 * (bh * M + j${r}) + 1] = l${r};`);
      }
    });
  }
  src.entry(WG, c, ['@builtin(subgroup_invocation_id) sg_lane: u32']);
  return src.toString();
}
