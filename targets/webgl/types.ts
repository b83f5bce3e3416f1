// The shape of a WebGL plan (what planWebGL returns and runtime/webgl runs) and the limits
// every plan is held to.

import type { Graph } from '../../compiler/ir.js';
import type { Helper } from './expr.js';

/**
 * A texture of the plan: a graph tensor (input or result of a node) as flat f32 values
 * (`node`), the same tensor packed four values to an RGBA texel (`packed`, see
 * PackedLayout), or a scratch texture (flat or packed: `WebGLPlan.layouts` says).
 */
export type WebGLBuffer = { kind: 'node'; node: number } | { kind: 'packed'; node: number } | { kind: 'scratch'; id: string };

export type WebGLKernelKind =
  | 'attend' | 'scores' | 'rowstats' | 'probs' | 'pv' | 'colstats' | 'colapply' | 'pool' | 'pool2d' | 'clusters' | 'pack' | 'unpack' | 'map' | 'lse' | 'topk';

/**
 * A packed texture: `rows` rows of `width` RGBA texels (values 4t … 4t + 3 of a row in
 * texel t, zero past `values`). A texture holds `fold` rows side by side per texel row
 * (a power of two, so that no texture side passes the device's limit), so row r, texel c
 * is texel ((r mod fold)·width + c, ⌊r / fold⌋) of a [width·fold, ⌈rows / fold⌉] texture
 * — and the texture read back is [rows, width, 4] in row-major order.
 */
export interface PackedLayout {
  rows: number;
  width: number;
  fold: number;
  /** Values per row; ≤ 4·width. */
  values: number;
}

export interface WebGLKernel {
  /** Unique in the plan, e.g. `agent_attend3_fused`. */
  name: string;
  kind: WebGLKernelKind;
  /** One line for listings and errors. */
  label: string;
  /** The graph node this kernel (partly) computes. */
  node: number;
  /** JavaScript source of the kernel function (`function (t0, t1) { … }`), for gpu.js. */
  source: string;
  /** The buffers passed as the function's parameters, in order. */
  args: WebGLBuffer[];
  /** Parameter names, parallel to `args`. */
  argNames: string[];
  result: WebGLBuffer;
  /** gpu.js output size [x, y, z] (x fastest). */
  output: [number, number, number];
  /** What a thread returns: one f32 (flat textures, four per texel) or an RGBA texel (packed). */
  returns: 'float' | 'vec4';
  /** `this.constants` of the kernel (baked into the shader). */
  constants: Record<string, number>;
  /** gpu.js `loopMaxIterations`: the largest trip count of any loop with a per-thread bound. */
  loopMaxIterations: number;
  /** Which loop sets `loopMaxIterations` (for errors). */
  loopBoundLabel: string;
  /** GLSL helpers the source calls (gpu.js native functions). */
  helpers: Helper[];
  /** Estimated work (multiply-adds), for the strategy choice and listings. */
  cost: number;
  /** Number parameters after the buffers (uniforms), e.g. `bh0` of a chunked kernel. */
  scalars: string[];
  /**
   * Set on the kernels of an attend whose scores are computed a few heads at a time (the
   * whole scratch would exceed f32-exact addressing): the runtime runs the group of
   * consecutive kernels with this chunk once per chunk, passing `bh0 = c·heads`, and
   * assembles the last kernel's outputs (`heads` heads each) into the node's tensor.
   */
  chunk: WebGLChunk | null;
}

export interface WebGLChunk {
  /** Heads (b·H + h rows of N queries) per chunk. */
  heads: number;
  count: number;
  /** B·H. */
  total: number;
  /** The node the chunks' last outputs (packed, `heads` heads each) are assembled into, as flat values. */
  into: number;
  /**
   * A top-k attention's log-sum-exp node: assembled the same way from the third lane of
   * the chunks' row statistics (the group's `rowstats` kernel).
   */
  lse?: number;
}

export type AttendStrategy = 'fused' | 'scores';

export interface WebGLPlan {
  graph: Graph;
  dims: Record<string, number>;
  kernels: WebGLKernel[];
  output: WebGLBuffer;
  /** Concrete shape of every graph node. */
  shapes: number[][];
  /** Elements of every scratch texture. */
  scratch: Record<string, number>;
  /** The layout of every packed texture, by buffer key (`p<node>` or `s<scratch id>`). */
  layouts: Record<string, PackedLayout>;
  /** Strategy of each attend node with normalize: keys. */
  strategies: Record<number, AttendStrategy>;
}

/**
 * Tensors are addressed by flat f32 indices inside the shaders; f32 holds every integer up
 * to 2^24 exactly, so no texture of a plan may have more elements than this.
 */
export const MAX_ELEMENTS = 2 ** 24;
/** The largest loop trip count a kernel may need (bounded by f32-exact indices too). */
export const MAX_LOOP = 2 ** 24;

/** A size or loop bound the WebGL target cannot handle. */
export class WebGLLimitError extends Error {
  override name = 'WebGLLimitError';
}
