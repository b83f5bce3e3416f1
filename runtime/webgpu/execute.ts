// Execute a program's kernels on a WebGPU device.
//
// Binding a program (bindWebGPU) uploads the inputs and makes the buffers, uniforms and
// bind groups once; each run then dispatches every kernel in order in ONE command encoder
// (one compute pass per kernel), optionally copies the output into a mappable buffer,
// submits once and reads back once. executeWebGPU = bind, read, release. Uniform blocks
// carry the runtime dims; workgroup counts come from the kernel IR's expressions and are
// folded into x·y when they exceed maxComputeWorkgroupsPerDimension. Pipelines are cached
// by WGSL source text (which includes the specialisation), buffers are pooled and reused
// across runs. Validation is never skipped: shader compilation messages are checked for
// every new module, and error scopes surround pipeline creation, the uploads and every
// submit; a run with any error throws instead of returning data. Where the device has
// `timestamp-query`, a run's first and last passes write timestamps (a profiled run: both
// ends of every pass; timing.ts), and the wait for the device sleeps through most of the
// program's recent GPU time before polling (wait.ts).

import type { DeviceCaps } from '../../compiler/caps.js';
import type { Graph } from '../../compiler/ir.js';
import {
  evalSize, SizeError, type Binding, type Kernel,
} from '../../compiler/kernel.js';
import { lowerToKernels } from '../../compiler/pipeline.js';
import { renderWgsl } from '../../targets/wgsl/index.js';
import type { Tensor } from '../tensor.js';
import { returnedInput } from '../shapes.js';
import { validateRun } from '../validate.js';
import { getWebGPU, type WebGPU } from './device.js';
import { BufferLimitError, InputError, ValidationError, WgslCompileError } from './errors.js';
import { PassTimer } from './timing.js';
import { remember, waitForDevice, type Waited } from './wait.js';

export { getWebGPU } from './device.js';
export * from './errors.js';

export interface ExecuteOptions {
  /** false: the materialised-scores kernels (the benchmark baseline). Default true. */
  fusion?: boolean;
  /**
   * Schedule for these capabilities instead of the device's (tests: the workgroup path on
   * a device with subgroups). They must not promise more than the device grants.
   */
  caps?: DeviceCaps;
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

const SIZE_ALIGN = 16;
const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

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
  const gpu = await getWebGPU();
  return bindKernels(await kernelsFor(graph, dims, options), graph, inputs, dims, options);
}

/** The kernels of `graph` for the device (or `options.caps`) and these dims: the pipeline's kernel passes. */
export async function kernelsFor(graph: Graph, dims: Record<string, number>, options: ExecuteOptions = {}): Promise<Kernel[]> {
  return lowerToKernels(graph, {
    fusion: options.fusion ?? true, caps: options.caps ?? (await getWebGPU()).caps, dims,
    ...(options.rowsPerThread !== undefined ? { rowsPerThread: options.rowsPerThread } : {}),
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
      release: () => undefined,
    };
  }
  const outShape = graph.nodes[graph.output]!.shape.map((e) => size(e, dims, `the output of \`${graph.name}\``));
  const run = new Run(gpu, graph, plan, inputNodes, dims, options, outShape);
  try {
    await run.prepare();
  } catch (e) {
    run.release();
    throw e;
  }
  return run;
}

function size(e: Parameters<typeof evalSize>[0], dims: Record<string, number>, what: string): number {
  try {
    return evalSize(e, dims);
  } catch (err) {
    if (err instanceof SizeError) throw new InputError(`cannot size ${what}: ${err.message}`);
    throw err;
  }
}

// ---- per-device state: pipelines and pooled buffers ----

interface DeviceState {
  pipelines: Map<string, Promise<GPUComputePipeline>>;
  layouts: Map<string, GPUBindGroupLayout>;
  pool: Map<number, GPUBuffer[]>;
  pooledBytes: number;
}

const states = new WeakMap<GPUDevice, DeviceState>();
const MAX_POOLED_BYTES = 512 * 1024 * 1024;

