// Execute a program's kernels on a WebGPU device of attnc's own (getWebGPU).
//
// Binding a program (bindWebGPU) uploads the inputs and makes the buffers, uniforms and
// bind groups once; each run then dispatches every kernel in order in ONE command encoder
// (one compute pass per kernel), optionally copies the output into a mappable buffer,
// submits once and reads back once. executeWebGPU = bind, read, release. Sizing, pipelines,
// bind groups and the passes themselves are record.ts, shared with prepare().encode()
// (prepare.ts: the caller's device, buffers and encoder). Buffers are pooled and reused
// across runs. Validation is never skipped: shader compilation messages are checked for
// every new module, and error scopes surround pipeline creation, the uploads and every
// submit; a run with any error throws instead of returning data. Where the device has
// `timestamp-query`, a run's first and last passes write timestamps (a profiled run: both
// ends of every pass; timing.ts), and the wait for the device sleeps through most of the
// program's recent GPU time before polling (wait.ts).

import type { DeviceCaps } from '../../compiler/caps.js';
import type { Graph } from '../../compiler/ir.js';
import type { Binding, Kernel } from '../../compiler/kernel.js';
import { lowerToKernels } from '../../compiler/pipeline.js';
import { size, type Tensor } from '../tensor.js';
import { returnedInput } from '../shapes.js';
import { validateRun } from '../validate.js';
import { viewsOf } from '../views.js';
import { getWebGPU, type WebGPU } from './device.js';
import { BufferLimitError, ValidationError } from './errors.js';
import { BufferUsage, MapMode } from './flags.js';
import { pipelineId } from './pipelines.js';
import {
  compileKernels, kernelPasses, planKernels, recordKernels, roundUp, SIZE_ALIGN, sizeOf, type KernelPass,
} from './record.js';
import { f16Bits, f16Values, fromF16Bits } from '../f16.js';
import { PassTimer } from './timing.js';
import { remember, waitForDevice, type Waited } from './wait.js';

export { getWebGPU } from './device.js';
export * from './errors.js';

export interface ExecuteOptions {
  /** false: the materialised-scores kernels (the benchmark baseline). Default true. */
  fusion?: boolean;
  /**
   * false: masks that read tensors are not bounded through the tensors' values (no block
   * summaries: every tile such a mask touches is visited). Same results; default true.
   */
  tensorBounds?: boolean;
  /**
   * Schedule for these capabilities instead of the device's (tests: the workgroup path on
   * a device with subgroups). They must not promise more than the device grants.
   */
  caps?: DeviceCaps;
  /** f16 outputs read back as f16 come back as their bits (a Uint16Array), not decoded (RunOptions.f16Outputs). */
  f16Bits?: boolean;
  /** Force the subgroup path's rows per invocation (tests). */
  rowsPerThread?: number;
  /** Called with each kernel and its WGSL before the run (for dumps and tests). */
  onKernel?: (kernel: Kernel, wgsl: string) => void;
  /** Fold dispatches at this many workgroups per dimension (at most the device's limit; for tests). */
  maxWorkgroupsPerDimension?: number;
  /**
   * Called once after a successful run with its GPU time in ms: from the beginning of the
   * first compute pass to the end of the last (timestamp queries; no upload or readback).
   * Never called when the device lacks `timestamp-query` (see `WebGPU.timestamps`), when the
   * run dispatches nothing, or when the timestamps come back unordered.
   */
  timing?: (gpuMs: number) => void;
}

/**
 * Run `graph` (an optimised graph, CompileResult.graph) on the WebGPU device with the given
 * inputs (by input name) and bound dims; returns the program's output (f32 data, or i32
 * when the program returns cluster indices).
 */
export async function executeWebGPU(
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: ExecuteOptions = {},
): Promise<Tensor> {
  const bound = await bindWebGPU(graph, inputs, dims, options);
  try {
    return await bound.read();
  } finally {
    bound.release();
  }
}

/**
 * A program bound to its inputs on the device: the inputs are uploaded once, the
 * intermediate and output buffers, uniforms and bind groups made once, and every
 * `dispatch` or `read` runs all the kernels again on what is resident. For repeated calls
 * on the same inputs and for benchmarks that time the kernels, not the transfers.
 */
