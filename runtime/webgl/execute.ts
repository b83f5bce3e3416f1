// The WebGL runtime: runs a plan from targets/webgl on gpu.js (headless-gl in Node,
// WebGL 2/1 in a browser). Inputs are uploaded as f32 textures, the kernels run in order
// with every intermediate kept on the GPU (`pipeline: true`), and the result is read back
// once as a Float32Array tensor (Int32Array when the program returns `clusters`).
//
// Programs are lowered through the compiler's pipeline for target webgl (its tile pass
// chooses each attention's strategy at these shapes) and rendered by targets/webgl.
// Compiled kernels are cached per (graph, dims, caps): gpu.js bakes texture sizes and
// constants into each shader, so a program is specialised on its dims.

import { contiguousInputs } from '../views.js';
import { DEFAULT_CAPS, DEFAULT_WEBGL_CAPS, type WebGLCaps } from '../../compiler/caps.js';
import type { Graph } from '../../compiler/ir.js';
import { lowerToKernels } from '../../compiler/pipeline.js';
import { WebGLScheduleError } from '../../compiler/pipeline.js';
import { printGraph } from '../../compiler/print.js';
import {
  nativeFunctions, renderWebGL, WebGLLimitError, type WebGLBuffer, type WebGLKernel, type WebGLPlan,
} from '../../targets/webgl/plan.js';
import type { Tensor } from '../tensor.js';
import { WebGLError, WebGLKernelError } from './errors.js';
import { destroyGPU, getGPU, type GpuKernel, type GpuTexture } from './gpujs.js';
import { returnedInput } from '../shapes.js';
import { validateRun } from '../validate.js';

/** The WebGL caps the schedule uses beyond the defaults (tests force a strategy or chunking). */
export type WebGLOptions = Partial<WebGLCaps>;

/**
 * The WebGL plan of `graph` at `dims`: the pipeline's kernel passes for target webgl,
 * rendered to gpu.js kernels. Throws WebGLLimitError for sizes the target cannot address.
 */
export function planWebGL(graph: Graph, dims: Record<string, number>, options: WebGLOptions = {}): WebGLPlan {
  try {
    const kernels = lowerToKernels(graph, { target: 'webgl', fusion: true, caps: DEFAULT_CAPS, dims, webgl: { ...DEFAULT_WEBGL_CAPS, ...options } });
    return renderWebGL(kernels, graph, dims);
  } catch (e) {
    if (e instanceof WebGLScheduleError) throw new WebGLLimitError(e.message);
    throw e;
  }
}

interface Compiled {
  plan: WebGLPlan;
  kernels: Map<string, GpuKernel>;
}

/** Programs kept compiled (least recently used evicted first). */
const CACHE_SIZE = 16;
const cache = new Map<string, Compiled>();

/**
 * Cache key: the graph's full text (bodies included: names, types, every expression), the
 * dims and the plan options. The text itself, not a hash of it, so keys never collide.
 */
export function webglCacheKey(graph: Graph, dims: Record<string, number>, options: WebGLOptions = {}): string {
  const text = printGraph(graph, { bodies: true });
  const d = Object.keys(dims).sort().map((k) => `${k}=${dims[k]}`).join(',');
  return `${text}\n${d}\n${options.strategy ?? 'auto'}:${options.maxScratch ?? ''}`;
}

function compiled(graph: Graph, dims: Record<string, number>, options: WebGLOptions): Compiled {
  const key = webglCacheKey(graph, dims, options);
  let c = cache.get(key);
  if (c) {
    cache.delete(key); // refresh its LRU position
    cache.set(key, c);
    return c;
  }
  c = { plan: planWebGL(graph, dims, options), kernels: new Map() };
  cache.set(key, c);
  while (cache.size > CACHE_SIZE) {
    const [oldKey, old] = cache.entries().next().value as [string, Compiled];
    cache.delete(oldKey);
    for (const k of old.kernels.values()) safeDestroy(k);
  }
  return c;
}

function safeDestroy(k: GpuKernel): void {
  try {
    k.destroy();
  } catch {
    // nothing left to free
  }
}

function kernelFor(c: Compiled, k: WebGLKernel): GpuKernel {
  let fn = c.kernels.get(k.name);
  if (fn) return fn;
  const gpu = getGPU(); // throws NoWebGLContextError, unwrapped
  try {
    fn = gpu.createKernel(k.source, {
      output: k.output,
      constants: k.constants,
      loopMaxIterations: k.loopMaxIterations,
      pipeline: true,
      immutable: false,
      precision: 'single',
      tactic: 'precision',
      // Four floats per RGBA texel: a quarter of the pixels to upload and read back.
      optimizeFloatMemory: true,
      // integer division is exact through the target's own helpers; float `/` needs no patch
      fixIntegerDivisionAccuracy: false,
      nativeFunctions: nativeFunctions(k),
    });
  } catch (e) {
    throw asKernelError(k, e);
  }
  c.kernels.set(k.name, fn);
  return fn;
}

