// prepare(): a compiled program's kernels on the caller's GPUDevice, recorded into the
// caller's command encoder over the caller's buffers — for attnc inside someone else's
// GPU pipeline. No submit, no upload, no readback: `encode` only records compute passes.
//
// - The schedule is the device's: DeviceCaps from its limits and granted features
//   (capsOfDevice, as for attnc's own device), lowered once by the pipeline's
//   lowerToKernels at the prepared dims. Head dims (and params) are compiled into the
//   kernels: `encode` with other head dims is refused (DimsError; prepare again for them).
//   B, H, Hk, N, M are uniforms: any values, no re-lowering. The schedule may look at the
//   prepared N (rows per invocation from N ≥ 1024): prepare with the N you mostly run.
// - What the program needs besides its inputs and output — intermediate tensors (an agent
//   attention's pooled tokens), scratch (normalize: queries' column statistics, routing's
//   sort) — lives in buffers of the prepared program, grown as dims need, and destroyed by
//   `release()`. Scratch is reused by every encode: the passes of one encode run in order,
//   and encodes run one after the other in queue order, so no two of them overlap.
// - Uniform blocks (the runtime dims) are buffers made per distinct dims with their
//   contents (mappedAtCreation): never rewritten, so several encodes with different dims
//   can sit in one encoder, and nothing goes through the queue.
// - Every refusal — missing or unknown inputs, a buffer too small, without STORAGE (or
//   COPY_SRC/COPY_DST where the program only copies an input), over the binding limit, the
//   output aliasing an input, dims missing or wrong — throws before anything is recorded.
//   Whether a buffer belongs to another device cannot be seen synchronously (WebGPU objects
//   do not expose their device): `validate()` asks the device, asynchronously.

import type { CompileResult } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir.js';
import type { Binding, Kernel } from '../../compiler/kernel.js';
import { lowerToKernels } from '../../compiler/pipeline.js';
import { renderWgsl } from '../../targets/wgsl/index.js';
import { SpecializationError } from '../../compiler/pipeline.js';
import { AttncError } from '../../dsl/diagnostics.js';
import { capsOfDevice } from './device.js';
import { checkBuffer, encodeDims, tensorBytes, tensorSpec, unknownNames, type TensorSpec } from './encode-args.js';
import { layoutDims, layoutViews, outputDims, outputView, type InputLayout } from './layouts.js';
import { DimsError, EncodeError, ForeignBufferError, MissingBufferError } from './errors.js';
import { BufferUsage, ShaderStage } from './flags.js';
import {
  compileKernels, kernelPasses, planKernels, recordKernels, roundUp, SIZE_ALIGN, type BufferRange, type KernelPass, type KernelPlan,
} from './record.js';

export interface PrepareOptions {
  /** The device the kernels will run on (its limits and features pick the schedule). */
  device: GPUDevice;
  /**
   * Dims to lower for: the head dims compiled into the kernels, and sizes the schedule
   * may use (N). Default: the program's `dims` defaults.
   */
  dims?: Record<string, number>;
  /** false: the materialised-scores kernels (the benchmark baseline). Default true. */
  fusion?: boolean;
  /**
   * false: masks that read tensors are not bounded through the tensors' values (no block
   * summaries: every tile such a mask touches is visited). Same results; default true.
   */
  tensorBounds?: boolean;
  /**
   * How the input buffers hold their tensors, by input name (layouts.ts): `bhnd` (C order,
   * the default), `bnhd` ([B, N, H, D] memory, = [B, N, H·D]), or `qkv` (the inputs marked
   * so are slices of one packed [B, N, Σ heads·head dim] projection, in declaration order,
   * given as the same buffer). Read in place.
   */
  layouts?: Record<string, InputLayout>;
  /** How the output buffer holds the result: `bhnd` (C order, the default) or `bnhd` ([B, N, H·Dv] memory). */
  outputLayout?: 'bhnd' | 'bnhd';
}

