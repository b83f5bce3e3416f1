// The state of one plan while it is rendered, shared by the kernel emitters (pool.ts,
// clusters.ts, attend-*.ts): concrete shapes, the kernels and scratch textures so far, and
// the checks every kernel must pass before it is added.

import type { Graph } from '../../compiler/ir.js';
import { evalSize } from '../../compiler/kernel.js';
import { helpersIn } from './expr.js';
import { emitPack, emitUnpack, packedLayout, rowsOf } from './packed.js';
import {
  MAX_ELEMENTS,
  MAX_LOOP,
  WebGLLimitError,
  type AttendStrategy,
  type PackedLayout,
  type WebGLBuffer,
  type WebGLChunk,
  type WebGLKernel,
} from './types.js';

/**
 * A kernel as an emitter describes it: the builder names it after its node, joins its
 * source lines and fills the defaults (no loop with a per-thread bound, no scalars, no chunk).
 */
export type KernelSpec = Omit<
  WebGLKernel,
  'name' | 'node' | 'source' | 'argNames' | 'loopMaxIterations' | 'loopBoundLabel' | 'scalars' | 'chunk' | 'returns'
> & {
  source: string[];
  returns?: 'float' | 'vec4';
  argNames?: string[];
  loopMaxIterations?: number;
  loopBoundLabel?: string;
  scalars?: string[];
  chunk?: WebGLChunk | null;
};

/** Concrete shapes of every node under `dims`. */
export function nodeShapes(graph: Graph, dims: Record<string, number>): number[][] {
  return graph.nodes.map((n) => n.shape.map((e) => evalSize(e, dims)));
}

export class PlanBuilder {
  readonly shapes: number[][];
  readonly kernels: WebGLKernel[] = [];
  readonly scratch: Record<string, number> = {};
  readonly strategies: Record<number, AttendStrategy> = {};
  readonly layouts: Record<string, PackedLayout> = {};
  /** Nodes whose flat values exist at this point of the plan (graph inputs, flat kernel results). */
  private readonly flat = new Set<number>();

  constructor(
    readonly graph: Graph,
    readonly dims: Record<string, number>,
    /** The device's largest texture side (packed layouts fold rows to stay within it). */
    readonly maxTextureSize: number,
  ) {
    this.shapes = nodeShapes(graph, dims);
    for (const id of graph.inputs) this.flat.add(id);
  }

  /** A packed layout for `rows` rows of `values` values on this device. */
  layout(what: string, rows: number, values: number): PackedLayout {
    return packedLayout(what, rows, values, this.maxTextureSize);
  }

  /** The packed texture of node `id` and its layout, packing its flat values first if need be. */
  packed(id: number): { buffer: WebGLBuffer; layout: PackedLayout } {
    const key = bufferKey({ kind: 'packed', node: id });
    let layout = this.layouts[key];
    if (!layout) {
      const { rows, values } = rowsOf(this.shapes[id]!);
      layout = this.layout(this.nodeLabel(id), rows, values);
      this.layouts[key] = layout;
      emitPack(this, id, layout); // every node without a packed form was computed flat

    }
    return { buffer: { kind: 'packed', node: id }, layout };
  }

  /** The flat values of node `id`, unpacking its packed texture first if need be. */
  flatValues(id: number): WebGLBuffer {
    const layout = this.layouts[bufferKey({ kind: 'packed', node: id })];
    if (!this.flat.has(id) && layout) emitUnpack(this, id, layout);
    return nodeBuffer(id);
  }

  /** Record that `buffer` (packed, or a packed scratch) is written with `layout`. */
  setLayout(buffer: WebGLBuffer, layout: PackedLayout): void {
    this.layouts[bufferKey(buffer)] = layout;
  }

  nodeLabel(id: number): string {
    const n = this.graph.nodes[id]!;
    return n.name ? `\`${n.name}\` (%${id})` : `%${id}`;
  }

  checkElements(what: string, elems: number): void {
    if (elems > MAX_ELEMENTS) {
      throw new WebGLLimitError(
        `${what} has ${elems} elements; the WebGL target addresses tensors with f32 indices, exact only up to ` +
          `2^24 = ${MAX_ELEMENTS} elements per tensor. Use smaller shapes or another backend (--backend webgpu or reference).`,
      );
    }
  }

  /** Add the kernel `suffix` of `node` (named `<graph>_<op><id>_<suffix>`). */
  add(node: { op: string; id: number }, suffix: string, k: KernelSpec): void {
    const name = `${this.graph.name}_${node.op}${node.id}_${suffix}`.replace(/[^A-Za-z0-9_]/g, '_');
    // (The runtime caches compiled kernels by name: two of one name would run one source twice.)
    if (this.kernels.some((x) => x.name === name)) throw new Error(`internal: two WebGL kernels named ${name}`);
    if (k.result.kind === 'node') this.flat.add(k.result.node);
    if (k.chunk) this.flat.add(k.chunk.into);
    if (k.chunk?.lse !== undefined) this.flat.add(k.chunk.lse);
    const loopMaxIterations = k.loopMaxIterations ?? 1;
    const loopBoundLabel = k.loopBoundLabel ?? 'loops';
    if (loopMaxIterations > MAX_LOOP) {
      throw new WebGLLimitError(
        `kernel ${name} (${k.label}) needs ${loopMaxIterations} iterations of its ${loopBoundLabel}, over the ` +
          `supported ${MAX_LOOP} (f32-exact loop counters). Use smaller shapes or another backend.`,
      );
    }
    this.kernels.push({
      name,
      kind: k.kind,
      label: k.label,
      node: node.id,
      source: k.source.join('\n'),
      args: k.args,
      argNames: k.argNames ?? k.args.map(bufferParam),
      result: k.result,
      output: k.output,
      returns: k.returns ?? 'float',
      constants: k.constants,
      loopMaxIterations: Math.max(1, loopMaxIterations),
      loopBoundLabel,
      // Those it asks for, and every helper its source calls (the texel reads by layout).
      helpers: [...new Set([...k.helpers, ...helpersIn(k.source.join('\n'))])].sort(),
      cost: k.cost,
      scalars: k.scalars ?? [],
      chunk: k.chunk ?? null,
    });
  }
}

export const nodeBuffer = (node: number): WebGLBuffer => ({ kind: 'node', node });
export const scratchBuffer = (id: string): Extract<WebGLBuffer, { kind: 'scratch' }> => ({ kind: 'scratch', id });

/** The parameter name of a buffer in kernel sources. */
export function bufferParam(b: WebGLBuffer): string {
  return b.kind === 'node' ? `t${b.node}` : b.kind === 'packed' ? `p${b.node}` : b.id.replace(/[^A-Za-z0-9_]/g, '_');
}

/** The key of a buffer in a plan's `layouts` and a run's values. */
export function bufferKey(b: WebGLBuffer): string {
  return b.kind === 'node' ? `n${b.node}` : b.kind === 'packed' ? `p${b.node}` : `s${b.id}`;
}

/**
 * The lines of a gpu.js kernel function: its parameters, then one output element's
 * coordinates (`this.thread.x`, `.y`, `.z`) under the given names, then the body.
 */
export function kernelSource(params: string[], [x, y, z]: [string, string, string], body: string[]): string[] {
  return [
    `function (${params.join(', ')}) {`,
    `  const ${x} = this.thread.x;`,
    `  const ${y} = this.thread.y;`,
    `  const ${z} = this.thread.z;`,
    ...body,
    '}',
  ];
}
