// The steps that the subgroup-broadcast kernels (fused attention and routed attention)
// share: lanes load different vec4s of a block of KB rows and broadcast them, each
// invocation accumulates R rows' dot products, folds the block into its online softmax,
// and adds the block's weighted V rows. One emitter per step, so both kernels stay alike.

import type { Code } from './builder.js';
import { MASKED_BELOW, NEG, NEG_INF, softmaxExp, type KernelSource } from './common.js';

/** The unrolling of a subgroup kernel: R rows per invocation, KB streamed rows per block, G lane groups. */
export interface Unroll {
  /** Row indices 0..R-1, streamed-row indices 0..KB-1, lane-group indices 0..G-1. */
  rs: number[];
  us: number[];
  gs: number[];
  /** The head dims in vec4s, and the chunk steps over them (⌈D4 / G⌉, ⌈DV4 / G⌉). */
  D4: number;
  DV4: number;
  DC: number;
  DVC: number;
  /**
   * Per row slot r (the rows `r0 + lid + r·WG`), a WGSL bool, uniform across the
   * workgroup, that is false when no streamed entry of the current block can be allowed for
   * any of the slot's rows: the slot's dot products, softmax step and V accumulation are
   * then skipped (a uniform branch, so the work is really saved). Absent: every slot works.
   */
  active?: string[];
}

/** `body` for row slot r, inside `if (active_r)` when the unrolling has slot guards. */
export function forSlot(c: Code, x: Unroll, r: number, body: () => void): void {
  const act = x.active?.[r];
  if (act) c.block(`if (${act})`, body);
  else body();
}

/**
 * `s<r>_<u> = w<r> · k_u` for every row r and streamed row u: each lane loads chunk
 * `c·G + lg` of row `lk` with `load(chunk)` and the subgroup shares it.
 */
export function blockDots(c: Code, x: Unroll, load: (chunk: string) => string): void {
  for (const r of x.rs) for (const u of x.us) c.line(`var s${r}_${u} = 0.0f;`);
  unrolledChunks(c, x.DC, x.gs.length, [x.D4, 'D4'], 'kv', load, (cc) => {
    for (const gg of x.gs) {
      if (!x.active) {
        // Unguarded: one broadcast live at a time.
        for (const u of x.us) {
          c.line(`let k${gg}_${u} = subgroupBroadcast(kv, ${gg * (x.us.length) + u}u);`);
          for (const r of x.rs) c.line(`s${r}_${u} = s${r}_${u} + dot(w${r}[${cc * x.gs.length + gg}], k${gg}_${u});`);
        }
        continue;
      }
      for (const u of x.us) c.line(`let k${gg}_${u} = subgroupBroadcast(kv, ${gg * (x.us.length) + u}u);`);
      for (const r of x.rs) {
        forSlot(c, x, r, () => {
          for (const u of x.us) c.line(`s${r}_${u} = s${r}_${u} + dot(w${r}[${cc * x.gs.length + gg}], k${gg}_${u});`);
        });
      }
    }
  });
}

/**
 * The head-dim loop of a block step, unrolled: chunk c of every lane is `c·G + lg`, and
 * with constant c every index into the rows' private arrays (w, a) is constant, so the
 * arrays live in registers. (A loop over c indexes them dynamically, and llvmpipe then
 * keeps them in scratch memory: ~1.3× slower.) Only a chunk that can run past the head
 * dim (`dim4` vec4s) is guarded.
 */
function unrolledChunks(
  c: Code, trips: number, G: number, [dim4, dim4Name]: [number, string], name: string,
  load: (chunk: string) => string, body: (chunk: number) => void,
): void {
  for (let cc = 0; cc < trips; cc++) {
    c.block('', () => {
      c.line(`let cc = ${cc * G} + lg;`);
      const guarded = (cc + 1) * G > dim4;
      c.line(guarded
        ? `let ${name} = select(vec4<f32>(0.0f), ${load(`min(cc, ${dim4Name} - 1)`)}, cc < ${dim4Name});`
        : `let ${name} = ${load('cc')};`);
      body(cc);
    });
  }
}

/**
 * Fold row r's block of scores `x<r>_<u>` into its running max `m<r>` and sum `l<r>`
 * (rescaling the accumulator `a<r>` when the max grows, if `withV`), leaving the block's
 * weights in `p<r>_<u>` (declared here, or by `declareWeights` before a slot guard).
 */
export function onlineSoftmaxStep(c: Code, x: Unroll, r: number, withV: boolean): void {
  const { us } = x;
  c.line(`let mb${r} = ${us.map((u) => `x${r}_${u}`).reduce((a, b) => `max(${a}, ${b})`)};`);
  c.block(`if (mb${r} > m${r})`, () => {
    c.line(`let corr = ${softmaxExp(`m${r} - mb${r}`)};`);
    c.line(`l${r} = l${r} * corr;`);
    if (withV) c.line(`for (var c = 0; c < ${x.DVC * x.gs.length}; c = c + 1) { a${r}[c] = a${r}[c] * corr; }`);
    c.line(`m${r} = mb${r};`);
  });
  for (const u of us) c.line(`${weightDecl(x)}p${r}_${u} = select(0.0f, ${softmaxExp(`x${r}_${u} - m${r}`)}, x${r}_${u} > ${MASKED_BELOW});`);
  c.line(`l${r} = l${r} + ${us.map((u) => `p${r}_${u}`).join(' + ')};`);
}

