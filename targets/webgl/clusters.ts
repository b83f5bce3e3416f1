// clusters: one thread per token: argmax of cosine similarity (ties → lowest index, zero
// vector or zero centroid → similarity 0).

import type { NodeOf } from '../../compiler/ir.js';
import { kernelSource, nodeBuffer, type PlanBuilder } from './builder.js';

export function emitClusters(b: PlanBuilder, node: NodeOf<'clusters'>): void {
  const [B, Hx, N, D] = b.shapes[node.x]! as [number, number, number, number];
  const C = b.shapes[node.centroids]![1]!;
  const x = `t${node.x}`;
  const cen = `t${node.centroids}`;
  // Clustering a tensor by its own rows passes it once.
  const ids = node.centroids !== node.x ? [node.x, node.centroids] : [node.x];
  const names = ids.map((id) => `t${id}`);
  b.add(node, 'clusters', {
    kind: 'clusters',
    label: `clusters ${b.nodeLabel(node.id)}: cosine argmax over ${C} centroids`,
    source: kernelSource(names, ['ii', 'ih', 'ib'], [
      '  const xo = ((ib * this.constants.Hx + ih) * this.constants.N + ii) * this.constants.D;',
      '  let xn = 0.0;',
      '  for (let c = 0; c < this.constants.D; c++) {',
      `    const xv = ${x}[xo + c];`,
      '    xn += xv * xv;',
      '  }',
      '  let best = 0.0;',
      '  let bestSim = -3.0e38;',
      '  for (let cc = 0; cc < this.constants.C; cc++) {',
      '    const co = (ih * this.constants.C + cc) * this.constants.D;',
      '    let dot = 0.0;',
      '    let cn = 0.0;',
      '    for (let c = 0; c < this.constants.D; c++) {',
      `      const u = ${cen}[co + c];`,
      `      dot += ${x}[xo + c] * u;`,
      '      cn += u * u;',
      '    }',
      '    const sim = (xn > 0.0 && cn > 0.0) ? dot / (Math.sqrt(xn) * Math.sqrt(cn)) : 0.0;',
      '    if (sim > bestSim) {',
      '      bestSim = sim;',
      '      best = cc;',
      '    }',
      '  }',
      '  return best;',
    ]),
    args: ids.map(nodeBuffer),
    argNames: names,
    result: nodeBuffer(node.id),
    output: [N, Hx, B],
    constants: { Hx, N, D, C },
    helpers: [],
    cost: B * Hx * N * C * D * 2,
  });
}
