// The kernels both `scores` strategies (normalize: keys and queries) share: pass 1, the
// masked scores of an attend materialised once in a banded scratch, and pass 3, the
// weighted sum of v over each query's slots of that scratch.

import { kernelSource, nodeBuffer, scratchBuffer, type PlanBuilder } from './builder.js';
import {
  attendEnv,
  attendLabel,
  chunkHeadLine,
  MASKED,
  rangeBounds,
  scoreTensorIds,
  slotLoops,
  slotOffsets,
  type AttendGeometry,
  type KeyRange,
  type AttendView,
} from './attend-common.js';
import { MASKED_BELOW, type Helper } from './expr.js';
import type { WebGLAttendSchedule } from '../../compiler/kernel.js';
import type { WebGLChunk, WebGLKernelKind } from './types.js';

/** The scores scratch as the later passes read it. */
export interface ScoresScratch {
  sId: string;
  /** Key slots per query. */
  W: number;
  chunk: WebGLChunk | null;
  /** Heads per chunk (B·H without chunking). */
  Hc: number;
  scalars: string[];
}

/** The scores scratch of an attend under a `scores` schedule (tile-webgl.ts), as every pass reads it. */
export function scoresScratch(node: AttendView, g: AttendGeometry, s: WebGLAttendSchedule): ScoresScratch {
  const chunk = s.chunk;
  return { sId: `attend${node.id}_scores`, W: Math.max(s.slots, 1), chunk, Hc: chunk ? chunk.heads : g.B * g.H, scalars: chunk ? ['bh0'] : [] };
}

/**
 * The masked scores of an attend in a banded scratch [B·H, N, W]: slot t of query i holds
 * x(i, j) for the key j it stands for (slots [O_r, O_r + width_r) belong to range r,
 * j = lo_r(i) + t − O_r), or −3e38 where the key is out of range, masked, or scored −inf.
 * With a chunked schedule it is computed a few heads at a time.
 */
export function emitScores(
  b: PlanBuilder,
  node: AttendView,
  g: AttendGeometry,
  ranges: KeyRange[] | null,
  { sId, W, chunk, Hc, scalars }: ScoresScratch,
  pass: string,
): void {
  const BH = g.B * g.H;
  b.checkElements(`the scores of ${b.nodeLabel(node.id)}`, Hc * g.N * W);
  b.scratch[sId] = Hc * g.N * W;
  const e = attendEnv(b, node, g);
  const scoreBody = (ind: string, guard: string): string[] => {
    const cond = [guard, e.mask ?? ''].filter(Boolean).join(' && ');
    const inner = [
      ...e.scoreLines(ind + (cond ? '  ' : ''), 'y'),
      `${ind}${cond ? '  ' : ''}x = y > ${MASKED_BELOW.toExponential()} ? y : ${MASKED};`,
    ];
    return cond ? [`${ind}if (${cond}) {`, ...inner, `${ind}}`] : inner;
  };
  const lines: string[] = [];
  if (!ranges) {
    lines.push('  const ij = tt;', ...scoreBody('  ', ''));
  } else {
    lines.push(...rangeBounds(ranges, e.env, '  ', true));
    const offsets = slotOffsets(ranges);
    ranges.forEach((r, n) => {
      const skip = Array.from({ length: n }, (_, s) => `(ij < lo${s} || ij > hi${s})`);
      lines.push(`  if (tt >= ${offsets[n]} && tt < ${offsets[n]! + r.width}) {`);
      lines.push(`    const ij = lo${n} + (tt - ${offsets[n]})${r.step === 1 ? '' : ` * ${r.step}`};`);
      lines.push(...scoreBody('    ', [`ij <= hi${n}`, ...skip].join(' && ')));
      lines.push('  }');
    });
  }
  const ids = scoreTensorIds(node, e);
  const names = ids.map((id) => e.tensors.get(id)!);
  b.add(node, 'scores', {
    kind: 'scores',
    label: attendLabel(b, node, `${pass}: masked scores, ${W} key slots per query`),
    source: kernelSource([...names, ...scalars], ['tt', 'ii', 'bz'], [
      chunkHeadLine(chunk),
      ...e.head,
      `  let x = ${MASKED};`,
      ...lines,
      '  return x;',
    ]),
    args: ids.map(nodeBuffer),
    argNames: names,
    result: scratchBuffer(sId),
    output: [W, g.N, Hc],
    constants: e.constants,
    helpers: [...e.helpers],
    cost: BH * g.N * W * (g.D + 12),
    scalars,
    chunk,
  });
}

/** How pass 3 weighs a slot, given the statistics pass 2 wrote. */
export interface WeightedSum {
  kind: WebGLKernelKind;
  label: string;
  /** Parameter name of pass 2's statistics texture. */
  stats: string;
  /** Lines before the loops (reading this query's statistics). */
  prelude: string[];
  /** Lines adding the allowed slot's weight (score `x`, key `ij`) times `v[ij]` to `acc`. */
  accumulate: (ind: string, v: string) => string[];
  /** The returned value, from `acc`. */
  result: string;
  /** Cost per (query, d, slot). */
  slotCost: number;
}

/** Pass 3 of a `scores` strategy: per output element, Σ over the query's slots of weight · v. */
export function emitWeightedSum(
  b: PlanBuilder,
  node: AttendView,
  g: AttendGeometry,
  ranges: KeyRange[] | null,
  { sId, W, chunk, Hc, scalars }: ScoresScratch,
  stId: string,
  sum: WeightedSum,
): void {
  const e = attendEnv(b, node, g);
  // Its own helpers: the mask and score, rendered into `e`, are not part of this kernel.
  const helpers = new Set<Helper>(['attnc_idiv']);
  const loops = slotLoops(ranges, { ...e.env, helpers }, (ind) => sum.accumulate(ind, e.v));
  b.add(node, sum.kind, {
    kind: sum.kind,
    label: attendLabel(b, node, sum.label),
    source: kernelSource(['s', sum.stats, e.v, ...scalars], ['od', 'ii', 'bz'], [
      chunkHeadLine(chunk),
      ...e.head,
      ...sum.prelude,
      '  const base = (bz * this.constants.N + ii) * this.constants.W;',
      '  let acc = 0.0;',
      ...loops,
      `  return ${sum.result};`,
    ]),
    args: [scratchBuffer(sId), scratchBuffer(stId), nodeBuffer(node.v)],
    argNames: ['s', sum.stats, e.v],
    result: nodeBuffer(node.id),
    output: [g.Dv, g.N, Hc],
    constants: { ...e.constants, W },
    helpers: [...helpers],
    cost: g.B * g.H * g.N * g.Dv * W * sum.slotCost,
    scalars,
    chunk,
  });
}