/** A program prepared for a device (prepare()). */
export interface PreparedProgram {
  /** The program's name. */
  readonly name: string;
  /** The buffers `encode` reads, by input name: element type on the device and declared shape. */
  readonly inputs: readonly TensorSpec[];
  /** The buffer `encode` writes (`outputs.out`). */
  readonly output: TensorSpec;
  /** The head dims compiled into the kernels (encode refuses others). */
  readonly headDims: Readonly<Record<string, number>>;
  /** The kernels' names, in the order `encode` records them. */
  readonly kernels: readonly string[];
  /** The bytes each buffer needs under `dims`: every input by name, and `out`. */
  bytes(dims: Record<string, number>): Record<string, number>;
  /**
   * Record the program's compute passes into `encoder`: reads `inputs` (by input name),
   * writes `outputs.out`, under `dims`. Throws (recording nothing) when an argument
   * does not fit. The caller submits; the buffers must stay alive until then.
   */
  encode(encoder: GPUCommandEncoder, inputs: Record<string, GPUBuffer>, outputs: { out: GPUBuffer }, dims: Record<string, number>): void;
  /**
   * The checks of `encode`, plus what only the device can tell, asynchronously: whether
   * each buffer belongs to this device (ForeignBufferError). Records nothing.
   */
  validate(inputs: Record<string, GPUBuffer>, outputs: { out: GPUBuffer }, dims: Record<string, number>): Promise<void>;
  /**
   * Destroy the buffers the program made (scratch, intermediates, uniforms) once the
   * encoders that use them have been submitted; `encode` refuses afterwards.
   */
  release(): void;
}

/** Prepare a compiled program (compile()'s result) for `options.device`. */
export async function prepare(program: CompileResult, options: PrepareOptions): Promise<PreparedProgram> {
  if (!program?.ok || !program.graph) throw new AttncError(program?.diagnostics ?? []);
  const device = options?.device;
  if (!device || typeof device.createComputePipeline !== 'function') {
    throw new EncodeError('device', 'prepare needs { device: GPUDevice }');
  }
  const graph = program.graph;
  const dims = { ...graph.dimDefaults, ...options.dims };
  let kernels: Kernel[];
  try {
    const views = layoutViews(graph, options.layouts ?? {}, dims);
    const out = outputView(graph, options.outputLayout, dims);
    kernels = lowerToKernels(graph, {
      // (The caller's buffers hold f32: an f16 input is read as f32 here.)
      fusion: options.fusion ?? true, caps: { ...capsOfDevice(device), shaderF16: false }, dims, tensorBounds: options.tensorBounds ?? true,
      ...(Object.keys(views).length ? { views } : {}),
      ...(out ? { outputView: out } : {}),
    });
  } catch (e) {
    if (!(e instanceof SpecializationError)) throw e;
    throw new DimsError(`dim ${e.dim}`, `prepare needs a value for head dim \`${e.dim}\` (compiled into the kernels): ` +
      `prepare(program, { device, dims: { ${e.dim}: … } })`);
  }
  const prepared = new Prepared(device, graph, kernels, options.layouts ?? {}, (options.outputLayout ?? 'bhnd') === 'bnhd');
  prepared.pipelines = await compileKernels(device, prepared.sources);
  return prepared;
}

/** A program's kernels sized for one set of dims, with their uniform buffers and last bind groups. */
interface DimsEntry {
  plans: KernelPlan[];
  tensors: Map<string, { shape: number[]; bytes: number }>;
  uniforms: Map<KernelPlan, GPUBuffer>;
  /** The buffers of the last bind groups (compared by identity) and the passes over them. */
  last: { ranges: BufferRange[]; passes: KernelPass[] } | null;
}

/** Dims sets remembered per prepared program (least recently used dropped first). */
const DIMS_ENTRIES = 32;

class Prepared implements PreparedProgram {
  readonly name: string;
  readonly inputs: TensorSpec[];
  readonly output: TensorSpec;
  readonly headDims: Record<string, number> = {};
  readonly kernels: string[];
  readonly sources: { kernel: Kernel; wgsl: string }[];
  pipelines: GPUComputePipeline[] = [];
  private readonly inputNames: string[];
  private readonly entries = new Map<string, DimsEntry>();
  /** Buffers of the program's own: intermediates (`node:<id>`) and scratch (by id), grown as needed. */
  private readonly own = new Map<string, GPUBuffer>();
  /** Buffers outgrown: an encoder not yet submitted may still use them (destroyed at release). */
  private readonly retired: GPUBuffer[] = [];
  private released = false;

  constructor(
    private readonly device: GPUDevice, private readonly graph: Graph, kernels: Kernel[],
    private readonly layouts: Readonly<Record<string, InputLayout>>,
    private readonly outputBnhd: boolean,
  ) {
    this.name = graph.name;
    this.inputNames = graph.inputs.map((id) => graph.nodes[id]!.name ?? `%${id}`);
    this.inputs = graph.inputs.map((id, i) => tensorSpec(graph.nodes[id]!, this.inputNames[i]!));
    this.output = tensorSpec(graph.nodes[graph.output]!, 'out');
    for (const k of kernels) Object.assign(this.headDims, k.specialized);
    this.kernels = kernels.map((k) => k.name);
    // Sizes do not change a kernel's source: each is rendered once, not per dims.
    this.sources = kernels.map((kernel) => ({ kernel, wgsl: renderWgsl(kernel) }));
  }

