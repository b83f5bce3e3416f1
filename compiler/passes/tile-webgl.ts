// The tile pass's part for the WebGL target. WebGL kernels are specialised on every dim
// (gpu.js bakes texture sizes and constants into each shader), so the schedule is chosen
// at the bound shapes: per attention, each query's key ranges evaluated on the host (one
// query per fragment makes NATTEN's ranges exact and strided by the dilation), the key
// slots a query visits (four to an RGBA texel, each range padded to whole texels), and
// the strategy — `scores` (four scores, weights or output features per fragment over
// packed textures: matmul-class passes, the scores materialised once in a banded scratch)
// or `fused` (an online softmax per four output features, q·k recomputed by each of a
// query's Dv/4 fragments, no scratch) — the cheaper by a count of texel fetches, unless
// the caps force one; with the scratch computed a few heads at a time when it would pass
// the f32-exact element limit, and `fused` where one head's scores alone would.

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
  // (A topk(…) selection writes every key of its rows: slot t is key t.)
  const ranges = k.kept ? null : hostKeyRanges(k, dims, N, M);
  // Four key slots a texel; a range owns whole texels (targets/webgl/attend-common.ts).
  const texels = Math.max(1, ranges ? ranges.reduce((a, r) => a + Math.ceil(r.width / 4), 0) : Math.ceil(M / 4));
  const slots = 4 * texels;
  const cost = strategyCosts(k.kind, { BH: B * H, N, M, D4: Math.ceil(k.geom.D / 4), Dv4: Math.ceil(k.geom.Dv / 4) }, ranges, texels);
  const chunk = chunking(B * H, N * slots, caps);
  // A top-k attention selects over its materialised scores: the `scores` strategy.
  const forced = k.topk !== undefined ? 'scores' : caps.strategy ?? 'auto';
  const strategy = forced === 'auto' ? (chunk && cost.scores <= cost.fused ? 'scores' : 'fused') : forced;
  if (strategy === 'scores' && !chunk) {
    throw new WebGLScheduleError(
      `the scores of one head of attend %${k.node} (${N}·${slots} elements) exceed the ${caps.maxTextureElements} elements ` +
        'a WebGL texture can address exactly; use the fused strategy, smaller shapes or another backend.',
    );
  }
  if (k.kept && chunk!.count > 1) {
    throw new WebGLScheduleError(
      `the scores of topk %${k.node} (${B * H}·${N}·${slots} elements) exceed the ${scratchLimit(caps)} elements ` +
        'of one WebGL scratch texture, and a selection is not split by heads; use smaller shapes or another backend.',
    );
  }
  return { strategy, ranges, slots, chunk: strategy === 'scores' && chunk!.count > 1 ? chunk : null, cost };
}

/**
 * Texel fetches of each strategy (what software WebGL spends its time on; a vec4 dot per
 * fetch of k or v). `scores`: per texel of four slots, one q row and four k rows (5·D/4),
 * two fetches each for the statistics and the weights, and per four output features one
 * weight texel and four value texels (5·Dv/4). `fused`: per four output features the q row,
 * then per key its k row and one value texel. normalize: queries adds the column
 * statistics: every query for every key.
 */
function strategyCosts(
  kind: AttendKernel['kind'],
  { BH, N, M, D4, Dv4 }: { BH: number; N: number; M: number; D4: number; Dv4: number },
  ranges: HostKeyRange[] | null,
  texels: number,
): WebGLAttendSchedule['cost'] {
  const keys = ranges ? ranges.reduce((a, r) => a + r.width, 0) : M;
  const pv = BH * N * texels * (5 * D4 + 4 + 5 * Dv4);
  if (kind === 'attend') return { fused: BH * N * Dv4 * (D4 + keys * (D4 + 1)), scores: pv };
  const columns = BH * M * N;
  return {
    fused: columns * (D4 + 1) + BH * N * Dv4 * (D4 + keys * (D4 + 2)),
    scores: pv + columns * (2 + (ranges?.length ?? 0)),
  };
}

/** Elements of one scratch texture: what a texture addresses exactly, or less where the caps say. */
function scratchLimit(caps: WebGLCaps): number {
  return Math.min(caps.maxScratch ?? caps.maxTextureElements, caps.maxTextureElements);
}

/**
 * How to split B·H heads so each chunk's scores (perHead elements per head) stay within
 * f32-exact addressing; null when one head alone is too large.
 */
function chunking(BH: number, perHead: number, caps: WebGLCaps): WebGLAttendSchedule['chunk'] {
  const limit = scratchLimit(caps);
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
