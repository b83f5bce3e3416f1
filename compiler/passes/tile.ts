// tile: choose each kernel's schedule from its head dims, the runtime shape class
// (`opts.dims`) and the device's capabilities (`opts.caps`; WebGPU's defaults — 16 KiB of
// workgroup memory, 256 invocations — unless the device grants more), then its workgroup
// count and uniform block. Every decision a renderer needs is recorded in the schedule
// (compiler/kernel.ts): row axis, rows per invocation and their slot guards, staging, the
// streamed ranges, tile sizes. The rules' measurements are in compiler/heuristics.ts.
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
//   constant dilation d > 1 is regrouped (`schedule.regroup`, compiler/analysis/regroup.ts):
//   each row block holds queries of one dilation group g (i = g + d·i′) and streams only
//   keys j = g + d·j′, so the other d − 1 groups' positions are never visited.
// - `dims` staging (decode: a fused attend of a few bound query rows over many bound keys,
//   where `subgroups` is granted): one subgroup per (b, h) holds every row, its lanes split
//   the head dims; a key is one contiguous subgroup-wide read, a score a subgroupAdd.
// Routing kernels are scheduled in tile-route.ts, kernels for the WebGL target in tile-webgl.ts.

import { dilationRegroup, regroupedKeyRange } from '../analysis/regroup.js';
import {
  DECODE_BLOCK, DECODE_KEYS, DECODE_ROWS, LARGE_ROWS, SPLIT_KEYS, SPLIT_WORKGROUPS, SUBGROUP_BLOCK, simpleWorkgroupSize, subgroupLanes, subgroupRows,
  subgroupStaging, subgroupWorkgroupSize, workgroupTile,
} from '../heuristics.js';
import { int } from '../ir.js';
import {
  ceilDiv, evalSize, gridSize, mul, product, summaryLayout, uniformDims, type AttendKernel, type AttendSchedule, type Binding, type Kernel,
  type MergeKernel,
} from '../kernel.js';
import type { Pass, PassOptions } from '../pass.js';
import { scheduleRouteKernel } from './tile-route.js';
import { scheduleWebGLKernel } from './tile-webgl.js';

export const tile: Pass = {
  name: 'tile',
  summary: 'pick each kernel\'s schedule (tiles, workgroup size, staging, rows, guards) from head dims, shapes and device caps',
  stage: 'kernel',
  run: (m, opts) => ({
    ...m,
    kernels: m.kernels && m.kernels.flatMap((k) => (k.target === 'webgl' ? [scheduleWebGLKernel(k, opts, m.graph.dimDefaults)] : splitKV(scheduleKernel(k, opts), opts))),
  }),
};

/**
 * Streamed entries per online-softmax step (unrolled in the source). 1 in the workgroup
 * path: on lavapipe a 4-entry block ran no faster there but tripled the shader's compile
 * time (llvmpipe compiles at the first dispatch).
 */
const BLOCK = 1;

