// Kernel IR: per kernel, what it computes (graph node), its schedule, bindings, uniforms,
// the index expressions it evaluates and its dispatch size as functions of the runtime
// shapes. Produced by the fuse pass (what each kernel computes, which buffers it touches)
// and the tile pass (how: schedule, workgroup count, uniforms); rendered by targets/.
//
// Binding contract between the renderers and the runtime: @group(0) @binding(0) is a
// uniform block with one i32 per dim in `uniforms` (in that order); @binding(k + 1) is
// `bindings[k]`. The dispatch is `workgroups` workgroups, linear: the runtime folds it into
// x·y when it exceeds maxComputeWorkgroupsPerDimension and the kernel rebuilds the linear
// index (wid.x + wid.y·nwg.x) and returns early past the end.
//
// Specialisation: head dims (the last axis of q/k/v, of pooled and clustered tensors) and
// params are numbers here — constants in the generated source. Batch, heads and sequence
// lengths stay int `Expr`s over dims: the kernel reads them from a uniform block, so one
// compiled program serves every B, H, Hk, N, M.

import type { Expr } from './ir.js';
import { bin, int, dimsOf, rewrite } from './ir.js';
import { evalSizeExpr } from './evaluate.js';

/** What a kernel computes. */
export type KernelKind =
  /** attend, normalize: keys — QKᵀ·scale, score, mask, online softmax, P·V in one kernel. */
  | 'attend'
  /** attend, normalize: queries, pass 1 — per key: max and Σexp over its (b, h) queries. */
  | 'colstats'
  /** attend, normalize: queries, pass 2 — per query: Σ_j exp(x − max_j) / sum_j · v_j. */
  | 'colapply'
  /** unfused: masked scaled scores (−3e38 where masked) into a [B, H, N, M] scratch buffer. */
  | 'scores'
  /** unfused: softmax of the scores in place, over keys (rows) or queries (columns). */
  | 'softmax'
  /** unfused: O = P·V. */
  | 'pv'
  | 'pool'
  | 'pool2d'
  | 'clusters'
  /**
   * routing by permutation (compiler/passes/route.ts), pass 1 — per (b, head, cluster): a
   * stable counting sort of the query and key positions by cluster id.
   */
  | 'route-sort'
  /** routing by permutation, pass 2 — attention within each cluster, via the permutations. */
  | 'route-attend'
  /**
   * block summaries of a tensor read by a mask: per block of positions along one axis, the
   * min and max of its values (for the tile predicates and key ranges that read them).
   */
  | 'summary'
  /** elementwise tensor arithmetic (a `map` node): one invocation per element. */
  | 'map'
  /**
   * split-KV, pass 2: each query row's output (and lse) from its slices' partial softmax
   * (AttendSchedule.splits), merged through their maxima.
   */
  | 'merge';

/** A device buffer: a graph tensor (input or intermediate) or a per-run scratch buffer. */
export type BufferRef =
  | { kind: 'node'; node: number }
  /** `id` is unique in the program: kernels of one attend share it (stats, scores). */
  | { kind: 'scratch'; id: string; elems: Expr };

export type BindingRole =
  | 'q' | 'k' | 'v' | 'out'
  /** a tensor read by `load`s in mask/score (scalar view, indices clamped). */
  | 'lookup'
  | 'stats' | 'scores'
  | 'x' | 'centroids'
  /** pool's weights (one per position of x). */
  | 'weights'
  /** routing: cluster ids of the queries / keys, and the sort's scratch (ranges, permutations). */
  | 'qids' | 'kids' | 'route'
  /** block summaries of a lookup tensor (a `summary` kernel's output; `Binding.summary`). */
  | 'summary'
  /** the attention's log-sum-exp per query (an `lse` node), written beside `out`. */
  | 'lse'
  /** the second part of keys or values read in place from a `concat` (Binding.tail). */
  | 'tail'
  /** split-KV: each key slice's partial softmax per query row (MergeKernel). */
  | 'partials';

