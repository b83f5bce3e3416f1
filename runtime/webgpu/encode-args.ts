// The arguments of prepare().encode(), checked on the host before anything is recorded:
// the dims (every dim the program reads, head dims as prepared, the operations' runtime
// sizes as run() checks them) and each buffer (given, a GPUBuffer, with the usage its
// binding needs, large enough for its tensor, within the device's binding limit). Every
// refusal is a typed error naming the input, the output or the dim (errors.ts).

import type { Graph, Node } from '../../compiler/ir.js';
import { graphDims, shapeOf } from '../shapes.js';
import { validateDims } from '../validate.js';
import { BufferLimitError, BufferSizeError, BufferUsageError, DimsError, MissingBufferError } from './errors.js';
import { BufferUsage, usageNames } from './flags.js';

/** An input or the output as the device stores it (f16 tensors are stored as f32). */
export interface TensorSpec {
  name: string;
  elem: 'f32' | 'i32';
  /** The declared shape, e.g. `['B', 'H', 'N', 'D']`. */
  shape: string[];
}

export function tensorSpec(node: Node, name: string): TensorSpec {
  const show = (e: Node['shape'][number]): string => (e.op === 'dim' ? e.name : e.op === 'const' ? String(e.value) : '…');
  return { name, elem: node.elem === 'i32' ? 'i32' : 'f32', shape: node.shape.map(show) };
}

/** Which input axis each dim sizes (the first one), for errors: `axis 2 of input q`. */
function axisDims(graph: Graph): Map<string, string> {
  const where = new Map<string, string>();
  for (const id of graph.inputs) {
    const n = graph.nodes[id]!;
    n.shape.forEach((e, axis) => {
      if (e.op === 'dim' && !where.has(e.name)) where.set(e.name, `axis ${axis} of input ${n.name}`);
    });
  }
  return where;
}

/**
 * The dims of one encode: `given` must size every dim an input axis names; other dims
 * the program reads fall back to its `dims` defaults. Head dims must equal `prepared`
 * (they are compiled into the kernels). Throws DimsError, or the AttncError of run() for
 * sizes an operation cannot take (pool tokens, GQA heads, NATTEN's kernel · dilation ≤ L).
 */
export function encodeDims(graph: Graph, given: Readonly<Record<string, number>>, prepared: Readonly<Record<string, number>>): Record<string, number> {
  if (!given || typeof given !== 'object') throw new DimsError('dims', 'encode needs the dims as its fourth argument, e.g. { B: 1, H: 8, N: 4096, D: 64 }');
  const all = graphDims(graph);
  const axes = axisDims(graph);
  for (const [d, v] of Object.entries(given)) {
    if (!all.includes(d)) throw new DimsError(`dim ${d}`, `unknown dim \`${d}\`: the dims of \`${graph.name}\` are ${all.join(', ')}`);
    if (!Number.isSafeInteger(v) || v < 0) throw new DimsError(`dim ${d}`, `dim \`${d}\` must be a size (an integer ≥ 0), found ${String(v)}`);
  }
  const dims: Record<string, number> = {};
  for (const d of all) {
    const v = given[d] ?? (axes.has(d) ? undefined : graph.dimDefaults[d]);
    if (v === undefined) {
      const why = axes.has(d) ? `it sizes ${axes.get(d)}` : 'it has no default in `dims`';
      throw new DimsError(`dim ${d}`, `no value for dim \`${d}\` (${why}): pass it in the dims, e.g. { ${d}: … }`);
    }
    dims[d] = v;
  }
  for (const [d, v] of Object.entries(prepared)) {
    if (dims[d] !== v) {
      throw new DimsError(`dim ${d}`, `dim \`${d}\` is ${dims[d]}, but the kernels were prepared for ${d} = ${v} ` +
        `(head dims are compiled into them): prepare(program, { device, dims: { ${d}: ${dims[d]} } }) for this size`);
    }
  }
  validateDims(graph, dims);
  return dims;
}

/** The byte size of each input (by name) and of the output (`out`) under `dims`. */
export function tensorBytes(graph: Graph, dims: Record<string, number>): Map<string, { shape: number[]; bytes: number }> {
  const sizes = new Map<string, { shape: number[]; bytes: number }>();
  const add = (name: string, node: Node) => {
    const shape = shapeOf(node, dims);
    sizes.set(name, { shape, bytes: 4 * shape.reduce((a, b) => a * b, 1) });
  };
  for (const id of graph.inputs) add(graph.nodes[id]!.name!, graph.nodes[id]!);
  add('out', graph.nodes[graph.output]!);
  return sizes;
}

/** What a buffer must allow: a storage binding, or the source / destination of a copy. */
export type BufferUse = 'storage' | 'copy-src' | 'copy-dst';

const USE_FLAGS: Record<BufferUse, [string, number]> = {
  'storage': ['STORAGE', BufferUsage.STORAGE],
  'copy-src': ['COPY_SRC', BufferUsage.COPY_SRC],
  'copy-dst': ['COPY_DST', BufferUsage.COPY_DST],
};

/** Check one caller buffer for its tensor: present, a GPUBuffer, its usage, its size, the binding limit. */
export function checkBuffer(
  label: string, buf: unknown, tensor: { shape: number[]; bytes: number }, use: BufferUse, maxBinding: number,
): GPUBuffer {
  const b = buf as GPUBuffer | undefined;
  if (b === undefined || b === null) throw new MissingBufferError(label, `no buffer given for ${label} (shape [${tensor.shape.join(', ')}], ${tensor.bytes} bytes)`);
  if (typeof b !== 'object' || typeof b.size !== 'number' || typeof b.usage !== 'number') {
    throw new MissingBufferError(label, `${label} is not a GPUBuffer`);
  }
  const [flag, bit] = USE_FLAGS[use];
  if (!(b.usage & bit)) throw new BufferUsageError(label, [flag], usageNames(b.usage));
  if (b.size < tensor.bytes) throw new BufferSizeError(label, tensor.shape, tensor.bytes, b.size);
  if (use === 'storage' && tensor.bytes > maxBinding) throw new BufferLimitError(label, tensor.bytes, maxBinding);
  return b;
}

/** Names in `given` that are not among `known`: a typo would otherwise be ignored silently. */
export function unknownNames(given: object, known: readonly string[]): string[] {
  return Object.keys(given).filter((k) => !known.includes(k));
}