function stateOf(device: GPUDevice): DeviceState {
  let s = states.get(device);
  if (!s) {
    s = { pipelines: new Map(), layouts: new Map(), pool: new Map(), pooledBytes: 0 };
    states.set(device, s);
  }
  return s;
}

const STORAGE_USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

function layoutFor(device: GPUDevice, st: DeviceState, k: Kernel): GPUBindGroupLayout {
  const key = k.bindings.map((b) => b.access).join(',');
  let l = st.layouts.get(key);
  if (!l) {
    l = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        ...k.bindings.map((b, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: (b.access === 'read' ? 'read-only-storage' : 'storage') as GPUBufferBindingType },
        })),
      ],
    });
    st.layouts.set(key, l);
  }
  return l;
}

async function compilePipeline(device: GPUDevice, layout: GPUBindGroupLayout, k: Kernel, code: string): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label: k.name });
  const moduleError = device.popErrorScope();
  const info = await module.getCompilationInfo();
  const lines = code.split('\n');
  const bad = info.messages.filter((m) => m.type === 'error' || m.type === 'warning');
  const merr = await moduleError;
  if (bad.length) {
    throw new WgslCompileError(k.name, bad.map((m) => ({
      type: m.type, line: m.lineNum, column: m.linePos, message: m.message, source: lines[m.lineNum - 1] ?? '',
    })));
  }
  if (merr) throw new ValidationError(`creating the shader module of kernel ${k.name}`, merr.message);
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({
    label: k.name,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: k.name },
  });
  const err = await device.popErrorScope();
  if (err) throw new ValidationError(`creating the pipeline of kernel ${k.name}`, err.message);
  return pipeline;
}

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

const pipelineIds = new WeakMap<GPUComputePipeline, number>();
let pipelineCount = 0;
/** A number per pipeline (pipelines are cached by WGSL text: one per distinct kernel). */
function pipelineId(p: GPUComputePipeline): number {
  let id = pipelineIds.get(p);
  if (id === undefined) pipelineIds.set(p, (id = ++pipelineCount));
  return id;
}

/** Per-kernel state made once per binding: what `dispatch` encodes. */
interface Prepared {
  kernel: Kernel;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** Workgroups per dimension (folded into x·y past the device's limit). */
  grid: [number, number];
}

class Run implements BoundProgram {
  private readonly device: GPUDevice;
  private readonly st: DeviceState;
  private readonly held: GPUBuffer[] = [];
  private readonly nodeBuffers = new Map<number, { buffer: GPUBuffer; bytes: number }>();
  private readonly scratch = new Map<string, { buffer: GPUBuffer; bytes: number }>();
  private passes: Prepared[] = [];
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
    private readonly outShape: number[],
  ) {
    this.device = gpu.device;
    this.st = stateOf(gpu.device);
  }

