// The tile pass's part for the WebGL target. WebGL kernels are specialised on every dim
// (gpu.js bakes texture sizes and constants into each shader), so the schedule is chosen
// at the bound shapes: per attention, each query's key ranges evaluated on the host (one
// query per fragment makes NATTEN's ranges exact and strided by the dilation), the key
// slots a query visits, and the strategy — `fused` (q·k recomputed wherever a fragment
// needs a score) or `scores` (masked scores materialised once in a banded scratch, then
// read), the cheaper by a cost estimate unless the caps force one — with the scratch
// computed a few heads at a time when it would pass the f32-exact element limit.

import { keyRanges } from '../analysis/mask.js';
import { DEFAULT_WEBGL_CAPS, type WebGLCaps } from '../caps.js';
import { children, rewrite, variable, type Expr } from '../ir.js';
import { evalSize, uniformDims, type AttendKernel, type HostKeyRange, type Kernel, type WebGLAttendSchedule } from '../kernel.js';
import type { PassOptions } from '../pass.js';
import { SpecializationError } from './fuse.js';
import { simplifyExpr } from './simplify.js';

/** A WebGL schedule that the limits rule out. */
export class WebGLScheduleError extends Error {
  override name = 'WebGLLimitError';
}

/** Schedule a kernel lowered for WebGL: attention kernels get their strategy; the others need none. */
export function scheduleWebGLKernel(k: Kernel, opts: PassOptions, dimDefaults: Record<string, number>): Kernel {
  if (k.kind !== 'attend' && k.kind !== 'colstats' && k.kind !== 'colapply') return k;
  const dims = { ...dimDefaults, ...opts.dims };
  for (const d of uniformDims(k)) {
    if (dims[d] === undefined) {
      throw new SpecializationError(d, `dim ${d} of kernel ${k.name} has no size: the WebGL target specialises on every dim`, true);
    }
  }
  return { ...k, webgl: attendStrategy(k, dims, opts.webgl ?? DEFAULT_WEBGL_CAPS) };
}

function attendStrategy(k: AttendKernel, dims: Record<string, number>, caps: WebGLCaps): WebGLAttendSchedule {
  const n = (e: Expr) => evalSize(e, dims);
  const [B, H, N, M] = [n(k.geom.B), n(k.geom.H), n(k.geom.N), n(k.geom.M)];
  const { D, Dv } = k.geom;
  const ranges = hostKeyRanges(k, dims, N, M);
  const slots = ranges ? ranges.reduce((a, r) => a + r.width, 0) : M;
  const BH = B * H;
  let fused: number;
  let scores: number;
  if (k.kind === 'attend') {
    fused = BH * N * Dv * slots * (D + 12);
    scores = BH * N * slots * (D + 12) + BH * N * 2 * 2 * slots + BH * N * Dv * slots * 4 + 2 * 65536;
  } else {
    const nr = ranges ? ranges.length : 0;
    fused = BH * M * 2 * N * (D + 12) + BH * N * Dv * slots * (D + 12);
    scores = BH * N * slots * (D + 12) + BH * M * 2 * N * (8 + 6 * nr) + BH * N * Dv * slots * 6 + 2 * 65536;
  }
  const chunk = chunking(BH, N * Math.max(slots, 1), caps);
  const forced = caps.strategy ?? 'auto';
  const strategy = forced === 'auto' ? (chunk && scores < fused ? 'scores' : 'fused') : forced;
  if (strategy === 'scores' && !chunk) {
    throw new WebGLScheduleError(
      `the scores of one head of attend %${k.node} (${N}·${Math.max(slots, 1)} elements) exceed the ${caps.maxTextureElements} elements ` +
        'a WebGL texture can address exactly; use the fused strategy, smaller shapes or another backend.',
    );
  }
  return { strategy, ranges, slots, chunk: strategy === 'scores' && chunk!.count > 1 ? chunk : null, cost: { fused, scores } };
}

/**
 * How to split B·H heads so each chunk's scores (perHead elements per head) stay within
 * f32-exact addressing; null when one head alone is too large.
 */
function chunking(BH: number, perHead: number, caps: WebGLCaps): WebGLAttendSchedule['chunk'] {
  const limit = Math.min(caps.maxScratch ?? caps.maxTextureElements, caps.maxTextureElements);
  if (perHead > limit) return null;
  const heads = Math.max(1, Math.min(BH, Math.floor(limit / Math.max(perHead, 1))));
  return { heads, count: Math.ceil(BH / heads), total: BH };
}

/**
 * The key ranges of a per-query kernel, evaluated on the host for every query: each
 * range's widest trip count. null: no analysis (every key).
 */
function hostKeyRanges(k: AttendKernel, dims: Record<string, number>, N: number, M: number): HostKeyRange[] | null {
  let rs: { lo: Expr; hi: Expr; step?: Expr }[] | null;
  try {
    // One query per fragment: q_lo and q_hi are the same query, which makes NATTEN's ranges
    // exact (and strided by the dilation).
    const one = (e: Expr) => simplifyExpr(rewrite(e, (x) => (x.op === 'var' && x.name === 'q_hi' ? variable('q_lo') : x)));
    rs = keyRanges(k.mask)?.map((r) => ({ lo: one(r.lo), hi: one(r.hi), ...(r.step ? { step: one(r.step) } : {}) })) ?? null;
  } catch {
    rs = null;
  }
  if (!rs) return null;
  const usable = (e: Expr): boolean => {
    if (e.op === 'index' || e.op === 'score' || e.op === 'load' || e.op === 'pattern') return false;
    if (e.op === 'var' && e.name !== 'q_lo' && e.name !== 'q_hi') return false;
    return children(e).every(usable);
  };
  if (!rs.every((r) => usable(r.lo) && usable(r.hi))) return null;
  const out: HostKeyRange[] = [];
  try {
    for (const r of rs) {
      // A dilation step (one query's NATTEN window) is used when it is the only range, so
      // that no key needs a membership test against a strided neighbour. The stride is kept
      // only when no query's range starts below key 0 (true of NATTEN's exact windows), so
      // the kernel needs no realignment after clamping.
      const strided = r.step && rs.length === 1 ? evalSize(r.step, dims, { q_lo: 0, q_hi: 0 }) : 1;
      const bounds = Array.from({ length: N }, (_, i) => [
        evalSize(r.lo, dims, { q_lo: i, q_hi: i }),
        Math.min(evalSize(r.hi, dims, { q_lo: i, q_hi: i }), M - 1),
      ] as const);
      const step = strided > 1 && bounds.every(([lo]) => lo >= 0) ? strided : 1;
      const width = Math.max(0, ...bounds.map(([lo, hi]) => Math.floor((hi - Math.max(lo, 0)) / step) + 1));
      out.push({ lo: r.lo, hi: r.hi, step, width });
    }
  } catch {
    return null;
  }
  // A range that no query reaches costs nothing: drop it.
  return out.filter((r) => r.width > 0);
}