function asKernelError(k: WebGLKernel, e: unknown): Error {
  if (e instanceof WebGLError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new WebGLKernelError(k.name, k.label, msg.split('\n').slice(0, 12).join('\n'));
}

const bufferKey = (b: WebGLBuffer): string => (b.kind === 'node' ? `n${b.node}` : `s${b.id}`);

type Value = Float32Array | GpuTexture;

/** Run every kernel of a compiled plan; returns the value of each buffer. */
function runPlan(c: Compiled, inputs: Readonly<Record<string, Tensor>>): Map<string, Value> {
  const { plan } = c;
  const values = new Map<string, Value>();
  for (const id of plan.graph.inputs) {
    const name = plan.graph.nodes[id]!.name ?? `%${id}`;
    const t = inputs[name]!;
    values.set(`n${id}`, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));
  }
  const run = (k: WebGLKernel, scalars: number[]): void => {
    const elems = k.output[0] * k.output[1] * k.output[2];
    if (elems === 0) {
      values.set(bufferKey(k.result), new Float32Array(0));
      return;
    }
    const args: unknown[] = k.args.map((b) => {
      const v = values.get(bufferKey(b));
      if (!v) throw new Error(`internal: kernel ${k.name} reads ${bufferKey(b)} before it is computed`);
      // gpu.js cannot upload an empty array; an empty tensor is never read (its loops are empty)
      return v instanceof Float32Array && v.length === 0 ? new Float32Array(1) : v;
    });
    args.push(...scalars);
    const fn = kernelFor(c, k);
    let out: unknown;
    try {
      out = fn(...args);
    } catch (e) {
      throw asKernelError(k, e);
    }
    if (fn.kernel.constructor.mode === 'cpu' || fn.kernel.constructor.name === 'CPUKernel') {
      throw new WebGLKernelError(k.name, k.label, `gpu.js fell back to the CPU (${fn.kernel.fallbackReason ?? 'no reason given'})`);
    }
    if (!out || typeof (out as GpuTexture).toArray !== 'function') {
      throw new WebGLKernelError(k.name, k.label, 'gpu.js returned no texture');
    }
    values.set(bufferKey(k.result), out as GpuTexture);
  };

  const kernels = plan.kernels;
  for (let at = 0; at < kernels.length; ) {
    const first = kernels[at]!;
    const chunk = first.chunk;
    if (!chunk) {
      run(first, []);
      at++;
      continue;
    }
    // A chunked attend: run its kernels once per group of heads (each call overwrites the
    // previous chunk's scratch textures) and assemble the last kernel's outputs on the host.
    // The group: the consecutive chunked kernels of the same attend node.
    let end = at;
    while (end < kernels.length && kernels[end]!.node === first.node && kernels[end]!.chunk !== null) end++;
    const group = kernels.slice(at, end);
    const last = group[group.length - 1]!;
    const perHead = last.output[0] * last.output[1];
    const host = new Float32Array(chunk.total * perHead);
    for (let n = 0; n < chunk.count; n++) {
      const bh0 = n * chunk.heads;
      for (const k of group) run(k, k.scalars.map(() => bh0));
      const out = values.get(bufferKey(last.result));
      const flat = out instanceof Float32Array ? out : flatten(out!.toArray(), chunk.heads * perHead);
      const heads = Math.min(chunk.heads, chunk.total - bh0);
      host.set(flat.subarray(0, heads * perHead), bh0 * perHead);
    }
    values.set(bufferKey(last.result), host);
    at = end;
  }
  return values;
}

/** Flatten gpu.js's nested result arrays (z, y, then x rows) into one Float32Array. */
function flatten(x: unknown, n: number): Float32Array {
  const out = new Float32Array(n);
  let at = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Float32Array || Array.isArray(v) || ArrayBuffer.isView(v)) {
      const arr = v as ArrayLike<unknown>;
      if (arr.length > 0 && typeof arr[0] === 'number') {
        const nums = arr as ArrayLike<number>;
        for (let k = 0; k < nums.length && at < n; k++) out[at++] = nums[k]!;
        return;
      }
      for (let k = 0; k < arr.length; k++) walk(arr[k]);
      return;
    }
    if (typeof v === 'number' && at < n) out[at++] = v;
  };
  walk(x);
  if (at !== n) throw new Error(`internal: read back ${at} elements, expected ${n}`);
  return out;
}