export interface BoundProgram {
  /**
   * Run every kernel and wait until the device has finished (no readback). Resolves to the
   * GPU time in ms (`ExecuteOptions.timing`'s measure) when the device grants
   * `timestamp-query`, else null.
   */
  dispatch(): Promise<number | null>;
  /**
   * Run every kernel once with a timestamp pair around each (no readback): each kernel's
   * GPU time in ms, in run order, or null when the device lacks `timestamp-query` (or the
   * timestamps came back unordered). For finding the kernel a program spends its time in.
   */
  profile(): Promise<KernelTime[] | null>;
  /** Run every kernel and read the output back (calls `ExecuteOptions.timing` when timed). */
  read(): Promise<Tensor>;
  /** Run every kernel and read every output back (Graph.outputs, in order; one submit). */
  readAll(): Promise<Tensor[]>;
  /** Give the buffers back to the device's pool; the program cannot run after this. */
  release(): void;
}

/** One kernel's GPU time in a profiled run (BoundProgram.profile). */
export interface KernelTime {
  kernel: string;
  ms: number;
}

/**
 * Lower `graph` for this device and these shapes (the pipeline's kernel passes), upload
 * `inputs` and prepare the kernels for repeated runs (see BoundProgram).
 */
export async function bindWebGPU(
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: ExecuteOptions = {},
): Promise<BoundProgram> {
  validateRun(graph, inputs, dims);
  // Inputs given as strided views are bound in place: their strides become uniforms.
  const { views, dims: viewDims } = viewsOf(inputs, graph.inputs.map((id) => graph.nodes[id]!.name!));
  const all = { ...dims, ...viewDims };
  return bindKernels(await kernelsFor(graph, all, { ...options, views }), graph, inputs, all, options);
}

/** The kernels of `graph` for the device (or `options.caps`) and these dims: the pipeline's kernel passes. */
export async function kernelsFor(
  graph: Graph, dims: Record<string, number>, options: ExecuteOptions & { views?: Record<string, 'vec4' | 'scalar'> } = {},
): Promise<Kernel[]> {
  return lowerToKernels(graph, {
    fusion: options.fusion ?? true, caps: options.caps ?? (await getWebGPU()).caps, dims, tensorBounds: options.tensorBounds ?? true,
    ...(options.rowsPerThread !== undefined ? { rowsPerThread: options.rowsPerThread } : {}),
    ...(options.views && Object.keys(options.views).length ? { views: options.views } : {}),
  });
}

/**
 * Bind kernels already lowered from `graph` (kernelsFor). For tests that alter a kernel
 * on its way to the device (a broken source, a missing feature); everyone else binds the graph.
 */
export async function bindKernels(
  plan: Kernel[],
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: ExecuteOptions = {},
): Promise<BoundProgram> {
  validateRun(graph, inputs, dims);
  const gpu = await getWebGPU();
  const inputNodes = new Map(graph.inputs.map((id) => [id, inputs[graph.nodes[id]!.name!]!] as const));
  if (returnedInput(graph, inputs)) {
    // The program returns one of its inputs: nothing runs on the device.
    return {
      dispatch: async () => null,
      profile: async () => null,
      read: async () => returnedInput(graph, inputs)!,
      readAll: async () => [returnedInput(graph, inputs)!],
      release: () => undefined,
    };
  }
  const outShapes = graph.outputs.map((o) => graph.nodes[o.node]!.shape.map((e) => sizeOf(e, dims, `the output ${o.name} of \`${graph.name}\``)));
  const run = new Run(gpu, graph, plan, inputNodes, dims, options, outShapes);
  try {
    await run.prepare();
  } catch (e) {
    run.release();
    throw e;
  }
  return run;
}

// ---- buffers pooled per device (bind()'s own buffers; prepare() uses the caller's) ----

interface Pool {
  free: Map<number, GPUBuffer[]>;
  bytes: number;
}

const pools = new WeakMap<GPUDevice, Pool>();
const MAX_POOLED_BYTES = 512 * 1024 * 1024;

