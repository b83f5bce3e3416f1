// The whole lowering as one flat, ordered list of named passes. Read it top to bottom;
// `attnc compile --emit <name>` prints the module after any of them. Graph passes run for
// every backend (the reference executor runs their output); kernel passes build the kernel
// IR that the targets render. `runPipeline` is the only caller of the passes: compile()
// runs it from the checked program, and the runtime, the benchmark and the tests run its
// kernel stage through `lowerToKernels` for a device's capabilities and the runtime shapes.

import type { Graph } from './ir.js';
import type { Kernel } from './kernel.js';
import type { Module, Pass, PassOptions } from './pass.js';
import { expandBuiltins } from './passes/expand-builtins.js';
import { fuse } from './passes/fuse.js';
import { fuseElementwise } from './passes/fuse-elementwise.js';
import { simplify } from './passes/simplify.js';
import { tile } from './passes/tile.js';
import { verify } from './passes/verify.js';

export const PIPELINE: readonly Pass[] = [
  verify,
  expandBuiltins,
  simplify,
  fuseElementwise,
  fuse,
  tile,
];

export const PASS_NAMES = PIPELINE.map((p) => p.name);

export function findPass(name: string): Pass | undefined {
  return PIPELINE.find((p) => p.name === name);
}

export interface PipelineRange {
  /** `graph` starts at the first pass; `kernel` at the first kernel pass (the graph is already optimised). */
  from?: 'graph' | 'kernel';
  /** `graph` stops before the kernel passes (the reference executor needs nothing more). */
  to?: 'graph' | 'kernel';
  /** Sees the module after each pass. */
  onPass?: (pass: Pass, m: Module) => void;
}

/** Run the passes of the pipeline between `from` and `to` over `m`. */
export function runPipeline(m: Module, opts: PassOptions, { from = 'graph', to = 'kernel', onPass }: PipelineRange = {}): Module {
  for (const pass of PIPELINE) {
    if (from === 'kernel' && pass.stage === 'graph') continue;
    if (to === 'graph' && pass.stage === 'kernel') break;
    m = pass.run(m, opts);
    onPass?.(pass, m);
  }
  return m;
}

/**
 * The kernels of an optimised graph (CompileResult.graph) for one device and shape class:
 * the kernel passes of the pipeline with `opts` (device caps, runtime dims, fusion).
 * Throws SpecializationError when a head dim has no size.
 */
export function lowerToKernels(graph: Graph, opts: PassOptions, onPass?: PipelineRange['onPass']): Kernel[] {
  return runPipeline({ graph, kernels: null }, opts, { from: 'kernel', onPass }).kernels!;
}

// The errors the kernel passes raise, for callers of lowerToKernels (which need not know the passes).
export { SpecializationError } from './passes/fuse.js';
export { WebGLScheduleError } from './passes/tile-webgl.js';
