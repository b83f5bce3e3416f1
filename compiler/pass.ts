// The pass interface. A pass is a small named unit with a summary and options; the whole
// lowering is the flat, ordered list in pipeline.ts, and the module can be printed after
// any pass (`attnc compile --emit <pass>`). Options are part of the kernel cache key.

import type { DeviceCaps, WebGLCaps } from './caps.js';
import type { Graph } from './ir.js';
import type { Kernel } from './kernel.js';

export interface PassOptions {
  /**
   * The kernels' target (default wgsl). WebGL kernels are specialised on every dim, and
   * its tile pass chooses each attention's strategy (fused, or multi-pass over
   * materialised scores) from the shapes and `webgl`.
   */
  target?: 'wgsl' | 'webgl';
  /** false: materialised scores (QKᵀ, softmax, P·V as separate kernels) — the WGSL baseline. */
  fusion: boolean;
  /** What the WGSL schedule may rely on (compiler/caps.ts). */
  caps: DeviceCaps;
  /** What the WebGL schedule may rely on (default DEFAULT_WEBGL_CAPS). */
  webgl?: WebGLCaps;
  /**
   * The runtime shape class: sizes the kernels specialise on (head dims; dims not given
   * fall back to the program's `dims` defaults) and sizes the schedule may take into
   * account (the bound query length picks the subgroup path's rows per invocation).
   */
  dims: Record<string, number>;
  /** Force the subgroup path's rows per invocation (tests: the 4-row path at small shapes). */
  rowsPerThread?: number;
  /**
   * Inputs given as strided views of a larger buffer (runtime/views.ts), by name: the
   * kernels address their rows through uniform strides and offset (`<name>__o`,
   * `<name>__s0`, …, the buffer's length `<name>__n`), as vec4s when every stride and the
   * offset are multiples of 4 (`vec4`), else element by element (`scalar`).
   */
  views?: Record<string, 'vec4' | 'scalar'>;
  /**
   * The program's output (an attention's) written as a strided view of the caller's buffer
   * (uniforms `out__o`, `out__s0`, …, `out__n`), vec4 or element by element as for `views`.
   */
  outputView?: 'vec4' | 'scalar';
  /**
   * Bound masks that read tensors through the tensors' values (default true; WGSL only):
   * block summaries computed on the device let the tile predicates and key ranges skip
   * tiles of a document mask or a block table (compiler/analysis/mask.ts). false: a lookup
   * bounds nothing (every tile such a mask touches is visited) — same results, for
   * comparison and as a fallback.
   */
  tensorBounds?: boolean;
}

/** The unit that flows through the pipeline: the graph and, from `fuse` on, its kernels. */
export interface Module {
  graph: Graph;
  kernels: Kernel[] | null;
}

export interface Pass {
  name: string;
  summary: string;
  /** Which stage the pass belongs to: graph passes run for every backend. */
  stage: 'graph' | 'kernel';
  run(m: Module, opts: PassOptions): Module;
}
