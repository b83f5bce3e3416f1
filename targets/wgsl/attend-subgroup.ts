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

import type { AttendKernel, AttendSchedule } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource, MASKED_BELOW, NEG, lseName, softmaxExp } from './common.js';
import { HEAD_VARS, geometryLines, headLines, maskAndScoreFunctions, scheduleLines, streamLoops, type Side } from './attend.js';
import {
  blockAccumulateV, blockDots, blockScores, declareWeights, forSlot, onlineSoftmaxStep, splitLines, storeNormalizedRow, storePartials,
  weightDecl, type Unroll,
} from './subgroup-steps.js';

export function renderSubgroupAttend(k: AttendKernel): string {
  if (k.kind !== 'attend' && k.kind !== 'colapply' && k.kind !== 'colstats') {
    throw new Error(`internal: subgroup staging is not implemented for ${k.kind} kernels`);
  }
  return new SubgroupAttend(k).render();
}

/** One subgroup-staged attention kernel being rendered: the schedule's unrolling and names. */
class SubgroupAttend {
  readonly s: AttendSchedule;
  readonly src: KernelSource;
  readonly c = new Code();
  readonly unroll: Unroll;
  readonly side: Side;
  readonly byKeys: boolean;
  readonly withV: boolean;
  readonly rg: AttendSchedule['regroup'];
  /** Fused top-k (attend only): keys are selected while streamed, attended after. */
  readonly topk: number | undefined;
  /** Groups of the kept set (TOPK_GROUP slots each) whose lasts are kept apart; 0: one scan. */
  readonly topkGroups: number;

  constructor(readonly k: AttendKernel) {
    const s = (this.s = k.schedule!);
    const S = s.subgroupSize;
    const KB = s.block;
    if (!(S >= KB && S % KB === 0)) throw new Error(`internal: subgroup size ${S} is not a multiple of the block ${KB}`);
    const G = S / KB;
    const D4 = Math.ceil(k.geom.D / 4);
    const DV4 = Math.ceil(k.geom.Dv / 4);
    const keys = (n: number) => [...Array(n).keys()];
    this.unroll = { rs: keys(s.rowsPerThread), us: keys(KB), gs: keys(G), D4, DV4, DC: Math.ceil(D4 / G), DVC: Math.ceil(DV4 / G) };
    this.byKeys = s.rows === 'keys';
    this.withV = !this.byKeys;
    this.src = new KernelSource(k);
    this.side = this.byKeys ? { row: 'j', streamed: 'i', rows: 'M', len: 'N' } : { row: 'i', streamed: 'j', rows: 'N', len: 'M' };
    this.rg = s.regroup;
    this.topk = k.kind === 'attend' ? k.topk : undefined;
    // Past 2 groups the kept set's last is found in two levels (measured at k = 64, N = 2048
    // on lavapipe: 316 ms against 509 in one scan; for k ≤ 8 one scan is faster).
    this.topkGroups = this.topk !== undefined && this.topk > 2 * TOPK_GROUP ? Math.ceil(this.topk / TOPK_GROUP) : 0;
    if (this.topk !== undefined && this.rg) throw new Error('internal: a top-k attention is not regrouped');
    if (this.rg && k.kind !== 'attend') throw new Error(`internal: dilation regrouping is not implemented for ${k.kind} kernels`);
    if (this.rg) {
      this.side.rows = 'GL';
      this.side.len = 'GL';
    }
  }

  /** Row or streamed index → position: in a regrouped kernel, in-group index → g + d·index. */
  real = (x: string) => (this.rg ? `gq + DIL * (${x})` : x);

  /** Mask/score arguments for row r and streamed entry u. */
  args = (r: number, u: number) =>
    this.byKeys ? `b, h, hk, t0 + e + ${u}, j${r}` : this.rg ? `b, h, hk, iq${r}, ${this.real(`t0 + e + ${u}`)}` : `b, h, hk, i${r}, t0 + e + ${u}`;

