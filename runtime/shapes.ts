// Runtime dims: binding the symbolic dims of a graph from its input tensors, evaluating
// IR shape expressions, and generating seeded inputs at given dims.
//
// Errors are AttncErrors, raised before anything runs:
//   AT703 an input is missing, has the wrong rank, a literal axis of the wrong size, data
//         that does not fit its shape, or non-integer data for an i32 input;
//   AT704 a dim bound to two sizes (naming both inputs and both sizes);
//   AT705 a dim that no input binds and that has no default.

import { children, dimsOf, nodeExprs, type Expr, type Graph, type Node, type Pattern } from '../compiler/ir.js';
import { AttncError, diag, type Diagnostic } from '../dsl/diagnostics.js';
import { evalSizeExpr } from '../compiler/evaluate.js';
import { inputSeed, intTensor, size, uniformTensor, type Tensor } from './tensor.js';
import { checkView, contiguous } from './views.js';
import { f16Values } from './f16.js';

export type Dims = Record<string, number>;

/** Evaluate an int shape/size expression over bound dims. */
export function evalSize(expr: Expr, dims: Readonly<Dims>): number {
  return evalSizeExpr(expr, dims);
}

/** The concrete shape of a node under bound dims. */
export function shapeOf(node: Node, dims: Readonly<Dims>): number[] {
  return node.shape.map((e) => evalSizeExpr(e, dims, node.span));
}

function patternExprs(p: Pattern): Expr[] {
  switch (p.name) {
    case 'causal': return [];
    case 'causal_end': return [p.length, p.keyLength];
    case 'window': return [p.r];
    case 'sliding': return [p.w];
    case 'block': return [p.size];
    case 'halo': return [p.size, p.overlap];
    case 'halo2d': return [p.height, p.width, ...p.size, ...p.overlap, p.length, p.keyLength];
    case 'sink': case 'global': return [p.n];
    case 'neighborhood': return [p.kernel, p.dilation, p.length, p.keyLength];
    case 'neighborhood2d': return [p.height, p.width, ...p.kernel, ...p.dilation, p.length, p.keyLength];
    case 'neighborhood3d': return [p.depth, p.height, p.width, ...p.kernel, ...p.dilation, p.length, p.keyLength];
  }
}

/** Names of all dims a graph reads, in first-use order. */
export function graphDims(graph: Graph): string[] {
  const set = new Set<string>();
  for (const n of graph.nodes) {
    for (const e of nodeExprs(n)) {
      dimsOf(e, set);
      // pattern arguments are not children of the pattern node: visit them too
      visitPatterns(e, (p) => patternExprs(p).forEach((x) => dimsOf(x, set)));
    }
  }
  return [...set];
}

/** Call `f` on every pattern origin in `e` (including patterns nested in pattern arguments). */
export function visitPatterns(e: Expr, f: (p: Pattern) => void): void {
  if (e.op === 'pattern') {
    f(e.origin);
    for (const a of patternExprs(e.origin)) visitPatterns(a, f);
  }
  for (const c of children(e)) visitPatterns(c, f);
}

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

function declared(node: Node): string {
  const show = (e: Expr): string => (e.op === 'dim' ? e.name : e.op === 'const' ? String(e.value) : '…');
  return `${node.elem}[${node.shape.map(show).join(', ')}]`;
}

function inputName(node: Node): string {
  return node.name ?? `%${node.id}`;
}

/**
 * Bind the graph's dims from the input tensors. Each input's declared shape is matched
 * axis by axis against its tensor: a `dim` axis binds (or must agree with) that dim, any
 * other axis expression must evaluate to the tensor's size. Dims no input binds take their
 * value from `defaults` (by default the graph's `dims` defaults). Returns every dim the
 * graph reads. Throws an AttncError listing every problem found.
 */
