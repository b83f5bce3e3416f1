// The graph IR: what is computed (the algorithm), independent of how (the schedule).
//
// A Graph is a list of tensor operations in dependency order (`input`, `pool`, `pool2d`,
// `clusters`, `attend`, `map`, `lse`). The `mask:`/`score:`/`scale:` of an attend and every size are
// index-expression trees (`Expr`): one small, explicitly typed tree used everywhere —
// the reference executor interprets it, mask analysis reasons over it, and each target
// prints it. Params are already substituted as constants (kernels specialise on params);
// dims stay symbolic (`dim` nodes), bound at run time from the input shapes.
//
// Types are explicit: the lowering inserts `float(...)` conversions, so both operands of a
// binary operator always have the same type and targets never guess.

import type { Span } from '../dsl/ast.js';
import type { IndexName } from '../dsl/builtins.js';

export type Scalar = 'int' | 'float' | 'bool';

export type BinOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'mod'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'
  | 'and' | 'or';

export type UnOp = 'neg' | 'not';

export type CallFn =
  | 'abs' | 'min' | 'max' | 'clamp'
  | 'exp' | 'log' | 'tanh' | 'sqrt' | 'floor' | 'ceil'
  | 'float' | 'int'
  /** the nearest f16 value (ties to even; from 65520 up ±inf): dsl/f16.ts roundToF16. */
  | 'f16'
  | 'alibi';

export type Expr =
  /** int/float constant, or bool (value 0 or 1 is not used: bools are `true`/`false`). */
  | { op: 'const'; ty: Scalar; value: number | boolean }
  /** b, h, hk, i, j — only inside mask/score. */
  | { op: 'index'; ty: 'int'; name: IndexName }
  /** A runtime dim (`N`, `H`, …), bound from the input shapes. */
  | { op: 'dim'; ty: 'int'; name: string }
  /**
   * A variable introduced by a pass for the kernel to bind (e.g. the bounds of a tile,
   * `q_lo`/`q_hi`/`k_lo`/`k_hi`); targets render it by name.
   */
  | { op: 'var'; ty: Scalar; name: string }
  /** The scaled dot product `s` — only inside score. */
  | { op: 'score'; ty: 'float' }
  | { op: UnOp; ty: Scalar; a: Expr }
  /** `div`/`mod` on ints are floor division/modulo; on floats `mod` is floor-mod. */
  | { op: BinOp; ty: Scalar; a: Expr; b: Expr }
  | { op: 'select'; ty: Scalar; c: Expr; a: Expr; b: Expr }
  | { op: 'call'; ty: Scalar; fn: CallFn; args: Expr[] }
  /** Element of a tensor value (by node id). Indices are ints. */
  | { op: 'load'; ty: Scalar; tensor: number; idx: Expr[] }
  /**
   * A bound on a tensor's values over a range of one axis, from its block summaries
   * (compiler/analysis/mask.ts introduces it, a `summary` kernel computes the blocks on the
   * device): the min (`fn: 'min'`) or max of `tensor[idx with idx[axis] = p]` over every
   * position p of the `block`-sized blocks that meet [clamp(lo), max(clamp(lo), clamp(hi))]
   * (positions and the other indices clamped into the tensor, as kernels clamp lookups).
   * A superset of [lo, hi], so a lower (upper) bound of the values there. `idx[axis]` is
   * unused (0).
   */
  | { op: 'summary'; ty: Scalar; fn: 'min' | 'max'; tensor: number; axis: number; block: number; idx: Expr[]; lo: Expr; hi: Expr }
  /**
   * A pattern builtin, expanded into `body` by the expand-builtins pass but keeping its
   * origin, so analyses can apply an exact rule instead of reasoning over the body.
   */
  | { op: 'pattern'; ty: 'bool'; origin: Pattern; body: Expr | null };

export type ExprOp = Expr['op'];

/** The origin of a pattern builtin, with its arguments as int expressions. */
export type Pattern =
  | { name: 'causal' }
  /** j ≤ i + (M − N): `length` N and `keyLength` M are the attend's query and key lengths. */
  | { name: 'causal_end'; length: Expr; keyLength: Expr }
  | { name: 'window'; r: Expr }
  | { name: 'sliding'; w: Expr }
  | { name: 'block'; size: Expr }
  | { name: 'halo'; size: Expr; overlap: Expr }
  | { name: 'halo2d'; height: Expr; width: Expr; size: [Expr, Expr]; overlap: [Expr, Expr]; length: Expr; keyLength: Expr }
  | { name: 'sink'; n: Expr }
  | { name: 'global'; n: Expr }
  /** `length` is the attend's query length (L = N; N == M is checked at run time). */
  | { name: 'neighborhood'; kernel: Expr; dilation: Expr; causal: boolean; length: Expr; keyLength: Expr }
  | {
      name: 'neighborhood2d';
      height: Expr;
      width: Expr;
      kernel: [Expr, Expr];
      dilation: [Expr, Expr];
      causal: [boolean, boolean];
      length: Expr;
      keyLength: Expr;
    }
  | {
      name: 'neighborhood3d';
      depth: Expr;
      height: Expr;
      width: Expr;
      kernel: [Expr, Expr, Expr];
      dilation: [Expr, Expr, Expr];
      causal: [boolean, boolean, boolean];
      length: Expr;
      keyLength: Expr;
    };