  render(): string {
    this.declare();
    this.prologue();
    this.rowSlots();
    this.slotBounds();
    const split = (this.s.splits ?? 1) > 1;
    if (split) splitLines(this.c, this.src, this.s.splits!);
    streamLoops(this.c, this.src, this.k, this.byKeys, this.side, this.s.ranges, () => {
      this.c.block('for (var e = 0; e < nt; e = e + KB)', () => this.block());
    }, this.real, split ? ['k_split_lo', 'k_split_hi'] : undefined);
    this.store();
    this.src.entry(this.s.workgroupSize, this.c, ['@builtin(subgroup_invocation_id) sg_lane: u32']);
    return this.src.toString();
  }

  private declare(): void {
    const { k, s, src, byKeys } = this;
    const { D4, DV4, gs } = this.unroll;
    src.declare(scheduleLines(k));
    src.mod.enables.add('subgroups');
    src.mod.decls.push(
      `const D4 = ${D4}; // head dim ${k.geom.D} as vec4s`,
      `const DV4 = ${DV4}; // value dim ${k.geom.Dv} as vec4s`,
      `const WG = ${s.workgroupSize};`,
      `const TILE = ${s.tile}; // ${byKeys ? 'queries' : 'keys'} per tile (mask-analysis granularity)`,
      `const S = ${s.subgroupSize}; // subgroup lanes used`,
      `const KB = ${s.block}; // ${byKeys ? 'queries' : 'keys'} per block`,
      `const G = ${gs.length}; // vec4 chunks of one row loaded per lane step (S / KB)`,
    );
    maskAndScoreFunctions(src, k);
    if (this.topk !== undefined) {
      src.mod.decls.push(`const TOPK = ${this.topk}; // keys kept per query`);
      if (this.topkGroups) {
        src.mod.decls.push(
          `const TG = ${TOPK_GROUP}; // kept slots per group (each group's last is kept apart)`,
          `const NG = ${this.topkGroups}; // groups`,
        );
      }
      src.mod.functions.push(this.topkGroups ? TOPK_GROUPED_FNS : TOPK_WORST_FN);
    }
    if (k.kind === 'colapply') {
      src.mod.functions.push('fn ld_stats(col: i32) -> vec2<f32> {\n  return vec2<f32>(stats[2 * col], stats[2 * col + 1]);\n}');
    }
  }

  /** Sizes, this workgroup's (b, h[, dilation group], row block), the lanes' roles. */
  private prologue(): void {
    const { c, s, src, rg, side, byKeys } = this;
    geometryLines(c, src, this.k.geom);
    c.line(`let RPW = ${s.rowsPerWorkgroup}; // ${byKeys ? 'keys' : 'queries'} per workgroup (${s.workgroupSize} invocations × ${s.rowsPerThread} rows)`);
    src.decodeGrid(c, s.grid);
    c.line(`let r0 = rb * RPW;${rg ? ' // first in-group row' : ''}`);
    if (rg) {
      c.line(`let DIL = ${rg.dilation}; // dilation: rows and keys regrouped by group gq = position % DIL`);
      c.line('let GL = (N - gq + DIL - 1) / DIL; // positions in this group (N = M)');
      c.line('if (r0 >= GL) { return; } // uniform: past the end of a shorter group');
    }
    headLines(c);
    c.line(`let scale = ${src.expr(this.k.scale)};`);
    c.line('let lane = i32(sg_lane) % S;');
    c.line(`let lk = lane % KB; // the ${byKeys ? 'query' : 'key'} of the block this lane loads`);
    c.line('let lg = lane / KB; // the chunk group this lane loads');
  }

