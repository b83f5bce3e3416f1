// Helpers shared by graph passes.

import { mapNodeExprs, rewrite, type Expr, type Graph, type Node } from '../ir.js';
import { reads } from './verify.js';

/**
 * How many times each node is read: as an output, as an operand or by a lookup of the
 * nodes in `live` (every node when absent). Fusion rules ask "is this its only reader?".
 */
export function readerCounts(g: Graph, live?: ReadonlySet<number>): Map<number, number> {
  const readers = new Map<number, number>();
  const count = (id: number) => readers.set(id, (readers.get(id) ?? 0) + 1);
  for (const o of g.outputs) count(o.node);
  for (const n of g.nodes) if (!live || live.has(n.id)) for (const id of reads(n)) count(id);
  return readers;
}

/** Apply `f` to every expression a node holds (sizes, mask, score, scale, shape). */
export function mapExprs(g: Graph, f: (e: Expr) => Expr): Graph {
  return { ...g, nodes: g.nodes.map((n) => mapNodeExprs(n, f)) };
}

/**
 * The graph without the nodes `drop` (none of which may be read by a kept node), ids
 * renumbered in order: every operand, lookup, input and the output follow.
 */
export function dropNodes(g: Graph, drop: ReadonlySet<number>): Graph {
  if (drop.size === 0) return g;
  const ids = new Map<number, number>();
  g.nodes.forEach((n) => drop.has(n.id) || ids.set(n.id, ids.size));
  const id = (x: number): number => {
    const y = ids.get(x);
    if (y === undefined) throw new Error(`internal: node %${x} was dropped but is still read`);
    return y;
  };
  const loads = (e: Expr) => rewrite(e, (x) => (x.op === 'load' || x.op === 'summary' ? { ...x, tensor: id(x.tensor) } : x));
  const nodes = mapExprs(g, loads).nodes.filter((n) => !drop.has(n.id)).map((n): Node => {
    const base = { ...n, id: id(n.id) };
    switch (base.op) {
      case 'input': return base;
      case 'pool': return { ...base, x: id(base.x), ...(base.weights === undefined ? {} : { weights: id(base.weights) }) };
      case 'pool2d': return { ...base, x: id(base.x) };
      case 'clusters': return { ...base, x: id(base.x), centroids: id(base.centroids) };
      case 'attend': return { ...base, q: id(base.q), k: id(base.k), v: id(base.v) };
      case 'map': return { ...base, args: base.args.map(id) };
      case 'lse': return { ...base, attend: id(base.attend) };
    }
  });
  return { ...g, nodes, inputs: g.inputs.map(id), output: id(g.output), outputs: g.outputs.map((o) => ({ ...o, node: id(o.node) })) };
}
