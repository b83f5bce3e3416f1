// The WebGL runtime: runs a plan from targets/webgl on gpu.js (headless-gl in Node,
// WebGL 2/1 in a browser). Inputs are uploaded as f32 textures, the kernels run in order
// with every intermediate kept on the GPU (`pipeline: true`), and the result is read back
// once as a Float32Array tensor (Int32Array when the program returns `clusters`).
// `bindWebGL` keeps the packed inputs resident, so kernels can be timed without uploads.
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
  bufferKey, DEFAULT_MAX_TEXTURE_SIZE, nativeFunctions, renderWebGL, unpackRows, WebGLLimitError, type WebGLKernel, type WebGLPlan,
} from '../../targets/webgl/plan.js';
import type { Tensor } from '../tensor.js';
import { WebGLError, WebGLKernelError } from './errors.js';
import { destroyGPU, getGPU, webglDevice, type GpuKernel, type GpuTexture } from './gpujs.js';
import { returnedInput } from '../shapes.js';
import { f16Values } from '../f16.js';
import { validateRun } from '../validate.js';
import { LruMap } from '../lru.js';

/** The WebGL caps the schedule uses beyond the defaults (tests force a strategy or chunking). */
export type WebGLOptions = Partial<WebGLCaps> & {
  /** The largest texture side packed layouts may use (default DEFAULT_MAX_TEXTURE_SIZE; runs: at most the device's). */
  maxTextureSize?: number;
};

/**
 * The WebGL plan of `graph` at `dims`: the pipeline's kernel passes for target webgl,
 * rendered to gpu.js kernels. Throws WebGLLimitError for sizes the target cannot address.
 */
