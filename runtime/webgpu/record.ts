// Encoding a program's kernels with given buffers: the one implementation that bind()/run()
// (execute.ts, on buffers of its own) and prepare().encode() (prepare.ts, on the caller's
// buffers and encoder) share.
//
// - planKernels: every binding's size, the dispatch and the uniform block of each kernel
//   under the runtime dims, checked against the device's limits on the host — before
//   anything exists on the device. Workgroup counts come from the kernel IR's expressions
//   and are folded into x·y past maxComputeWorkgroupsPerDimension (the kernel rebuilds the
//   linear index and returns early past the end).
// - compileKernels: their pipelines (cached per device, pipelines.ts).
// - kernelPasses: a bind group per kernel over the buffers the caller of this module
//   supplies for each binding (bufferOf) and for its uniform block (uniformOf).
// - recordKernels: one compute pass per kernel, in order, into a command encoder.

import { evalSize, SizeError, type Binding, type Kernel } from '../../compiler/kernel.js';
import type { Expr } from '../../compiler/ir.js';
import { renderWgsl } from '../../targets/wgsl/index.js';
import { BufferLimitError, InputError, ValidationError } from './errors.js';
import { layoutFor, pipelineFor } from './pipelines.js';

/** Binding sizes are rounded up to this (and never below it): what the pooled buffers hold. */
export const SIZE_ALIGN = 16;
export const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** A kernel sized for one set of runtime dims. */
export interface KernelPlan {
  kernel: Kernel;
  wgsl: string;
  /** Bytes of each binding (in `kernel.bindings` order) under the dims. */
  bytes: number[];
  /** Workgroups as dispatched (x, y); null: nothing to compute (an empty axis). */
  grid: [number, number] | null;
  /** The uniform block: one i32 per dim of `kernel.uniforms`, padded to 16 bytes. */
  uniforms: Int32Array;
}

/** What planKernels checks the kernels against. */
export interface PlanLimits {
  maxStorageBufferBindingSize: number;
  maxWorkgroupsPerDimension: number;
}

/** An int size expression under `dims`; an expression that cannot be sized is an InputError naming `what`. */
export function sizeOf(e: Expr, dims: Record<string, number>, what: string): number {
  try {
    return evalSize(e, dims);
  } catch (err) {
    if (err instanceof SizeError) throw new InputError(`cannot size ${what}: ${err.message}`);
    throw err;
  }
}

/** Bytes of a binding's buffer under `dims` (f32 and i32 elements: 4 bytes each; f16: 2). */
export function bindingBytes(b: Binding, dims: Record<string, number>): number {
  const elems = b.buffer.kind === 'scratch'
    ? sizeOf(b.buffer.elems, dims, b.label)
    : b.view
      ? sizeOf(b.view.elems, dims, b.label) // a strided view: the whole buffer it reads
      : b.shape.reduce((acc, e) => acc * sizeOf(e, dims, b.label), 1);
  return elems * (b.elem === 'f16' ? 2 : 4);
}

/**
 * Size every kernel under `dims`: throws BufferLimitError for a binding over the device's
 * maxStorageBufferBindingSize, InputError for a dim a kernel needs and `dims` lacks, and
 * ValidationError for a dispatch too large even when folded. `sources`: the kernels' WGSL
 * when already rendered (sizes do not change a kernel's source).
 */
export function planKernels(
  kernels: readonly Kernel[], dims: Record<string, number>, limits: PlanLimits, sources?: readonly string[],
): KernelPlan[] {
  return kernels.map((k, idx) => {
    const bytes = k.bindings.map((b) => {
      const n = bindingBytes(b, dims);
      if (n > limits.maxStorageBufferBindingSize) throw new BufferLimitError(b.label, n, limits.maxStorageBufferBindingSize, k.name);
      return n;
    });
    const workgroups = sizeOf(k.workgroups, dims, `the dispatch of ${k.name}`);
    const uniforms = new Int32Array(Math.max(4, roundUp(k.uniforms.length, 4)));
    k.uniforms.forEach((d, i) => {
      const v = dims[d];
      if (v === undefined) throw new InputError(`kernel ${k.name} needs dim ${d}, which no input binds`);
      uniforms[i] = v;
    });
    const grid = workgroups > 0 ? fold(workgroups, limits.maxWorkgroupsPerDimension, k.name) : null;
    return { kernel: k, wgsl: sources?.[idx] ?? renderWgsl(k), bytes, grid, uniforms };
  });
}

function fold(total: number, max: number, name: string): [number, number] {
  if (total <= max) return [total, 1];
  const y = Math.ceil(total / max);
  if (y > max) throw new ValidationError(`dispatching ${name}`, `${total} workgroups exceed ${max}² on this device`);
  return [Math.ceil(total / y), y];
}

/** The pipelines of `plans` on `device` (`onKernel` sees each kernel and its WGSL first). */
export function compileKernels(
  device: GPUDevice, plans: readonly { kernel: Kernel; wgsl: string }[], onKernel?: (kernel: Kernel, wgsl: string) => void,
): Promise<GPUComputePipeline[]> {
  return Promise.all(plans.map((p) => {
    onKernel?.(p.kernel, p.wgsl);
    return pipelineFor(device, p.kernel, p.wgsl);
  }));
}

/** The range of a buffer bound to a binding (from offset 0). */
export interface BufferRange {
  buffer: GPUBuffer;
  size: number;
}

/** A kernel ready to record: its pipeline, bind group and grid. */
export interface KernelPass {
  kernel: Kernel;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number];
}

/**
 * Bind groups for `plans` over the buffers `bufferOf` gives for each binding (asked for
 * every binding of every kernel, in order, also of kernels with nothing to compute) and
 * `uniformOf` gives for each kernel's uniform block (holding `plan.uniforms`). Kernels
 * with nothing to compute get no pass.
 */
export function kernelPasses(
  device: GPUDevice,
  plans: readonly KernelPlan[],
  pipelines: readonly GPUComputePipeline[],
  bufferOf: (b: Binding, bytes: number) => BufferRange,
  uniformOf: (plan: KernelPlan) => GPUBuffer,
): KernelPass[] {
  const passes: KernelPass[] = [];
  plans.forEach((p, idx) => {
    const k = p.kernel;
    const buffers = k.bindings.map((b, i) => bufferOf(b, p.bytes[i]!));
    if (!p.grid) return;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniformOf(p), size: p.uniforms.byteLength } }];
    buffers.forEach(({ buffer, size }, i) => entries.push({ binding: i + 1, resource: { buffer, offset: 0, size } }));
    const bindGroup = device.createBindGroup({ label: k.name, layout: layoutFor(device, k), entries });
    passes.push({ kernel: k, pipeline: pipelines[idx]!, bindGroup, grid: p.grid });
  });
  return passes;
}

/** Record `passes` in order, one compute pass each (with `timestampWrites(idx)` where given). */
export function recordKernels(
  encoder: GPUCommandEncoder,
  passes: readonly KernelPass[],
  timestampWrites?: (idx: number) => GPUComputePassTimestampWrites | undefined,
): void {
  passes.forEach((p, idx) => {
    const writes = timestampWrites?.(idx);
    const pass = encoder.beginComputePass({ label: p.kernel.name, ...(writes ? { timestampWrites: writes } : {}) });
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, p.bindGroup);
    pass.dispatchWorkgroups(...p.grid);
    pass.end();
  });
}
