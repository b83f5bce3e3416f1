// The tile pass's part for the routing kernels (built by fuse-route.ts): the sort gets
// small workgroups; route-attend the subgroup-broadcast schedule of the fused attend where
// `subgroups` is granted, else K/V tiles in workgroup memory (or read from storage when
// even 4 rows do not fit).

import type { DeviceCaps } from '../caps.js';
import { SUBGROUP_BLOCK, subgroupLanes, subgroupRows, subgroupWorkgroupSize, workgroupTile } from '../heuristics.js';
import {
  add, ceilDiv, gridSize, mul, type AttendSchedule, type Kernel, type RouteAttendKernel, type RouteSortKernel,
} from '../kernel.js';

/** Invocations per workgroup of the sort: small, so the few (b, head, cluster) scans spread over cores. */
const SORT_WG = 8;

/**
 * As the fused attend's subgroup path (tile.ts): 2 query rows per invocation, 4 for `long`
 * query sequences with D + Dv ≤ 128. Measured at N = 4096, 8 balanced causal clusters,
 * H = 8, D = 64: 4 rows 188 ms, 2 rows 231 ms. With several rows, each row slot keeps its
 * own key count (its causal bound, or every key; none past the cluster's queries): slot
 * guards, as the fused attend's, and for the same speed-up on lavapipe even where they
 * skip nothing.
 */
function routeAttendSchedule(k: RouteAttendKernel, caps: DeviceCaps, wg: number, long: boolean, forcedRows?: number): Omit<AttendSchedule, 'grid'> {
  const D4 = Math.ceil(k.geom.D / 4);
  const DV4 = Math.ceil(k.geom.Dv / 4);
  const base = { rows: 'queries' as const, ranges: null, skipEmptyTiles: false };
  if (caps.subgroups && caps.subgroupSize >= SUBGROUP_BLOCK) {
    const S = subgroupLanes(caps);
    if (Math.min(caps.maxInvocationsPerWorkgroup, caps.maxWorkgroupSizeX) >= S) {
      // One subgroup per workgroup, as the fused attend (tile.ts). On lavapipe at N = 4096
      // (8 causal clusters, per-kernel GPU times in three alternated runs): 75/95/85 ms
      // with 8 invocations, 104/91/105 with 32.
      const wg = subgroupWorkgroupSize(caps);
      const rows = forcedRows ?? subgroupRows(D4 + DV4, long);
      return {
        ...base, slotGuards: rows > 1 ? { range: null, tileEmpty: false } : null,
        staging: 'subgroup', workgroupSize: wg, rowsPerThread: rows, rowsPerWorkgroup: wg * rows,
        tile: 0, block: SUBGROUP_BLOCK, subgroupSize: S, workgroupBytes: 0,
      };
    }
  }
  const per = (D4 + DV4) * 16 + 4;
  const tile = workgroupTile(per, caps);
  const common = { ...base, slotGuards: null, workgroupSize: wg, rowsPerThread: 1, rowsPerWorkgroup: wg, block: 1, subgroupSize: 0 };
  return tile
    ? { ...common, staging: 'workgroup', tile, workgroupBytes: tile * per }
    : { ...common, staging: 'storage', tile: 16, workgroupBytes: 0 };
}

/**
 * Schedule, features and dispatch of a routing kernel (uniforms are set by the tile pass).
 * `long`: the bound query length is at least LARGE_ROWS; `forcedRows`: the subgroup path's
 * rows per invocation (PassOptions.rowsPerThread, for tests).
 */
export function scheduleRouteKernel(
  k: RouteSortKernel | RouteAttendKernel, caps: DeviceCaps, wg: number, long: boolean, forcedRows?: number,
): Kernel {
  const { B, H, Hk, N } = k.geom;
  if (k.kind === 'route-sort') {
    const w = Math.max(1, Math.min(SORT_WG, wg));
    return { ...k, schedule: { workgroupSize: w }, workgroups: ceilDiv(mul(mul(B, add(H, Hk)), k.C), w) };
  }
  const s = routeAttendSchedule(k, caps, wg, long, forcedRows);
  // One workgroup per (b, h, cluster, block of the cluster's query slots): an upper bound,
  // since a cluster holds at most N queries.
  const grid = [{ name: 'bh', extent: mul(B, H) }, { name: 'cl', extent: k.C }, { name: 'blk', extent: ceilDiv(N, s.rowsPerWorkgroup) }];
  const schedule = { ...s, grid };
  return { ...k, schedule, features: s.staging === 'subgroup' ? ['subgroups'] : [], workgroups: gridSize(grid) };
}