  /** Each row slot's row, its vector in registers, its accumulator and running max/sum. */
  private rowSlots(): void {
    const { c, k, s, src, rg, side, byKeys } = this;
    const { rs, gs, DC, DVC } = this.unroll;
    const ldRow = src.load4(src.binding(byKeys ? 'k' : 'q'));
    const rowBase = byKeys ? 'kv_row0' : 'q_row0';
    for (const r of rs) {
      c.line(`let ${side.row}${r} = r0 + lid + ${r * s.workgroupSize};`);
      c.line(`let ok${r} = ${side.row}${r} < ${side.rows};`);
      if (rg) c.line(`let iq${r} = ${this.real(`i${r}`)}; // the query's position`);
      c.line(`var w${r} = array<vec4<f32>, ${DC * gs.length}>(); // the row's ${byKeys ? 'key' : 'query'} vector`);
      c.line(`for (var c = 0; c < D4; c = c + 1) { w${r}[c] = ${ldRow}(${rowBase} + ${this.real(`min(${side.row}${r}, ${side.rows} - 1)`)}, c); }`);
      if (this.withV) c.line(`var a${r} = array<vec4<f32>, ${DVC * gs.length}>();`);
      if (k.kind !== 'colapply') {
        c.line(`var m${r} = ${NEG};`);
        c.line(`var l${r} = 0.0f;`);
      }
      if (this.topk !== undefined) {
        c.line(`var ts${r} = array<f32, TOPK>(); // the kept keys' scores and keys`);
        c.line(`var tj${r} = array<i32, TOPK>();`);
        c.line(`var tn${r} = 0; // keys kept so far`);
        c.line(`var tw${r} = 0; // once TOPK are kept: the slot of the last in the order (lowest score, then highest key)`);
        c.line(`var tv${r} = ${NEG}; // and its score`);
        if (this.topkGroups) {
          c.line(`var gs${r} = array<f32, NG>(); // each group's last: score, key, slot`);
          c.line(`var gj${r} = array<i32, NG>();`);
          c.line(`var gw${r} = array<i32, NG>();`);
        }
      }
    }
  }

  /**
   * Slot guards (the schedule's `slotGuards`, chosen by the tile pass): each slot's own
   * streamed range, none for a slot past the last row.
   */
  private slotBounds(): void {
    const { c, s, src, side } = this;
    const guards = s.slotGuards;
    if (!guards) return;
    const WG = s.workgroupSize;
    this.unroll.active = this.unroll.rs.map((r) => `act${r}`);
    for (const r of this.unroll.rs) {
      const first = `r0 + ${r * WG}`;
      const slotVars = { ...HEAD_VARS, q_lo: first, q_hi: `min(${first} + ${WG - 1}, ${side.rows} - 1)`, group_len: 'GL' };
      const [lo, hi] = guards.range ? [src.expr(guards.range.lo, slotVars), src.expr(guards.range.hi, slotVars)] : ['0', `${side.len} - 1`];
      c.line(`let klo${r} = select(1, ${lo}, ${first} < ${side.rows}); // slot ${r}'s keys (none past the end)`);
      c.line(`let khi${r} = select(0, ${hi}, ${first} < ${side.rows});`);
    }
  }

  /** One block of KB streamed entries: the slots' guards, dots, scores, softmax steps and V. */
  private block(): void {
    const { c, k, src, side, unroll } = this;
    this.blockGuards();
    const streamBase = this.byKeys ? 'q_row0' : 'kv_row0';
    c.line(`let jl = ${streamBase} + ${this.real(`min(t0 + e + lk, ${side.len} - 1)`)}; // the row this lane loads`);
    const ldDot = src.load4(src.binding(this.byKeys ? 'q' : 'k'));
    blockDots(c, unroll, (chunk) => `${ldDot}(jl, ${chunk})`);
    if (k.kind === 'colapply') {
      c.line(`let st = ld_stats(bh * M + min(t0 + e + lk, M - 1)); // (max, sum) of this lane's key column`);
      for (const u of unroll.us) c.line(`let st${u} = subgroupBroadcast(st, ${u}u);`);
    }
    declareWeights(c, unroll);
    for (const r of unroll.rs) {
      forSlot(c, unroll, r, () => {
        blockScores(c, unroll, r, (u) => `e + ${u} < nt && ok${r} && (full || attn_mask(${this.args(r, u)}))`, (u) => this.args(r, u));
        if (this.topk !== undefined) {
          for (const u of unroll.us) this.select(r, u);
          return;
        }
        if (k.kind === 'colapply') {
          for (const u of unroll.us) {
            c.line(`${weightDecl(unroll)}p${r}_${u} = select(0.0f, ${softmaxExp(`x${r}_${u} - st${u}.x`)} / st${u}.y, x${r}_${u} > ${MASKED_BELOW} && st${u}.y > 0.0f);`);
          }
          return;
        }
        onlineSoftmaxStep(c, unroll, r, this.withV);
      });
    }
    if (!this.withV || this.topk !== undefined) return;
    const ldv = src.load4(src.binding('v'));
    blockAccumulateV(c, unroll, (chunk) => `${ldv}(jl, ${chunk})`);
  }

