// tile: choose each kernel's schedule from its head dims and the device's capabilities
// (`opts.caps`; WebGPU's defaults — 16 KiB of workgroup memory, 256 invocations — unless
// the device grants more), then its workgroup count and uniform block.
//
// Attention-like kernels own rows (queries; keys for colstats/scores) one per invocation
// and stream the other side in tiles:
// - `workgroup` staging: each tile of K/V (or Q) rows is loaded cooperatively into
//   `var<workgroup>` memory between barriers; the tile is as large as fits (≤ 64 rows).
// - `storage` staging: when not even 4 rows fit (very large head dims), rows are read
//   straight from storage.
// - `subgroup` staging (the fused kernels, where `subgroups` is granted): no workgroup memory;
//   the lanes of a subgroup load different vec4s of a block of 4 keys and share them with
//   subgroupBroadcast, and each invocation owns several query rows (register blocking).
//   About 7× the workgroup path on lavapipe (TOOLCHAIN.md).
//   A fused attend whose mask is (or is a conjunction with) a 1-D `neighborhood` with a
//   constant dilation d > 1 is regrouped (`schedule.regroup`): each row block holds queries
//   of one dilation group g (i = g + d·i′) and streams only keys j = g + d·j′, so the other
//   d − 1 groups' positions are never visited; blocks are one subgroup × 2 rows, since the
//   band a block visits is its rows + 2·(kernel − 1) keys.

import { int, type Expr, type Pattern } from '../ir.js';
import {
  ceilDiv, evalSize, mul, product, uniformDims, type AttendKernel, type AttendSchedule, type Kernel,
} from '../kernel.js';
import { subgroupLanes, subgroupRows, subgroupWorkgroupSize, type DeviceCaps, type Pass } from '../pass.js';
import { scheduleRouteKernel } from './route.js';

export const tile: Pass = {
  name: 'tile',
  summary: 'pick each kernel\'s schedule (tiles, workgroup size, staging) from head dims and device caps',
  stage: 'kernel',
  run: (m, opts) => ({ ...m, kernels: m.kernels && m.kernels.map((k) => scheduleKernel(k, opts.caps, { dims: opts.dims })) }),
};

/** What a schedule may take into account beyond the kernel and the device. */
export interface ScheduleHints {
  /**
   * Runtime dims the kernel will run with (e.g. the bound sequence lengths), when known:
   * the subgroup path blocks 4 query rows per invocation only for long query sequences
   * (`LARGE_ROWS`), where its longer first-dispatch compile pays off.
   */
  dims?: Record<string, number>;
  /** Force the subgroup path's rows per invocation (tests: prove the 4-row path at small shapes). */
  rowsPerThread?: number;
}

/**
 * Streamed entries per online-softmax step (unrolled in the source). 1 in the workgroup
 * path: on lavapipe a 4-entry block ran no faster there but tripled the shader's compile
 * time (llvmpipe compiles at the first dispatch).
 */
const BLOCK = 1;
/** Largest streamed tile. */
const MAX_TILE = 64;
/** Below this many rows per tile, staging is not worth its barriers. */
const MIN_TILE = 4;

