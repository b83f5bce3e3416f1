// Kernel IR (lowered for target webgl: the `tile` pass's WebGL schedule chose each
// attention's strategy, key ranges and head chunking) → a WebGL plan: an ordered list of
// gpu.js kernels, each with the JavaScript function source gpu.js transpiles to GLSL, its
// arguments (graph tensors or scratch textures of this plan), its output size and its
// settings. Rendering only: every choice of what work is done is the schedule's.
//
// gpu.js bakes argument texture sizes and `constants` into the shader, so a plan is
// specialised on all dims (the runtime caches plans per graph and dims). Kernels return
// one f32 per thread (flat textures: pool, clusters, unpack; row-major as their consumers
// index them) or one RGBA texel (packed textures: the attention kernels, packed.ts).
//
// Per kernel IR kind: pool.ts (pool, pool2d), clusters.ts, map.ts (elementwise arithmetic), attend-scores.ts (the `scores`
// strategy: attend is scores → row statistics → weights → P·V; colstats is scores →
// column statistics, colapply weights → P·V), attend-fused.ts (the `fused` strategy). In
// every form, a score ≤ −1e30 (or −inf) counts as masked, and a query row with no allowed
// key is exactly 0 (no division by a zero sum).

import type { Graph, NodeOf } from '../../compiler/ir.js';
import type { AttendKernel, Kernel, WebGLAttendSchedule } from '../../compiler/kernel.js';
import { attendGeometry, attendView, type AttendGeometry, type AttendView } from './attend-common.js';
import { emitColapplyFused, emitColstatsFused, emitKeysFused, emitLse } from './attend-fused.js';
import { emitColStats, emitKept, emitProbs, emitPV, emitRowStats, emitScores, emitStatsLse, emitTopK, scoresScratch } from './attend-scores.js';
import { bufferKey, PlanBuilder } from './builder.js';
import { emitClusters } from './clusters.js';
import { helperSource, loadsOf, type NativeHelper } from './expr.js';
import { DEFAULT_MAX_TEXTURE_SIZE } from './packed.js';
import { emitMap, emitPackedMap } from './map.js';
import { emitPool, emitPool2d } from './pool.js';
import type { WebGLKernel, WebGLPlan } from './types.js';

export { nodeShapes, bufferKey } from './builder.js';
export { DEFAULT_MAX_TEXTURE_SIZE, unpackRows } from './packed.js';
export { MAX_ELEMENTS, MAX_LOOP, WebGLLimitError } from './types.js';
export type { AttendStrategy, PackedLayout, WebGLBuffer, WebGLChunk, WebGLKernel, WebGLKernelKind, WebGLPlan } from './types.js';

export interface RenderOptions {
  /** The device's largest texture side (default DEFAULT_MAX_TEXTURE_SIZE). */
  maxTextureSize?: number;
}

