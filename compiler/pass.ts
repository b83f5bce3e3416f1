// The pass interface. A pass is a small named unit with a summary and options; the whole
// lowering is the flat, ordered list in pipeline.ts, and the module can be printed after
// any pass (`attnc compile --emit <pass>`). Options are part of the kernel cache key.

import type { Graph } from './ir.js';
import type { Kernel } from './kernel.js';

/** What the schedule may rely on: capabilities as data, filled from the device's limits. */
export interface DeviceCaps {
  /** `subgroups` feature granted (subgroupBroadcast/subgroupShuffle usable). */
  subgroups: boolean;
  /** Minimum subgroup size the device reports (lavapipe: 8), when known. */
  subgroupSize: number;
  /** Maximum subgroup size the device reports (lavapipe 8, NVIDIA 32, AMD up to 64), when known. */
  subgroupMaxSize?: number;
  maxWorkgroupStorageSize: number;
  maxInvocationsPerWorkgroup: number;
  maxWorkgroupSizeX: number;
  maxWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
}

/**
 * Subgroup lanes the subgroup-broadcast schedules share data across: the largest power of
 * two ≤ min(8, the device's minimum subgroup size), so every actual subgroup holds them;
 * 0 without the `subgroups` feature.
 */
export function subgroupLanes(caps: DeviceCaps): number {
  if (!caps.subgroups) return 0;
  let S = 1;
  while (S * 2 <= Math.min(8, caps.subgroupSize)) S *= 2;
  return S;
}

/**
 * Invocations of a workgroup that is one subgroup, for the subgroup schedules: the
 * device's largest subgroup size (32 when it does not say), at least `subgroupLanes` and
 * within the workgroup limits. A smaller workgroup would leave lanes of a wide SIMD unit
 * idle; a larger one loads every key band for all its subgroups' rows (on lavapipe,
 * workgroups of 32 instead of its 8-lane subgroups ran sliding(256) 1.4× and
 * neighborhood(15) 2× slower at N = 8192).
 */
export function subgroupWorkgroupSize(caps: DeviceCaps): number {
  const S = subgroupLanes(caps);
  return Math.max(S, Math.min(caps.subgroupMaxSize ?? 32, 64, caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX));
}

/**
 * Query rows per invocation on the subgroup path, from the vec4s a row keeps in registers
 * (`vecs`: query plus accumulator) and whether the query sequence is long: 1 past 64
 * vec4s, 4 for long sequences with at most 32 (measured fastest on lavapipe, but a longer
 * first-dispatch compile), else 2.
 */
export function subgroupRows(vecs: number, long: boolean): number {
  return vecs > 64 ? 1 : long && vecs <= 32 ? 4 : 2;
}

/** WebGPU's guaranteed defaults: what a schedule may assume when no device is known. */
export const DEFAULT_CAPS: DeviceCaps = {
  subgroups: false,
  subgroupSize: 4,
  maxWorkgroupStorageSize: 16384,
  maxInvocationsPerWorkgroup: 256,
  maxWorkgroupSizeX: 256,
  maxWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxStorageBuffersPerShaderStage: 8,
};

export interface PassOptions {
  /** false: materialised scores (QKᵀ, softmax, P·V as separate kernels) — the baseline. */
  fusion: boolean;
  caps: DeviceCaps;
  /**
   * Sizes the kernels specialise on (head dims); dims not given fall back to the
   * program's `dims` defaults.
   */
  dims: Record<string, number>;
}

/** The unit that flows through the pipeline: the graph and, from `fuse` on, its kernels. */
export interface Module {
  graph: Graph;
  kernels: Kernel[] | null;
}

export interface Pass {
  name: string;
  summary: string;
  /** Which stage the pass belongs to: graph passes run for every backend. */
  stage: 'graph' | 'kernel';
  run(m: Module, opts: PassOptions): Module;
}
