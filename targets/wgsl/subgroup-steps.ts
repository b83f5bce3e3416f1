// The steps that the subgroup-broadcast kernels (fused attention and routed attention)
// share: lanes load different vec4s of a block of KB rows and broadcast them, each
// invocation accumulates R rows' dot products, folds the block into its online softmax,
// and adds the block's weighted V rows. One emitter per step, so both kernels stay alike.

import type { Code } from './builder.js';
import { MASKED_BELOW } from './common.js';

/** The unrolling of a subgroup kernel: R rows per invocation, KB streamed rows per block, G lane groups. */
export interface Unroll {
  /** Row indices 0..R-1, streamed-row indices 0..KB-1, lane-group indices 0..G-1. */
  rs: number[];
  us: number[];
  gs: number[];
  /** Loop trips over the head dims, in chunks of G vec4s (⌈D4 / G⌉, ⌈DV4 / G⌉). */
  DC: number;
  DVC: number;
}

/**
 * `s<r>_<u> = w<r> · k_u` for every row r and streamed row u: each lane loads chunk
 * `c·G + lg` of row `lk` with `load(chunk)` and the subgroup shares it.
 */
export function blockDots(c: Code, x: Unroll, load: (chunk: string) => string): void {
  for (const r of x.rs) for (const u of x.us) c.line(`var s${r}_${u} = 0.0f;`);
  c.block(`for (var c = 0; c < ${x.DC}; c = c + 1)`, () => {
    c.line('let cc = c * G + lg;');
    c.line(`let kv = select(vec4<f32>(0.0f), ${load('min(cc, D4 - 1)')}, cc < D4);`);
    for (const gg of x.gs) {
      for (const u of x.us) {
        c.line(`let k${gg}_${u} = subgroupBroadcast(kv, ${gg * (x.us.length) + u}u);`);
        for (const r of x.rs) c.line(`s${r}_${u} = s${r}_${u} + dot(w${r}[c * G + ${gg}], k${gg}_${u});`);
      }
    }
  });
}

/**
 * Fold row r's block of scores `x<r>_<u>` into its running max `m<r>` and sum `l<r>`
 * (rescaling the accumulator `a<r>` when the max grows, if `withV`), leaving the block's
 * weights in `p<r>_<u>`.
 */
export function onlineSoftmaxStep(c: Code, x: Unroll, r: number, withV: boolean): void {
  const { us } = x;
  c.line(`let mb${r} = ${us.map((u) => `x${r}_${u}`).reduce((a, b) => `max(${a}, ${b})`)};`);
  c.block(`if (mb${r} > m${r})`, () => {
    c.line(`let corr = exp(m${r} - mb${r});`);
    c.line(`l${r} = l${r} * corr;`);
    if (withV) c.line(`for (var c = 0; c < ${x.DVC * x.gs.length}; c = c + 1) { a${r}[c] = a${r}[c] * corr; }`);
    c.line(`m${r} = mb${r};`);
  });
  for (const u of us) c.line(`let p${r}_${u} = select(0.0f, exp(x${r}_${u} - m${r}), x${r}_${u} > ${MASKED_BELOW});`);
  c.line(`l${r} = l${r} + ${us.map((u) => `p${r}_${u}`).join(' + ')};`);
}

/** `a<r> += Σ_u p<r>_<u> · v_u`: each lane loads chunk `c·G + lg` of V row `lk` with `load(chunk)`. */
export function blockAccumulateV(c: Code, x: Unroll, load: (chunk: string) => string): void {
  c.block(`for (var c = 0; c < ${x.DVC}; c = c + 1)`, () => {
    c.line('let cc = c * G + lg;');
    c.line(`let vv = select(vec4<f32>(0.0f), ${load('min(cc, DV4 - 1)')}, cc < DV4);`);
    for (const gg of x.gs) {
      for (const u of x.us) c.line(`let v${gg}_${u} = subgroupBroadcast(vv, ${gg * x.us.length + u}u);`);
      for (const r of x.rs) {
        c.line(`a${r}[c * G + ${gg}] = a${r}[c * G + ${gg}] + ${x.us.map((u) => `p${r}_${u} * v${gg}_${u}`).join(' + ')};`);
      }
    }
  });
}
