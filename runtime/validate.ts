// Checks run before any kernel, on every GPU backend (run() calls them): the inputs fit
// their declared shapes under the bound dims, and every operation's runtime sizes are
// valid (spec §2: shape errors are clear runtime errors before any kernel runs). The
// messages and codes are the reference executor's, so every backend reports a bad
// program the same way.

import { checkView } from './views.js';
import type { Expr, Graph, Node, NodeOf } from '../compiler/ir.js';
import { closest } from '../dsl/builtins.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import { patternRule } from '../compiler/pattern-rules.js';
import { evalSize, shapeOf, visitPatterns } from './shapes.js';
import type { Tensor } from './tensor.js';

const nameOf = (g: Graph, id: number): string => g.nodes[id]?.name ?? `%${id}`;
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

export function validateRun(graph: Graph, inputs: Readonly<Record<string, Tensor>>, dims: Record<string, number>): void {
  const shapes = graph.nodes.map((n) => shapeOf(n, dims));
  for (const id of graph.inputs) {
    const node = graph.nodes[id]!;
    const name = nameOf(graph, id);
    const t = inputs[name];
    const want = shapes[id]!;
    if (!t) throw new AttncError([diag('AT703', [name, `no tensor given (expected shape ${fmt(want)})`], node.span)]);
    if (t.shape.length !== want.length || t.shape.some((d, a) => d !== want[a])) {
      throw new AttncError([diag('AT703', [name, `expected shape ${fmt(want)} under the bound dims, found ${fmt(t.shape)}`], node.span)]);
    }
    const n = want.reduce((a, b) => a * b, 1);
    if (t.strides !== undefined || t.offset !== undefined) checkView(name, t); // a view reads part of its data
    else if (t.data.length !== n) {
      throw new AttncError([diag('AT703', [name, `shape ${fmt(want)} needs ${n} elements but the data has ${t.data.length}`], node.span)]);
    }
  }
  checkInputNames(graph, inputs);
  checkF16Bits(graph, inputs);
  for (const node of graph.nodes) checkNode(graph, node, dims, shapes);
}

/**
 * f16 bits (a Uint16Array) are the data of an `f16` input only, in C order: AT703 naming
 * the input otherwise (its bits would be read as numbers, or a view as f32 words).
 */
export function checkF16Bits(graph: Graph, inputs: Readonly<Record<string, Tensor>>): void {
  for (const id of graph.inputs) {
    const node = graph.nodes[id]!;
    const name = nameOf(graph, id);
    const t = inputs[name];
    if (!(t?.data instanceof Uint16Array)) continue;
    if (node.elem !== 'f16') {
      throw new AttncError([diag('AT703', [name, `f16 bits (a Uint16Array) are data for an \`f16\` input; \`${name}\` is ${node.elem}: give its values (a Float32Array)`], node.span)]);
    }
    if (t.strides !== undefined || t.offset !== undefined) {
      throw new AttncError([diag('AT703', [name, 'f16 bits (a Uint16Array) are read in C order: give them without strides or offset'], node.span)]);
    }
  }
}

/**
 * A tensor under a name the program does not declare is a mistake (a typo, another
 * program's inputs), not something to ignore: AT703 naming it and the declared inputs.
 */
export function checkInputNames(graph: Graph, inputs: Readonly<Record<string, Tensor>>): void {
  const declared = graph.inputs.map((id) => nameOf(graph, id));
  for (const name of Object.keys(inputs)) {
    if (declared.includes(name)) continue;
    const near = closest(name, declared);
    throw new AttncError([diag('AT703', [name, `\`${graph.name}\` has no such input; its inputs are ${declared.join(', ')}`], undefined,
      near ? `did you mean \`${near}\`?` : undefined)]);
  }
}

/**
 * The runtime sizes every operation relies on under `dims`, without tensors: for callers
 * that bring buffers instead (prepare().encode()), whose inputs' shapes follow from the dims.
 */
export function validateDims(graph: Graph, dims: Record<string, number>): void {
  const shapes = graph.nodes.map((n) => shapeOf(n, dims));
  for (const node of graph.nodes) checkNode(graph, node, dims, shapes);
}

/** pool's weights are one per position of x: shape [B, H, N] of x's [B, H, N, D] (AT405). */
export function checkWeights(graph: Graph, node: NodeOf<'pool'>, x: readonly number[], w: readonly number[]): void {
  const what = ['batch', 'heads', 'length'];
  for (let a = 0; a < 3; a++) {
    if (w.length === 3 && w[a] === x[a]) continue;
    const detail = w.length === 3 ? `the ${what[a]} of \`${nameOf(graph, node.x)}\` and \`${nameOf(graph, node.weights!)}\`` : `the rank of \`${nameOf(graph, node.weights!)}\``;
    throw new AttncError([diag('AT405', [detail, w.length === 3 ? x[a]! : 3, w.length === 3 ? w[a]! : w.length], node.span)]);
  }
}

/**
 * A map's operands (shapes `args`, in `node.args` order) against its result's shape `want`:
 * a concat's as a concatenation's (checkConcat); else each has the result's shape, or it
 * without its last axis (AT408; checked statically where sizes are literals, symbolic
 * dims may disagree only at run time).
 */