export function scheduleKernel(k: Kernel, caps: DeviceCaps, hints: ScheduleHints = {}): Kernel {
  const wg = Math.max(1, Math.min(64, caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX));
  let out: Kernel;
  switch (k.kind) {
    case 'attend': case 'colstats': case 'colapply': case 'scores': case 'pv': {
      const schedule = attendSchedule(k, caps, wg, hints);
      const { B, H, N, M } = k.geom;
      const rows = k.kind === 'colstats' || k.kind === 'scores' ? M : N;
      const d = schedule.regroup?.dilation;
      out = {
        ...k, schedule, features: schedule.staging === 'subgroup' ? ['subgroups'] : [],
        // regrouped: one row block per (b, h, dilation group, block of the group's rows)
        workgroups: d
          ? product([B, H, int(d), ceilDiv(ceilDiv(rows, d), schedule.rowsPerWorkgroup)])
          : product([B, H, ceilDiv(rows, schedule.rowsPerWorkgroup)]),
      };
      break;
    }
    case 'softmax': {
      const { B, H, N, M } = k.geom;
      out = {
        ...k, schedule: { workgroupSize: wg },
        workgroups: k.axis === 'keys' ? product([B, H, N]) : ceilDiv(product([B, H, M]), wg),
      };
      break;
    }
    case 'pool':
      out = { ...k, schedule: { workgroupSize: wg }, workgroups: ceilDiv(product([k.B, k.H, k.tokens, int(k.D)]), wg) };
      break;
    case 'pool2d':
      out = { ...k, schedule: { workgroupSize: wg }, workgroups: ceilDiv(product([k.B, k.H, mul(k.to[0], k.to[1]), int(k.D)]), wg) };
      break;
    case 'clusters': {
      // Subgroups: one head's tokens per workgroup, centroids shared by broadcast (every lane
      // loading every centroid cost ~45 ms per clusters() at N = 4096, H = 8, C = 8 on lavapipe).
      const S = subgroupLanes(caps);
      out = S >= 4 && wg % S === 0
        ? {
          ...k, schedule: { workgroupSize: wg, subgroupSize: S, tokensPerInvocation: CLUSTER_TOKENS },
          features: ['subgroups'], workgroups: product([k.B, k.H, ceilDiv(k.N, wg * CLUSTER_TOKENS)]),
        }
        : { ...k, schedule: { workgroupSize: wg }, workgroups: ceilDiv(product([k.B, k.H, k.N]), wg) };
      break;
    }
    // routing by permutation: scheduled in passes/route.ts
    case 'route-sort': case 'route-attend':
      out = scheduleRouteKernel(k, caps, wg, (boundRows(k, hints.dims) ?? 0) >= LARGE_ROWS, hints.rowsPerThread);
      break;
  }
  return { ...out, uniforms: uniformDims(out) } as Kernel;
}

/** Tokens per invocation of the subgroup clusters kernel. */
const CLUSTER_TOKENS = 2;

/** Keys per block in the subgroup path (4 rows × 4-key blocks measured best on lavapipe). */
const SUBGROUP_BLOCK = 4;

/**
 * Queries from which the fused attend's subgroup path blocks 4 rows per invocation
 * instead of 2, when the runtime query count is known (`ScheduleHints.dims`).
 */
export const LARGE_ROWS = 1024;

/** The runtime query count of `k` under `dims`, or null when it is not bound. */
function boundRows(k: { geom: { N: AttendKernel['geom']['N'] } }, dims: Record<string, number> | undefined): number | null {
  if (!dims) return null;
  try {
    return evalSize(k.geom.N, dims);
  } catch {
    return null;
  }
}

/**
 * The subgroup path (fused kernels, where `subgroups` is granted): lanes share K/V
 * vec4s by broadcast; each invocation owns 2 query rows (1 for head dims over 128), or 4
 * in a fused attend whose bound query count is at least `LARGE_ROWS` with D + Dv ≤ 128.
 * Measured on lavapipe at N = 2048, H = 8, D = 64 (same process, alternating): 4 rows ran
 * ~10–20% faster than 2 but took 3–5× as long to compile at the first dispatch (~11–19 s vs
 * ~4 s, llvmpipe compiles then), so small or unknown N keeps 2 rows; the compiled shader is
 * cached on disk by Mesa either way. The head-dim chunk loops are unrolled in the source
 * (subgroup-steps.ts): ~1.35× faster at 4 rows, same first-dispatch compile (~10 s). Tried
 * at 4 rows without gain (within noise): 8-key blocks, workgroups of 8/16/64, explicit fma,
 * branchless score select, an unconditional online-softmax rescale (slower).
 */