function readTensor(plan: WebGLPlan, values: Map<string, Value>): Tensor {
  const id = plan.graph.output;
  const shape = plan.shapes[id]!;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = values.get(`n${id}`)!;
  const data = v instanceof Float32Array ? Float32Array.from(v.subarray(0, n)) : flatten(v.toArray(), n);
  if (plan.graph.nodes[id]!.elem === 'i32') return { data: Int32Array.from(data, (x) => Math.round(x)), shape: [...shape] };
  return { data, shape: [...shape] };
}

/**
 * Run `graph` (after the compiler's graph passes) on WebGL with the given inputs (by input
 * name) and bound dims (see `bindDims`). Throws an AttncError for invalid sizes, a
 * NoWebGLContextError when no context can be created, a WebGLLimitError for sizes the
 * target cannot address.
 */
export async function executeWebGL(
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: WebGLOptions = {},
): Promise<Tensor> {
  validateRun(graph, inputs, dims);
  const c = compiled(graph, dims, options);
  // Strided views are gathered into C order on the host: WebGL uploads textures from it anyway.
  const flat = contiguousInputs(inputs);
  const passthrough = returnedInput(graph, flat);
  if (passthrough) return passthrough;
  const values = runPlan(c, flat);
  return readTensor(c.plan, values);
}

/** One kernel of a program as `attnc compile --target webgl` shows it. */
export interface WebGLKernelListing {
  name: string;
  label: string;
  /** The gpu.js kernel function (JavaScript). */
  js: string;
  /** The GLSL fragment shader gpu.js generated from it. */
  glsl: string;
  output: [number, number, number];
  constants: Record<string, number>;
  loopMaxIterations: number;
}

/**
 * Build every kernel of `graph` at `dims` (running it once on zero inputs, which is when
 * gpu.js translates) and return each kernel's JavaScript and generated GLSL.
 */
export function webglListings(graph: Graph, dims: Record<string, number>, options: WebGLOptions = {}): WebGLKernelListing[] {
  const c = compiled(graph, dims, options);
  const zeros: Record<string, Tensor> = {};
  for (const id of graph.inputs) {
    const shape = c.plan.shapes[id]!;
    zeros[graph.nodes[id]!.name ?? `%${id}`] = { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape };
  }
  runPlan(c, zeros);
  return c.plan.kernels.map((k) => ({
    name: k.name,
    label: k.label,
    js: k.source,
    glsl: c.kernels.get(k.name)?.kernel.compiledFragmentShader ?? '// (not built: empty output)',
    output: k.output,
    constants: k.constants,
    loopMaxIterations: k.loopMaxIterations,
  }));
}

/**
 * gpu.js's fragment shaders start with a few hundred lines of its own runtime (math
 * polyfills, texture decoding) that are the same in every kernel; keep the header and the
 * kernel's own part (constants, textures, helpers, `kernel()`, `main()`).
 */
export function trimShader(glsl: string): string {
  const lines = glsl.split('\n');
  const varying = lines.findIndex((l) => /^varying /.test(l) || /^in vec2 vTexCoord/.test(l));
  const own = lines.findIndex((l, k) => k > varying && /^(const float constants_|uniform |float kernelResult|vec4 kernelResult)/.test(l));
  if (varying < 0 || own < 0) return glsl;
  return [...lines.slice(0, varying + 1), `// … ${own - varying - 1} lines of gpu.js runtime helpers …`, ...lines.slice(own)].join('\n');
}

export interface PrintWebGLOptions extends WebGLOptions {
  /** Keep gpu.js's runtime helpers in each shader (default: trimmed). */
  full?: boolean;
}

/** The generated GLSL of every kernel, with headers, for `attnc compile --target webgl`. */
export function printWebGL(graph: Graph, dims: Record<string, number>, options: PrintWebGLOptions = {}): string {
  const parts: string[] = [];
  for (const l of webglListings(graph, dims, options)) {
    parts.push(
      [
        `// ==== kernel ${l.name}: ${l.label}`,
        `// output [x, y, z] = [${l.output.join(', ')}], loopMaxIterations ${l.loopMaxIterations}`,
        `// constants ${JSON.stringify(l.constants)}`,
        '// gpu.js kernel function:',
        ...l.js.split('\n').map((s) => `//   ${s}`),
        (options.full ? l.glsl : trimShader(l.glsl)).trimEnd(),
      ].join('\n'),
    );
  }
  return parts.join('\n\n') + '\n';
}

/** Drop every cached kernel and the WebGL context (tests, CLI exit). */
export function disposeWebGL(): void {
  for (const c of cache.values()) for (const k of c.kernels.values()) safeDestroy(k);
  cache.clear();
  destroyGPU();
}