  /**
   * Sizes and limits, pipelines, uploads, uniforms and bind groups. Everything that can
   * fail on the host is checked before anything is allocated or an error scope pushed.
   */
  async prepare(): Promise<void> {
    const { device } = this;
    const limit = this.gpu.caps.maxStorageBufferBindingSize;
    const planned = this.kernels.map((k) => {
      const bindings = k.bindings.map((b) => {
        const bytes = this.bytesOf(b);
        if (bytes > limit) throw new BufferLimitError(b.label, bytes, limit, k.name);
        return bytes;
      });
      const workgroups = size(k.workgroups, this.dims, `the dispatch of ${k.name}`);
      return { k, bindings, workgroups, wgsl: renderWgsl(k) };
    });
    const pipelines = await Promise.all(planned.map((p) => {
      this.options.onKernel?.(p.k, p.wgsl);
      return this.pipeline(p.k, p.wgsl);
    }));
    const uploads = [...this.inputNodes].map(([id, t]) => {
      const n = this.graph.nodes[id]!;
      const data = n.elem === 'i32' ? deviceView(t.data, Int32Array) : deviceView(t.data, Float32Array);
      if (data.byteLength > limit) throw new BufferLimitError(`input ${n.name}`, data.byteLength, limit);
      return { id, data };
    });
    const uniforms = planned.map(({ k }) => {
      const uni = new Int32Array(Math.max(4, roundUp(k.uniforms.length, 4)));
      k.uniforms.forEach((d, i) => {
        const v = this.dims[d];
        if (v === undefined) throw new InputError(`kernel ${k.name} needs dim ${d}, which no input binds`);
        uni[i] = v;
      });
      return uni;
    });
    const grids = planned.map((p) => this.fold(p.workgroups, p.k.name));

    await this.scoped('uploading the inputs of', () => {
      for (const { id, data } of uploads) {
        const buf = this.acquire(data.byteLength);
        // A plain ArrayBuffer-backed view (Dawn rejects SharedArrayBuffer).
        if (data.byteLength) device.queue.writeBuffer(buf, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
        this.nodeBuffers.set(id, { buffer: buf, bytes: data.byteLength });
      }
      planned.forEach((p, idx) => {
        const { k } = p;
        const buffers = k.bindings.map((b, i) => this.bufferOf(b, p.bindings[i]!));
        if (p.workgroups <= 0) return; // nothing to compute (an empty axis)
        const uni = uniforms[idx]!;
        const ubuf = this.acquire(uni.byteLength, true);
        device.queue.writeBuffer(ubuf, 0, uni.buffer as ArrayBuffer, 0, uni.byteLength);
        const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: ubuf, size: uni.byteLength } }];
        buffers.forEach(({ buffer, bytes }, i) => {
          entries.push({ binding: i + 1, resource: { buffer, offset: 0, size: Math.max(roundUp(bytes, SIZE_ALIGN), SIZE_ALIGN) } });
        });
        const bindGroup = device.createBindGroup({ label: k.name, layout: layoutFor(device, this.st, k), entries });
        this.passes.push({ kernel: k, pipeline: pipelines[idx]!, bindGroup, grid: grids[idx]! });
      });
      if (!this.nodeBuffers.has(this.graph.output)) throw new Error(`internal: no kernel writes the output %${this.graph.output}`);
      this.key = `${this.passes.map((p) => `${pipelineId(p.pipeline)}@${p.grid.join('x')}`).join(',')} ${JSON.stringify(this.dims)}`;
    });
  }

  async dispatch(): Promise<number | null> {
    const { timing } = await this.submit(false, this.gpu.timestamps ? 'run' : 'none');
    return timing?.ms ?? null;
  }

  async profile(): Promise<KernelTime[] | null> {
    if (!this.gpu.timestamps) return null;
    const { timing } = await this.submit(false, 'passes');
    return timing ? timing.passes.map((ms, i) => ({ kernel: this.passes[i]!.kernel.name, ms })) : null;
  }

  async read(): Promise<Tensor> {
    const { timing, data } = await this.submit(true, this.gpu.timestamps ? 'run' : 'none');
    if (timing) this.options.timing?.(timing.ms);
    const outNode = this.graph.nodes[this.graph.output]!;
    return { data: outNode.elem === 'i32' ? new Int32Array(data!) : new Float32Array(data!), shape: this.outShape };
  }

  release(): void {
    this.released = true;
    this.passes = [];
    this.releaseAll();
  }

  /**
   * One submit: every kernel in order in one command encoder (one compute pass each), the
   * output copied into a mappable buffer when `read`, the timestamps resolved behind it
   * when timed (the run's two ends, or both ends of every pass); waits for the device,
   * and returns the output bytes and GPU times.
   */
  private async submit(read: boolean, timed: 'none' | 'run' | 'passes'): Promise<{ data?: ArrayBuffer; timing: ReturnType<PassTimer['read']> }> {
    if (this.released) throw new Error('this bound program was released');
    const { device } = this;
    const timer = timed !== 'none' && this.passes.length ? new PassTimer(device, this.passes.length, timed === 'passes') : null;
    const out = this.nodeBuffers.get(this.graph.output)!;
    const readBytes = read ? Math.max(roundUp(out.bytes, 4), 4) : 0;
    // The timestamps (if timed) ride behind the output in the same readback buffer.
    const tsOffset = roundUp(readBytes, 8);
    const size = timer ? tsOffset + timer.bytes : readBytes;
    let staging: GPUBuffer | null = null;
    let submitted = 0;
    let waited: Waited | null = null;
    await this.scoped('running', () => {
      const enc = device.createCommandEncoder({ label: `attnc ${this.graph.name}` });
      this.passes.forEach((p, idx) => {
        const timestampWrites = timer?.writes(idx);
        const pass = enc.beginComputePass({ label: p.kernel.name, ...(timestampWrites ? { timestampWrites } : {}) });
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, p.bindGroup);
        pass.dispatchWorkgroups(...p.grid);
        pass.end();
      });
      if (size) staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      if (read) enc.copyBufferToBuffer(out.buffer, 0, staging!, 0, readBytes);
      if (timer) timer.resolve(enc, staging!, tsOffset);
      device.queue.submit([enc.finish()]);
      submitted = performance.now();
    }, async () => {
      const key = `${this.key}|${read ? 'read' : 'dispatch'}|${timed}`;
      waited = await waitForDevice(key, submitted, () => (staging ? (staging as GPUBuffer).mapAsync(GPUMapMode.READ) : device.queue.onSubmittedWorkDone()));
    });
    if (!staging) {
      remember(waited!, null);
      return { timing: null };
    }
    const buf = staging as GPUBuffer;
    try {
      const data = read ? buf.getMappedRange(0, readBytes).slice(0, out.bytes) : undefined;
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

  private fold(total: number, name: string): [number, number] {
    const max = Math.min(this.gpu.caps.maxWorkgroupsPerDimension, this.options.maxWorkgroupsPerDimension ?? Infinity);
    if (total <= max) return [total, 1];
    const y = Math.ceil(total / max);
    if (y > max) throw new ValidationError(`dispatching ${name}`, `${total} workgroups exceed ${max}² on this device`);
    return [Math.ceil(total / y), y];
  }

  private pipeline(k: Kernel, wgsl: string): Promise<GPUComputePipeline> {
    let p = this.st.pipelines.get(wgsl);
    if (!p) {
      p = compilePipeline(this.device, layoutFor(this.device, this.st, k), k, wgsl);
      p.catch(() => this.st.pipelines.delete(wgsl));
      this.st.pipelines.set(wgsl, p);
    }
    return p;
  }

  private bytesOf(b: Binding): number {
    const elems = b.buffer.kind === 'scratch'
      ? size(b.buffer.elems, this.dims, b.label)
      : b.shape.reduce((acc, e) => acc * size(e, this.dims, b.label), 1);
    return elems * 4;
  }

  private bufferOf(b: Binding, bytes: number): { buffer: GPUBuffer; bytes: number } {
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
    return e;
  }

  /** A pooled buffer of at least `bytes` (uniform or storage). */
  private acquire(bytes: number, uniform = false): GPUBuffer {
    const sz = Math.max(roundUp(bytes, SIZE_ALIGN), SIZE_ALIGN);
    const key = uniform ? -sz : sz;
    const free = this.st.pool.get(key);
    let buf = free?.pop();
    if (buf) this.st.pooledBytes -= sz;
    else {
      buf = this.device.createBuffer({
        size: sz,
        usage: uniform ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST : STORAGE_USAGE(),
      });
    }
    this.held.push(buf);
    return buf;
  }

  private releaseAll(): void {
    for (const buf of this.held) {
      const sz = buf.size;
      const key = buf.usage & GPUBufferUsage.UNIFORM ? -sz : sz;
      if (this.st.pooledBytes + sz > MAX_POOLED_BYTES) {
        buf.destroy();
        continue;
      }
      let list = this.st.pool.get(key);
      if (!list) this.st.pool.set(key, (list = []));
      list.push(buf);
      this.st.pooledBytes += sz;
    }
    this.held.length = 0;
  }
}
