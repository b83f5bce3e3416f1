// The `fused` strategy (chosen by the `tile` pass's WebGL schedule): no scores scratch. A fragment
// computes four output features of one query with an online softmax over the query's
// keys, its q row loaded once; q·k is recomputed by each of the query's Dv/4 fragments
// (texel fetches and vec4 dots). The schedule takes it where the scores of one head would
// not fit a texture. normalize: queries is two passes: each key's column statistics
// (max, 1 / Σexp over every query: the key's row loaded once), then the weighted sum.
// A query row with no allowed key is exactly 0.

import { nodeBuffer, scratchBuffer, type PlanBuilder } from './builder.js';
import {
  allowed,
  attendEnv,
  attendLabel,
  dotWithRow,
  keyLoopBound,
  keyLoops,
  loadRow,
  MASKED,
  onlineStatFold,
  onlineStatLines,
  rowSplit,
  type AttendEnv,
  type AttendGeometry,
  type AttendView,
  type KeyRange,
} from './attend-common.js';
import { pair } from './attend-scores.js';
import { ld, packedOutput, packedThread } from './packed.js';
import type { PackedLayout, WebGLBuffer } from './types.js';

/** The column statistics of normalize: queries, one texel (max, 1 / Σexp) per (b·H + h, key). */
export function columnStats(b: PlanBuilder, node: AttendView, g: AttendGeometry): { buffer: WebGLBuffer; layout: PackedLayout } {
  const buffer = scratchBuffer(`attend${node.id}_colstats`);
  const layout = b.layout(`the column statistics of ${b.nodeLabel(node.id)}`, g.B * g.H * g.M, 4);
  b.setLayout(buffer, layout);
  b.scratch[buffer.id] = layout.rows * 4;
  return { buffer, layout };
}

/** Lines that score key `ij` for the loaded q row (`q0` …) and run `use` on an allowed score `x`. */
function scoreKey(e: AttendEnv, k: { name: string; layout: PackedLayout }, ind: string, use: (ind: string) => string[]): string[] {
  const { mask, score } = e.lane('');
  const inner = (i: string) => [
    `${i}const sc = (${dotWithRow(k, 'kvb + ij', 'q')}) * ${e.scale};`,
    `${i}const x = ${score};`,
    `${i}if (${allowed('x')}) {`,
    ...use(i + '  '),
    `${i}}`,
  ];
  return mask ? [`${ind}if (${mask}) {`, ...inner(ind + '  '), `${ind}}`] : inner(ind);
}

/** The output of a fused attend: packed, B·H·N rows of Dv values. */
function outputOf(b: PlanBuilder, node: AttendView, g: AttendGeometry): { result: WebGLBuffer; layout: PackedLayout } {
  const result: WebGLBuffer = { kind: 'packed', node: node.id };
  const layout = b.layout(`the output of ${b.nodeLabel(node.id)}`, g.B * g.H * g.N, g.Dv);
  b.setLayout(result, layout);
  return { result, layout };
}

/** normalize: keys — the online softmax of each query's keys, four output features per fragment. */
export function emitKeysFused(b: PlanBuilder, node: AttendView, g: AttendGeometry, ranges: KeyRange[] | null, cost: number): void {
  const e = attendEnv(b, node, g);
  const q = e.args.operand(...pair(b.packed(node.q)));
  const k = e.args.operand(...pair(b.packed(node.k)));
  const v = e.args.operand(...pair(b.packed(node.v)));
  const loops = keyLoops(ranges, e.env, (ind) =>
    scoreKey(e, k, ind, (i) => [
      `${i}const vv = ${ld(v.name, v.layout, 'kvb + ij', 'c')};`,
      `${i}if (x > mx) {`,
      `${i}  const r = Math.exp(mx - x);`,
      `${i}  l = l * r + 1.0;`,
      `${i}  acc = attnc_axpy(acc, r, vv, 1.0);`,
      `${i}  mx = x;`,
      `${i}} else {`,
      `${i}  const p = Math.exp(x - mx);`,
      `${i}  l += p;`,
      `${i}  acc = attnc_axpy(acc, 1.0, vv, p);`,
      `${i}}`,
    ]),
  );
  const { result, layout } = outputOf(b, node, g);
  b.add(node, 'fused', {
    kind: 'attend',
    label: attendLabel(b, node, 'fused online softmax, 4 output features per fragment'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      ...packedThread(layout, 'row', 'c'),
      ...rowSplit('row', g.N, 'ii'),
      '  const bh = bz;',
      ...e.head,
      ...loadRow(q, 'row', 'q'),
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      '  let acc = [0.0, 0.0, 0.0, 0.0];',
      ...loops,
      '  return attnc_div4(acc, l);',
      '}',
    ],
    ...e.uses(),
    result,
    output: packedOutput(layout),
    returns: 'vec4',
    loopMaxIterations: keyLoopBound(ranges),
    loopBoundLabel: 'key-range loop',
    cost,
  });
}

