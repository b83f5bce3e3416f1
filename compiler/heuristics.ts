// Schedule heuristics: the measured rules the tile pass applies to a kernel and the
// device's capabilities (compiler/caps.ts). Numbers here were measured on lavapipe
// (TOOLCHAIN.md, "What is fast"); the reasons are kept with each rule.

import type { DeviceCaps } from './caps.js';

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
 * The device can run the subgroup-broadcast schedules: `subgroups` granted, subgroups of at
 * least SUBGROUP_BLOCK lanes, and workgroups of `subgroupLanes` invocations allowed.
 */
export function subgroupStaging(caps: DeviceCaps): boolean {
  const S = subgroupLanes(caps);
  return S >= SUBGROUP_BLOCK && caps.subgroupSize >= SUBGROUP_BLOCK && Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX) >= S;
}

/**
 * Most keys a query keeps in the fused top-k selection: each row holds its kept scores
 * and keys in private arrays while the keys stream by. Beyond this, or without the
 * subgroup schedules, top-k selects over materialised scores (the unfused kernels).
 */
export const FUSED_TOPK_MAX = 256;

/** A top-k attention keeping `k` keys per query selects in the fused kernel on this device. */
export function fusedTopk(k: number, caps: DeviceCaps): boolean {
  return k <= FUSED_TOPK_MAX && subgroupStaging(caps);
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

/**
 * Queries from which the subgroup path blocks 4 rows per invocation instead of 2, when the
 * runtime query count is known (`PassOptions.dims`).
 */
export const LARGE_ROWS = 1024;

/**
 * The decode schedule (`dims` staging: lanes split the head dims) serves a fused attend of
 * at most DECODE_ROWS bound query rows over at least DECODE_KEYS bound keys, all rows in
 * one workgroup, DECODE_BLOCK keys per step. Measured on lavapipe (causal_end, M = 32768,
 * H = 8, D = 64, alternating, ms; against the subgroup path's best rows per invocation):
 * N = 1: 29 vs 45; N = 2: 37 vs 44; N = 4: 38 vs 41; N = 8: 53 vs 36; N = 16: 83–96 vs
 * 42–55. Every lane repeats each row's mask and softmax step, so past a few rows that
 * uniform work outweighs the saved broadcasts and idle rows. Lane groups of 2 or 4 per row
 * (the dims split over fewer lanes, a shuffle butterfly for the sums) lost at N = 1 and 16.
 */
export const DECODE_ROWS = 4;
export const DECODE_KEYS = 1024;
export const DECODE_BLOCK = 4;

/**
 * Split-KV for the decode schedule: its (b, h) workgroups are too few to fill a GPU, so the
 * keys are split into slices of at least SPLIT_KEYS, one workgroup each, until about
 * SPLIT_WORKGROUPS workgroups run (merged through their partial softmax by a `merge`
 * kernel). Chosen for GPUs with many cores; on lavapipe (2 threads) see the README's decode
 * measurements.
 */
export const SPLIT_WORKGROUPS = 64;
export const SPLIT_KEYS = 2048;

/** Keys per block in the subgroup path (4 rows × 4-key blocks measured best on lavapipe). */
export const SUBGROUP_BLOCK = 4;

/**
 * Invocations of the simple (one element or row per invocation) schedules: 64, within the
 * device's workgroup limits.
 */
export function simpleWorkgroupSize(caps: DeviceCaps): number {
  return Math.max(1, Math.min(64, caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX));
}

/** Largest streamed tile staged in workgroup memory, and the smallest worth its barriers. */
export const MAX_TILE = 64;
export const MIN_TILE = 4;

/** The largest tile of `bytesPerRow`-byte rows (a power of two ≤ MAX_TILE) that fits the device's workgroup memory; 0 when not even MIN_TILE rows fit. */
export function workgroupTile(bytesPerRow: number, caps: DeviceCaps): number {
  let tile = MAX_TILE;
  while (tile >= MIN_TILE && tile * bytesPerRow > caps.maxWorkgroupStorageSize) tile /= 2;
  return tile < MIN_TILE ? 0 : tile;
}

/**
 * Positions per block of the block summaries of tensors read by masks (compiler/analysis/
 * mask.ts, `summary` kernels): 16 divides every tile the kernels visit (32 or 64 keys,
 * 32 rows per subgroup workgroup; 8-row slots see a 16-block, still sound), so a tile's
 * bound usually reads one or two blocks; the summaries take 2/16 of the tensor's size.
 */
export const SUMMARY_BLOCK = 16;
