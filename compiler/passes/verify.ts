// verify: the IR's invariants, checked between passes. A failure here is a compiler bug,
// never a user error, so it throws with the offending node printed.

import { children, rewrite, type Expr, type Graph, type Node } from '../ir.js';
import type { Pass } from '../pass.js';
import { printExpr } from '../print.js';

export const verify: Pass = {
  name: 'verify',
  summary: 'check the graph IR invariants (ids, operand order, explicit types)',
  stage: 'graph',
  run: (m) => {
    verifyGraph(m.graph);
    return m;
  },
};

export function verifyGraph(g: Graph): void {
  const fail = (n: Node, why: string): never => {
    throw new Error(`IR verifier: %${n.id} (${n.op}): ${why}`);
  };
  g.nodes.forEach((n, k) => {
    if (n.id !== k) fail(n, `id ${n.id} at position ${k}`);
    for (const operand of operands(n)) {
      if (!(operand >= 0 && operand < n.id)) fail(n, `operand %${operand} is not defined before it`);
    }
    for (const d of n.shape) checkExpr(g, n, d, 'size', fail);
    switch (n.op) {
      case 'pool': checkExpr(g, n, n.tokens, 'size', fail); break;
      case 'pool2d': [n.height, n.width, ...n.to].forEach((e) => checkExpr(g, n, e, 'size', fail)); break;
      case 'attend':
        if (n.mask.ty !== 'bool') fail(n, 'mask is not bool');
        if (n.score.ty !== 'float') fail(n, 'score is not float');
        if (n.scale.ty !== 'float') fail(n, 'scale is not float');
        checkExpr(g, n, n.mask, 'mask', fail);
        checkExpr(g, n, n.score, 'score', fail);
        checkExpr(g, n, n.scale, 'size', fail);
        break;
      case 'lse':
        if (g.nodes[n.attend]?.op !== 'attend') fail(n, `%${n.attend} is not an attend`);
        break;
      case 'map':
        if (n.expr.ty !== 'float') fail(n, 'elementwise expression is not float');
        if (n.concat && n.args.length !== 2) fail(n, `a concat reads 2 operands, not ${n.args.length}`);
        checkExpr(g, n, n.expr, 'map', fail);
        break;
      default:
        break;
    }
  });
  if (!g.nodes[g.output]) throw new Error(`IR verifier: output %${g.output} does not exist`);
  if (g.outputs[0]?.node !== g.output) throw new Error(`IR verifier: output %${g.output} is not the first of outputs`);
  for (const o of g.outputs) if (!g.nodes[o.node]) throw new Error(`IR verifier: output ${o.name} (%${o.node}) does not exist`);
  for (const id of g.inputs) if (g.nodes[id]?.op !== 'input') throw new Error(`IR verifier: %${id} is not an input`);
}

export function operands(n: Node): number[] {
  switch (n.op) {
    case 'input': return [];
    case 'pool': return n.weights === undefined ? [n.x] : [n.x, n.weights];
    case 'pool2d': return [n.x];
    case 'clusters': return [n.x, n.centroids];
    case 'attend': return [n.q, n.k, n.v];
    case 'map': return n.args;
    case 'lse': return [n.attend];
  }
}

/** Every node `n` reads: its operands, and the tensors its mask and score look up. */
export function reads(n: Node): number[] {
  const ids = operands(n);
  if (n.op === 'attend') for (const e of [n.mask, n.score]) rewrite(e, (x) => (x.op === 'load' && ids.push(x.tensor), x));
  return ids;
}

/** `map`: an elementwise expression, over the coordinate variables and its operands' loads. */
type Where = 'size' | 'mask' | 'score' | 'map';

function checkExpr(g: Graph, n: Node, e: Expr, where: Where, fail: (n: Node, why: string) => never): void {
  const bad = (why: string) => fail(n, `${why} in \`${printExpr(e, g)}\``);
  switch (e.op) {
    case 'index': if (where === 'size' || where === 'map') bad('index variable outside mask/score'); break;
    case 'score': if (where !== 'score') bad('`s` outside score'); break;
    case 'load': {
      const t = g.nodes[e.tensor];
      if (!t || e.tensor >= n.id) bad(`load of undefined tensor %${e.tensor}`);
      else if (t.shape.length !== e.idx.length) bad(`load with ${e.idx.length} indices of a rank-${t.shape.length} tensor`);
      if (e.idx.some((x) => x.ty !== 'int')) bad('non-int index');
      break;
    }
    case 'and': case 'or':
      if (e.a.ty !== 'bool' || e.b.ty !== 'bool') bad(`${e.op} of non-bool operands`);
      break;
    case 'not':
      if (e.a.ty !== 'bool') bad('not of a non-bool');
      break;
    case 'add': case 'sub': case 'mul': case 'div': case 'mod':
    case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge':
      if (e.a.ty !== e.b.ty) bad(`${e.op} of ${e.a.ty} and ${e.b.ty}`);
      break;
    case 'select':
      if (e.c.ty !== 'bool' || e.a.ty !== e.b.ty) bad('ill-typed select');
      break;
    default:
      break;
  }
  for (const c of children(e)) checkExpr(g, n, c, where, fail);
}