/** `a<r> += Σ_u p<r>_<u> · v_u`: each lane loads chunk `c·G + lg` of V row `lk` with `load(chunk)`. */
export function blockAccumulateV(c: Code, x: Unroll, load: (chunk: string) => string): void {
  unrolledChunks(c, x.DVC, x.gs.length, [x.DV4, 'DV4'], 'vv', load, (cc) => {
    for (const gg of x.gs) {
      for (const u of x.us) c.line(`let v${gg}_${u} = subgroupBroadcast(vv, ${gg * x.us.length + u}u);`);
      for (const r of x.rs) {
        const a = `a${r}[${cc * x.gs.length + gg}]`;
        forSlot(c, x, r, () => c.line(`${a} = ${a} + ${x.us.map((u) => `p${r}_${u} * v${gg}_${u}`).join(' + ')};`));
      }
    }
  });
}

/** With slot guards, the block's weights `p<r>_<u>` outlive the guarded softmax steps. */
export function declareWeights(c: Code, x: Unroll): void {
  if (x.active) for (const r of x.rs) for (const u of x.us) c.line(`var p${r}_${u} = 0.0f;`);
}

/** How a weight `p<r>_<u>` is introduced: assigned when declareWeights declared it, else a `let`. */
export const weightDecl = (x: Unroll) => (x.active ? '' : 'let ');

/**
 * Row r's block of scores `x<r>_<u>`: `attn_score` of the scaled dot product where
 * `allowed(u)` (a WGSL bool) holds and the score is not masked (≤ −1e30), else the
 * masked sentinel. `args(u)` are the mask/score arguments of entry u.
 */
export function blockScores(c: Code, x: Unroll, r: number, allowed: (u: number) => string, args: (u: number) => string): void {
  for (const u of x.us) {
    c.line(`var x${r}_${u} = ${NEG};`);
    c.block(`if (${allowed(u)})`, () => {
      c.line(`let y = attn_score(s${r}_${u} * scale, ${args(u)});`);
      c.line(`if (y > ${MASKED_BELOW}) { x${r}_${u} = y; }`);
    });
  }
}

/**
 * Write row r's accumulator divided by its sum (a row with no allowed key is exactly 0),
 * and with `lse` (a binding name) the row's log-sum-exp.
 */
export function storeNormalizedRow(c: Code, r: number, store: string, row: string, lse?: string): void {
  c.line(`let inv = select(0.0f, 1.0f / l${r}, l${r} > 0.0f); // a row with no allowed key is exactly 0`);
  c.line(`for (var c = 0; c < DV4; c = c + 1) { ${store}(${row}, c, a${r}[c] * inv); }`);
  if (lse) storeLse(c, lse, row, `m${r}`, `l${r}`);
}

/**
 * `lse[row] = m + log(l)`, the row's log-sum-exp from its running max and sum; −inf for a
 * row with no allowed key (the module must declare NEG_INF_FN: `lseName`'s callers do).
 */
export function storeLse(c: Code, lse: string, row: string, m: string, l: string): void {
  c.line(`${lse}[${row}] = select(${NEG_INF}, ${m} + log(${l}), ${l} > 0.0f);`);
}

/**
 * Split-KV (AttendSchedule.splits): this workgroup's slice `[k_split_lo, k_split_hi)` of
 * the M keys (grid axis `sp`), for streamLoops to stay within.
 */
export function splitLines(c: Code, src: KernelSource, splits: number): void {
  src.mod.decls.push(`const SPL = ${splits}; // key slices (split-KV): this workgroup streams slice sp`);
  c.line('let slice = (M + SPL - 1) / SPL;');
  c.line('let k_split_lo = sp * slice;');
  c.line('let k_split_hi = min(M, k_split_lo + slice);');
}

/**
 * Split-KV: a row's partial softmax over its slice — the unnormalised accumulator `acc`
 * (DV4 vec4s, whole in this invocation), then (max, sum) — into the `partials` scratch at
 * row `row` (kernel.ts MergeKernel layout), for the merge kernel.
 */
export function storePartials(c: Code, src: KernelSource, row: string, acc: string, m: string, l: string): void {
  const st = src.store4(src.binding('partials'));
  c.line(`let pr = ${row};`);
  c.line(`for (var c = 0; c < DV4; c = c + 1) { ${st}(pr, c, ${acc}[c]); }`);
  c.line(`${st}(pr, DV4, vec4<f32>(${m}, ${l}, 0.0f, 0.0f));`);
}