export type ElemType = 'f32' | 'f16' | 'i32';

/** A shape is a list of int expressions over dims and constants. */
export type Shape = Expr[];

interface NodeBase {
  id: number;
  /** The `let`/input name, when the node has one (used in printing and errors). */
  name?: string;
  elem: ElemType;
  shape: Shape;
  span?: Span;
}

export type Node =
  | (NodeBase & { op: 'input' })
  /** `weights` (a [B, H, N] node): a weighted average (docs/language-extensions.md). */
  | (NodeBase & { op: 'pool'; x: number; tokens: Expr; weights?: number })
  | (NodeBase & { op: 'pool2d'; x: number; height: Expr; width: Expr; to: [Expr, Expr] })
  | (NodeBase & { op: 'clusters'; x: number; centroids: number })
  /**
   * Elementwise tensor arithmetic (docs/language-extensions.md): element `x` of the result
   * (coordinates `var` x0, x1, …) is the float `expr`, whose `load`s read the operands
   * `args` at those coordinates (an operand of one rank less at all but the last).
   */
  | (NodeBase & {
      op: 'map'; args: number[]; expr: Expr;
      /**
       * A `concat(x, y)`: `args` is exactly `[x, y]`, whose sizes are checked as a
       * concatenation's, not as elementwise (never fused: fuse-elementwise).
       */
      concat?: true;
    })
  /**
   * The log-sum-exp of attend `attend`'s allowed scores per query (docs/language-extensions.md):
   * `[B, H, N]`, written by the attention's kernel beside its output.
   */
  | (NodeBase & { op: 'lse'; attend: number })
  | (NodeBase & {
      op: 'attend';
      q: number;
      k: number;
      v: number;
      mask: Expr;
      score: Expr;
      scale: Expr;
      normalize: 'keys' | 'queries';
      /** Each query keeps only its `topk` allowed keys of largest score (ties to the lower key). */
      topk?: number;
      /**
       * `topk(q, k, n, …)` (docs/language-extensions.md): the value is not P·V but which keys
       * each query keeps — 1 for a kept key, else 0, `[B, H, N, M]`; `topk` is set and `v`
       * is `k` (unread).
       */
      kept?: true;
    });

export type NodeOp = Node['op'];
/** A node before it has an id (distributes over the union). */
export type NodeInit = Node extends infer T ? (T extends Node ? Omit<T, 'id'> : never) : never;
export type NodeOf<K extends NodeOp> = Extract<Node, { op: K }>;

export interface Graph {
  name: string;
  /** Ids of the input nodes, in declaration order. */
  inputs: number[];
  /** All nodes; `nodes[k].id === k`, and every operand id is smaller than its user's. */
  nodes: Node[];
  /** The first of `outputs` (what single-output APIs return). */
  output: number;
  /** The returned tensors, in order, with their names (dsl/checker.ts outputName). */
  outputs: { name: string; node: number }[];
  /** `dims` defaults (for the CLI); runtime shapes win. */
  dimDefaults: Record<string, number>;
  /** Param values the graph was specialised with (already substituted into expressions). */
  params: Record<string, number | boolean>;
}

/** The graph of the nodes before `id` (its last node the output): for what a node's operands are. */
export function upTo(g: Graph, id: number): Graph {
  return { ...g, nodes: g.nodes.slice(0, id), output: id - 1, outputs: [{ name: 'out', node: id - 1 }] };
}

// ---- small constructors used by lowering and passes ----

export const int = (value: number): Expr => ({ op: 'const', ty: 'int', value });
export const float = (value: number): Expr => ({ op: 'const', ty: 'float', value });
export const bool = (value: boolean): Expr => ({ op: 'const', ty: 'bool', value });
export const dim = (name: string): Expr => ({ op: 'dim', ty: 'int', name });
export const index = (name: IndexName): Expr => ({ op: 'index', ty: 'int', name });
export const variable = (name: string, ty: Scalar = 'int'): Expr => ({ op: 'var', ty, name });
export const bin = (op: BinOp, a: Expr, b: Expr): Expr => ({
  op,
  ty: op === 'eq' || op === 'ne' || op === 'lt' || op === 'le' || op === 'gt' || op === 'ge' || op === 'and' || op === 'or'
    ? 'bool'
    : a.ty,
  a,
  b,
});
export const call = (fn: CallFn, args: Expr[], ty: Scalar): Expr => ({ op: 'call', fn, args, ty });

