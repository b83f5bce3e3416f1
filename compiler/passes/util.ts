// Helpers shared by graph passes.

import type { Expr, Graph, Node } from '../ir.js';

/** Apply `f` to every expression a node holds (sizes, mask, score, scale, shape). */
export function mapExprs(g: Graph, f: (e: Expr) => Expr): Graph {
  return { ...g, nodes: g.nodes.map((n) => mapNodeExprs(n, f)) };
}

function mapNodeExprs(n: Node, f: (e: Expr) => Expr): Node {
  const shape = n.shape.map(f);
  switch (n.op) {
    case 'input': case 'clusters':
      return { ...n, shape };
    case 'pool':
      return { ...n, shape, tokens: f(n.tokens) };
    case 'pool2d':
      return { ...n, shape, height: f(n.height), width: f(n.width), to: [f(n.to[0]), f(n.to[1])] };
    case 'attend':
      return { ...n, shape, mask: f(n.mask), score: f(n.score), scale: f(n.scale) };
  }
}