/** normalize: queries, pass 1/2: each key's column max and 1 / Σexp over every query (the key's row loaded once). */
export function emitColstatsFused(b: PlanBuilder, node: AttendView, g: AttendGeometry): void {
  const e = attendEnv(b, node, g);
  const q = e.args.operand(...pair(b.packed(node.q)));
  const k = e.args.operand(...pair(b.packed(node.k)));
  const st = columnStats(b, node, g);
  const { mask, score } = e.lane('');
  const inner = (i: string) => [
    `${i}const sc = (${dotWithRow(q, 'bh * this.constants.N + ii', 'k')}) * ${e.scale};`,
    `${i}const x = ${score};`,
    ...onlineStatLines(i),
  ];
  b.add(node, 'colstats', {
    kind: 'colstats',
    label: attendLabel(b, node, 'pass 1/2: column max and 1 / Σexp per key'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      ...packedThread(st.layout, 'row', 'c'),
      ...rowSplit('row', g.M, 'ij'),
      '  const bh = bz;',
      ...e.head,
      ...loadRow(k, 'kvb + ij', 'k'),
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      // The query as a float, like every int here: gpu.js makes a loop counter a GLSL int,
      // which a mask or score mixing it with floats (`c ? b : i`) cannot take.
      '  for (let qi = 0; qi < this.constants.N; qi++) {',
      '    const ii = qi;',
      ...(mask ? ['    if (' + mask + ') {', ...inner('      '), '    }'] : inner('    ')),
      '  }',
      '  return [mx, l > 0.0 ? 1.0 / l : 0.0, 0.0, 0.0];',
      '}',
    ],
    ...e.uses(),
    result: st.buffer,
    output: packedOutput(st.layout),
    returns: 'vec4',
    cost: g.B * g.H * g.M * g.N * (k.layout.width + 4),
  });
}

/** normalize: queries, pass 2/2: Σ over each query's keys of exp(x − max_j) / Σ_j · v_j, q·k recomputed. */
export function emitColapplyFused(b: PlanBuilder, node: AttendView, g: AttendGeometry, ranges: KeyRange[] | null, cost: number): void {
  const e = attendEnv(b, node, g);
  const q = e.args.operand(...pair(b.packed(node.q)));
  const k = e.args.operand(...pair(b.packed(node.k)));
  const v = e.args.operand(...pair(b.packed(node.v)));
  const stats = columnStats(b, node, g);
  const cs = e.args.operand(stats.buffer, stats.layout);
  const loops = keyLoops(ranges, e.env, (ind) =>
    scoreKey(e, k, ind, (i) => [
      `${i}const st = ${ld(cs.name, cs.layout, 'bh * this.constants.M + ij', 0)};`,
      `${i}if (st[1] > 0.0) {`,
      `${i}  acc = attnc_axpy(acc, 1.0, ${ld(v.name, v.layout, 'kvb + ij', 'c')}, Math.exp(x - st[0]) * st[1]);`,
      `${i}}`,
    ]),
  );
  const { result, layout } = outputOf(b, node, g);
  b.add(node, 'colapply', {
    kind: 'colapply',
    label: attendLabel(b, node, 'pass 2/2: column-normalised P·V, 4 output features per fragment'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      ...packedThread(layout, 'row', 'c'),
      ...rowSplit('row', g.N, 'ii'),
      '  const bh = bz;',
      ...e.head,
      ...loadRow(q, 'row', 'q'),
      '  let acc = [0.0, 0.0, 0.0, 0.0];',
      ...loops,
      '  return acc;',
      '}',
    ],
    ...e.uses(),
    result,
    output: packedOutput(layout),
    returns: 'vec4',
    loopMaxIterations: keyLoopBound(ranges),
    loopBoundLabel: 'key-range loop',
    cost,
  });
}

/**
 * The log-sum-exp of each query's allowed scores (an `lse` node reading this attention):
 * its own pass, one fragment per query — the online max and sum of `emitKeysFused`
 * without the values — written flat as [B·H, N].
 */
export function emitLse(b: PlanBuilder, node: AttendView, g: AttendGeometry, ranges: KeyRange[] | null, lse: number): void {
  const e = attendEnv(b, node, g);
  const q = e.args.operand(...pair(b.packed(node.q)));
  const k = e.args.operand(...pair(b.packed(node.k)));
  const loops = keyLoops(ranges, e.env, (ind) =>
    scoreKey(e, k, ind, onlineStatFold),
  );
  b.add(node, 'lse', {
    kind: 'lse',
    label: attendLabel(b, node, 'log-sum-exp per query (max and Σexp of its allowed scores)'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      '  const ii = this.thread.x;',
      '  const bh = this.thread.y;',
      ...e.head,
      ...loadRow(q, 'bh * this.constants.N + ii', 'q'),
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      ...loops,
      '  return attnc_lse(mx, l);',
      '}',
    ],
    ...e.uses('attnc_lse'),
    result: nodeBuffer(lse),
    output: [g.N, g.B * g.H, 1],
    loopMaxIterations: keyLoopBound(ranges),
    loopBoundLabel: 'key-range loop',
    cost: g.B * g.H * g.N * (ranges ? ranges.reduce((a, r) => a + r.width, 0) : g.M) * Math.ceil(g.D / 4),
  });
}