function subgroupSchedule(k: AttendKernel, caps: DeviceCaps, hints: ScheduleHints): AttendSchedule | null {
  if (k.kind === 'scores' || k.kind === 'pv' || !caps.subgroups || caps.subgroupSize < SUBGROUP_BLOCK) return null;
  const S = subgroupLanes(caps);
  const vecs = Math.ceil(k.geom.D / 4) + (k.kind === 'colstats' ? 0 : Math.ceil(k.geom.Dv / 4));
  const n = boundRows(k, hints.dims);
  const long = k.kind === 'attend' && n !== null && n >= LARGE_ROWS; // measured for the fused attend only
  const rows = hints.rowsPerThread ?? subgroupRows(vecs, long);
  if (Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX) < S) return null;
  // One subgroup per workgroup (subgroupWorkgroupSize: 8 invocations on lavapipe) × R rows.
  // A workgroup's streamed range is the union of its rows' ranges, and every subgroup in
  // it loads and broadcasts all of it; with one subgroup, a band is loaded once per
  // workgroup of rows and each row slot (a subgroup's rows) skips the blocks outside its
  // own band (the slot guards of attend-subgroup.ts). At N = 8192 on lavapipe, 8 vs 32
  // invocations: sliding(256) 186 vs 261 ms, neighborhood(15) 50 vs 100 ms, `i == j` 27 vs
  // 79 ms; dense attention (N = 2048) the same within noise. A dilated neighborhood also
  // iterates per dilation group (`regroup`): at N = 8192, k = 15, d = 2, 2 rows 76 → 58 ms
  // with the guards, 4 rows 50 ms, 8 rows 55 ms (and a 40 s compile).
  const wg = subgroupWorkgroupSize(caps);
  const regroup = k.kind === 'attend' ? dilationRegroup(k.mask) : null;
  return {
    staging: 'subgroup', workgroupSize: wg, rowsPerThread: rows, rowsPerWorkgroup: wg * rows,
    tile: 32, block: SUBGROUP_BLOCK, subgroupSize: S, workgroupBytes: 0, ...(regroup ? { regroup } : {}),
  };
}

/**
 * The dilation regrouping of a mask whose origin is a 1-D `neighborhood` pattern (the mask
 * itself or a conjunct of it) with a constant dilation > 1 and constant kernel: the kernel
 * then iterates queries and keys per dilation group (i = g + d·i′, j = g + d·j′), never
 * visiting the other groups' positions. Null otherwise.
 */
export function dilationRegroup(mask: Expr): AttendSchedule['regroup'] | null {
  const find = (e: Expr): Extract<Pattern, { name: 'neighborhood' }> | null => {
    if (e.op === 'pattern') return e.origin.name === 'neighborhood' ? e.origin : null;
    if (e.op === 'and') return find(e.a) ?? find(e.b);
    return null;
  };
  const p = find(mask);
  if (!p || p.dilation.op !== 'const' || p.kernel.op !== 'const') return null;
  const d = Number(p.dilation.value);
  const kern = Number(p.kernel.value);
  if (!Number.isInteger(d) || d <= 1 || !Number.isInteger(kern) || kern < 1) return null;
  return { dilation: d, reach: kern - 1, causal: p.causal };
}

/** Bytes of workgroup memory per streamed row of each kernel kind. */
function bytesPerRow(k: AttendKernel): number {
  const d4 = Math.ceil(k.geom.D / 4) * 16;
  const dv4 = Math.ceil(k.geom.Dv / 4) * 16;
  switch (k.kind) {
    case 'attend': return d4 + dv4;
    case 'colapply': return d4 + dv4 + 8;
    case 'colstats': case 'scores': return d4;
    case 'pv': return dv4;
  }
}

function attendSchedule(k: AttendKernel, caps: DeviceCaps, wg: number, hints: ScheduleHints): AttendSchedule {
  const sub = subgroupSchedule(k, caps, hints);
  if (sub) return sub;
  const per = bytesPerRow(k);
  let tile = MAX_TILE;
  while (tile >= MIN_TILE && tile * per > caps.maxWorkgroupStorageSize) tile /= 2;
  if (tile < MIN_TILE) {
    return {
      staging: 'storage', workgroupSize: wg, rowsPerThread: 1, rowsPerWorkgroup: wg,
      tile: 16, block: BLOCK, subgroupSize: 0, workgroupBytes: 0,
    };
  }
  return {
    staging: 'workgroup', workgroupSize: wg, rowsPerThread: 1, rowsPerWorkgroup: wg,
    tile, block: BLOCK, subgroupSize: 0, workgroupBytes: tile * per,
  };
}

