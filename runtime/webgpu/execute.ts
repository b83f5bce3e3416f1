// Execute a program's kernels on a WebGPU device.
//
// One run = upload the inputs, dispatch every kernel in order in ONE command encoder (one
// compute pass per kernel), copy the output into a mappable buffer, submit once, read back
// once. Uniform blocks carry the runtime dims; workgroup counts come from the kernel IR's
// expressions and are folded into x·y when they exceed maxComputeWorkgroupsPerDimension.
// Pipelines are cached by WGSL source text (which includes the specialisation), buffers are
// pooled and reused across runs. Validation is never skipped: shader compilation messages
// are checked for every new module, and error scopes surround pipeline creation and the
// submit; a run with any error throws instead of returning data. With `timing` (and the
// `timestamp-query` feature) the first and last passes also write timestamps (timing.ts).

import type { Graph } from '../../compiler/ir.js';
import {
  evalSize, SizeError, type Binding, type Kernel,
} from '../../compiler/kernel.js';
import { buildKernels } from '../../compiler/passes/fuse.js';
import { scheduleKernel } from '../../compiler/passes/tile.js';
import type { DeviceCaps } from '../../compiler/pass.js';
import { renderWgsl } from '../../targets/wgsl/index.js';
import type { Tensor } from '../tensor.js';
import { validateRun } from '../validate.js';
import { getWebGPU, type WebGPU } from './device.js';
import { BufferLimitError, InputError, ValidationError, WgslCompileError } from './errors.js';
import { gpuMs, PassTimer, TIMESTAMP_BYTES } from './timing.js';

export { getWebGPU } from './device.js';
export * from './errors.js';

export interface ExecuteOptions {
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
 * Run `kernels` (from the fuse and tile passes over `graph`) on the WebGPU device with the
 * given inputs (by input name) and bound dims; returns the program's output (f32 data, or
 * i32 when the program returns cluster indices).
 *
 * The kernels are re-planned for this device and these shapes when they were specialised
 * for other head dims, or scheduled for capabilities the device does not grant.
 */
export async function executeWebGPU(
  kernels: Kernel[],
  graph: Graph,
  inputs: Record<string, Tensor>,
  dims: Record<string, number>,
  options: ExecuteOptions = {},
): Promise<Tensor> {
  validateRun(graph, inputs, dims);
  const gpu = await getWebGPU();
  const plan = planFor(kernels, graph, dims, gpu.caps);
  const inputNodes = new Map(graph.inputs.map((id) => [id, inputs[graph.nodes[id]!.name!]!] as const));
  const outNode = graph.nodes[graph.output]!;
  const outShape = outNode.shape.map((e) => size(e, dims, `the output of \`${graph.name}\``));
  if (outNode.op === 'input') {
    const t = inputs[outNode.name!]!;
    return { data: outNode.elem === 'i32' ? Int32Array.from(t.data) : Float32Array.from(t.data), shape: outShape };
  }
  return new Run(gpu, graph, plan, inputNodes, dims, options).execute(outShape);
}