  /**
   * Top-k selection of entry u for row r, in key order: the first TOPK allowed keys are
   * kept; later a key replaces the last kept one in the order (lowest score, then highest
   * key) only with a strictly larger score — an equal score comes later in the order.
   */
  private select(r: number, u: number): void {
    const { c } = this;
    const x = `x${r}_${u}`;
    c.block(`if (${x} > ${MASKED_BELOW})`, () => {
      c.block(`if (tn${r} < TOPK)`, () => {
        c.line(`ts${r}[tn${r}] = ${x};`);
        c.line(`tj${r}[tn${r}] = t0 + e + ${u};`);
        c.line(`tn${r} = tn${r} + 1;`);
        if (!this.topkGroups) {
          c.line(`if (tn${r} == TOPK) { tw${r} = topk_last(&ts${r}, &tj${r}); tv${r} = ts${r}[tw${r}]; }`);
          return;
        }
        c.block(`if (tn${r} == TOPK)`, () => {
          c.line(`for (var g = 0; g < NG; g = g + 1) { topk_regroup(&ts${r}, &tj${r}, &gs${r}, &gj${r}, &gw${r}, g); }`);
          c.line(`tw${r} = gw${r}[topk_last_group(&gs${r}, &gj${r})];`);
          c.line(`tv${r} = ts${r}[tw${r}];`);
        });
      });
      c.block(`else if (${x} > tv${r})`, () => {
        c.line(`ts${r}[tw${r}] = ${x};`);
        c.line(`tj${r}[tw${r}] = t0 + e + ${u};`);
        if (!this.topkGroups) {
          c.line(`tw${r} = topk_last(&ts${r}, &tj${r});`);
        } else {
          // The replaced slot's group is scanned again, then the groups' lasts: TG + NG
          // reads, not TOPK.
          c.line(`topk_regroup(&ts${r}, &tj${r}, &gs${r}, &gj${r}, &gw${r}, tw${r} / TG);`);
          c.line(`tw${r} = gw${r}[topk_last_group(&gs${r}, &gj${r})];`);
        }
        c.line(`tv${r} = ts${r}[tw${r}];`);
      });
    });
  }

  /** After the selection: row r's softmax over its kept keys and their V rows (each lane its own). */
  private attendKept(r: number): void {
    const { c, src } = this;
    const ldv = src.load4(src.binding('v'));
    c.line(`for (var t = 0; t < tn${r}; t = t + 1) { m${r} = max(m${r}, ts${r}[t]); }`);
    c.block(`for (var t = 0; t < tn${r}; t = t + 1)`, () => {
      c.line(`let p = ${softmaxExp(`ts${r}[t] - m${r}`)};`);
      c.line(`l${r} = l${r} + p;`);
      c.line(`let jr = kv_row0 + tj${r}[t];`);
      c.line(`for (var c = 0; c < DV4; c = c + 1) { a${r}[c] = a${r}[c] + p * ${ldv}(jr, c); }`);
    });
  }

  /** `act<r>`: the block meets slot r's range and, in a mixed tile, is not empty for its rows. */
  private blockGuards(): void {
    const { c, s, k, src, side } = this;
    const guards = s.slotGuards;
    if (!guards) return;
    for (const r of this.unroll.rs) {
      const inRange = `t0 + e <= khi${r} && t0 + e + KB - 1 >= klo${r}`;
      // (A 2-D window's mixed tile holds only a few of its columns per grid row.)
      const first = `r0 + ${r * s.workgroupSize}`;
      const last = `min(${first} + ${s.workgroupSize - 1}, ${side.rows} - 1)`;
      const real = this.real;
      const box = {
        ...HEAD_VARS,
        ...(this.byKeys
          ? { k_lo: real(first), k_hi: real(last), q_lo: real('t0 + e'), q_hi: real('t0 + e + KB - 1') }
          : { q_lo: real(first), q_hi: real(last), k_lo: real('t0 + e'), k_hi: real('t0 + e + KB - 1') }),
      };
      const empty = guards.tileEmpty ? ` && (full || !(${src.expr(k.tileEmpty, box)}))` : '';
      c.line(`let act${r} = ${inRange}${empty};`);
    }
  }