function scheduleKernel(k: Kernel, opts: PassOptions): Kernel {
  const { caps } = opts;
  const wg = simpleWorkgroupSize(caps);
  let out: Kernel;
  switch (k.kind) {
    case 'attend': case 'colstats': case 'colapply': case 'scores': case 'pv': {
      const schedule = attendSchedule(k, opts);
      out = { ...k, schedule, features: schedule.subgroupSize ? ['subgroups'] : [], workgroups: gridSize(schedule.grid) };
      break;
    }
    case 'softmax': {
      const { B, H, N, M } = k.geom;
      out = {
        ...k, schedule: { workgroupSize: wg },
        // (A topk(…) selection: one invocation per query row, see renderSoftmaxKernel.)
        workgroups: k.axis === 'keys' && !k.indicator ? product([B, H, N]) : ceilDiv(product([B, H, k.axis === 'keys' ? N : M]), wg),
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
    case 'map':
      out = { ...k, schedule: { workgroupSize: wg }, workgroups: ceilDiv(product(k.shape), wg) };
      break;
    case 'summary': {
      const { outer, blocks, inner } = summaryLayout(k.summary);
      out = { ...k, schedule: { workgroupSize: wg }, workgroups: ceilDiv(product([outer, blocks, inner]), wg) };
      break;
    }
    case 'route-sort': case 'route-attend':
      out = scheduleRouteKernel(k, caps, wg, isLong(k, opts.dims), opts.rowsPerThread);
      break;
    case 'merge':
      out = k; // made scheduled, after its split attend (splitKV)
      break;
  }
  return { ...out, uniforms: uniformDims(out) } as Kernel;
}

/** Tokens per invocation of the subgroup clusters kernel. */
const CLUSTER_TOKENS = 2;

/** The runtime query count of `k` is bound in `dims` and at least LARGE_ROWS. */
function isLong(k: { geom: AttendKernel['geom'] }, dims: Record<string, number>): boolean {
  return (bound(k.geom.N, dims) ?? 0) >= LARGE_ROWS;
}

/** The value of a size in the runtime shape class `dims`; undefined where a dim is not bound. */
function bound(e: AttendKernel['geom']['N'], dims: Record<string, number>): number | undefined {
  try {
    return evalSize(e, dims);
  } catch {
    return undefined; // not bound (compile time, or dims not given)
  }
}

/**
 * The decode schedule (`dims` staging, targets/wgsl/attend-dims.ts): a fused attend whose
 * bound query count is at most DECODE_ROWS and key count at least DECODE_KEYS, where
 * `subgroups` is granted. One workgroup (one subgroup of S lanes) per (b, h) holds all N
 * rows; its lanes split the head dims. Measured on lavapipe (bench decode table, M = 32768,
 * H = 8, D = 64): see heuristics.ts.
 */
function decodeSchedule(k: AttendKernel, opts: PassOptions, base: Base): Omit<AttendSchedule, 'grid'> | null {
  const S = subgroupLanes(opts.caps);
  if (k.kind !== 'attend' || k.topk !== undefined || !subgroupStaging(opts.caps) || opts.rowsPerThread !== undefined || dilationRegroup(k.mask)) return null;
  const N = bound(k.geom.N, opts.dims);
  const M = bound(k.geom.M, opts.dims);
  if (N === undefined || M === undefined || N < 1 || N > DECODE_ROWS || M < DECODE_KEYS) return null;
  return {
    ...base, slotGuards: null, staging: 'dims', workgroupSize: S, rowsPerThread: N, rowsPerWorkgroup: N,
    tile: 32, block: DECODE_BLOCK, subgroupSize: S, workgroupBytes: 0, ...splitsFor(k, opts, N),
  };
}

/**
 * Split-KV for a fused attend whose bound shape gives fewer than SPLIT_WORKGROUPS
 * workgroups of `rowsPerWorkgroup` query rows over at least 2 · SPLIT_KEYS keys: the keys
 * in slices of at least SPLIT_KEYS, one workgroup each, until about SPLIT_WORKGROUPS run.
 * (Decoding at M = 32768, H = 8 on lavapipe: N = 1 28.2 → 20.0 ms, N = 4 47.3 → 35.7 ms.)
 */
function splitsFor(k: AttendKernel, opts: PassOptions, rowsPerWorkgroup: number): { splits?: number } {
  const [B, H, N, M] = [k.geom.B, k.geom.H, k.geom.N, k.geom.M].map((e) => bound(e, opts.dims));
  if (k.kind !== 'attend' || k.topk !== undefined || B === undefined || H === undefined || N === undefined || M === undefined) return {};
  const workgroups = B * H * Math.ceil(N / rowsPerWorkgroup);
  if (workgroups === 0 || workgroups >= SPLIT_WORKGROUPS) return {};
  const splits = Math.min(Math.ceil(SPLIT_WORKGROUPS / workgroups), Math.floor(M / SPLIT_KEYS));
  return splits > 1 ? { splits } : {};
}

/**
 * A split attend (AttendSchedule.splits) writes partials instead of its output and lse:
 * followed by the `merge` kernel that combines them (kernel.ts MergeKernel).
 */
function splitKV(k: Kernel, opts: PassOptions): Kernel[] {
  if (k.kind !== 'attend' || !k.schedule?.splits) return [k];
  const S = k.schedule.splits;
  const { B, H, N, Dv } = k.geom;
  const DV4 = Math.ceil(Dv / 4);
  const vec4s = product([B, H, int(S), N, int(DV4 + 1)]);
  const partials: Binding = {
    name: 'partials', role: 'partials', buffer: { kind: 'scratch', id: `${k.node}.partials`, elems: mul(vec4s, int(4)) }, elem: 'f32',
    access: 'read_write', vec4: true, shape: [B, H, int(S), N, int(4 * (DV4 + 1))], label: `split-KV partials of attend %${k.node}`,
  };
  const written = (b: Binding) => b.role === 'out' || b.role === 'lse';
  const attend: Kernel = { ...k, bindings: [...k.bindings.filter((b) => !written(b)), partials] };
  const wg = simpleWorkgroupSize(opts.caps);
  const merge: MergeKernel = {
    kind: 'merge', name: `${k.name.replace(/_fused$/, '')}_merge`, label: `${k.label.replace(/, fused.*$/, '')}, split-KV 2/2: merge ${S} key slices`,
    node: k.node, geom: k.geom, splits: S, bindings: [{ ...partials, access: 'read' }, ...k.bindings.filter(written)],
    uniforms: [], workgroups: ceilDiv(product([B, H, N, int(DV4)]), wg), features: [], specialized: k.specialized, target: k.target,
    schedule: { workgroupSize: wg },
  };
  const withUniforms = (x: Kernel): Kernel => ({ ...x, uniforms: uniformDims(x) });
  return [withUniforms(attend), withUniforms(merge)];
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
function subgroupSchedule(k: AttendKernel, opts: PassOptions, base: Base): Omit<AttendSchedule, 'grid'> | null {
  const { caps } = opts;
  if (k.kind === 'scores' || k.kind === 'pv' || !subgroupStaging(caps)) return null;
  const S = subgroupLanes(caps);
  const vecs = Math.ceil(k.geom.D / 4) + (k.kind === 'colstats' ? 0 : Math.ceil(k.geom.Dv / 4));
  const long = k.kind === 'attend' && isLong(k, opts.dims); // measured for the fused attend only
  const rows = opts.rowsPerThread ?? subgroupRows(vecs, long);
  // One subgroup per workgroup (subgroupWorkgroupSize: 8 invocations on lavapipe) × R rows.
  // A workgroup's streamed range is the union of its rows' ranges, and every subgroup in
  // it loads and broadcasts all of it; with one subgroup, a band is loaded once per
  // workgroup of rows and each row slot (a subgroup's rows) skips the blocks outside its
  // own band (the slot guards). At N = 8192 on lavapipe, 8 vs 32 invocations: sliding(256)
  // 186 vs 261 ms, neighborhood(15) 50 vs 100 ms, `i == j` 27 vs 79 ms; dense attention
  // (N = 2048) the same within noise. A dilated neighborhood also iterates per dilation
  // group (`regroup`): at N = 8192, k = 15, d = 2, 2 rows 76 → 58 ms with the guards, 4
  // rows 50 ms, 8 rows 55 ms (and a 40 s compile).
  const wg = subgroupWorkgroupSize(caps);
  const regroup = k.kind === 'attend' && k.topk === undefined ? dilationRegroup(k.mask) : null;
  const ranges = regroup ? [regroupedKeyRange(regroup)] : base.ranges;
  return {
    ...base, ranges, slotGuards: slotGuards(rows, base.rows, ranges, k),
    staging: 'subgroup', workgroupSize: wg, rowsPerThread: rows, rowsPerWorkgroup: wg * rows,
    tile: 32, block: SUBGROUP_BLOCK, subgroupSize: S, workgroupBytes: 0, ...(regroup ? { regroup } : splitsFor(k, opts, wg * rows)),
  };
}

/**
 * Slot guards for several rows per invocation: each slot's own streamed range — with one
 * range over query rows, the same closed form over the slot's rows; else every entry —
 * and, in a mixed tile, the blocks the tile predicates call empty for its rows
 * (neighborhood2d at N = 4096: 72 vs 106 ms; no cost measured on sliding, causal, 1-D
 * neighborhood). Beyond the saved work, the per-slot branches alone made dense attention
 * (N = 2048, guards that skip nothing) 1.3–1.6× faster on lavapipe in alternated runs; the
 * reason is not established (presumably how LLVM schedules and spills the rows' work).
 */
function slotGuards(R: number, rows: AttendSchedule['rows'], ranges: AttendSchedule['ranges'], k: AttendKernel): AttendSchedule['slotGuards'] {
  if (R <= 1) return null;
  const tileEmpty = !(k.tileEmpty.op === 'const' && k.tileEmpty.value === false);
  return { range: rows === 'queries' && ranges?.length === 1 ? ranges[0]! : null, tileEmpty };
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

function attendSchedule(k: AttendKernel, opts: PassOptions): AttendSchedule {
  const rows: AttendSchedule['rows'] = k.kind === 'colstats' || k.kind === 'scores' ? 'keys' : 'queries';
  const base = { rows, ranges: rows === 'keys' ? k.queryRanges : k.keyRanges, skipEmptyTiles: k.kind !== 'scores' };
  const s = decodeSchedule(k, opts, base) ?? subgroupSchedule(k, opts, base) ?? workgroupSchedule(k, opts, base);
  return { ...s, grid: attendGrid(k, s) };
}

/**
 * One workgroup per (b, h, block of rowsPerWorkgroup rows); regrouped, per (b, h, dilation
 * group, block of the group's rows), blocks counted for the longest group.
 */
function attendGrid(k: AttendKernel, s: Omit<AttendSchedule, 'grid'>): AttendSchedule['grid'] {
  const { B, H, N, M } = k.geom;
  const rows = s.rows === 'keys' ? M : N;
  const d = s.regroup?.dilation;
  if (d) return [{ name: 'bh', extent: mul(B, H) }, { name: 'gq', extent: int(d) }, { name: 'rb', extent: ceilDiv(ceilDiv(rows, d), s.rowsPerWorkgroup) }];
  const grid = [{ name: 'bh', extent: mul(B, H) }, { name: 'rb', extent: ceilDiv(rows, s.rowsPerWorkgroup) }];
  return s.splits ? [...grid, { name: 'sp', extent: int(s.splits) }] : grid;
}

type Base = Pick<AttendSchedule, 'rows' | 'ranges' | 'skipEmptyTiles'>;

function workgroupSchedule(k: AttendKernel, opts: PassOptions, base: Base): Omit<AttendSchedule, 'grid'> {
  const wg = simpleWorkgroupSize(opts.caps);
  const tile = workgroupTile(bytesPerRow(k), opts.caps);
  const common = { ...base, slotGuards: null, workgroupSize: wg, rowsPerThread: 1, rowsPerWorkgroup: wg, block: BLOCK, subgroupSize: 0 };
  return tile
    ? { ...common, staging: 'workgroup', tile, workgroupBytes: tile * bytesPerRow(k) }
    : { ...common, staging: 'storage', tile: 16, workgroupBytes: 0 };
}

