// fuse-elementwise: a `map` operand that is itself a `map` nobody else reads is inlined
// into its consumer, so a chain of elementwise `let`s (`let d = a - b; return d * d`) is
// one pass over memory: the consumer loads the inner map's operands instead of its result.
// Inlining substitutes the load's indices for the inner map's coordinates (`x0`, `x1`, …),
// which also covers an inner map of one rank less (broadcast). The inlined nodes leave the
// graph (ids renumbered). A `concat` map is neither inlined nor inlined into: it keeps its
// operands (x, y), whose sizes the runtime checks as a concatenation's.

import { rewrite, type Expr, type Graph, type NodeOf } from '../ir.js';
import type { Pass } from '../pass.js';
import { dropNodes, readerCounts } from './util.js';

export const fuseElementwise: Pass = {
  name: 'fuse-elementwise',
  summary: 'inline an elementwise map read only by another map into it',
  stage: 'graph',
  run: (m) => ({ ...m, graph: fuseMaps(m.graph) }),
};

export function fuseMaps(g: Graph): Graph {
  const nodes = [...g.nodes];
  const readers = readerCounts(g);
  // (The output is counted as read once more: it is never inlined.)
  const inlinable = (id: number) => { const n = nodes[id]!; return n.op === 'map' && !n.concat && readers.get(id) === 1; };
  const inlined = new Set<number>();
  nodes.forEach((n, id) => {
    if (n.op !== 'map' || n.concat || !n.args.some(inlinable)) return;
    n.args.filter(inlinable).forEach((a) => inlined.add(a));
    // Nodes are in dependency order: an inner map has already absorbed its own inner maps.
    const expr = rewrite(n.expr, (x) => (x.op === 'load' && inlinable(x.tensor) ? inline(nodes[x.tensor] as NodeOf<'map'>, x.idx) : x));
    const args = [...new Set(n.args.flatMap((a) => (inlinable(a) ? (nodes[a] as NodeOf<'map'>).args : [a])))].sort((a, b) => a - b);
    nodes[id] = { ...n, expr, args };
  });
  return dropNodes({ ...g, nodes }, inlined);
}

/** The inner map's expression at the element `idx` (its coordinate `xk` is `idx[k]`). */
function inline(inner: NodeOf<'map'>, idx: Expr[]): Expr {
  return rewrite(inner.expr, (x) => (x.op === 'var' && /^x\d+$/.test(x.name) ? idx[Number(x.name.slice(1))]! : x));
}