export interface Binding {
  /** WGSL identifier of the binding. */
  name: string;
  role: BindingRole;
  buffer: BufferRef;
  /**
   * Element type on the device: f16 for an `f16` input where the device grants
   * `shader-f16` (DeviceCaps.shaderF16) and the input is not a strided view (widened to f32
   * as it is loaded), else f32 (f16 tensors widened on the host), or i32.
   */
  elem: 'f32' | 'f16' | 'i32';
  access: 'read' | 'read_write';
  /** Viewed as `array<vec4<f32>>` (rows whose length is a multiple of 4). */
  vec4: boolean;
  /** Logical row-major shape, in elements. */
  shape: Expr[];
  /** For errors: `input q`, `scores of %4`. */
  label: string;
  /** For `lookup`: the graph node read by `load` expressions. */
  node?: number;
  /**
   * A strided view of a larger buffer (PassOptions.views): element idx of `shape` is at
   * `offset + Σ idx[a]·strides[a]` (the last axis contiguous), all runtime uniforms; the
   * buffer holds `elems` elements. Absent: C order, `shape`'s product elements.
   */
  view?: { offset: Expr; strides: Expr[]; elems: Expr };
  /** For `summary`: which tensor's summaries, of which axis, in blocks of how many positions. */
  summary?: SummaryOf;
  /**
   * An attention's output stored rounded to f16 (`f16(attend(…))` folded into its kernel):
   * every value written is the nearest f16 value (and stored as f16 where `elem` is).
   */
  round?: 'f16';
  /**
   * Keys or values read in place from `concat(x, y)`: this binding is x, and the binding
   * named here (role `tail`) is y; the kernel reads them as one tensor whose rows per
   * (batch, head) are x's N1 rows, then y's (shape[2] of each).
   */
  tail?: string;
}

/**
 * The block summaries of `tensor` (shape `shape`) along `axis`, `block` positions per
 * block, laid out `[2][outer][blocks][inner]`: the min of each block, then the max, where
 * outer and inner are the products of the axes before and after `axis` (summaryLayout).
 */
export interface SummaryOf {
  tensor: number;
  shape: Expr[];
  axis: number;
  block: number;
}

/** The extents of a summary buffer's layout (SummaryOf). */
export function summaryLayout(s: SummaryOf): { outer: Expr; blocks: Expr; inner: Expr; elems: Expr } {
  const outer = product(s.shape.slice(0, s.axis));
  const inner = product(s.shape.slice(s.axis + 1));
  const blocks = ceilDiv(s.shape[s.axis]!, s.block);
  return { outer, blocks, inner, elems: product([int(2), outer, blocks, inner]) };
}

/** How K/V (or, for colstats, Q) tiles reach the invocations. */
export type Staging =
  /** tiles staged in `var<workgroup>` memory, between barriers (works everywhere). */
  | 'workgroup'
  /** read straight from storage (fallback when a tile row does not fit). */
  | 'storage'
  /**
   * no workgroup memory: the lanes of a subgroup load different vec4s of a block of
   * streamed rows and share them with subgroupBroadcast; several rows per invocation.
   */
  | 'subgroup'
  /**
   * decode (few query rows, many keys; fused attend): the workgroup is one subgroup whose
   * lanes split the head dims — each holds chunks `c·S + lane` of all the workgroup's rows —
   * so a key row is one contiguous subgroup-wide read and a score a subgroupAdd.
   */
  | 'dims';

/**
 * Row-slot guards of a schedule with several rows per invocation: slot r holds the rows
 * `r0 + lid + r·workgroupSize` of every invocation, and skips (a uniform branch) the blocks
 * of streamed entries none of its rows can see.
 */
export interface SlotGuards {
  /** The slot's streamed range: this closed form over the slot's rows (`q_lo`, `q_hi`); null: every entry. */
  range: StreamRange | null;
  /** Also skip a block that the tile predicate `tileEmpty` calls empty for the slot's rows. */
  tileEmpty: boolean;
}

/**
 * One axis of a kernel's dispatch grid, outermost first: the kernel's linear workgroup
 * index is the grid's row-major index (the last axis fastest), the kernel's `workgroups`
 * is the product of the extents, and the renderer decodes the axes by name from it.
 */
export interface GridAxis {
  name: string;
  extent: Expr;
}