export function checkMap(graph: Graph, node: NodeOf<'map'>, want: readonly number[], args: readonly (readonly number[])[]): void {
  if (node.concat) return checkConcat(graph, node, args[0]!, args[1]!);
  args.forEach((got, n) => {
    if ((got.length === want.length || got.length === want.length - 1) && got.every((d, k) => d === want[k])) return;
    const widest = node.args[args.findIndex((x) => x.length === want.length)]!;
    throw new AttncError([diag('AT408', [nameOf(graph, widest), `[${want.join(', ')}]`, nameOf(graph, node.args[n]!), `[${got.join(', ')}]`], node.span)]);
  });
}

/** concat(x, y): the same batch, heads and head dim (AT405, AT402). */
function checkConcat(graph: Graph, node: NodeOf<'map'>, x: readonly number[], y: readonly number[]): void {
  const [xn, yn] = [nameOf(graph, node.args[0]!), nameOf(graph, node.args[1]!)];
  for (const [a, what] of [[0, 'batch'], [1, 'heads']] as const) {
    if (x[a] !== y[a]) throw new AttncError([diag('AT405', [`the ${what} of \`${xn}\` and \`${yn}\``, x[a]!, y[a]!], node.span)]);
  }
  if (x[3] !== y[3]) throw new AttncError([diag('AT402', [xn, x[3]!, yn, y[3]!], node.span)]);
}

function fail(op: string, detail: string, node: Node): never {
  throw new AttncError([diag('AT709', [op, detail], node.span)]);
}

function checkNode(graph: Graph, node: Node, dims: Record<string, number>, shapes: number[][]): void {
  const size = (e: Expr) => evalSize(e, dims);
  switch (node.op) {
    case 'input':
      return;
    case 'pool': {
      const [, , N] = shapes[node.x]!;
      const n = size(node.tokens);
      if (n < 1 || n > N!) fail('pool', `tokens must be between 1 and the sequence length N = ${N}, found ${n}`, node);
      if (node.weights !== undefined) checkWeights(graph, node, shapes[node.x]!, shapes[node.weights]!);
      return;
    }
    case 'pool2d': {
      const [, , N] = shapes[node.x]!;
      const [ht, wd, ph, pw] = [size(node.height), size(node.width), size(node.to[0]), size(node.to[1])];
      if (ht < 1 || wd < 1 || ht * wd !== N) {
        fail('pool2d', `the sequence length N = ${N} must equal height·width = ${ht}·${wd} = ${ht * wd}`, node);
      }
      if (ph < 1 || ph > ht) fail('pool2d', `to[0] must be between 1 and height = ${ht}, found ${ph}`, node);
      if (pw < 1 || pw > wd) fail('pool2d', `to[1] must be between 1 and width = ${wd}, found ${pw}`, node);
      return;
    }
    case 'clusters': {
      const [, Hx, , D] = shapes[node.x]!;
      const [Hc, C, Dc] = shapes[node.centroids]!;
      const xn = nameOf(graph, node.x);
      const cn = nameOf(graph, node.centroids);
      if (Hc !== Hx) throw new AttncError([diag('AT405', [`heads of \`${xn}\` and centroid sets of \`${cn}\``, Hx, Hc], node.span)]);
      if (Dc !== D) throw new AttncError([diag('AT402', [xn, D, cn, Dc], node.span)]);
      if (C! < 1) fail('clusters', `\`${cn}\` has no centroids (C = 0)`, node);
      return;
    }
    case 'attend': {
      const [qn, kn, vn] = [nameOf(graph, node.q), nameOf(graph, node.k), nameOf(graph, node.v)];
      const [B, H, N, D] = shapes[node.q]! as [number, number, number, number];
      const [Bk, Hk, M, Dk] = shapes[node.k]! as [number, number, number, number];
      const [Bv, Hv, Mv] = shapes[node.v]! as [number, number, number, number];
      const disagree = (what: string, a: number, b: number): never => {
        throw new AttncError([diag('AT405', [what, a, b], node.span)]);
      };
      if (Bk !== B) disagree(`the batch of \`${qn}\` and \`${kn}\``, B, Bk);
      if (Bv !== B) disagree(`the batch of \`${qn}\` and \`${vn}\``, B, Bv);
      if (Dk !== D) throw new AttncError([diag('AT402', [qn, D, kn, Dk], node.span)]);
      if (Hv !== Hk) disagree(`the heads of \`${kn}\` and \`${vn}\``, Hk, Hv);
      if (Mv !== M) disagree(`the length of \`${kn}\` and \`${vn}\``, M, Mv);
      if (Hk === 0 ? H !== 0 : H % Hk !== 0) {
        fail(node.kept ? 'topk' : 'attend', `the query heads H = ${H} must be a multiple of the key/value heads Hk = ${Hk}`, node);
      }
      visitPatterns(node.mask, (p) => patternRule(p, size, { N, M }, node.span));
      return;
    }
    case 'lse':
      return;
    case 'map':
      return checkMap(graph, node, shapes[node.id]!, node.args.map((a) => shapes[a]!));
  }
}