/** The kernels actually run for these shapes on a device with `caps` (re-planned if needed). */
export function planFor(kernels: Kernel[], graph: Graph, dims: Record<string, number>, caps: DeviceCaps): Kernel[] {
  const stale = kernels.some((k) =>
    Object.entries(k.specialized).some(([d, v]) => dims[d] !== undefined && dims[d] !== v) ||
    (k.features.includes('subgroups') && !caps.subgroups) ||
    ('schedule' in k && k.schedule && (
      k.schedule.workgroupSize > caps.maxInvocationsPerWorkgroup ||
      ('workgroupBytes' in k.schedule && k.schedule.workgroupBytes > caps.maxWorkgroupStorageSize)
    )) ||
    k.bindings.length > caps.maxStorageBuffersPerShaderStage,
  );
  if (!stale) return kernels;
  const fusion = !kernels.some((k) => k.kind === 'scores');
  return buildKernels(graph, { fusion }, dims).map((k) => scheduleKernel(k, caps, { dims }));
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

class Run {
  private readonly device: GPUDevice;
  private readonly st: DeviceState;
  private readonly held: GPUBuffer[] = [];
  private readonly nodeBuffers = new Map<number, { buffer: GPUBuffer; bytes: number }>();
  private readonly scratch = new Map<string, { buffer: GPUBuffer; bytes: number }>();

  constructor(
    private readonly gpu: WebGPU,
    private readonly graph: Graph,
    private readonly kernels: Kernel[],
    private readonly inputNodes: Map<number, Tensor>,
    private readonly dims: Record<string, number>,
    private readonly options: ExecuteOptions,
  ) {
    this.device = gpu.device;
    this.st = stateOf(gpu.device);
  }

  async execute(outShape: number[]): Promise<Tensor> {
    const { device } = this;
    const limit = this.gpu.caps.maxStorageBufferBindingSize;
    // Sizes and limits first: nothing is allocated for a run that cannot fit.
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

    const outNode = this.graph.nodes[this.graph.output]!;
    // Everything that can fail on the host is checked before any error scope is pushed.
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
    const folds = planned.map((p) => this.fold(p.workgroups, p.k.name));
    const dispatched = planned.flatMap((p, i) => (p.workgroups > 0 ? [i] : []));
    const timer = this.options.timing && this.gpu.timestamps && dispatched.length ? new PassTimer(device) : null;

    let scopes = 0;
    try {
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      scopes = 2;
      for (const { id, data } of uploads) {
        const buf = this.acquire(data.byteLength);
        // A plain ArrayBuffer-backed view (Dawn rejects SharedArrayBuffer).
        if (data.byteLength) device.queue.writeBuffer(buf, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
        this.nodeBuffers.set(id, { buffer: buf, bytes: data.byteLength });
      }
      const enc = device.createCommandEncoder({ label: `attnc ${this.graph.name}` });
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
        const bg = device.createBindGroup({ label: k.name, layout: layoutFor(device, this.st, k), entries });
        const [x, y] = folds[idx]!;
        const timestampWrites = timer?.writes(idx === dispatched[0], idx === dispatched.at(-1));
        const pass = enc.beginComputePass({ label: k.name, ...(timestampWrites ? { timestampWrites } : {}) });
        pass.setPipeline(pipelines[idx]!);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(x, y);
        pass.end();
      });
      const out = this.nodeBuffers.get(this.graph.output);
      if (!out) throw new Error(`internal: no kernel writes the output %${this.graph.output}`);
      const readBytes = Math.max(roundUp(out.bytes, 4), 4);
      // The timestamps (if timed) ride behind the output in the same readback buffer.
      const tsOffset = roundUp(readBytes, 8);
      const read = device.createBuffer({
        size: timer ? tsOffset + TIMESTAMP_BYTES : readBytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      enc.copyBufferToBuffer(out.buffer, 0, read, 0, readBytes);
      timer?.resolve(enc, read, tsOffset);
      device.queue.submit([enc.finish()]);
      const validation = device.popErrorScope();
      const oom = device.popErrorScope();
      scopes = 0;
      let mapped: ArrayBuffer;
      let stamps: ArrayBuffer | null = null;
      try {
        await read.mapAsync(GPUMapMode.READ);
        mapped = read.getMappedRange(0, readBytes).slice(0, out.bytes);
        if (timer) stamps = read.getMappedRange(tsOffset, TIMESTAMP_BYTES).slice(0);
        read.unmap();
      } finally {
        read.destroy();
      }
      const [verr, merr] = await Promise.all([validation, oom]);
      if (verr) throw new ValidationError(`running \`${this.graph.name}\``, verr.message);
      if (merr) throw new ValidationError(`allocating buffers for \`${this.graph.name}\` (out of memory)`, merr.message);
      const ms = stamps ? gpuMs(stamps) : null;
      if (ms !== null) this.options.timing?.(ms);
      const data = outNode.elem === 'i32' ? new Int32Array(mapped) : new Float32Array(mapped);
      return { data, shape: outShape };
    } finally {
      while (scopes-- > 0) void device.popErrorScope().catch(() => undefined);
      this.releaseAll();
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
