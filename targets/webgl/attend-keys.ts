// attend with normalize: keys, in either strategy (the schedule's, compiler/passes/tile-webgl.ts):
// `fused`: one thread per output element (b, h, i, d): online softmax over the keys the
//   query can reach (running max and sum in f32, one division at the end);
// `scores`: three kernels — masked scores in a banded [B·H, N, W] scratch (attend-scores.ts),
//   row statistics (max, Σexp) per query, then the weighted sum P·V. Cheaper when Dv is
//   large (no per-d recomputation of q·k).
// A query row with no allowed key is exactly 0 (no division by a zero sum).

import { kernelSource, nodeBuffer, scratchBuffer, type PlanBuilder } from './builder.js';
import {
  ALLOWED,
  attendEnv,
  attendLabel,
  keyLoopBound,
  keyLoops,
  MASKED,
  tensorArgs,
  type AttendGeometry,
  type KeyRange,
  type AttendView,
} from './attend-common.js';
import { emitScores, emitWeightedSum, type ScoresScratch } from './attend-scores.js';

export function emitKeysFused(b: PlanBuilder, node: AttendView, g: AttendGeometry, ranges: KeyRange[] | null, cost: number): void {
  const e = attendEnv(b, node, g);
  const body = (ind: string): string[] =>
    e.masked(ind, (i2) => [
      ...e.scoreLines(i2, 'x'),
      `${i2}if (${ALLOWED}) {`,
      `${i2}  const vv = ${e.v}[(kvb + ij) * this.constants.Dv + od];`,
      `${i2}  if (x > mx) {`,
      `${i2}    const r = Math.exp(mx - x);`,
      `${i2}    l = l * r + 1.0;`,
      `${i2}    acc = acc * r + vv;`,
      `${i2}    mx = x;`,
      `${i2}  } else {`,
      `${i2}    const p = Math.exp(x - mx);`,
      `${i2}    l += p;`,
      `${i2}    acc += p * vv;`,
      `${i2}  }`,
      `${i2}}`,
    ]);
  const loops = keyLoops(ranges, e.env, body);
  b.add(node, 'fused', {
    kind: 'attend',
    label: attendLabel(b, node, 'fused online softmax per output element'),
    source: kernelSource([...e.tensors.values()], ['od', 'ii', 'bh'], [
      ...e.head,
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      '  let acc = 0.0;',
      ...loops,
      '  return l > 0.0 ? acc / l : 0.0;',
    ]),
    args: tensorArgs(e),
    result: nodeBuffer(node.id),
    output: [g.Dv, g.N, g.B * g.H],
    constants: e.constants,
    loopMaxIterations: keyLoopBound(ranges),
    loopBoundLabel: 'key-range loop',
    helpers: [...e.helpers],
    cost,
  });
}

export function emitKeysScores(b: PlanBuilder, node: AttendView, g: AttendGeometry, ranges: KeyRange[] | null, scores: ScoresScratch): void {
  const BH = g.B * g.H;
  emitScores(b, node, g, ranges, scores, 'pass 1/3');
  const { sId, W, chunk, Hc } = scores;
  const stId = `attend${node.id}_rowstats`;
  b.scratch[stId] = Hc * g.N * 2;

  // 2. row statistics: [B·H, N, 2] = (max, Σ exp(x − max)).
  b.add(node, 'rowstats', {
    kind: 'rowstats',
    label: attendLabel(b, node, 'pass 2/3: row max and Σexp per query'),
    source: kernelSource(['s'], ['which', 'ii', 'bz'], [
      '  const base = (bz * this.constants.N + ii) * this.constants.W;',
      `  let mx = ${MASKED};`,
      '  for (let t = 0; t < this.constants.W; t++) {',
      '    const x = s[base + t];',
      '    if (x > mx) {',
      '      mx = x;',
      '    }',
      '  }',
      '  let l = 0.0;',
      '  if (which === 1) {',
      '    for (let t = 0; t < this.constants.W; t++) {',
      '      const x = s[base + t];',
      `      if (${ALLOWED}) {`,
      '        l += Math.exp(x - mx);',
      '      }',
      '    }',
      '  }',
      '  return which === 0 ? mx : l;',
    ]),
    args: [scratchBuffer(sId)],
    argNames: ['s'],
    result: scratchBuffer(stId),
    output: [2, g.N, Hc],
    constants: { N: g.N, W },
    helpers: [],
    cost: BH * g.N * 3 * W,
    chunk,
  });

  // 3. P·V: Σ_slots exp(x − max) · v[j], divided once by the row sum.
  emitWeightedSum(b, node, g, ranges, scores, stId, {
    kind: 'pv',
    label: 'pass 3/3: P·V',
    stats: 'st',
    prelude: ['  const so = (bz * this.constants.N + ii) * 2;', '  const mx = st[so];', '  const l = st[so + 1];'],
    accumulate: (ind, v) => [`${ind}acc += Math.exp(x - mx) * ${v}[(kvb + ij) * this.constants.Dv + od];`],
    result: 'l > 0.0 ? acc / l : 0.0',
    slotCost: 4,
  });
}