function poolOf(device: GPUDevice): Pool {
  let p = pools.get(device);
  if (!p) pools.set(device, (p = { free: new Map(), bytes: 0 }));
  return p;
}

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;

/**
 * The input as the device stores it: the caller's own array when it already has that type
 * and an ordinary ArrayBuffer (no copy), else a converted copy (Dawn rejects, and can crash
 * on, views of a SharedArrayBuffer).
 */
function deviceView<T extends Float32Array | Int32Array>(
  data: Tensor['data'],
  type: { new (src: ArrayLike<number>): T },
): T {
  // SharedArrayBuffer is undefined in pages that are not cross-origin isolated.
  const shared = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
  if (data instanceof type && !shared) return data as T;
  return new type(data);
}

class Run implements BoundProgram {
  private readonly device: GPUDevice;
  private readonly pool: Pool;
  private readonly held: GPUBuffer[] = [];
  private readonly nodeBuffers = new Map<number, { buffer: GPUBuffer; bytes: number }>();
  /** Graph tensors stored as f16 on the device (DeviceCaps.shaderF16). */
  private readonly halves = new Set<number>();
  private readonly scratch = new Map<string, { buffer: GPUBuffer; bytes: number }>();
  private passes: KernelPass[] = [];
  private released = false;
  /** What this run's wait remembers durations by: its pipelines, grids and dims (wait.ts). */
  private key = '';

  constructor(
    private readonly gpu: WebGPU,
    private readonly graph: Graph,
    private readonly kernels: Kernel[],
    private readonly inputNodes: Map<number, Tensor>,
    private readonly dims: Record<string, number>,
    private readonly options: ExecuteOptions,
    /** The shape of each output (Graph.outputs), under the bound dims. */
    private readonly outShapes: number[][],
  ) {
    this.device = gpu.device;
    this.pool = poolOf(gpu.device);
  }

