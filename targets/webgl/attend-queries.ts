// attend with normalize: queries: column statistics per key (max, Σexp over that (b, h)
// head's allowed queries), then per output element Σ_j exp(x − max_j) / sum_j · v_j;
// `fused` (q·k recomputed in both passes) or `scores` (materialised once by
// attend-scores.ts, then column statistics and the weighted sum read it).

import { kernelSource, nodeBuffer, scratchBuffer, type PlanBuilder } from './builder.js';
import {
  ALLOWED,
  attendEnv,
  attendLabel,
  columnApplyLines,
  columnStatLines,
  keyLoopBound,
  keyLoops,
  MASKED,
  rangeBounds,
  scoreTensorIds,
  slotOffsets,
  tensorArgs,
  type AttendGeometry,
  type KeyRange,
  type AttendView,
} from './attend-common.js';
import { emitScores, emitWeightedSum, type ScoresScratch } from './attend-scores.js';
import type { ExprEnv, Helper } from './expr.js';

/** Kernel IR `colstats`, `scores` strategy: the scores, then column statistics into `stId`. */
export function emitColstatsScores(
  b: PlanBuilder,
  node: AttendView,
  g: AttendGeometry,
  ranges: KeyRange[] | null,
  scores: ScoresScratch,
  stId: string,
): void {
  const BH = g.B * g.H;
  emitScores(b, node, g, ranges, scores, 'pass 1/3');
  const { sId, W, chunk, Hc } = scores;
  b.scratch[stId] = Hc * g.M * 2;

  // 2. column statistics of key ij over the queries: find ij's slot in each query's row.
  const helpers = new Set<Helper>();
  const e = attendEnv(b, node, g);
  const env: ExprEnv = { ...e.env, helpers };
  const find: string[] = [];
  if (!ranges) {
    find.push('    const slot = ij;');
  } else {
    find.push(...rangeBounds(ranges, env, '    ', true));
    find.push('    let slot = -1.0;');
    const offsets = slotOffsets(ranges);
    ranges.forEach((r, n) => {
      const first = n === 0 ? '' : 'slot < 0.0 && ';
      if (r.step === 1) {
        find.push(`    if (${first}ij >= lo${n} && ij <= hi${n}) {`, `      slot = ${offsets[n]} + ij - lo${n};`, '    }');
      } else {
        // A strided range holds every step-th key: ij belongs when it is on the stride.
        const k = `Math.floor((ij - lo${n}) / ${r.step})`;
        find.push(`    if (${first}ij >= lo${n} && ij <= hi${n} && ${k} * ${r.step} == ij - lo${n}) {`, `      slot = ${offsets[n]} + ${k};`, '    }');
      }
    });
  }
  b.add(node, 'colstats', {
    kind: 'colstats',
    label: attendLabel(b, node, 'pass 2/3: column max and Σexp per key'),
    source: kernelSource(['s'], ['which', 'ij', 'bz'], [
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      '  for (let ii = 0; ii < this.constants.N; ii++) {',
      ...find,
      `    if (slot >= 0.0) {`,
      '      const x = s[(bz * this.constants.N + ii) * this.constants.W + slot];',
      ...columnStatLines('      '),
      '    }',
      '  }',
      '  return which === 0 ? mx : l;',
    ]),
    args: [scratchBuffer(sId)],
    argNames: ['s'],
    result: scratchBuffer(stId),
    output: [2, g.M, Hc],
    constants: { ...e.constants, W },
    helpers: [...helpers],
    cost: BH * g.M * 2 * g.N * 8,
    chunk,
  });
}

/** Kernel IR `colapply`, `scores` strategy: per output element, Σ_slots exp(x − max_j) / sum_j · v_j. */
export function emitColapplyScores(
  b: PlanBuilder,
  node: AttendView,
  g: AttendGeometry,
  ranges: KeyRange[] | null,
  scores: ScoresScratch,
  stId: string,
): void {
  emitWeightedSum(b, node, g, ranges, scores, stId, {
    kind: 'colapply',
    label: 'pass 3/3: column-normalised P·V',
    stats: 'cs',
    prelude: [],
    accumulate: (ind, v) => columnApplyLines(ind, v, 'bz'),
    result: 'acc',
    slotCost: 6,
  });
}

/** Kernel IR `colstats`, `fused` strategy: column statistics into `stId`, recomputing q·k. */
export function emitColstatsFused(b: PlanBuilder, node: AttendView, g: AttendGeometry, stId: string): void {
  const BH = g.B * g.H;
  // 1. column statistics per key: online max and Σexp over the (b, h) head's queries.
  const e1 = attendEnv(b, node, g);
  const ids = scoreTensorIds(node, e1);
  const names = ids.map((id) => e1.tensors.get(id)!);
  b.add(node, 'colstats', {
    kind: 'colstats',
    label: attendLabel(b, node, 'pass 1/2: column max and Σexp per key'),
    source: kernelSource(names, ['which', 'ij', 'bh'], [
      ...e1.head,
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      // The query as a float, like every int here: gpu.js makes a loop counter a GLSL int,
      // which a mask or score mixing it with floats (`c ? b : i`) cannot take.
      '  for (let qi = 0; qi < this.constants.N; qi++) {',
      '    const ii = qi;',
      ...e1.masked('    ', (ind) => [...e1.scoreLines(ind, 'x'), ...columnStatLines(ind)]),
      '  }',
      '  return which === 0 ? mx : l;',
    ]),
    args: ids.map(nodeBuffer),
    argNames: names,
    result: scratchBuffer(stId),
    output: [2, g.M, BH],
    constants: e1.constants,
    helpers: [...e1.helpers],
    cost: BH * g.M * 2 * g.N * (g.D + 12),
  });
}

/** Kernel IR `colapply`, `fused` strategy: the weighted sum, recomputing q·k again. */
export function emitColapplyFused(
  b: PlanBuilder,
  node: AttendView,
  g: AttendGeometry,
  ranges: KeyRange[] | null,
  slots: number,
  stId: string,
): void {
  const BH = g.B * g.H;
  // 2. per output element: Σ_j exp(x − max_j) / sum_j · v_j over the query's keys.
  const e2 = attendEnv(b, node, g);
  const loops = keyLoops(ranges, e2.env, (ind) =>
    e2.masked(ind, (i2) => [
      ...e2.scoreLines(i2, 'x'),
      `${i2}if (${ALLOWED}) {`,
      ...columnApplyLines(i2 + '  ', e2.v, 'bh'),
      `${i2}}`,
    ]),
  );
  const tensorNames = [...e2.tensors.values()];
  b.add(node, 'colapply', {
    kind: 'colapply',
    label: attendLabel(b, node, 'pass 2/2: column-normalised P·V'),
    source: kernelSource(['cs', ...tensorNames], ['od', 'ii', 'bh'], [
      ...e2.head,
      '  let acc = 0.0;',
      ...loops,
      '  return acc;',
    ]),
    args: [scratchBuffer(stId), ...tensorArgs(e2)],
    argNames: ['cs', ...tensorNames],
    result: nodeBuffer(node.id),
    output: [g.Dv, g.N, BH],
    constants: e2.constants,
    loopMaxIterations: keyLoopBound(ranges),
    loopBoundLabel: 'key-range loop',
    helpers: [...e2.helpers],
    cost: BH * g.N * g.Dv * slots * (g.D + 12),
  });
}