export function bindDims(graph: Graph, inputs: Readonly<Record<string, Tensor>>, defaults: Readonly<Dims> = graph.dimDefaults): Dims {
  const dims: Dims = {};
  const from: Record<string, string> = {};
  const errors: Diagnostic[] = [];
  const pending: { node: Node; axis: number; expr: Expr; size: number }[] = [];

  for (const id of graph.inputs) {
    const node = graph.nodes[id];
    if (!node || node.op !== 'input') throw new Error(`internal error: graph input %${id} is not an input node`);
    const name = inputName(node);
    const t = inputs[name];
    if (!t) {
      errors.push(diag('AT703', [name, `no tensor given (declared ${declared(node)})`], node.span));
      continue;
    }
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      errors.push(diag('AT703', [name, `invalid shape ${JSON.stringify(t.shape)}`], node.span));
      continue;
    }
    if (t.strides !== undefined || t.offset !== undefined) {
      try {
        checkView(name, t); // a strided view (runtime/views.ts) may read part of a larger buffer
      } catch (e) {
        if (!(e instanceof AttncError)) throw e;
        errors.push(...e.diagnostics.map((d) => ({ ...d, span: node.span })));
        continue;
      }
    } else if (t.data.length !== size(t.shape)) {
      errors.push(diag('AT703', [name, `shape ${fmtShape(t.shape)} needs ${size(t.shape)} elements but the data has ${t.data.length}`], node.span));
      continue;
    }
    if (t.shape.length !== node.shape.length) {
      errors.push(
        diag('AT703', [name, `expected rank ${node.shape.length} (${declared(node)}), found rank ${t.shape.length} (shape ${fmtShape(t.shape)})`], node.span),
      );
      continue;
    }
    if (node.elem === 'i32' && !(t.data instanceof Int32Array)) {
      const bad = t.data.findIndex((x) => !Number.isInteger(x) || x < -2147483648 || x > 2147483647);
      if (bad >= 0) {
        errors.push(diag('AT703', [name, `is declared i32 but element ${bad} is ${t.data[bad]}, not an int32`], node.span));
        continue;
      }
    }
    node.shape.forEach((e, axis) => {
      const n = t.shape[axis]!;
      if (e.op === 'dim') {
        const prev = dims[e.name];
        if (prev === undefined) {
          dims[e.name] = n;
          from[e.name] = name;
        } else if (prev !== n) {
          errors.push(
            diag('AT704', [e.name, prev, from[e.name]!, n, name], node.span, `\`${from[e.name]}\` and \`${name}\` must agree on ${e.name}`),
          );
        }
      } else {
        pending.push({ node, axis, expr: e, size: n });
      }
    });
  }
  if (errors.length) throw new AttncError(errors);

  // Dims no input binds: defaults.
  for (const d of graphDims(graph)) {
    if (dims[d] !== undefined) continue;
    const v = defaults[d];
    if (v === undefined) errors.push(diag('AT705', [d]));
    else dims[d] = v;
  }
  if (errors.length) throw new AttncError(errors);

  // Literal (or computed) axes.
  for (const { node, axis, expr, size: n } of pending) {
    const want = evalSizeExpr(expr, dims, node.span);
    if (want !== n) {
      const t = inputs[inputName(node)]!;
      errors.push(
        diag('AT703', [inputName(node), `axis ${axis} must be ${want} (${declared(node)}), found ${n} (shape ${fmtShape(t.shape)})`], node.span),
      );
    }
  }
  if (errors.length) throw new AttncError(errors);
  return dims;
}

/**
 * Dims for running without input files: the graph's `dims` defaults overridden by
 * `overrides` (the CLI's `--dims`). Every dim the graph reads must get a value (AT705).
 */
export function resolveDims(graph: Graph, overrides: Readonly<Dims> = {}): Dims {
  const all = { ...graph.dimDefaults, ...overrides };
  const dims: Dims = {};
  const errors: Diagnostic[] = [];
  for (const d of graphDims(graph)) {
    const v = all[d];
    if (v === undefined) errors.push(diag('AT705', [d]));
    else dims[d] = v;
  }
  if (errors.length) throw new AttncError(errors);
  return dims;
}

/**
 * Seeded random inputs at the given dims: f32/f16 inputs uniform in [-1, 1] (float32),
 * i32 inputs uniform in the integers [0, 8). Input `x` uses the stream
 * `mulberry32(inputSeed(seed, 'x'))` (see tensor.ts).
 */
export function generateInputs(graph: Graph, dims: Readonly<Dims>, seed = 0): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const id of graph.inputs) {
    const node = graph.nodes[id]!;
    const name = inputName(node);
    const shape = shapeOf(node, dims);
    const s = inputSeed(seed, name);
    // Named, before and while allocating (a raw "Invalid typed array length" otherwise).
    const tooLarge = (why: string) => new AttncError([diag('AT713', [name, shape.join(', '), why], node.span, 'use smaller dims')]);
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 2 ** 31 - 1) throw tooLarge(`${n} elements, more than 2147483647 (tensors are indexed with 32-bit ints)`);
    try {
      out[name] = node.elem === 'i32' ? intTensor(shape, s) : uniformTensor(shape, s);
    } catch (e) {
      if (e instanceof RangeError) throw tooLarge(`${n} elements do not fit in host memory (${e.message})`);
      throw e;
    }
  }
  return out;
}

/**
 * When the program returns one of its inputs unchanged, that input as the backends return
 * outputs (an f32 copy, i32 for cluster ids): nothing needs to run. Else null.
 */
export function returnedInput(graph: Graph, inputs: Readonly<Record<string, Tensor>>): Tensor | null {
  const out = graph.nodes[graph.output]!;
  // (With several outputs the kernels run, and an input among them is read back as it is.)
  if (out.op !== 'input' || graph.outputs.length > 1) return null;
  const t = contiguous(inputs[out.name ?? `%${out.id}`]!);
  const data = out.elem === 'i32' ? Int32Array.from(t.data) : out.elem === 'f16' ? f16Values(t.data) : Float32Array.from(t.data);
  return { data, shape: [...t.shape] };
}