/** Render `kernels` (lowered from `graph` for target webgl at `dims`) as gpu.js kernels. */
export function renderWebGL(kernels: readonly Kernel[], graph: Graph, dims: Record<string, number>, options: RenderOptions = {}): WebGLPlan {
  const b = new PlanBuilder(graph, dims, options.maxTextureSize ?? DEFAULT_MAX_TEXTURE_SIZE);
  // Concatenations no kernel computes are read in place by the attentions that use them
  // as keys or values (fuse.ts inPlaceConcats): their packed textures straight from the parts.
  const computed = new Set(kernels.map((k) => k.node));
  const inPlace = new Set(graph.nodes.filter((n) => n.op === 'map' && n.concat && !computed.has(n.id)).map((n) => n.id));
  for (const id of tensorsOf(kernels, graph)) b.checkElements(b.nodeLabel(id), b.shapes[id]!.reduce((x, y) => x * y, 1));
  for (const k of kernels) {
    const node = graph.nodes[k.node]!;
    switch (k.kind) {
      case 'pool': {
        const p = node as NodeOf<'pool'>;
        b.flatValues(p.x);
        if (p.weights !== undefined) b.flatValues(p.weights);
        emitPool(b, p);
        break;
      }
      case 'pool2d': b.flatValues((node as NodeOf<'pool2d'>).x); emitPool2d(b, node as NodeOf<'pool2d'>); break;
      case 'clusters': {
        const c = node as NodeOf<'clusters'>;
        b.flatValues(c.x);
        b.flatValues(c.centroids);
        emitClusters(b, c);
        break;
      }
      case 'attend': case 'colstats': case 'colapply': renderAttention(b, k, graph, inPlace); break;
      case 'map': emitMap(b, node as NodeOf<'map'>); break;
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
    layouts: b.layouts,
    strategies: b.strategies,
  };
}

function renderAttention(b: PlanBuilder, k: AttendKernel, graph: Graph, inPlace: ReadonlySet<number>): void {
  const s = k.webgl;
  if (!s) throw new Error(`internal: kernel ${k.name} has no WebGL schedule (run the tile pass for target webgl)`);
  const node = attendView(k, graph);
  const g = attendGeometry(b, node);
  b.strategies[node.id] = s.strategy;
  // Pack the operands and unpack the looked-up tensors first: a chunked attention's
  // kernels must follow each other in the plan (the runtime runs them as a group).
  for (const id of [node.q, node.k, node.v]) {
    if (inPlace.has(id) && !b.layouts[bufferKey({ kind: 'packed', node: id })]) emitPackedMap(b, graph.nodes[id] as NodeOf<'map'>);
    b.packed(id);
  }
  for (const id of [...loadsOf(node.mask), ...loadsOf(node.score)]) b.flatValues(id);
  const lseBinding = k.bindings.find((x) => x.role === 'lse');
  const lse = lseBinding?.buffer.kind === 'node' ? lseBinding.buffer.node : undefined;
  if (s.strategy === 'fused') {
    if (k.kind === 'attend') emitKeysFused(b, node, g, s.ranges, s.cost.fused);
    else if (k.kind === 'colstats') emitColstatsFused(b, node, g);
    else emitColapplyFused(b, node, g, s.ranges, s.cost.fused);
  } else {
    renderScores(b, k, node, g, s, k.topk === undefined ? undefined : lse);
  }
  // The log-sum-exp, where an `lse` reads it: its own pass after the attention's (a
  // top-k attention's comes from the row statistics of its kept scores, renderScores).
  if (lse !== undefined && k.topk === undefined) emitLse(b, node, g, s.ranges, lse);
}

function renderScores(b: PlanBuilder, k: AttendKernel, node: AttendView, g: AttendGeometry, s: WebGLAttendSchedule, lse?: number): void {
  let sc = scoresScratch(b, node, g, s, lse);
  if (k.kind === 'attend') {
    emitScores(b, node, g, sc, 'pass 1/4');
    if (k.topk !== undefined) sc = emitTopK(b, node, g, sc, k.topk);
    if (k.kept) return emitKept(b, node, g, sc);
    emitRowStats(b, node, g, sc, lse !== undefined);
    emitProbs(b, node, g, sc);
    emitPV(b, node, g, sc);
    if (lse !== undefined && !sc.chunk) emitStatsLse(b, node, g, sc, lse);
  } else if (k.kind === 'colstats') {
    emitScores(b, node, g, sc, 'pass 1/4');
    emitColStats(b, node, g, sc);
  } else {
    emitProbs(b, node, g, sc);
    emitPV(b, node, g, sc);
  }
}

/** The GLSL helpers a kernel uses, as gpu.js native functions for a WebGL version. */
export function nativeFunctions(k: WebGLKernel, version: 1 | 2): NativeHelper[] {
  return k.helpers.map((h) => helperSource(h, version));
}

/** The graph tensors the kernels touch (each at most f32-exactly addressable). */
function tensorsOf(kernels: readonly Kernel[], graph: Graph): number[] {
  const ids = new Set<number>();
  for (const k of kernels) for (const x of k.bindings) if (x.buffer.kind === 'node') ids.add(x.buffer.node);
  return [...ids].filter((id) => graph.nodes[id]).sort((a, c) => a - c);
}
