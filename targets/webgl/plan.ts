// Kernel IR (lowered for target webgl: compiler/passes/tile-webgl.ts chose each
// attention's strategy, key ranges and head chunking) → a WebGL plan: an ordered list of
// gpu.js kernels, each with the JavaScript function source gpu.js transpiles to GLSL, its
// arguments (graph tensors or scratch textures of this plan), its output size and its
// settings. Rendering only: every choice of what work is done is the schedule's.
//
// gpu.js bakes argument texture sizes and `constants` into the shader, so a plan is
// specialised on all dims (the runtime caches plans per graph and dims). Each gpu.js
// kernel computes one f32 per output element ("thread"); outputs are 3-D [x, y, z] with x
// the fastest axis, so a kernel's flat output is the row-major tensor its consumers index.
//
// Per kernel IR kind: pool.ts (pool, pool2d), clusters.ts, attend-keys.ts (attend: `fused`
// is one gpu.js kernel, `scores` three), attend-queries.ts (colstats and colapply, the two
// passes of normalize: queries; under `scores`, colstats also writes the scores scratch
// that both read, attend-scores.ts). In every form, a score ≤ −1e30 (or −inf) counts as
// masked, and a query row with no allowed key is exactly 0 (no division by a zero sum).

import type { Graph, NodeOf } from '../../compiler/ir.js';
import type { AttendKernel, Kernel } from '../../compiler/kernel.js';
import { attendGeometry, attendView } from './attend-common.js';
import { emitKeysFused, emitKeysScores } from './attend-keys.js';
import { emitColapplyFused, emitColapplyScores, emitColstatsFused, emitColstatsScores } from './attend-queries.js';
import { scoresScratch } from './attend-scores.js';
import { PlanBuilder } from './builder.js';
import { emitClusters } from './clusters.js';
import { HELPER_SOURCE } from './expr.js';
import { emitPool, emitPool2d } from './pool.js';
import type { WebGLKernel, WebGLPlan } from './types.js';

export { nodeShapes } from './builder.js';
export { MAX_ELEMENTS, MAX_LOOP, WebGLLimitError } from './types.js';
export type { AttendStrategy, WebGLBuffer, WebGLChunk, WebGLKernel, WebGLKernelKind, WebGLPlan } from './types.js';

/** Render `kernels` (lowered from `graph` for target webgl at `dims`) as gpu.js kernels. */
export function renderWebGL(kernels: readonly Kernel[], graph: Graph, dims: Record<string, number>): WebGLPlan {
  const b = new PlanBuilder(graph, dims);
  for (const id of tensorsOf(kernels, graph)) b.checkElements(b.nodeLabel(id), b.shapes[id]!.reduce((x, y) => x * y, 1));
  for (const k of kernels) {
    const node = graph.nodes[k.node]!;
    switch (k.kind) {
      case 'pool': emitPool(b, node as NodeOf<'pool'>); break;
      case 'pool2d': emitPool2d(b, node as NodeOf<'pool2d'>); break;
      case 'clusters': emitClusters(b, node as NodeOf<'clusters'>); break;
      case 'attend': case 'colstats': case 'colapply': renderAttention(b, k, graph); break;
      default: throw new Error(`internal: kernel ${k.name} (${k.kind}) was not lowered for the WebGL target`);
    }
  }
  return {
    graph,
    dims: { ...dims },
    kernels: b.kernels,
    output: { kind: 'node', node: graph.output },
    shapes: b.shapes,
    scratch: b.scratch,
    strategies: b.strategies,
  };
}

function renderAttention(b: PlanBuilder, k: AttendKernel, graph: Graph): void {
  const s = k.webgl;
  if (!s) throw new Error(`internal: kernel ${k.name} has no WebGL schedule (run the tile pass for target webgl)`);
  const node = attendView(k, graph);
  const g = attendGeometry(b, node);
  b.strategies[node.id] = s.strategy;
  // The column statistics of normalize: queries, written by colstats and read by colapply.
  const stId = `attend${node.id}_colstats`;
  if (k.kind === 'colstats') {
    b.scratch[stId] = g.B * g.H * g.M * 2;
    b.checkElements(`the column statistics of ${b.nodeLabel(node.id)}`, g.B * g.H * g.M * 2);
  }
  const scores = s.strategy === 'scores' ? scoresScratch(node, g, s) : null;
  switch (k.kind) {
    case 'attend':
      if (scores) emitKeysScores(b, node, g, s.ranges, scores);
      else emitKeysFused(b, node, g, s.ranges, s.cost.fused);
      break;
    case 'colstats':
      if (scores) emitColstatsScores(b, node, g, s.ranges, scores, stId);
      else emitColstatsFused(b, node, g, stId);
      break;
    default:
      if (scores) emitColapplyScores(b, node, g, s.ranges, scores, stId);
      else emitColapplyFused(b, node, g, s.ranges, s.slots, stId);
  }
}

/** GLSL source of the helpers a kernel uses, as gpu.js native functions. */
export function nativeFunctions(k: WebGLKernel): { name: string; source: string }[] {
  return k.helpers.map((h) => ({ name: h, source: HELPER_SOURCE[h] }));
}

/** The graph tensors the kernels touch (each at most f32-exactly addressable). */
function tensorsOf(kernels: readonly Kernel[], graph: Graph): number[] {
  const ids = new Set<number>();
  for (const k of kernels) for (const x of k.bindings) if (x.buffer.kind === 'node') ids.add(x.buffer.node);
  return [...ids].filter((id) => graph.nodes[id]).sort((a, c) => a - c);
}