/** The schedule of an attention-like kernel (attend, colstats, colapply, scores, pv, route-attend). */
export interface AttendSchedule {
  /** The dispatch grid: (b·H + h[, dilation group | cluster], row block). */
  grid: GridAxis[];
  /**
   * What an invocation's rows are: queries (keys streamed), or keys (queries streamed:
   * colstats, scores).
   */
  rows: 'queries' | 'keys';
  /**
   * The streamed ranges a block of rows visits (clipped to the streamed length, their
   * union once, in order): the mask analysis's key ranges (query ranges for key rows), or
   * the regrouped range; null: every entry.
   */
  ranges: StreamRange[] | null;
  /** Skip the tiles the tile predicate `tileEmpty` calls empty (not for `scores`: it writes every entry). */
  skipEmptyTiles: boolean;
  /** Per row-slot guards (several rows per invocation on the subgroup path); null: none. */
  slotGuards: SlotGuards | null;
  staging: Staging;
  workgroupSize: number;
  /**
   * Rows owned by one invocation (register blocking). Rows are queries, or keys for colstats.
   * With `dims` staging every lane holds its head-dim chunks of all the workgroup's rows.
   */
  rowsPerThread: number;
  /** Rows per workgroup (= workgroupSize · rowsPerThread for the row-per-invocation layout). */
  rowsPerWorkgroup: number;
  /** Streamed entries (keys; queries for colstats) staged per tile. */
  tile: number;
  /** Streamed entries per online-softmax step (unrolled in the source). */
  block: number;
  /** Subgroup size the kernel is written for (subgroup and dims staging; else 0). */
  subgroupSize: number;
  /** Bytes of `var<workgroup>` memory the kernel declares. */
  workgroupBytes: number;
  /**
   * Split-KV (fused attend, `dims` or `subgroup` staging): the keys in this many slices, one workgroup each (grid
   * axis `sp`), each writing its rows' partial softmax (max, sum, unnormalised P·V) to a
   * `partials` scratch that a `merge` kernel combines. Absent or 1: one workgroup streams
   * every key.
   */
  splits?: number;
  /**
   * Dilation regrouping (fused `attend` with a 1-D `neighborhood` mask of dilation > 1,
   * subgroup path): a row block holds queries of one dilation group g (i = g + dilation·i′)
   * and streams only that group's keys (j = g + dilation·j′), keys j′ ∈ [i′ − reach,
   * i′ + (causal ? 0 : reach)]. Absent: rows and keys in order. The mask is still
   * evaluated per entry on mixed tiles.
   */
  regroup?: { dilation: number; reach: number; causal: boolean };
}

export interface SimpleSchedule {
  workgroupSize: number;
}

/**
 * clusters: one token per invocation. With `subgroupSize`, each workgroup holds tokens of
 * one (b, head) and the lanes of a subgroup load different vec4s of each centroid and
 * share them by subgroupBroadcast (instead of every lane loading every centroid).
 */
export interface ClustersSchedule extends SimpleSchedule {
  subgroupSize?: number;
  /** Tokens per invocation on the subgroup path (each broadcast chunk serves them all). */
  tokensPerInvocation?: number;
}

/** Sizes of an attend, as int expressions over dims; head dims specialised. */
export interface AttendGeometry {
  B: Expr;
  H: Expr;
  Hk: Expr;
  /** queries */
  N: Expr;
  /** keys */
  M: Expr;
  D: number;
  Dv: number;
}

/**
 * An inclusive range `[lo, hi]` of the streamed index (keys for query rows, queries for key
 * columns), as int expressions over the row block's bounds — the variables `q_lo`, `q_hi`
 * (for key ranges) or `k_lo`, `k_hi` (for query ranges). From compiler/analysis/mask: every
 * entry the mask allows lies in the union of the ranges; the kernel clips them to the
 * streamed length and visits their union once. The mask is still evaluated per entry.
 */
export interface StreamRange {
  lo: Expr;
  hi: Expr;
}