  /**
   * Sizes and limits, pipelines, uploads, uniforms and bind groups. Everything that can
   * fail on the host is checked before anything is allocated or an error scope pushed.
   */
  async prepare(): Promise<void> {
    const { device } = this;
    const limit = this.gpu.caps.maxStorageBufferBindingSize;
    const plans = planKernels(this.kernels, this.dims, {
      maxStorageBufferBindingSize: limit,
      maxWorkgroupsPerDimension: Math.min(this.gpu.caps.maxWorkgroupsPerDimension, this.options.maxWorkgroupsPerDimension ?? Infinity),
    });
    const pipelines = await compileKernels(device, plans, this.options.onKernel);
    // Tensors stored as f16 (DeviceCaps.shaderF16): inputs uploaded as f16 bits, outputs read back so.
    const halves = this.halves;
    for (const b of this.kernels.flatMap((k) => k.bindings)) if (b.elem === 'f16' && b.buffer.kind === 'node') halves.add(b.buffer.node);
    const uploads = [...this.inputNodes].map(([id, t]) => {
      const n = this.graph.nodes[id]!;
      // An f16 input holds f16 values (runtime/f16.ts): rounded on the host, stored as f16
      // where the kernels read it so, else as f32.
      const data = n.elem === 'i32' ? deviceView(t.data, Int32Array)
        : n.elem !== 'f16' ? deviceView(t.data, Float32Array)
        : halves.has(id) ? f16Bits(t.data) : f16Values(t.data);
      if (data.byteLength > limit) throw new BufferLimitError(`input ${n.name}`, data.byteLength, limit);
      return { id, data, from: n.elem === 'f16' ? data : t.data };
    });

    await this.scoped('uploading the inputs of', () => {
      // Inputs that are views of one array (q, k, v of a packed projection) share one buffer.
      const shared = new Map<ArrayLike<number>, { buffer: GPUBuffer; bytes: number }>();
      for (const { id, data, from } of uploads) {
        let e = shared.get(from);
        if (!e) {
          e = { buffer: this.acquire(data.byteLength), bytes: data.byteLength };
          // A plain ArrayBuffer-backed view (Dawn rejects SharedArrayBuffer).
          if (data.byteLength) device.queue.writeBuffer(e.buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
          shared.set(from, e);
        }
        this.nodeBuffers.set(id, e);
      }
      this.passes = kernelPasses(device, plans, pipelines, (b, bytes) => this.bufferOf(b, bytes), (p) => {
        const ubuf = this.acquire(p.uniforms.byteLength, true);
        device.queue.writeBuffer(ubuf, 0, p.uniforms.buffer as ArrayBuffer, 0, p.uniforms.byteLength);
        return ubuf;
      });
      for (const o of this.graph.outputs) {
        if (!this.nodeBuffers.has(o.node)) throw new Error(`internal: no kernel writes the output ${o.name} (%${o.node})`);
      }
      this.key = `${this.passes.map((p) => `${pipelineId(p.pipeline)}@${p.grid.join('x')}`).join(',')} ${JSON.stringify(this.dims)}`;
    });
  }

  async dispatch(): Promise<number | null> {
    const { timing } = await this.submit([], this.gpu.timestamps ? 'run' : 'none');
    return timing?.ms ?? null;
  }

  async profile(): Promise<KernelTime[] | null> {
    if (!this.gpu.timestamps) return null;
    const { timing } = await this.submit([], 'passes');
    return timing ? timing.passes.map((ms, i) => ({ kernel: this.passes[i]!.kernel.name, ms })) : null;
  }

  async read(): Promise<Tensor> {
    return (await this.readOutputs(1))[0]!;
  }

  async readAll(): Promise<Tensor[]> {
    return this.readOutputs(this.graph.outputs.length);
  }

  /** Run, and read back the first `count` outputs (Graph.outputs) in one submit. */
  private async readOutputs(count: number): Promise<Tensor[]> {
    const outs = this.graph.outputs.slice(0, count);
    const { timing, data } = await this.submit(outs.map((o) => o.node), this.gpu.timestamps ? 'run' : 'none');
    if (timing) this.options.timing?.(timing.ms);
    return outs.map((o, k) => {
      const bytes = data![k]!;
      const elem = this.graph.nodes[o.node]!.elem;
      const shape = this.outShapes[k]!;
      // An f16 output stored as f16 (half the bytes read back) comes back as its f32 values.
      if (elem === 'f16' && this.halves.has(o.node)) {
        const bits = new Uint16Array(bytes, 0, size(shape));
        return { data: this.options.f16Bits ? bits : fromF16Bits(bits), shape };
      }
      return { data: elem === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes), shape };
    });
  }

  release(): void {
    this.released = true;
    this.passes = [];
    this.releaseAll();
  }

  /**
   * One submit: every kernel in order in one command encoder (one compute pass each), the
   * buffers of the nodes `reads` (outputs) copied one after another into a mappable buffer,
   * the timestamps resolved behind them when timed (the run's two ends, or both ends of
   * every pass); waits for the device, and returns each read node's bytes and the GPU times.
   */
  private async submit(reads: number[], timed: 'none' | 'run' | 'passes'): Promise<{ data?: ArrayBuffer[]; timing: ReturnType<PassTimer['read']> }> {
    if (this.released) throw new Error('this bound program was released');
    const { device } = this;
    const timer = timed !== 'none' && this.passes.length ? new PassTimer(device, this.passes.length, timed === 'passes') : null;
    // Each read at an 8-byte aligned offset, 4 bytes at least (copies are whole words).
    let readBytes = 0;
    const copies = reads.map((node) => {
      const src = this.nodeBuffers.get(node)!;
      const at = roundUp(readBytes, 8);
      const bytes = Math.max(roundUp(src.bytes, 4), 4);
      readBytes = at + bytes;
      return { src, at, bytes };
    });
    // The timestamps (if timed) ride behind the outputs in the same readback buffer.
    const tsOffset = roundUp(readBytes, 8);
    const size = timer ? tsOffset + timer.bytes : readBytes;
    let staging: GPUBuffer | null = null;
    let submitted = 0;
    let waited: Waited | null = null;
    await this.scoped('running', () => {
      const enc = device.createCommandEncoder({ label: `attnc ${this.graph.name}` });
      recordKernels(enc, this.passes, timer ? (idx) => timer.writes(idx) : undefined);
      if (size) staging = device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      for (const c of copies) enc.copyBufferToBuffer(c.src.buffer, 0, staging!, c.at, c.bytes);
      if (timer) timer.resolve(enc, staging!, tsOffset);
      device.queue.submit([enc.finish()]);
      submitted = performance.now();
    }, async () => {
      const key = `${this.key}|${reads.length ? 'read' : 'dispatch'}|${timed}`;
      waited = await waitForDevice(key, submitted, () => (staging ? (staging as GPUBuffer).mapAsync(MapMode.READ) : device.queue.onSubmittedWorkDone()));
    });
    if (!staging) {
      remember(waited!, null);
      return { timing: null };
    }
    const buf = staging as GPUBuffer;
    try {
      const data = copies.length ? copies.map((c) => buf.getMappedRange(c.at, c.bytes).slice(0, c.src.bytes)) : undefined;
      const timing = timer ? timer.read(buf.getMappedRange(tsOffset, timer.bytes).slice(0)) : null;
      buf.unmap();
      remember(waited!, timing?.ms ?? null);
      return { data, timing };
    } finally {
      buf.destroy();
    }
  }

