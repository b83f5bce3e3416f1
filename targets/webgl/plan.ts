// Graph IR (after the graph passes) → a WebGL plan: an ordered list of gpu.js kernels, each
// with the JavaScript function source gpu.js transpiles to GLSL, its arguments (graph
// tensors or scratch textures of this plan), its output size and its settings.
//
// gpu.js bakes argument texture sizes and `constants` into the shader, so a plan is
// specialised on all dims (the runtime caches plans per graph and dims). Each kernel
// computes one f32 per output element ("thread"); outputs are 3-D [x, y, z] with x the
// fastest axis, so a kernel's flat output is the row-major tensor its consumers index.
//
// Kernels per operation: pool.ts (pool, pool2d), clusters.ts, and for attend one of two
// strategies, picked here by a cost estimate: `fused` recomputes q·k wherever a kernel
// needs a score; `scores` materialises the masked scores once (attend-scores.ts), and is
// cheaper when Dv is large. normalize: keys is in attend-keys.ts, normalize: queries in
// attend-queries.ts; attend-common.ts holds what they share. When the scores scratch would
// pass 2^24 elements it is computed a few heads at a time (`chunk`): the runtime runs the
// kernels of that group per group of heads and assembles the output.
// In every form, a score ≤ −1e30 (or −inf) counts as masked, and a query row with no
// allowed key is exactly 0 (no division by a zero sum).

import type { Graph, NodeOf } from '../../compiler/ir.js';
import { attendGeometry, attendKeyRanges, type AttendGeometry, type KeyRange } from './attend-common.js';
import { emitKeysFused, emitKeysScores } from './attend-keys.js';
import { emitQueriesFused, emitQueriesScores } from './attend-queries.js';
import { PlanBuilder } from './builder.js';
import { emitClusters } from './clusters.js';
import { HELPER_SOURCE, loadsOf } from './expr.js';
import { emitPool, emitPool2d } from './pool.js';
import type { AttendStrategy, PlanOptions, WebGLKernel, WebGLPlan } from './types.js';

export { nodeShapes } from './builder.js';
export { hostNumber } from './host.js';
export { MAX_ELEMENTS, MAX_LOOP, WebGLLimitError } from './types.js';
export type { AttendStrategy, PlanOptions, WebGLBuffer, WebGLChunk, WebGLKernel, WebGLKernelKind, WebGLPlan } from './types.js';

export function planWebGL(graph: Graph, dims: Record<string, number>, options: PlanOptions = {}): WebGLPlan {
  const b = new PlanBuilder(graph, dims, options);
  const live = liveNodes(graph);
  for (const node of graph.nodes) {
    if (!live.has(node.id)) continue;
    b.checkElements(b.nodeLabel(node.id), b.shapes[node.id]!.reduce((x, y) => x * y, 1));
    switch (node.op) {
      case 'input': break;
      case 'pool': emitPool(b, node); break;
      case 'pool2d': emitPool2d(b, node); break;
      case 'clusters': emitClusters(b, node); break;
      case 'attend':
        if (node.normalize === 'keys') attendKeys(b, node);
        else attendQueries(b, node);
        break;
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

/** GLSL source of the helpers a kernel uses, as gpu.js native functions. */
export function nativeFunctions(k: WebGLKernel): { name: string; source: string }[] {
  return k.helpers.map((h) => ({ name: h, source: HELPER_SOURCE[h] }));
}

/** Nodes the output depends on (operands and tensors read by `load`). */
function liveNodes(graph: Graph): Set<number> {
  const live = new Set<number>();
  const visit = (id: number): void => {
    if (live.has(id)) return;
    live.add(id);
    const n = graph.nodes[id]!;
    switch (n.op) {
      case 'input': break;
      case 'pool': case 'pool2d': visit(n.x); break;
      case 'clusters': visit(n.x); visit(n.centroids); break;
      case 'attend':
        visit(n.q); visit(n.k); visit(n.v);
        for (const t of [...loadsOf(n.mask), ...loadsOf(n.score)]) visit(t);
        break;
    }
  };
  visit(graph.output);
  return live;
}

/** An attend's geometry and key ranges; `slots`: the keys one query visits (the scores row). */
function attendShape(b: PlanBuilder, node: NodeOf<'attend'>): { g: AttendGeometry; ranges: KeyRange[] | null; slots: number } {
  const g = attendGeometry(b, node);
  const ranges = attendKeyRanges(b, node, g.N, g.M);
  const slots = ranges ? ranges.reduce((a, r) => a + r.width, 0) : g.M;
  return { g, ranges, slots };
}

/** The forced strategy, else `scores` when its scratch fits and it costs less. */
function chooseStrategy(b: PlanBuilder, node: NodeOf<'attend'>, g: AttendGeometry, slots: number, fusedCost: number, scoresCost: number): AttendStrategy {
  const scoresFit = b.chunking(g.B * g.H, g.N * Math.max(slots, 1)) !== null;
  const forced = b.options.strategy ?? 'auto';
  const strategy: AttendStrategy = forced === 'auto' ? (scoresFit && scoresCost < fusedCost ? 'scores' : 'fused') : forced;
  b.strategies[node.id] = strategy;
  return strategy;
}

function attendKeys(b: PlanBuilder, node: NodeOf<'attend'>): void {
  const { g, ranges, slots } = attendShape(b, node);
  const BH = g.B * g.H;
  const fusedCost = BH * g.N * g.Dv * slots * (g.D + 12);
  const scoresCost = BH * g.N * slots * (g.D + 12) + BH * g.N * 2 * 2 * slots + BH * g.N * g.Dv * slots * 4 + 2 * 65536;
  if (chooseStrategy(b, node, g, slots, fusedCost, scoresCost) === 'fused') emitKeysFused(b, node, g, ranges, fusedCost);
  else emitKeysScores(b, node, g, ranges, slots);
}

function attendQueries(b: PlanBuilder, node: NodeOf<'attend'>): void {
  const { g, ranges, slots } = attendShape(b, node);
  const BH = g.B * g.H;
  const nr = ranges ? ranges.length : 0;
  const fusedCost = BH * g.M * 2 * g.N * (g.D + 12) + BH * g.N * g.Dv * slots * (g.D + 12);
  const scoresCost =
    BH * g.N * slots * (g.D + 12) + BH * g.M * 2 * g.N * (8 + 6 * nr) + BH * g.N * g.Dv * slots * 6 + 2 * 65536;
  const strategy = chooseStrategy(b, node, g, slots, fusedCost, scoresCost);
  const stId = `attend${node.id}_colstats`;
  b.scratch[stId] = BH * g.M * 2;
  b.checkElements(`the column statistics of ${b.nodeLabel(node.id)}`, BH * g.M * 2);
  if (strategy === 'scores') emitQueriesScores(b, node, g, ranges, slots, stId);
  else emitQueriesFused(b, node, g, ranges, slots, stId);
}