interface KernelBase {
  /** WGSL entry point, e.g. `streaming_attend3_fused`. */
  name: string;
  /** The graph node this kernel (partly) computes. */
  node: number;
  /** One line for headers and errors, e.g. `attend %3 (normalize: keys), fused`. */
  label: string;
  bindings: Binding[];
  /** Dims read by the kernel (uniform block, one i32 each, in this order). Set by tile. */
  uniforms: string[];
  /** Workgroups to dispatch (linear; the runtime folds it into x/y). Set by tile. */
  workgroups: Expr;
  /** Device features the source needs (e.g. `subgroups`). */
  features: string[];
  /** Dims substituted by constants in this kernel (head dims), with their values. */
  specialized: Record<string, number>;
  /** The target the kernel is lowered for (PassOptions.target). */
  target: 'wgsl' | 'webgl';
}

export interface AttendKernel extends KernelBase {
  kind: 'attend' | 'colstats' | 'colapply' | 'scores' | 'pv';
  geom: AttendGeometry;
  mask: Expr;
  score: Expr;
  scale: Expr;
  /** Keys a block of query rows [q_lo, q_hi] may see (attend, colapply); null: all. */
  keyRanges: StreamRange[] | null;
  /** Queries a block of key columns [k_lo, k_hi] may see (colstats); null: all. */
  queryRanges: StreamRange[] | null;
  /**
   * A fused top-k attention: each query keeps its `topk` largest allowed scores (ties to the
   * lower key). WGSL selects while streaming the keys (subgroup schedule; unfused, its
   * softmax kernel selects instead); WebGL in its `scores` strategy's passes.
   */
  topk?: number;
  /**
   * A topk(…) selection (WebGL: its `scores` passes end with the kept keys as 1, else 0;
   * WGSL lowers it to a `scores` and a `softmax` kernel with `indicator`).
   */
  kept?: true;
  /**
   * Tile predicates over `q_lo, q_hi, k_lo, k_hi` (inclusive): `full` ⇒ the mask allows
   * every entry of the tile (it is not evaluated), `empty` ⇒ none (the tile is skipped).
   */
  tileFull: Expr;
  tileEmpty: Expr;
  schedule: AttendSchedule | null;
  /** The WebGL target's schedule (set by the tile pass for target webgl; attend, colstats, colapply). */
  webgl: WebGLAttendSchedule | null;
}

/**
 * A key range of one query, as the WebGL kernels loop over it (one query per fragment:
 * `q_lo = q_hi = i`), with its widest trip count over all queries at the bound dims.
 */
export interface HostKeyRange {
  lo: Expr;
  hi: Expr;
  /** Keys lo, lo + step, … (a dilation group); 1 for every key in [lo, hi]. */
  step: number;
  /** The most keys any query visits in this range. */
  width: number;
}

/**
 * How the WebGL target computes an attention (kernel IR kinds attend, colstats, colapply;
 * the two kernels of one normalize: queries attend get the same schedule). Both
 * strategies read q, k and v packed four values to an RGBA texel and write four values
 * per fragment (targets/webgl/packed.ts).
 * - `scores`: matmul-class passes — the masked scores materialised once in a banded
 *   scratch [B·H, N, slots] (slot t of query i stands for one key of its ranges; four
 *   scores per fragment, the q row loaded once), then the row (or column) statistics,
 *   the softmax weights, and P·V (four output features per fragment).
 * - `fused`: an online softmax per four output features of a query, q·k recomputed by
 *   each of its Dv/4 fragments; no scratch (where one head's scores would not fit).
 */
export interface WebGLAttendSchedule {
  strategy: 'fused' | 'scores';
  /** Each query's key ranges (null: every key). */
  ranges: HostKeyRange[] | null;
  /** Key slots per query: the ranges' widths, each rounded up to whole texels of 4, or M rounded up. */
  slots: number;
  /**
   * `scores` only, when the whole scratch would pass the f32-exact element limit: the heads
   * (b·H + h rows) are computed `heads` at a time, `count` chunks of `total`.
   */
  chunk: { heads: number; count: number; total: number } | null;
  /** The cost estimates the choice compared (texel fetches). */
  cost: { fused: number; scores: number };
}

