// Shared by the WebGPU suites: compile a program, run it on the device (fused or not),
// run the float64 reference on the same inputs, compare within the spec's tolerance
// (|out − ref| ≤ 1e-4 + 1e-4·|ref|; rows the reference gives as exact zeros must be exact
// zeros — fully-masked rows).

import type { ExecutionContext } from 'ava';
import '../../runtime/node/dawn.js'; // WebGPU in Node: Dawn, as the Node entry registers it
import { compile } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir.js';
import type { DeviceCaps } from '../../compiler/caps.js';
import { executeReference, generateInputs, resolveDims } from '../../runtime/reference/index.js';
import type { Tensor } from '../../runtime/tensor.js';
import type { Kernel } from '../../compiler/kernel.js';
import { bindKernels, executeWebGPU, kernelsFor as lowerFor, type ExecuteOptions } from '../../runtime/webgpu/execute.js';

export function graphOf(source: string, params: Record<string, number | boolean> = {}): Graph {
  const r = compile(source, { params, target: 'none' });
  if (!r.ok || !r.graph) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.graph;
}

/** The kernels of `graph` for the device (or `caps`) at these dims, through the pipeline's one lowering. */
export function kernelsFor(graph: Graph, dims: Record<string, number>, fusion: boolean, caps?: DeviceCaps): Promise<Kernel[]> {
  return lowerFor(graph, dims, { fusion, caps });
}

/** Run kernels lowered by `kernelsFor` (possibly altered by a test) and read the output. */
export async function executeKernels(
  kernels: Kernel[], graph: Graph, inputs: Record<string, Tensor>, dims: Record<string, number>, options: ExecuteOptions = {},
): Promise<Tensor> {
  const bound = await bindKernels(kernels, graph, inputs, dims, options);
  try {
    return await bound.read();
  } finally {
    bound.release();
  }
}

export interface Compared {
  maxErr: number;
  zeros: number;
  out: Tensor;
  ref: Tensor;
  sources: string[];
}

/**
 * Elementwise agreement within LANGUAGE.md §6's tolerance, `1e-4 + 1e-4·|ref|`; with
 * `f16` (an f16 output, docs/language-extensions.md) one f16 step of the reference's
 * magnitude more: the device rounds its f32 value to f16, the reference its float64 one.
 */
export function compare(out: Tensor, ref: Tensor, opts: { f16?: boolean } = {}): { bad: string[]; maxErr: number; zeros: number } {
  const bad: string[] = [];
  let maxErr = 0;
  let zeros = 0;
  if (out.shape.join() !== ref.shape.join()) return { bad: [`shape [${out.shape}] vs reference [${ref.shape}]`], maxErr: Infinity, zeros };
  for (let k = 0; k < ref.data.length; k++) {
    const r = ref.data[k]!;
    const o = out.data[k]!;
    // Equal values (±inf included) are exact; otherwise a NaN error (an infinity on one
    // side, a NaN anywhere) fails the check below.
    const err = o === r ? 0 : Math.abs(o - r);
    if (r === 0) {
      zeros++;
      if (o !== 0 && bad.length < 8) bad.push(`element ${k}: ${o} where the reference is exactly 0`);
    }
    if (!(err <= 1e-4 + 1e-4 * Math.abs(r) + (opts.f16 ? f16Step(r) : 0))) {
      if (bad.length < 8) bad.push(`element ${k}: ${o} vs reference ${r} (error ${err})`);
    }
    if (err > maxErr) maxErr = err;
  }
  return { bad, maxErr, zeros };
}

/** The distance between consecutive f16 values around `r` (2^-24 among the subnormals). */
const f16Step = (r: number): number => (Number.isFinite(r) ? 2 ** (Math.max(Math.floor(Math.log2(Math.abs(r))), -14) - 10) : 0);

/** Run `graph` on the device and against the reference; assert agreement. */
export async function checkGraph(
  t: ExecutionContext,
  graph: Graph,
  dimsOverride: Record<string, number>,
  opts: {
    fusion?: boolean; seed?: number; caps?: DeviceCaps; inputs?: Record<string, Tensor>; expectZeros?: boolean;
    maxWorkgroupsPerDimension?: number;
    /** Force the subgroup path's rows per invocation (PassOptions.rowsPerThread). */
    rowsPerThread?: number;
    /** PassOptions.tensorBounds (default true). */
    tensorBounds?: boolean;
  } = {},
): Promise<Compared> {
  const dims = resolveDims(graph, dimsOverride);
  const inputs = opts.inputs ?? generateInputs(graph, dims, opts.seed ?? 1);
  const fusion = opts.fusion ?? true;
  const sources: string[] = [];
  const out = await executeWebGPU(graph, inputs, dims, {
    fusion, caps: opts.caps, rowsPerThread: opts.rowsPerThread, tensorBounds: opts.tensorBounds,
    onKernel: (_k, src) => sources.push(src),
    maxWorkgroupsPerDimension: opts.maxWorkgroupsPerDimension,
  });
  t.true(sources.length > 0);
  const ref = executeReference(graph, inputs);
  const { bad, maxErr, zeros } = compare(out, ref);
  t.deepEqual(bad, [], `${graph.name} ${JSON.stringify(dimsOverride)} fusion=${fusion}`);
  if (opts.expectZeros) t.true(zeros > 0, 'expected fully-masked rows (exact zeros) in this case');
  return { maxErr, zeros, out, ref, sources };
}