/** Binary builders by name, for passes that write expressions (`E.add(i, int(1))`). */
export const E = {
  add: (a: Expr, b: Expr) => bin('add', a, b),
  sub: (a: Expr, b: Expr) => bin('sub', a, b),
  mul: (a: Expr, b: Expr) => bin('mul', a, b),
  div: (a: Expr, b: Expr) => bin('div', a, b),
  mod: (a: Expr, b: Expr) => bin('mod', a, b),
  and: (a: Expr, b: Expr) => bin('and', a, b),
  or: (a: Expr, b: Expr) => bin('or', a, b),
  eq: (a: Expr, b: Expr) => bin('eq', a, b),
  lt: (a: Expr, b: Expr) => bin('lt', a, b),
  le: (a: Expr, b: Expr) => bin('le', a, b),
  ge: (a: Expr, b: Expr) => bin('ge', a, b),
  /** Integer min/max. */
  min: (a: Expr, b: Expr) => call('min', [a, b], 'int'),
  max: (a: Expr, b: Expr) => call('max', [a, b], 'int'),
};
export const select = (c: Expr, a: Expr, b: Expr): Expr => ({ op: 'select', ty: a.ty, c, a, b });
export const not = (a: Expr): Expr => ({ op: 'not', ty: 'bool', a });

/** Rebuild `n` with every expression it holds (shape, sizes, mask, score, scale, body) mapped through `f`. */
export function mapNodeExprs(n: Node, f: (e: Expr) => Expr): Node {
  const shape = n.shape.map(f);
  switch (n.op) {
    case 'input': case 'clusters': case 'lse':
      return { ...n, shape };
    case 'pool':
      return { ...n, shape, tokens: f(n.tokens) };
    case 'pool2d':
      return { ...n, shape, height: f(n.height), width: f(n.width), to: [f(n.to[0]), f(n.to[1])] };
    case 'attend':
      return { ...n, shape, mask: f(n.mask), score: f(n.score), scale: f(n.scale) };
    case 'map':
      return { ...n, shape, expr: f(n.expr) };
  }
}

/** Every expression a node holds, in mapNodeExprs' order. */
export function nodeExprs(n: Node): Expr[] {
  const out: Expr[] = [];
  mapNodeExprs(n, (e) => (out.push(e), e));
  return out;
}

/** Children of an expression, in a fixed order (for generic walks). */
export function children(e: Expr): Expr[] {
  switch (e.op) {
    case 'const': case 'index': case 'dim': case 'score': case 'var':
      return [];
    case 'neg': case 'not':
      return [e.a];
    case 'select':
      return [e.c, e.a, e.b];
    case 'call':
      return e.args;
    case 'load':
      return e.idx;
    case 'summary':
      return [...e.idx, e.lo, e.hi];
    case 'pattern':
      return e.body ? [e.body] : [];
    default:
      return [e.a, e.b];
  }
}

/** Rebuild `e` with each child mapped through `f` (structure-sharing when nothing changes). */
export function mapChildren(e: Expr, f: (c: Expr) => Expr): Expr {
  switch (e.op) {
    case 'const': case 'index': case 'dim': case 'score': case 'var':
      return e;
    case 'neg': case 'not':
      return { ...e, a: f(e.a) };
    case 'select':
      return { ...e, c: f(e.c), a: f(e.a), b: f(e.b) };
    case 'call':
      return { ...e, args: e.args.map(f) };
    case 'load':
      return { ...e, idx: e.idx.map(f) };
    case 'summary':
      return { ...e, idx: e.idx.map(f), lo: f(e.lo), hi: f(e.hi) };
    case 'pattern':
      return { ...e, body: e.body && f(e.body) };
    default:
      return { ...e, a: f(e.a), b: f(e.b) };
  }
}

/** Post-order rewrite: `f` sees each node after its children were rewritten. */
export function rewrite(e: Expr, f: (e: Expr) => Expr): Expr {
  return f(mapChildren(e, (c) => rewrite(c, f)));
}

/** True if any node of `e` satisfies `pred`. */
export function some(e: Expr, pred: (e: Expr) => boolean): boolean {
  return pred(e) || children(e).some((c) => some(c, pred));
}

/** Names of the dims an expression reads. */
export function dimsOf(e: Expr, out = new Set<string>()): Set<string> {
  if (e.op === 'dim') out.add(e.name);
  for (const c of children(e)) dimsOf(c, out);
  return out;
}

/** The coordinate variables of a `map` node's element, `x0`, `x1`, … (one per axis of its shape). */
export const mapCoord = (axis: number): Expr => variable(`x${axis}`);