  /** Each valid row's result. */
  private store(): void {
    const { c, k, src } = this;
    if ((this.s.splits ?? 1) > 1) {
      for (const r of this.unroll.rs) c.block(`if (ok${r})`, () => storePartials(c, src, `(bh * SPL + sp) * N + i${r}`, `a${r}`, `m${r}`, `l${r}`));
      return;
    }
    const st = this.withV ? src.store4(src.binding('out')) : '';
    for (const r of this.unroll.rs) {
      c.block(`if (ok${r})`, () => {
        if (k.kind === 'attend') {
          if (this.topk !== undefined) this.attendKept(r);
          storeNormalizedRow(c, r, st, `q_row0 + ${this.rg ? `iq${r}` : `i${r}`}`, lseName(src));
        } else if (k.kind === 'colapply') {
          c.line(`for (var c = 0; c < DV4; c = c + 1) { ${st}(q_row0 + i${r}, c, a${r}[c]); }`);
        } else {
          c.line(`stats[2 * (bh * M + j${r})] = m${r};`);
          c.line(`stats[2 * (bh * M + j${r}) + 1] = l${r};`);
        }
      });
    }
  }
}

/**
 * The slot of the last kept key in the top-k order (lowest score; of equal scores, the
 * highest key): the one a better key replaces.
 */
const TOPK_WORST_FN = `fn topk_last(s: ptr<function, array<f32, TOPK>>, j: ptr<function, array<i32, TOPK>>) -> i32 {
  // The running worst in registers: every array read has a uniform index (a vector load
  // on a SIMD CPU, not a gather).
  var w = 0;
  var ws = (*s)[0];
  var wj = (*j)[0];
  for (var t = 1; t < TOPK; t = t + 1) {
    let st = (*s)[t];
    let jt = (*j)[t];
    if (st < ws || (st == ws && jt > wj)) { w = t; ws = st; wj = jt; }
  }
  return w;
}`;

/** Kept slots per group of a large kept set (the groups' lasts are kept apart). */
const TOPK_GROUP = 4;

/**
 * The same last in two levels, for a large kept set: `topk_regroup` records group g's
 * last (score, key, slot), `topk_last_group` finds the group whose last is last overall.
 */
const TOPK_GROUPED_FNS = `fn topk_regroup(s: ptr<function, array<f32, TOPK>>, j: ptr<function, array<i32, TOPK>>,
    gs: ptr<function, array<f32, NG>>, gj: ptr<function, array<i32, NG>>, gw: ptr<function, array<i32, NG>>, g: i32) {
  let t0 = g * TG;
  var w = t0;
  var ws = (*s)[t0];
  var wj = (*j)[t0];
  for (var t = t0 + 1; t < min(t0 + TG, TOPK); t = t + 1) {
    let st = (*s)[t];
    let jt = (*j)[t];
    if (st < ws || (st == ws && jt > wj)) { w = t; ws = st; wj = jt; }
  }
  (*gs)[g] = ws;
  (*gj)[g] = wj;
  (*gw)[g] = w;
}

fn topk_last_group(gs: ptr<function, array<f32, NG>>, gj: ptr<function, array<i32, NG>>) -> i32 {
  // The running last in registers: every array read has a uniform index (a vector load
  // on a SIMD CPU, not a gather).
  var w = 0;
  var ws = (*gs)[0];
  var wj = (*gj)[0];
  for (var g = 1; g < NG; g = g + 1) {
    let st = (*gs)[g];
    let jt = (*gj)[g];
    if (st < ws || (st == ws && jt > wj)) { w = g; ws = st; wj = jt; }
  }
  return w;
}`;
