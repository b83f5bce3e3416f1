// The state of one plan while it is rendered, shared by the kernel emitters (pool.ts,
// clusters.ts, attend-*.ts): concrete shapes, the kernels and scratch textures so far, and
// the checks every kernel must pass before it is added.

import type { Graph } from '../../compiler/ir.js';
import { evalSize } from '../../compiler/kernel.js';
import {
  MAX_ELEMENTS,
  MAX_LOOP,
  WebGLLimitError,
  type AttendStrategy,
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
  'name' | 'node' | 'source' | 'argNames' | 'loopMaxIterations' | 'loopBoundLabel' | 'scalars' | 'chunk'
> & {
  source: string[];
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

  constructor(
    readonly graph: Graph,
    readonly dims: Record<string, number>,
  ) {
    this.shapes = nodeShapes(graph, dims);
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
      constants: k.constants,
      loopMaxIterations: Math.max(1, loopMaxIterations),
      loopBoundLabel,
      helpers: [...new Set(k.helpers)].sort(),
      cost: k.cost,
      scalars: k.scalars ?? [],
      chunk: k.chunk ?? null,
    });
  }
}

export const nodeBuffer = (node: number): WebGLBuffer => ({ kind: 'node', node });
export const scratchBuffer = (id: string): WebGLBuffer => ({ kind: 'scratch', id });

/** The parameter name of a buffer in kernel sources. */
function bufferParam(b: WebGLBuffer): string {
  return b.kind === 'node' ? `t${b.node}` : b.id.replace(/[^A-Za-z0-9_]/g, '_');
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
