// run(): execute a compiled program on a backend. `auto` picks the best backend that
// answers — WebGPU when an adapter is found, else WebGL when a context can be created,
// else the reference executor — and says which, and why, in the result.

import type { CompileResult } from '../compiler/compile.js';
import type { Graph } from '../compiler/ir.js';
import type { BoundProgram } from './webgpu/execute.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import { checkSizes, WEBGL_LIMITS, type InputLimits } from './limits.js';
import { runReference } from './reference/index.js';
import { bindDims, shapeOf } from './shapes.js';
import { toF16Bits } from './f16.js';
import { checkF16Bits, checkInputNames, validateRun } from './validate.js';
import { toFloat32, type Tensor } from './tensor.js';

export type Backend = 'reference' | 'webgpu' | 'webgl';
export type BackendChoice = Backend | 'auto';
export const BACKENDS: readonly BackendChoice[] = ['auto', 'reference', 'webgpu', 'webgl'];

export interface RunOptions {
  backend?: BackendChoice;
  /** WebGPU only: false runs the materialised-scores kernels (the benchmark baseline). */
  fusion?: boolean;
  /**
   * WebGPU only: false: masks that read tensors are not bounded through the tensors' values (no block
   * summaries: every tile such a mask touches is visited). Same results; default true.
   */
  tensorBounds?: boolean;
  /**
   * How `f16(…)` outputs come back: `'values'` (default), a Float32Array of their values;
   * `'bits'`, a Uint16Array of their f16 bit patterns — on WebGPU with `shader-f16` the
   * bytes read back, nothing decoded (the other backends encode their values, exactly).
   */
  f16Outputs?: 'values' | 'bits';
}

export interface RunResult {
  /**
   * Float32 output (the reference executor's float64 result rounded once at the end);
   * Int32 when the program returns cluster ids.
   */
  output: Tensor;
  /**
   * Every returned tensor by name (`return a, lse: lse(a)`; a single output is `out`
   * unless named), `output` among them.
   */
  outputs: Record<string, Tensor>;
  backend: Backend;
  /** Why `auto` did not pick a faster backend, when it did not. */
  note?: string;
  /** Runtime dims bound from the inputs. */
  dims: Record<string, number>;
}

/** A bad option of `run()` (an unknown backend): thrown before anything runs. */
export class RunOptionError extends Error {
  override name = 'RunOptionError';
  constructor(readonly option: string, readonly value: unknown, expected: string) {
    super(`${option}: ${JSON.stringify(value) ?? String(value)} is not valid; expected ${expected}`);
  }
}

/** `options.backend`, checked: a typo must not silently run another backend. */
export function backendChoice(options: RunOptions): BackendChoice {
  const choice = options.backend ?? 'auto';
  if (!BACKENDS.includes(choice)) throw new RunOptionError('backend', choice, BACKENDS.join(', '));
  return choice;
}

/**
 * The backend `choice` runs on — for `auto` the first that answers: WebGPU when an adapter
 * is found, else WebGL when a context can be created, else the reference — with why `auto`
 * passed the others over, and the input limits of that backend (runtime/limits.ts). An
 * explicit `webgpu` without an adapter throws the adapter's error.
 */
export async function chooseBackend(choice: BackendChoice): Promise<{ backend: Backend; notes: string[]; limits: InputLimits }> {
  const notes: string[] = [];
  if (choice === 'webgpu' || choice === 'auto') {
    const { getWebGPU } = await import('./webgpu/execute.js');
    const gpu = await getWebGPU().catch((e: unknown) => e as Error);
    if (!(gpu instanceof Error)) return { backend: 'webgpu', notes, limits: { maxBindingBytes: gpu.caps.maxStorageBufferBindingSize } };
    if (choice === 'webgpu') throw gpu;
    notes.push(firstSentence(gpu.message));
  }
  if (choice === 'webgl' || choice === 'auto') {
    const webgl = await import('./webgl/index.js');
    if (choice === 'webgl' || webgl.webglAvailable()) return { backend: 'webgl', notes, limits: WEBGL_LIMITS };
    notes.push('no WebGL context (in Node, run under xvfb-run)');
  }
  return { backend: 'reference', notes, limits: {} };
}

