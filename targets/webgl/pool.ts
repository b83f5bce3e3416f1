// pool and pool2d: one thread per output element, averaging its adaptive bin(s)
// [floor(t·N/n), ceil((t+1)·N/n)).

import type { NodeOf } from '../../compiler/ir.js';
import { evalSize } from '../../compiler/kernel.js';
import { kernelSource, nodeBuffer, type PlanBuilder } from './builder.js';

export function emitPool(b: PlanBuilder, node: NodeOf<'pool'>): void {
  const [B, H, N, D] = b.shapes[node.x]! as [number, number, number, number];
  const n = b.shapes[node.id]![2]!;
  const widest = widestBin(n, N);
  const x = `t${node.x}`;
  const w = node.weights === undefined ? null : `t${node.weights}`;
  // With weights: a weighted average, exactly 0 where the bin's weights sum to 0.
  const body = w
    ? [
      '  let sum = 0.0;',
      '  let total = 0.0;',
      '  for (let p = lo; p < hi; p++) {',
      `    const w = ${w}[bh * this.constants.N + p];`,
      '    total += w;',
      `    sum += w * ${x}[(bh * this.constants.N + p) * this.constants.D + c];`,
      '  }',
      '  return total === 0.0 ? 0.0 : sum / total;',
    ]
    : [
      '  let sum = 0.0;',
      '  for (let p = lo; p < hi; p++) {',
      `    sum += ${x}[(bh * this.constants.N + p) * this.constants.D + c];`,
      '  }',
      '  return sum / (hi - lo);',
    ];
  b.add(node, 'pool', {
    kind: 'pool',
    label: `pool ${b.nodeLabel(node.id)}: adaptive ${w ? 'weighted ' : ''}average of ${N} → ${n} tokens`,
    source: kernelSource(w ? [x, w] : [x], ['c', 't', 'bh'], [
      '  const lo = attnc_idiv(t * this.constants.N, this.constants.n);',
      '  const hi = attnc_idiv(t * this.constants.N + this.constants.N + this.constants.n - 1, this.constants.n);',
      ...body,
    ]),
    args: w ? [nodeBuffer(node.x), nodeBuffer(node.weights!)] : [nodeBuffer(node.x)],
    result: nodeBuffer(node.id),
    output: [D, n, B * H],
    constants: { N, n, D },
    loopMaxIterations: widest,
    loopBoundLabel: 'pooling bin loop',
    helpers: ['attnc_idiv'],
    cost: B * H * n * D * widest,
  });
}

export function emitPool2d(b: PlanBuilder, node: NodeOf<'pool2d'>): void {
  const [B, H, N, D] = b.shapes[node.x]! as [number, number, number, number];
  const ht = evalSize(node.height, b.dims);
  const wd = evalSize(node.width, b.dims);
  const ph = evalSize(node.to[0], b.dims);
  const pw = evalSize(node.to[1], b.dims);
  const widest = Math.max(widestBin(ph, ht), widestBin(pw, wd));
  const x = `t${node.x}`;
  b.add(node, 'pool2d', {
    kind: 'pool2d',
    label: `pool2d ${b.nodeLabel(node.id)}: adaptive average of a ${ht}×${wd} grid → ${ph}×${pw}`,
    source: kernelSource([x], ['c', 't', 'bh'], [
      '  const tr = attnc_idiv(t, this.constants.pw);',
      '  const tc = t - tr * this.constants.pw;',
      '  const rlo = attnc_idiv(tr * this.constants.ht, this.constants.ph);',
      '  const rhi = attnc_idiv(tr * this.constants.ht + this.constants.ht + this.constants.ph - 1, this.constants.ph);',
      '  const clo = attnc_idiv(tc * this.constants.wd, this.constants.pw);',
      '  const chi = attnc_idiv(tc * this.constants.wd + this.constants.wd + this.constants.pw - 1, this.constants.pw);',
      '  let sum = 0.0;',
      '  for (let y = rlo; y < rhi; y++) {',
      '    for (let z = clo; z < chi; z++) {',
      `      sum += ${x}[(bh * this.constants.N + y * this.constants.wd + z) * this.constants.D + c];`,
      '    }',
      '  }',
      '  return sum / ((rhi - rlo) * (chi - clo));',
    ]),
    args: [nodeBuffer(node.x)],
    result: nodeBuffer(node.id),
    output: [D, ph * pw, B * H],
    constants: { N, D, ht, wd, ph, pw },
    loopMaxIterations: widest,
    loopBoundLabel: 'pooling bin loops',
    helpers: ['attnc_idiv'],
    cost: B * H * ph * pw * D * widest * widest,
  });
}

/** The widest adaptive-pooling bin [floor(t·L/n), ceil((t+1)·L/n)) over the n outputs of L. */
function widestBin(n: number, L: number): number {
  let widest = 0;
  for (let t = 0; t < n; t++) widest = Math.max(widest, Math.ceil(((t + 1) * L) / n) - Math.floor((t * L) / n));
  return widest;
}