  /**
   * `encode` inside validation and out-of-memory error scopes, then `wait` (for the device);
   * throws if either scope caught an error, naming `what` this program was doing.
   */
  private async scoped(what: string, encode: () => void, wait: () => Promise<void> = async () => undefined): Promise<void> {
    const { device } = this;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    try {
      encode();
    } catch (e) {
      for (let i = 0; i < 2; i++) void device.popErrorScope().catch(() => undefined);
      throw e;
    }
    const validation = device.popErrorScope();
    const oom = device.popErrorScope();
    try {
      await wait();
    } finally {
      const [verr, merr] = await Promise.all([validation, oom]);
      if (verr) throw new ValidationError(`${what} \`${this.graph.name}\``, verr.message);
      if (merr) throw new ValidationError(`allocating buffers for \`${this.graph.name}\` (out of memory)`, merr.message);
    }
  }

  /** The buffer of a binding (made on first use: inputs were uploaded, the rest are pooled), bound whole. */
  private bufferOf(b: Binding, bytes: number): { buffer: GPUBuffer; size: number } {
    const map = b.buffer.kind === 'node' ? this.nodeBuffers : this.scratch;
    const key = b.buffer.kind === 'node' ? b.buffer.node : b.buffer.id;
    let e = (map as Map<number | string, { buffer: GPUBuffer; bytes: number }>).get(key);
    if (!e) {
      if (b.buffer.kind === 'node' && this.graph.nodes[b.buffer.node]?.op === 'input') {
        throw new Error(`internal: input %${b.buffer.node} was not uploaded`);
      }
      e = { buffer: this.acquire(bytes), bytes };
      (map as Map<number | string, { buffer: GPUBuffer; bytes: number }>).set(key, e);
    }
    return { buffer: e.buffer, size: Math.max(roundUp(e.bytes, SIZE_ALIGN), SIZE_ALIGN) };
  }

  /** A pooled buffer of at least `bytes` (uniform or storage). */
  private acquire(bytes: number, uniform = false): GPUBuffer {
    const sz = Math.max(roundUp(bytes, SIZE_ALIGN), SIZE_ALIGN);
    const key = uniform ? -sz : sz;
    const free = this.pool.free.get(key);
    let buf = free?.pop();
    if (buf) this.pool.bytes -= sz;
    else {
      buf = this.device.createBuffer({ size: sz, usage: uniform ? BufferUsage.UNIFORM | BufferUsage.COPY_DST : STORAGE_USAGE });
    }
    this.held.push(buf);
    return buf;
  }

  private releaseAll(): void {
    for (const buf of this.held) {
      const sz = buf.size;
      const key = buf.usage & BufferUsage.UNIFORM ? -sz : sz;
      if (this.pool.bytes + sz > MAX_POOLED_BYTES) {
        buf.destroy();
        continue;
      }
      let list = this.pool.free.get(key);
      if (!list) this.pool.free.set(key, (list = []));
      list.push(buf);
      this.pool.bytes += sz;
    }
    this.held.length = 0;
  }
}