export async function run(
  program: CompileResult,
  inputs: Record<string, Tensor>,
  options: RunOptions = {},
): Promise<RunResult> {
  const choice = backendChoice(options);
  if (!program.ok || !program.graph) throw new AttncError(program.diagnostics);
  const graph = program.graph;
  // Float inputs are f32 on every backend (the reference computes in float64 *from* f32
  // inputs, spec §6): f64 or int data is rounded to the nearest f32 first, so every
  // backend sees the same values; beyond the f32 range that is ±inf, as numpy's
  // astype(float32).
  checkInputNames(graph, inputs);
  checkF16Bits(graph, inputs);
  inputs = asF32Inputs(graph, inputs);
  // Shape errors are reported before any kernel runs, the same on every backend.
  const dims = bindDims(graph, inputs);
  checkSizes(graph, dims);
  // ... and the runtime sizes every kernel relies on (pool tokens, GQA heads, NATTEN's
  // kernel · dilation ≤ L), with the reference executor's codes.
  if (choice !== 'reference') validateRun(graph, inputs, dims);
  checkHeadDims(graph, dims);
  const { backend, notes } = await chooseBackend(choice);
  const note = notes.join('; ') || undefined;
  // An output with no elements (a zero batch, heads, length or value head dim) is the
  // same empty tensor everywhere: no kernel runs.
  const result = (computed: Tensor[], ran: Backend, why = note): RunResult => {
    const tensors = options.f16Outputs === 'bits' ? f16OutputBits(graph, computed) : computed;
    return {
      output: tensors[0]!, outputs: Object.fromEntries(graph.outputs.map((o, k) => [o.name, tensors[k]!])), backend: ran, dims,
      ...(why === undefined ? {} : { note: why }),
    };
  };
  const empty = emptyOutputs(graph, dims);
  if (empty) {
    // (The reference would have found the runtime size errors itself.)
    if (choice === 'reference') validateRun(graph, inputs, dims);
    return result(empty, backend);
  }

  if (backend === 'webgpu') {
    const bound = await bindOnWebGPU(graph, inputs, dims, { ...options, f16Bits: options.f16Outputs === 'bits' });
    const widened = hasF16Tensors(graph) && !(await (await import('./webgpu/execute.js')).getWebGPU()).caps.shaderF16;
    try {
      return result(await bound.readAll(), 'webgpu', widened ? F16_WIDENED('the device does not grant `shader-f16`') : undefined);
    } finally {
      bound.release();
    }
  }
  if (backend === 'webgl') {
    const webgl = await import('./webgl/index.js');
    const widened = hasF16Tensors(graph) ? F16_WIDENED('WebGL has no f16 textures here') : undefined;
    return result(await webgl.executeWebGLOutputs(graph, inputs, dims), 'webgl', [note, widened].filter(Boolean).join('; ') || undefined);
  }
  const ref = runReference(graph, inputs);
  return result(ref.outputs.map((t: Tensor) => (t.data instanceof Int32Array ? t : toFloat32(t))), 'reference');
}

/** Float inputs with other than Float32Array data, rounded to f32 (see `run`); others as given. */
function asF32Inputs(graph: Graph, inputs: Record<string, Tensor>): Record<string, Tensor> {
  const out = { ...inputs };
  for (const id of graph.inputs) {
    const node = graph.nodes[id]!;
    const t = inputs[node.name ?? `%${id}`];
    // (f16 bits, a Uint16Array for an f16 input, stay bits: runtime/f16.ts.)
    if (t && node.elem !== 'i32' && !(t.data instanceof Float32Array) && !(t.data instanceof Uint16Array) && ArrayBuffer.isView(t.data)) {
      out[node.name ?? `%${id}`] = { ...t, data: Float32Array.from(t.data) };
    }
  }
  return out;
}

/** `f16Outputs: 'bits'`: every f16 output as f16 bits (those already read back as bits stay as they are). */
function f16OutputBits(graph: Graph, tensors: Tensor[]): Tensor[] {
  return tensors.map((t, k) => graph.nodes[graph.outputs[k]!.node]!.elem === 'f16' && !(t.data instanceof Uint16Array)
    ? { shape: t.shape, data: toF16Bits(t.data).subarray(0, t.data.length) } : t);
}