export interface SoftmaxKernel extends KernelBase {
  kind: 'softmax';
  /** keys: each query row sums to 1; queries: each key column does. */
  axis: 'keys' | 'queries';
  /** keys only: first mask all but the row's `topk` largest scores (ties to the lower key). */
  topk?: number;
  /** A topk(…) selection (with `topk`): the row becomes 1 for each kept key, else 0 — no softmax. */
  indicator?: true;
  geom: AttendGeometry;
  schedule: SimpleSchedule | null;
}

export interface PoolKernel extends KernelBase {
  kind: 'pool';
  B: Expr;
  H: Expr;
  N: Expr;
  tokens: Expr;
  D: number;
  schedule: SimpleSchedule | null;
}

export interface Pool2dKernel extends KernelBase {
  kind: 'pool2d';
  B: Expr;
  H: Expr;
  height: Expr;
  width: Expr;
  to: [Expr, Expr];
  D: number;
  schedule: SimpleSchedule | null;
}

export interface ClustersKernel extends KernelBase {
  kind: 'clusters';
  B: Expr;
  /** heads of x (= heads of centroids) */
  H: Expr;
  N: Expr;
  C: Expr;
  D: number;
  schedule: ClustersSchedule | null;
}

/**
 * Routing by permutation: the layout of the `route` scratch buffer (i32 elements), for
 * `B·H` query heads and `B·Hk` key heads over `C` clusters:
 * `[q ranges: B·H·C × (start, count)] [k ranges: B·Hk·C × (start, count)]
 *  [q permutation: B·H·N] [k permutation: B·Hk·M]`; a range is the cluster's slice of its
 * head's permutation, which lists positions by cluster, ascending within each cluster.
 */
export interface RouteSortKernel extends KernelBase {
  kind: 'route-sort';
  geom: AttendGeometry;
  /** Clusters (the query side's centroid count); key ids ≥ C match no query and are dropped. */
  C: Expr;
  schedule: SimpleSchedule | null;
}

export interface RouteAttendKernel extends KernelBase {
  kind: 'route-attend';
  geom: AttendGeometry;
  C: Expr;
  /** The mask's other conjuncts (the cluster equality removed), on the original i, j. */
  extra: Expr;
  /** `extra` implies j ≤ i: the key loop stops past the block's last query position. */
  causal: boolean;
  score: Expr;
  scale: Expr;
  schedule: AttendSchedule | null;
}

/** One invocation per (outer, block, inner) position of the summary layout: the block's min and max. */
export interface SummaryKernel extends KernelBase {
  kind: 'summary';
  summary: SummaryOf;
  schedule: SimpleSchedule | null;
}

/**
 * Elementwise arithmetic: element `e` of `shape` (row-major; coordinates `var` x0, x1, …)
 * is `expr`, whose loads read the `lookup` bindings at those coordinates.
 */
export interface MapKernel extends KernelBase {
  kind: 'map';
  shape: Expr[];
  expr: Expr;
  schedule: SimpleSchedule | null;
}

/**
 * Split-KV, pass 2 (the tile pass adds it after a split attend): one invocation per
 * (query row, vec4 of the output row) combines the `splits` partials — per slice s the
 * max m_s, the sum l_s = Σ exp(x − m_s) and the unnormalised Σ exp(x − m_s)·v — as
 * Σ_s exp(m_s − m)·acc_s / Σ_s exp(m_s − m)·l_s with m = max_s m_s (0 for a row with no
 * allowed key), and the lse m + log Σ_s exp(m_s − m)·l_s. Partials layout: per
 * ((b·H + h)·splits + s)·N + i, DV4 vec4s of acc then one vec4 (m, l, 0, 0).
 */
export interface MergeKernel extends KernelBase {
  kind: 'merge';
  geom: AttendGeometry;
  splits: number;
  schedule: SimpleSchedule | null;
}

export type Kernel =
  | SummaryKernel | AttendKernel | SoftmaxKernel | PoolKernel | Pool2dKernel | ClustersKernel | RouteSortKernel | RouteAttendKernel | MapKernel
  | MergeKernel;
export type KernelOf<K extends KernelKind> = Extract<Kernel, { kind: K }>;

// ---- helpers shared by the passes, renderers and runtime ----