export function planWebGL(graph: Graph, dims: Record<string, number>, options: WebGLOptions = {}): WebGLPlan {
  const { maxTextureSize, ...caps } = options;
  try {
    const kernels = lowerToKernels(graph, { target: 'webgl', fusion: true, caps: DEFAULT_CAPS, dims, webgl: { ...DEFAULT_WEBGL_CAPS, ...caps } });
    return renderWebGL(kernels, graph, dims, { maxTextureSize });
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
const cache = new LruMap<string, Compiled>(CACHE_SIZE, (old) => {
  for (const k of old.kernels.values()) safeDestroy(k);
});

/**
 * Cache key: the graph's full text (bodies included: names, types, every expression), the
 * dims and the plan options. The text itself, not a hash of it, so keys never collide.
 */
export function webglCacheKey(graph: Graph, dims: Record<string, number>, options: WebGLOptions = {}): string {
  const text = printGraph(graph, { bodies: true });
  const d = Object.keys(dims).sort().map((k) => `${k}=${dims[k]}`).join(',');
  return `${text}\n${d}\n${options.strategy ?? 'auto'}:${options.maxScratch ?? ''}:${options.maxTextureSize ?? ''}`;
}

function compiled(graph: Graph, dims: Record<string, number>, options: WebGLOptions): Compiled {
  // The same plans on every device whose textures reach the default side (all but the smallest).
  options = { ...options, maxTextureSize: Math.min(options.maxTextureSize ?? DEFAULT_MAX_TEXTURE_SIZE, webglDevice().maxTextureSize) };
  const key = webglCacheKey(graph, dims, options);
  let c = cache.get(key);
  if (!c) cache.set(key, (c = { plan: planWebGL(graph, dims, options), kernels: new Map() }));
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
      // Four floats per RGBA texel either way: a packed kernel returns a texel (its
      // layout is the plan's), a flat one a float that gpu.js stores four to a texel.
      ...(k.returns === 'vec4' ? { returnType: 'Array(4)' as const, optimizeFloatMemory: false } : { optimizeFloatMemory: true }),
      // integer division is exact through the target's own helpers; float `/` needs no patch
      fixIntegerDivisionAccuracy: false,
      nativeFunctions: nativeFunctions(k, webglDevice().version),
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

type Value = Float32Array | GpuTexture;

/** The graph inputs' values, by buffer key. */
function inputValues(plan: WebGLPlan, inputs: Readonly<Record<string, Tensor>>): Map<string, Value> {
  const values = new Map<string, Value>();
  for (const id of plan.graph.inputs) {
    const name = plan.graph.nodes[id]!.name ?? `%${id}`;
    const t = inputs[name]!;
    // An f16 input holds f16 values (runtime/f16.ts): rounded on the host, stored as f32.
    const f16 = plan.graph.nodes[id]!.elem === 'f16';
    values.set(`n${id}`, f16 ? f16Values(t.data) : t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));
  }
  return values;
}

/**
 * Run the kernels of a compiled plan (all but those `skip` names: their results are in
 * `values` already) on `values`, which gets the value of every buffer.
 */
function runPlan(
  c: Compiled, values: Map<string, Value>, skip: ReadonlySet<string> = new Set(), after?: (k: WebGLKernel, out: GpuTexture) => void,
): Map<string, Value> {
  const { plan } = c;
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
    after?.(k, out as GpuTexture);
  };

  const kernels = plan.kernels;
  for (let at = 0; at < kernels.length; ) {
    const first = kernels[at]!;
    const chunk = first.chunk;
    if (!chunk) {
      if (!skip.has(first.name)) run(first, []);
      at++;
      continue;
    }
    // A chunked attend: run its kernels once per group of heads (each call overwrites the
    // previous chunk's scratch textures) and assemble the last kernel's outputs (packed,
    // `heads` heads of rows each) on the host, as the flat values of `chunk.into`.
    // The group: the consecutive chunked kernels of the same attend node.
    let end = at;
    while (end < kernels.length && kernels[end]!.node === first.node && kernels[end]!.chunk !== null) end++;
    const group = kernels.slice(at, end);
    const last = group[group.length - 1]!;
    const layout = plan.layouts[bufferKey(last.result)]!;
    const rowsPerHead = layout.rows / chunk.heads;
    const host = new Float32Array(chunk.total * rowsPerHead * layout.values);
    // A top-k attention's lse: the third lane of each query's row statistics.
    const stats = chunk.lse === undefined ? undefined : group.find((k) => k.kind === 'rowstats');
    const statsLayout = stats && plan.layouts[bufferKey(stats.result)]!;
    const statsRows = statsLayout ? statsLayout.rows / chunk.heads : 0;
    const lse = stats ? new Float32Array(chunk.total * statsRows) : undefined;
    for (let n = 0; n < chunk.count; n++) {
      const bh0 = n * chunk.heads;
      for (const k of group) run(k, k.scalars.map(() => bh0));
      const raw = (values.get(bufferKey(last.result)) as GpuTexture).renderRawOutput();
      const heads = Math.min(chunk.heads, chunk.total - bh0);
      host.set(unpackRows(raw, layout, heads * rowsPerHead), bh0 * rowsPerHead * layout.values);
      if (stats && statsLayout && lse) {
        const rows = unpackRows((values.get(bufferKey(stats.result)) as GpuTexture).renderRawOutput(), statsLayout, heads * statsRows);
        for (let r = 0; r < heads * statsRows; r++) lse[bh0 * statsRows + r] = rows[4 * r + 2]!;
      }
    }
    values.set(`n${chunk.into}`, host);
    if (lse) values.set(`n${chunk.lse}`, lse);
    at = end;
  }
  return values;
}

/** An output tensor (default the first): its flat values, else its packed texture unpacked (Int32 for cluster ids). */
function readTensor(plan: WebGLPlan, values: Map<string, Value>, id = plan.graph.output): Tensor {
  const shape = plan.shapes[id]!;
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = values.get(`n${id}`);
  let data: Float32Array;
  if (flat) {
    data = flat instanceof Float32Array ? Float32Array.from(flat.subarray(0, n)) : flat.renderRawOutput().slice(0, n);
  } else {
    const packed = values.get(`p${id}`);
    if (!packed || packed instanceof Float32Array) throw new Error(`internal: the plan computes no value of its output %${id}`);
    data = unpackRows(packed.renderRawOutput(), plan.layouts[`p${id}`]!);
  }
  if (data.length !== n) throw new Error(`internal: read back ${data.length} elements, expected ${n}`);
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
  return (await executeWebGLOutputs(graph, inputs, dims, options))[0]!;
}

/** `executeWebGL` for every output of the program, in order (Graph.outputs). */
export async function executeWebGLOutputs(
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: WebGLOptions = {},
): Promise<Tensor[]> {
  validateRun(graph, inputs, dims);
  const c = compiled(graph, dims, options);
  // Strided views are gathered into C order on the host: WebGL uploads textures from it anyway.
  const flat = contiguousInputs(inputs);
  const passthrough = returnedInput(graph, flat);
  if (passthrough) return [passthrough];
  const values = runPlan(c, inputValues(c.plan, flat));
  return graph.outputs.map((o) => readTensor(c.plan, values, o.node));
}

/** A program bound to inputs on WebGL (`bindWebGL`). */
export interface BoundWebGLProgram {
  /** Run every kernel on the bound inputs and wait for the device (no timer queries here: null). */
  dispatch(): Promise<null>;
  /** Run, and read the output back. */
  read(): Promise<Tensor>;
  /** Run, and read every output back (Graph.outputs, in order). */
  readAll(): Promise<Tensor[]>;
  /**
   * Run once, waiting for the device after every kernel: each kernel's wall-clock ms (the
   * kernels of a chunked attend added up over its chunks), in run order.
   */
  profile(): Promise<{ kernel: string; ms: number }[]>;
  /** Drop the resident textures (a released program refuses to run). */
  release(): void;
}

/**
 * Bind `graph` to `inputs` on WebGL: the inputs the attention kernels read are packed into
 * textures once and kept (later runs skip those `pack` kernels); tensors read flat (lookups,
 * pool and clusters inputs) are still uploaded by every run. For timing kernels apart from
 * the uploads of their main operands, and for repeated runs on the same q, k, v.
 */
export async function bindWebGL(
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: WebGLOptions = {},
): Promise<BoundWebGLProgram> {
  validateRun(graph, inputs, dims);
  const c = compiled(graph, dims, options);
  const flat = contiguousInputs(inputs);
  const passthrough = returnedInput(graph, flat);
  const seed = inputValues(c.plan, flat);
  const packs = c.plan.kernels.filter((k) => k.kind === 'pack' && k.args[0]!.kind === 'node' && graph.inputs.includes(k.args[0]!.node));
  const resident = new Map<string, GpuTexture>();
  if (!passthrough) {
    const values = new Map(seed);
    runPlan({ ...c, plan: { ...c.plan, kernels: packs } }, values);
    // A handle of our own: when a run of the same cached plan re-renders a pack kernel's
    // output, gpu.js detaches that kernel from the texture held here.
    for (const k of packs) resident.set(bufferKey(k.result), (values.get(bufferKey(k.result)) as GpuTexture).clone());
  }
  const skip = new Set(packs.map((k) => k.name));
  let released = false;
  const runBound = (after?: (k: WebGLKernel, out: GpuTexture) => void): Map<string, Value> => {
    if (released) throw new WebGLError('this bound program was released; bind it again');
    return runPlan(c, new Map<string, Value>([...seed, ...resident]), skip, after);
  };
  return {
    async dispatch() {
      if (passthrough) return null;
      syncOutput(c.plan, runBound());
      return null;
    },
    async read() {
      if (released) throw new WebGLError('this bound program was released; bind it again');
      return passthrough ?? readTensor(c.plan, runBound());
    },
    async readAll() {
      if (released) throw new WebGLError('this bound program was released; bind it again');
      if (passthrough) return [passthrough];
      const values = runBound();
      return graph.outputs.map((o) => readTensor(c.plan, values, o.node));
    },
    async profile() {
      const times = new Map<string, number>();
      if (passthrough) return [];
      let t0 = performance.now();
      runBound((k, out) => {
        syncTexture(out);
        const t = performance.now();
        times.set(k.name, (times.get(k.name) ?? 0) + t - t0);
        t0 = t;
      });
      return [...times].map(([kernel, ms]) => ({ kernel, ms }));
    },
    release() {
      released = true;
      for (const t of resident.values()) t.delete();
      resident.clear();
    },
  };
}

/** Wait until the device has computed the output: read back one texel of it. */
function syncOutput(plan: WebGLPlan, values: Map<string, Value>): void {
  const id = plan.graph.output;
  const t = values.get(`n${id}`) ?? values.get(`p${id}`);
  if (t && !(t instanceof Float32Array)) syncTexture(t); // else read back already (chunks)
}

/** Wait until the device has written `t` (a 1-texel readback: WebGL has no fences here). */
function syncTexture(t: GpuTexture): void {
  const gl = t.context;
  gl.bindFramebuffer(gl.FRAMEBUFFER, t.framebuffer());
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.texture, 0);
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, new Float32Array(4));
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
  runPlan(c, inputValues(c.plan, zeros));
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
  cache.clear();
  destroyGPU();
}