/** f16 inputs or `f16(…)` results among the tensors the program computes with. */
const hasF16Tensors = (graph: Graph): boolean => graph.nodes.some((n) => n.elem === 'f16');

/** The note of a run whose f16 tensors are stored as f32 on the device (values rounded to f16 all the same). */
const F16_WIDENED = (why: string) => `f16 tensors stored widened to f32 (${why}); their values are rounded to f16 as everywhere`;

/** The outputs as every backend returns them when none has elements; else null. */
function emptyOutputs(graph: Graph, dims: Record<string, number>): Tensor[] | null {
  const shapes = graph.outputs.map((o) => shapeOf(graph.nodes[o.node]!, dims));
  if (!shapes.every((s) => s.some((d) => d === 0))) return null;
  return graph.outputs.map((o, k) => ({ data: graph.nodes[o.node]!.elem === 'i32' ? new Int32Array(0) : new Float32Array(0), shape: shapes[k]! }));
}

/**
 * A head dim of 0 for q and k (empty dot products: every score is `score(s = 0)`) where
 * the attention has output: the kernels are specialised on head dims and have no form
 * for 0, so it is refused on every backend, alike (AT709).
 */
function checkHeadDims(graph: Graph, dims: Record<string, number>): void {
  for (const node of graph.nodes) {
    if (node.op !== 'attend') continue;
    const D = shapeOf(graph.nodes[node.q]!, dims)[3];
    if (D === 0 && shapeOf(node, dims).every((d) => d > 0)) {
      throw new AttncError([diag('AT709', [node.kept ? 'topk' : 'attend', 'the head dim of q and k is 0: the scores would be empty dot products'], node.span)]);
    }
  }
}

/**
 * Upload `inputs` once and keep them on the device, so the program's kernels can run again
 * and again on them — `dispatch()` runs and waits (resolving to the GPU time in ms where
 * the device grants `timestamp-query`, else null), `profile()` times each kernel, `read()`
 * runs and reads the output back, `release()` gives the buffers back (BoundProgram). For
 * repeated calls and for timing kernels without the host↔device transfers. On WebGPU
 * (default) every input stays resident; on WebGL (`backend: 'webgl'`) the inputs the
 * attention kernels read are packed once and stay resident (tensors read flat — lookups,
 * pool and clusters inputs — are uploaded by each run), and times are wall-clock. Throws
 * the same errors as `run`.
 */
export async function bind(
  program: CompileResult,
  inputs: Record<string, Tensor>,
  options: Pick<RunOptions, 'fusion' | 'tensorBounds'> & { backend?: 'webgpu' | 'webgl' } = {},
): Promise<BoundProgram & { dims: Record<string, number> }> {
  if (!program.ok || !program.graph) throw new AttncError(program.diagnostics);
  const backend = options.backend ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'webgl') {
    throw new RunOptionError('backend', backend, 'webgpu or webgl (bind() keeps inputs on a device)');
  }
  const graph = program.graph;
  const dims = bindDims(graph, inputs);
  validateRun(graph, inputs, dims);
  if (backend === 'webgl') {
    const { bindWebGL } = await import('./webgl/index.js');
    return Object.assign(await bindWebGL(graph, inputs, dims), { dims });
  }
  return Object.assign(await bindOnWebGPU(graph, inputs, dims, options), { dims });
}

async function bindOnWebGPU(
  graph: Graph, inputs: Record<string, Tensor>, dims: Record<string, number>,
  options: Pick<RunOptions, 'fusion' | 'tensorBounds'> & { f16Bits?: boolean },
): Promise<BoundProgram> {
  const { bindWebGPU } = await import('./webgpu/execute.js');
  return bindWebGPU(graph, inputs, dims, { fusion: options.fusion ?? true, tensorBounds: options.tensorBounds ?? true, f16Bits: !!options.f16Bits });
}

/** The first sentence of an error message: the reason, without the how-to-fix. */
function firstSentence(s: string): string {
  return s.split(/(?<=\.)\s|\n/)[0]!.replace(/\.$/, '');
}