export const add = (a: Expr, b: Expr): Expr => bin('add', a, b);
export const mul = (a: Expr, b: Expr): Expr => bin('mul', a, b);
/** ceil(a / b) for non-negative ints. */
export const ceilDiv = (a: Expr, b: number): Expr => (b === 1 ? a : bin('div', bin('add', a, int(b - 1)), int(b)));
export const product = (xs: Expr[]): Expr => xs.reduce((acc, x) => (isConst(acc, 1) ? x : mul(acc, x)), int(1));

/** Workgroups of a dispatch grid: the product of its extents. */
export const gridSize = (grid: readonly GridAxis[]): Expr => product(grid.map((a) => a.extent));

export function isConst(e: Expr, v?: number): boolean {
  return e.op === 'const' && (v === undefined || e.value === v);
}

/** Every Expr a kernel holds (for uniforms and verification). */
export function kernelExprs(k: Kernel): Expr[] {
  const out: Expr[] = [k.workgroups];
  for (const b of k.bindings) {
    out.push(...b.shape);
    if (b.buffer.kind === 'scratch') out.push(b.buffer.elems);
    if (b.view) out.push(b.view.offset, b.view.elems, ...b.view.strides);
    if (b.summary) out.push(...b.summary.shape);
  }
  switch (k.kind) {
    case 'attend': case 'colstats': case 'colapply': case 'scores': case 'pv':
      out.push(k.geom.B, k.geom.H, k.geom.Hk, k.geom.N, k.geom.M, k.mask, k.score, k.scale, k.tileFull, k.tileEmpty);
      for (const r of [...(k.keyRanges ?? []), ...(k.queryRanges ?? [])]) out.push(r.lo, r.hi);
      break;
    case 'softmax':
      out.push(k.geom.B, k.geom.H, k.geom.Hk, k.geom.N, k.geom.M);
      break;
    case 'pool':
      out.push(k.B, k.H, k.N, k.tokens);
      break;
    case 'pool2d':
      out.push(k.B, k.H, k.height, k.width, ...k.to);
      break;
    case 'clusters':
      out.push(k.B, k.H, k.N, k.C);
      break;
    case 'route-sort':
      out.push(k.geom.B, k.geom.H, k.geom.Hk, k.geom.N, k.geom.M, k.C);
      break;
    case 'route-attend':
      out.push(k.geom.B, k.geom.H, k.geom.Hk, k.geom.N, k.geom.M, k.C, k.extra, k.score, k.scale);
      break;
    case 'summary':
      out.push(...k.summary.shape);
      break;
    case 'map':
      out.push(...k.shape, k.expr);
      break;
    case 'merge':
      out.push(k.geom.B, k.geom.H, k.geom.Hk, k.geom.N, k.geom.M);
      break;
  }
  return out;
}

/** The dims a kernel reads at run time, sorted (its uniform block). */
export function uniformDims(k: Kernel): string[] {
  const s = new Set<string>();
  for (const e of kernelExprs(k)) dimsOf(e, s);
  return [...s].sort();
}

/** A size expression reads a dim (or range variable) that is not bound. */
export class SizeError extends Error {}

/**
 * Evaluate an int size expression (a shape, a dispatch grid, a key-range bound) with bound
 * dims and range variables (`q_lo`, …): the one evaluator (compiler/evaluate.ts) in scope
 * `size`, with the language's exact int semantics (floor division; an int outside 32 bits
 * is AT710). Throws SizeError when a dim or variable is not bound.
 */
export function evalSize(e: Expr, dims: Record<string, number>, vars: Record<string, number> = {}): number {
  const unbound = dimsAndVars(e).find(([kind, name]) => (kind === 'dim' ? dims[name] : vars[name]) === undefined);
  if (unbound) throw new SizeError(`${unbound[0] === 'dim' ? 'dim' : 'variable'} ${unbound[1]} is not bound`);
  return evalSizeExpr(e, dims, undefined, vars);
}

function dimsAndVars(e: Expr, out: ['dim' | 'var', string][] = []): ['dim' | 'var', string][] {
  rewrite(e, (x) => {
    if (x.op === 'dim' || x.op === 'var') out.push([x.op, x.name]);
    return x;
  });
  return out;
}