  bytes(dims: Record<string, number>): Record<string, number> {
    const entry = this.entry(encodeDims(this.graph, dims, this.headDims));
    return Object.fromEntries([...entry.tensors].map(([name, t]) => [name, t.bytes]));
  }

  encode(encoder: GPUCommandEncoder, inputs: Record<string, GPUBuffer>, outputs: { out: GPUBuffer }, dims: Record<string, number>): void {
    if (!encoder || typeof encoder.beginComputePass !== 'function') throw new EncodeError('encoder', 'encode needs a GPUCommandEncoder as its first argument');
    const { entry, buffers } = this.check(inputs, outputs, dims);
    const out = buffers.get('out')!;
    const returned = this.graph.nodes[this.graph.output]!;
    if (returned.op === 'input') {
      // The program returns one of its inputs: a copy, no kernel.
      const bytes = entry.tensors.get('out')!.bytes;
      if (bytes) encoder.copyBufferToBuffer(buffers.get(returned.name!)!, 0, out, 0, bytes);
      return;
    }
    recordKernels(encoder, this.passes(entry, buffers));
  }

  async validate(inputs: Record<string, GPUBuffer>, outputs: { out: GPUBuffer }, dims: Record<string, number>): Promise<void> {
    const { buffers } = this.check(inputs, outputs, dims);
    const { device } = this;
    // A one-binding bind group per buffer, each in its own error scope: the device names
    // the buffer it rejects, and so can we.
    const layout = device.createBindGroupLayout({
      entries: [{ binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } }],
    });
    for (const [name, buffer] of buffers) {
      const size = Math.min(buffer.size, SIZE_ALIGN) & ~3;
      if (!(buffer.usage & BufferUsage.STORAGE) || size === 0) continue; // a copy's source or target; an empty tensor
      device.pushErrorScope('validation');
      device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer, size } }] });
      const err = await device.popErrorScope();
      if (err) throw new ForeignBufferError(name === 'out' ? 'output out' : `input ${name}`, err.message);
    }
  }

  release(): void {
    this.released = true;
    for (const e of this.entries.values()) {
      for (const u of e.uniforms.values()) u.destroy();
      this.retire(e);
    }
    this.entries.clear();
    for (const b of [...this.own.values(), ...this.retired]) b.destroy();
    this.own.clear();
    this.retired.length = 0;
  }

  /** Every check of encode (dims, names, buffers), before anything is recorded. */
  private check(inputs: Record<string, GPUBuffer>, outputs: { out: GPUBuffer }, dims: Record<string, number>) {
    if (this.released) throw new EncodeError('program', `the prepared program \`${this.name}\` was released`);
    const entry = this.entry(encodeDims(this.graph, dims, this.headDims));
    if (!inputs || typeof inputs !== 'object') throw new MissingBufferError('inputs', `encode needs the input buffers by name: { ${this.inputNames.join(', ')} }`);
    if (!outputs || typeof outputs !== 'object') throw new MissingBufferError('outputs', 'encode needs the output buffer: { out }');
    const extra = unknownNames(inputs, this.inputNames);
    if (extra.length) throw new MissingBufferError(`input ${extra[0]}`, `unknown input \`${extra[0]}\`: the inputs of \`${this.name}\` are ${this.inputNames.join(', ')}`);
    const extraOut = unknownNames(outputs, ['out']);
    if (extraOut.length) throw new MissingBufferError(`output ${extraOut[0]}`, `unknown output \`${extraOut[0]}\`: the program writes one output, \`out\``);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    const returned = this.graph.nodes[this.graph.output]!;
    const copied = returned.op === 'input';
    const buffers = new Map<string, GPUBuffer>();
    for (const name of this.inputNames) {
      const use = copied && name === returned.name ? 'copy-src' : 'storage';
      buffers.set(name, checkBuffer(`input ${name}`, inputs[name], entry.tensors.get(name)!, use, limit));
    }
    const out = checkBuffer('output out', outputs.out, entry.tensors.get('out')!, copied ? 'copy-dst' : 'storage', limit);
    const alias = this.inputNames.find((n) => buffers.get(n) === out);
    if (alias) throw new EncodeError('output out', `the output buffer is also the buffer of input ${alias}: the kernels read one while writing the other; give the output a buffer of its own`);
    buffers.set('out', out);
    return { entry, buffers };
  }

  /** The kernels sized for `dims` (remembered per dims). Throws BufferLimitError for an intermediate over the limit. */
  private entry(given: Record<string, number>): DimsEntry {
    const dims = { ...given, ...layoutDims(this.graph, this.layouts, given), ...(this.outputBnhd ? outputDims(this.graph, given) : {}) };
    const key = JSON.stringify(Object.entries(dims).sort());
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key); // most recently used last
    } else {
      const plans = planKernels(this.sources.map((s) => s.kernel), dims, {
        maxStorageBufferBindingSize: this.device.limits.maxStorageBufferBindingSize,
        maxWorkgroupsPerDimension: this.device.limits.maxComputeWorkgroupsPerDimension,
      }, this.sources.map((s) => s.wgsl));
      const tensors = tensorBytes(this.graph, dims);
      // A viewed input's buffer holds its whole packed or transposed array.
      for (const [name, t] of tensors) if (dims[`${name}__n`] !== undefined) t.bytes = 4 * dims[`${name}__n`]!;
      e = { plans, tensors, uniforms: new Map(), last: null };
      if (this.entries.size >= DIMS_ENTRIES) {
        const [oldest, dropped] = this.entries.entries().next().value as [string, DimsEntry];
        this.entries.delete(oldest);
        this.retire(dropped);
      }
    }
    this.entries.set(key, e);
    return e;
  }

  /** The passes of `entry` over these buffers: the last bind groups when every buffer is the same. */
  private passes(entry: DimsEntry, buffers: Map<string, GPUBuffer>): KernelPass[] {
    const ranges = entry.plans.flatMap((p) => p.kernel.bindings.map((b, i) => this.rangeOf(b, p.bytes[i]!, buffers)));
    const last = entry.last;
    if (last && last.ranges.length === ranges.length && last.ranges.every((r, i) => r.buffer === ranges[i]!.buffer && r.size === ranges[i]!.size)) {
      return last.passes;
    }
    let next = 0;
    const passes = kernelPasses(this.device, entry.plans, this.pipelines, () => ranges[next++]!, (p) => this.uniformOf(entry, p));
    entry.last = { ranges, passes };
    return passes;
  }

  /** The buffer of one binding: the caller's for inputs and the output, else one of the program's own. */
  private rangeOf(b: Binding, bytes: number, buffers: Map<string, GPUBuffer>): BufferRange {
    let caller: GPUBuffer | undefined;
    if (b.buffer.kind === 'node') {
      const node = this.graph.nodes[b.buffer.node]!;
      if (b.buffer.node === this.graph.output) caller = buffers.get('out');
      else if (node.op === 'input') caller = buffers.get(node.name!);
    }
    // A binding is at least 16 bytes: an empty tensor binds a small buffer of our own
    // (nothing reads it: its axis has no entries).
    // (A storage binding's size is a multiple of 4; `bytes` is, and the buffer holds at least that.)
    if (caller && bytes > 0) return { buffer: caller, size: Math.min(caller.size - (caller.size % 4), roundUp(bytes, SIZE_ALIGN)) };
    const key = caller ? 'empty' : b.buffer.kind === 'node' ? `node:${b.buffer.node}` : b.buffer.id;
    const size = Math.max(roundUp(bytes, SIZE_ALIGN), SIZE_ALIGN);
    let buffer = this.own.get(key);
    if (!buffer || buffer.size < size) {
      // Grown by half again at least: sizes that creep up (a growing N) retire few buffers.
      const grown = buffer ? Math.max(size, roundUp(Math.ceil(buffer.size * 1.5), SIZE_ALIGN)) : size;
      if (buffer) this.retired.push(buffer);
      buffer = this.device.createBuffer({ size: grown, usage: BufferUsage.STORAGE, label: `attnc ${this.name} ${b.label}` });
      this.own.set(key, buffer);
    }
    return { buffer, size };
  }

  /** The uniform block of `plan` under its entry's dims: made once, with its contents. */
  private uniformOf(entry: DimsEntry, plan: KernelPlan): GPUBuffer {
    let buf = entry.uniforms.get(plan);
    if (!buf) {
      buf = this.device.createBuffer({ size: plan.uniforms.byteLength, usage: BufferUsage.UNIFORM, mappedAtCreation: true, label: `attnc ${plan.kernel.name} dims` });
      new Int32Array(buf.getMappedRange()).set(plan.uniforms);
      buf.unmap();
      entry.uniforms.set(plan, buf);
    }
    return buf;
  }

  /**
   * A dims entry leaves. Its uniform buffers are not destroyed — an encoder not yet
   * submitted may hold them — but left to the garbage collector (16 bytes each).
   */
  private retire(e: DimsEntry): void {
    e.uniforms.clear();
    e.last = null;
  }
}
