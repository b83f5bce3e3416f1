// fuse: graph IR → kernels (what each kernel computes and which buffers it touches).
//
// - attend, normalize: keys → ONE kernel (`attend`): QKᵀ·scale, score, mask and an online
//   softmax (running max and sum in f32, one division at the end) fused with P·V; no N×M
//   scores are ever stored.
// - attend, normalize: queries → two kernels: `colstats` (per key, the max and Σexp of its
//   column over the (b, h) head's queries) and `colapply` (per query, Σ_j exp(x − max_j) /
//   sum_j · v_j). Again no N×M scores.
// - pool, pool2d, clusters → one kernel each.
// - `opts.fusion === false` (the baseline, and a second opinion in tests): `scores`
//   (QKᵀ+score+mask into a [B, H, N, M] scratch buffer), `softmax` (over keys or queries,
//   in place) and `pv`.
//
// Head dims are specialised: a symbolic head dim (the last axis of q/k/v, pooled or
// clustered tensors) is substituted by its value from `dims` (the runtime shapes) or else
// the program's `dims` defaults; each kernel records what it was specialised with, so the
// runtime can re-plan when the inputs disagree. Pattern builtins must be expanded (the
// expand-builtins pass); any left are expanded here.
//
// Each attend kernel also carries the mask analysis (compiler/analysis/mask): key ranges
// per block of query rows (query ranges per block of keys, for colstats), so tiles nobody
// can see are never visited — causal attention visits about half the tiles, a sliding
// window or neighborhood a band — and tile predicates, so fully allowed tiles skip the
// mask and empty ones are skipped.

import { K_HI, K_LO, keyRanges, tilePredicates, type AnalysisOptions } from '../analysis/mask.js';
import { dim, int, rewrite, type Expr, type Graph, type Node, type NodeOf } from '../ir.js';
import {
  product, summaryLayout, type AttendGeometry, type AttendKernel, type Binding, type Kernel, type SoftmaxKernel, type StreamRange,
  type SummaryKernel, type SummaryOf,
} from '../kernel.js';
import type { DeviceCaps } from '../caps.js';
import { fusedTopk } from '../heuristics.js';
import type { Pass } from '../pass.js';
import { expandPattern } from '../patterns.js';
import { routeKernels } from './fuse-route.js';
import { reads } from './verify.js';
import { mapExprs, readerCounts } from './util.js';

export const fuse: Pass = {
  name: 'fuse',
  summary: 'group graph operations into kernels (fused online-softmax attention; unfused with fusion: false)',
  stage: 'kernel',
  run: (m, opts) => ({
    ...m,
    kernels: buildKernels(m.graph, opts.fusion, opts.dims, opts.target ?? 'wgsl', {
      views: { ...opts.views, ...(opts.outputView ? { '@out': opts.outputView } : {}) },
      f16: (opts.target ?? 'wgsl') === 'wgsl' && !!opts.caps.shaderF16,
    }, opts.tensorBounds ?? true, opts.caps),
  }),
};

/**
 * How graph tensors sit in device memory: inputs given as strided views
 * (PassOptions.views) and `@out` for the output (PassOptions.outputView); `f16`: f16 tensors
 * stored as f16 (DeviceCaps.shaderF16), except views.
 */
interface Storage {
  views: Readonly<Record<string, 'vec4' | 'scalar'>>;
  f16: boolean;
}

/** What every kernel of one program shares: its specialisation and its target. */
interface Common {
  specialized: Record<string, number>;
  target: Kernel['target'];
  /** How tensors are stored on the device (views, f16). */
  store: Storage;
  /** The mask analysis may bound lookups by the tensors' values (PassOptions.tensorBounds; WGSL). */
  tensorBounds: boolean;
  /** Block summaries already computed by an earlier kernel of the program (by summaryKey). */
  summaries: Set<string>;
  /** Concatenations the attention kernels read in place (inPlaceConcats): no copy kernel. */
  inPlace: Set<number>;
  /** Attentions whose only reader is `f16(…)` of them, by attention (f16Epilogues): the kernel stores it. */
  f16Fold: Map<number, number>;
}

/**
 * Kernels of `graph` (unscheduled: run the tile pass next), for the nodes the output
 * depends on. WebGL has no WGSL-style unfused path (its multi-pass strategy is a schedule
 * the tile pass picks) and no routing by permutation.
 */
function buildKernels(
  graph: Graph, fusion: boolean, dims: Record<string, number>, target: Kernel['target'], store: Storage, tensorBounds: boolean,
  caps: DeviceCaps,
): Kernel[] {
  const { graph: g, specialized } = specializeHeadDims(graph, dims);
  const live = liveNodes(g);
  const inPlace = inPlaceConcats(g, live);
  const f16Fold = target === 'wgsl' ? f16Epilogues(g, live) : new Map<number, number>();
  const folded = new Set(f16Fold.values());
  const common: Common = { specialized, target, store, tensorBounds: tensorBounds && target === 'wgsl', summaries: new Set(), inPlace, f16Fold };
  const kernels: Kernel[] = [];
  for (const n of g.nodes) {
    if (!live.has(n.id)) continue;
    switch (n.op) {
      case 'input':
        break;
      case 'attend': {
        // An attention whose lse is read writes it beside its output: the fused kernel. A
        // top-k attention selects while it streams the keys where the fused selection fits
        // (fusedTopk); else over materialised scores: the unfused kernels, whose softmax
        // kernel then writes the lse (the WebGL schedule takes its `scores` strategy).
        const lse = g.nodes.find((x): x is NodeOf<'lse'> => x.op === 'lse' && x.attend === n.id && live.has(x.id));
        // (A topk(…) selection: its scores kernel, then the selection — unfused on WGSL.)
        const fused = target === 'webgl' || (!n.kept && (n.topk === undefined ? fusion || !!lse : fusion && fusedTopk(n.topk, caps)));
        kernels.push(...attendKernels(g, n, fused, common, lse));
        break;
      }
      case 'pool':
        kernels.push(poolKernel(g, n, common));
        break;
      case 'pool2d':
        kernels.push(pool2dKernel(g, n, common));
        break;
      case 'clusters':
        kernels.push(clustersKernel(g, n, common));
        break;
      case 'map':
        if (!inPlace.has(n.id) && !folded.has(n.id)) kernels.push(mapKernel(g, n, common));
        break;
      case 'lse':
        break; // written by its attention's kernel (attendKernels)
    }
  }
  return kernels;
}

/** Nodes the output depends on (operands, and tensors read by `load` in masks and scores). */
export function liveNodes(g: Graph): Set<number> {
  const live = new Set<number>();
  const stack = g.outputs.map((o) => o.node);
  while (stack.length) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    stack.push(...reads(g.nodes[id]!));
  }
  return live;
}

/**
 * The concatenations (`concat` maps) that only attentions read, as their keys or values —
 * not as queries, not by a lookup in a mask or score, not as an output. WGSL's attention
 * kernels read those in place, from the two parts (Binding.tail): no copy. WebGL packs
 * every attention operand into a texture; such a concatenation's pack reads the two parts
 * (targets/webgl/map.ts emitPackedMap): no flat copy before it.
 */
function inPlaceConcats(g: Graph, live: Set<number>): Set<number> {
  const all = readerCounts(g, live);
  const asKeys = new Map<number, number>();
  for (const n of g.nodes) {
    if (live.has(n.id) && n.op === 'attend') for (const id of [n.k, n.v]) asKeys.set(id, (asKeys.get(id) ?? 0) + 1);
  }
  const concat = (id: number) => { const n = g.nodes[id]!; return n.op === 'map' && !!n.concat; };
  return new Set([...asKeys].filter(([id, c]) => concat(id) && all.get(id) === c).map(([id]) => id));
}

/**
 * `f16(a)` of an attention `a` that nothing else reads (not an output, no lse of it): the
 * attention's kernel rounds its output rows to f16 as it stores them, into the f16
 * tensor's buffer (Binding.round) — no f32 copy of the output, no elementwise pass. By
 * attention id, the map node folded into it. (WebGL keeps the elementwise pass.)
 */
function f16Epilogues(g: Graph, live: Set<number>): Map<number, number> {
  const readers = readerCounts(g, live);
  const out = new Map<number, number>();
  for (const n of g.nodes) {
    if (!live.has(n.id) || n.op !== 'map' || n.expr.op !== 'call' || n.expr.fn !== 'f16') continue;
    const x = n.expr.args[0]!;
    const a = x.op === 'load' ? g.nodes[x.tensor]! : undefined;
    if (x.op !== 'load' || a?.op !== 'attend' || a.kept || readers.get(x.tensor) !== 1) continue;
    // Element (x0, …, x3) of the attention itself, nothing broadcast.
    if (x.idx.length !== 4 || !x.idx.every((e, k) => e.op === 'var' && e.name === `x${k}`)) continue;
    out.set(x.tensor, n.id);
  }
  return out;
}

// ---- specialisation ----

/** Names of the symbolic head dims of a graph (last axes of q/k/v, pooled, clustered tensors). */
export function headDimNames(g: Graph): string[] {
  const names = new Set<string>();
  const last = (id: number) => {
    const s = g.nodes[id]!.shape;
    const e = s[s.length - 1];
    if (e?.op === 'dim') names.add(e.name);
  };
  for (const n of g.nodes) {
    switch (n.op) {
      case 'attend': last(n.q); last(n.k); last(n.v); break;
      case 'pool': case 'pool2d': last(n.x); break;
      case 'clusters': last(n.x); last(n.centroids); break;
      default: break;
    }
  }
  return [...names].sort();
}

/** A dim the kernels specialise on has no size: a head dim, or (`every`: the WebGL target) any dim. */
export class SpecializationError extends Error {
  constructor(readonly dim: string, message: string, readonly every = false) {
    super(message);
  }
}

/**
 * Substitute the head dims by constants (from `dims`, else the graph's `dims` defaults) in
 * every shape and expression, and expand any pattern left unexpanded.
 */
export function specializeHeadDims(g: Graph, dims: Record<string, number> = {}): { graph: Graph; specialized: Record<string, number> } {
  const specialized: Record<string, number> = {};
  for (const name of headDimNames(g)) {
    const v = dims[name] ?? g.dimDefaults[name];
    if (v === undefined) {
      throw new SpecializationError(
        name,
        `head dim ${name} of \`${g.name}\` has no value: kernels are specialised on head dims; give it a default in \`dims\` or pass the input shapes`,
      );
    }
    specialized[name] = v;
  }
  const subst = (e: Expr): Expr =>
    rewrite(e, (x) => {
      if (x.op === 'dim' && specialized[x.name] !== undefined) return int(specialized[x.name]!);
      if (x.op === 'pattern' && !x.body) return { ...x, body: subst(expandPattern(x.origin)) };
      return x;
    });
  return { graph: mapExprs(g, subst), specialized };
}

// ---- kernels ----

function kernelName(g: Graph, n: Node, suffix: string): string {
  let base = `${g.name}_${n.op}${n.id}${suffix ? `_${suffix}` : ''}`.replace(/[^A-Za-z0-9_]/g, '_');
  if (base.startsWith('_')) base = `k${base}`;
  return base;
}

function nodeLabel(g: Graph, id: number): string {
  const n = g.nodes[id]!;
  const op = n.op === 'attend' && n.kept ? 'topk' : n.op;
  return n.op === 'input' ? `input ${n.name ?? `%${id}`}` : n.name ? `\`${n.name}\` (${op} %${id})` : `${op} %${id}`;
}

function headDim(g: Graph, id: number, what: string): number {
  const s = g.nodes[id]!.shape;
  const e = s[s.length - 1]!;
  if (e.op !== 'const' || typeof e.value !== 'number') {
    throw new Error(`internal: ${what} of \`${g.name}\` is not specialised`);
  }
  return e.value;
}

function tensorBinding(
  g: Graph, id: number, name: string, role: Binding['role'], access: Binding['access'], vec4: boolean, store: Storage,
): Binding {
  const n = g.nodes[id]!;
  const b: Binding = {
    name, role, buffer: { kind: 'node', node: id }, elem: n.elem === 'i32' ? 'i32' : 'f32', access, vec4,
    shape: n.shape, label: nodeLabel(g, id),
  };
  const tensor = n.op === 'input' ? n.name : id === g.output && n.op === 'attend' && !n.kept ? 'out' : undefined;
  const viewed = tensor === undefined ? undefined : n.op === 'input' ? store.views[tensor] : store.views['@out'];
  // An f16 tensor — an input, or an `f16(…)` result — stored as f16 where the device can
  // (a view is read as the caller's f32 buffer).
  if (!viewed) return n.elem === 'f16' && store.f16 ? { ...b, elem: 'f16' } : b;
  // A strided view of the caller's buffer: offset, strides and length are uniforms.
  const u = (what: string) => dim(`${tensor}__${what}`);
  return {
    ...b, vec4: vec4 && viewed === 'vec4',
    view: { offset: u('o'), strides: n.shape.slice(0, -1).map((_, a) => u(`s${a}`)), elems: u('n') },
  };
}

/**
 * An attention's keys or values: one binding, or for a concatenation read in place
 * (Common.inPlace) its two parts — `k` over x (Binding.tail naming the second) and
 * `k_tail` over y — which the kernel reads as one tensor of N1 + N2 rows per head.
 */
function operandBindings(g: Graph, id: number, role: 'k' | 'v', vec4: boolean, common: Common): Binding[] {
  const n = g.nodes[id]!;
  if (n.op !== 'map' || !common.inPlace.has(id)) return [tensorBinding(g, id, role, role, 'read', vec4, common.store)];
  const [x, y] = n.args as [number, number];
  return [
    { ...tensorBinding(g, x, role, role, 'read', vec4, common.store), tail: `${role}_tail` },
    tensorBinding(g, y, `${role}_tail`, 'tail', 'read', vec4, common.store),
  ];
}

/** Bindings for the tensors read by `load`s in the given expressions (scalar views). */
function lookupBindings(g: Graph, exprs: Expr[], store: Storage): Binding[] {
  const ids = new Set<number>();
  const walk = (e: Expr) =>
    rewrite(e, (x) => {
      if (x.op === 'load') ids.add(x.tensor);
      return x;
    });
  exprs.forEach(walk);
  return [...ids].sort((a, b) => a - b).map((id) => {
    const n = g.nodes[id]!;
    const nm = `t${id}${n.name ? `_${n.name.replace(/[^A-Za-z0-9_]/g, '_')}` : ''}`;
    return { ...tensorBinding(g, id, nm, 'lookup', 'read', false, store), node: id };
  });
}

function attendKernels(g: Graph, n: NodeOf<'attend'>, fusion: boolean, common: Common, lse?: NodeOf<'lse'>): Kernel[] {
  const { specialized, target, store } = common;
  const qs = g.nodes[n.q]!.shape;
  const ks = g.nodes[n.k]!.shape;
  const D = headDim(g, n.q, 'the head dim of q');
  const Dk = headDim(g, n.k, 'the head dim of k');
  const Dv = headDim(g, n.v, 'the head dim of v');
  if (D !== Dk) throw new Error(`internal: attend %${n.id}: q has head dim ${D} but k has ${Dk}`);
  const geom: AttendGeometry = { B: qs[0]!, H: qs[1]!, Hk: ks[1]!, N: qs[2]!, M: ks[2]!, D, Dv };
  const lookups = lookupBindings(g, [n.mask, n.score], store);
  const q = tensorBinding(g, n.q, 'q', 'q', 'read', D % 4 === 0, store);
  const [k, ...kTail] = operandBindings(g, n.k, 'k', D % 4 === 0, common);
  const [v, ...vTail] = operandBindings(g, n.v, 'v', Dv % 4 === 0, common);
  const kv = [k!, ...kTail, v!, ...vTail];
  // (An f16(…) of it folded in: the kernel stores its rounded rows into that tensor.)
  const f16Of = common.f16Fold.get(n.id);
  const out: Binding = f16Of === undefined ? tensorBinding(g, n.id, 'out', 'out', 'read_write', Dv % 4 === 0, store)
    : { ...tensorBinding(g, f16Of, 'out', 'out', 'read_write', Dv % 4 === 0, store), round: 'f16' };
  // (WGSL: written by the fused kernel, or by the softmax kernel of a top-k attention's
  // unfused ones; WebGL renders it from the attention's passes, targets/webgl/plan.ts.)
  const lseOut = lse ? [tensorBinding(g, lse.id, 'lse', 'lse', 'read_write', false, store)] : [];
  const analysis = { tensors: common.tensorBounds };
  const { full, empty } = tilePredicates(n.mask, analysis);
  const base: Omit<AttendKernel, 'kind' | 'name' | 'label' | 'bindings'> = {
    node: n.id, geom, mask: n.mask, score: n.score, scale: n.scale, keyRanges: null, queryRanges: null,
    tileFull: full, tileEmpty: empty, ...(n.topk !== undefined && (target === 'webgl' || fusion) ? { topk: n.topk } : {}),
    ...(n.kept ? { kept: true as const } : {}),
    schedule: null, webgl: null, uniforms: [], workgroups: int(0), features: [], specialized, target,
  };
  const what = `attend %${n.id} (normalize: ${n.normalize})`;
  const scratch = (suffix: string, elems: Expr) => ({ kind: 'scratch' as const, id: `${n.id}.${suffix}`, elems });
  if (fusion) {
    if (n.normalize === 'keys') {
      // A routing mask (`cq[b, h, i] == ck[b, hk, j] && …`): sort by cluster, attend within
      // (route.ts); not where the lse is read (the fused kernel writes it), nor for top-k.
      const routed = target === 'webgl' || lse || n.topk !== undefined ? null : routeKernels(g, n, {
        geom, q, kv, out, specialized, kernelName: (s) => kernelName(g, n, s), lookupBindings: (es) => lookupBindings(g, es, store),
      });
      if (routed) return routed;
      return withSummaries(g, common, [{
        ...base, kind: 'attend', name: kernelName(g, n, 'fused'), label: `${what}, fused online softmax`,
        bindings: [q, ...kv, out, ...lookups, ...lseOut], keyRanges: keyRanges(n.mask, analysis),
      }]);
    }
    const stats: Binding = {
      name: 'stats', role: 'stats', buffer: scratch('stats', product([geom.B, geom.H, geom.M, int(2)])), elem: 'f32',
      access: 'read_write', vec4: false, shape: [geom.B, geom.H, geom.M, int(2)], label: `column statistics of attend %${n.id}`,
    };
    return withSummaries(g, common, [
      {
        ...base, kind: 'colstats', name: kernelName(g, n, 'colstats'), label: `${what}, pass 1: column max/sum`,
        bindings: [q, k!, ...kTail, stats, ...lookups], queryRanges: queryRangesOf(n.mask, analysis),
      },
      {
        ...base, kind: 'colapply', name: kernelName(g, n, 'colapply'), label: `${what}, pass 2: weighted sum`,
        bindings: [q, ...kv, { ...stats, access: 'read' }, out, ...lookups], keyRanges: keyRanges(n.mask, analysis),
      },
    ]);
  }
  // A topk(…) selection's scores are its own tensor, which the selection overwrites with
  // its 1/0 indicator in place.
  const scores: Binding = {
    name: 'scores', role: 'scores', buffer: n.kept ? { kind: 'node', node: n.id } : scratch('scores', product([geom.B, geom.H, geom.N, geom.M])),
    elem: 'f32', access: 'read_write', vec4: false, shape: [geom.B, geom.H, geom.N, geom.M],
    label: n.kept ? nodeLabel(g, n.id) : `scores of attend %${n.id}`,
  };
  if (n.kept) {
    const scoresKernel: AttendKernel = {
      ...base, kind: 'scores', name: kernelName(g, n, 'scores'), label: `topk %${n.id}, 1/2: masked scores`, bindings: [q, k!, ...kTail, scores, ...lookups],
    };
    return withSummaries(g, common, [scoresKernel, {
      kind: 'softmax', axis: 'keys', name: kernelName(g, n, 'select'), node: n.id, label: `topk %${n.id}, 2/2: the ${n.topk} kept keys per query (1, else 0)`,
      bindings: [scores], geom, topk: n.topk!, indicator: true, uniforms: [], workgroups: int(0), features: [], specialized, target, schedule: null,
    }]);
  }
  const softmax: SoftmaxKernel = {
    kind: 'softmax', axis: n.normalize, name: kernelName(g, n, 'softmax'), node: n.id,
    label: `${what}, unfused 2/3: ${n.topk === undefined ? '' : `top-${n.topk} selection, `}softmax over ${n.normalize}`, bindings: [scores, ...lseOut], geom,
    ...(n.topk === undefined ? {} : { topk: n.topk }),
    uniforms: [], workgroups: int(0), features: [], specialized, target, schedule: null,
  };
  return withSummaries(g, common, [
    {
      ...base, kind: 'scores', name: kernelName(g, n, 'scores'), label: `${what}, unfused 1/3: masked scores`,
      bindings: [q, k!, ...kTail, scores, ...lookups],
    },
    softmax,
    {
      ...base, kind: 'pv', name: kernelName(g, n, 'pv'), label: `${what}, unfused 3/3: P·V`,
      bindings: [{ ...scores, access: 'read' }, v!, ...vTail, out],
    },
  ]);
}

// ---- block summaries of the tensors masks read ----

const summaryKey = (s: SummaryOf) => `${s.tensor}.${s.axis}.${s.block}`;

/** The block summaries an attention kernel's tile predicates and ranges read. */
function summariesRead(k: AttendKernel): SummaryOf[] {
  const found = new Map<string, SummaryOf>();
  const exprs = [k.tileFull, k.tileEmpty, ...[...(k.keyRanges ?? []), ...(k.queryRanges ?? [])].flatMap((r) => [r.lo, r.hi])];
  for (const e of exprs) {
    rewrite(e, (x) => {
      if (x.op === 'summary') {
        const s: SummaryOf = { tensor: x.tensor, shape: [], axis: x.axis, block: x.block };
        found.set(summaryKey(s), s);
      }
      return x;
    });
  }
  return [...found.values()];
}

/**
 * Give each attention kernel that reads block summaries their bindings, and put a
 * `summary` kernel before the first kernel of the program that reads each.
 */
function withSummaries(g: Graph, common: Common, kernels: Kernel[]): Kernel[] {
  const out: Kernel[] = [];
  for (const k of kernels) {
    // (pv evaluates no mask: its scores are already masked.)
    if (k.kind !== 'attend' && k.kind !== 'colstats' && k.kind !== 'colapply' && k.kind !== 'scores') {
      out.push(k);
      continue;
    }
    const bindings: Binding[] = [];
    for (const found of summariesRead(k)) {
      const s = { ...found, shape: g.nodes[found.tensor]!.shape };
      const b = summaryBinding(g, s);
      bindings.push({ ...b, access: 'read' });
      if (!common.summaries.has(summaryKey(s))) {
        common.summaries.add(summaryKey(s));
        out.push(summaryKernel(g, s, b, common));
      }
    }
    out.push(bindings.length ? { ...k, bindings: [...k.bindings, ...bindings] } : k);
  }
  return out;
}

function summaryBinding(g: Graph, s: SummaryOf): Binding {
  const t = g.nodes[s.tensor]!;
  const tensorName = t.name ?? `%${s.tensor}`;
  const { outer, blocks, inner, elems } = summaryLayout(s);
  return {
    name: `sm${s.tensor}_a${s.axis}_b${s.block}`, role: 'summary', elem: t.elem === 'i32' ? 'i32' : 'f32', access: 'read_write', vec4: false,
    buffer: { kind: 'scratch', id: `summary.${summaryKey(s)}`, elems }, shape: [int(2), outer, blocks, inner],
    label: `min/max of ${tensorName} per ${s.block} along axis ${s.axis}`, summary: s,
  };
}

function summaryKernel(g: Graph, s: SummaryOf, out: Binding, { specialized, target, store }: Common): SummaryKernel {
  const t = g.nodes[s.tensor]!;
  const src = { ...tensorBinding(g, s.tensor, `t${s.tensor}`, 'lookup', 'read', false, store), node: s.tensor };
  return {
    kind: 'summary', name: `${g.name}_summary${s.tensor}_a${s.axis}_b${s.block}`.replace(/[^A-Za-z0-9_]/g, '_'), node: s.tensor,
    label: `block summaries of ${t.name ?? `%${s.tensor}`}: min and max per ${s.block} positions of axis ${s.axis}`,
    bindings: [src, out], uniforms: [], workgroups: int(0), features: [], specialized, target, summary: s, schedule: null,
  };
}

function poolKernel(g: Graph, n: NodeOf<'pool'>, { specialized, target, store }: Common): Kernel {
  const xs = g.nodes[n.x]!.shape;
  const D = headDim(g, n.x, 'the last axis of the pooled tensor');
  return {
    kind: 'pool', name: kernelName(g, n, ''), node: n.id,
    label: `pool %${n.id} (adaptive ${n.weights === undefined ? '' : 'weighted '}average over the sequence)`,
    bindings: [
      tensorBinding(g, n.x, 'src', 'x', 'read', false, store), tensorBinding(g, n.id, 'out', 'out', 'read_write', false, store),
      ...(n.weights === undefined ? [] : [tensorBinding(g, n.weights, 'weights', 'weights', 'read', false, store)]),
    ],
    uniforms: [], workgroups: int(0), features: [], specialized, target,
    B: xs[0]!, H: xs[1]!, N: xs[2]!, tokens: n.tokens, D, schedule: null,
  };
}

function pool2dKernel(g: Graph, n: NodeOf<'pool2d'>, { specialized, target, store }: Common): Kernel {
  const xs = g.nodes[n.x]!.shape;
  const D = headDim(g, n.x, 'the last axis of the pooled tensor');
  return {
    kind: 'pool2d', name: kernelName(g, n, ''), node: n.id, label: `pool2d %${n.id} (adaptive average over a grid)`,
    bindings: [tensorBinding(g, n.x, 'src', 'x', 'read', false, store), tensorBinding(g, n.id, 'out', 'out', 'read_write', false, store)],
    uniforms: [], workgroups: int(0), features: [], specialized, target,
    B: xs[0]!, H: xs[1]!, height: n.height, width: n.width, to: n.to, D, schedule: null,
  };
}

function clustersKernel(g: Graph, n: NodeOf<'clusters'>, { specialized, target, store }: Common): Kernel {
  const xs = g.nodes[n.x]!.shape;
  const cs = g.nodes[n.centroids]!.shape;
  const D = headDim(g, n.x, 'the last axis of the clustered tensor');
  return {
    kind: 'clusters', name: kernelName(g, n, ''), node: n.id, label: `clusters %${n.id} (nearest centroid by cosine)`,
    bindings: [
      tensorBinding(g, n.x, 'src', 'x', 'read', false, store),
      tensorBinding(g, n.centroids, 'centroids', 'centroids', 'read', false, store),
      tensorBinding(g, n.id, 'out', 'out', 'read_write', false, store),
    ],
    uniforms: [], workgroups: int(0), features: [], specialized, target,
    B: xs[0]!, H: xs[1]!, N: xs[2]!, C: cs[1]!, D, schedule: null,
  };
}

function mapKernel(g: Graph, n: NodeOf<'map'>, { specialized, target, store }: Common): Kernel {
  return {
    kind: 'map', name: kernelName(g, n, ''), node: n.id, label: `map %${n.id} (elementwise arithmetic)`,
    bindings: [tensorBinding(g, n.id, 'out', 'out', 'read_write', false, store), ...lookupBindings(g, [n.expr], store)],
    uniforms: [], workgroups: int(0), features: [], specialized, target, shape: n.shape, expr: n.expr, schedule: null,
  };
}

// ---- ranges from the mask analysis ----

/**
 * Query ranges for a block of key columns [k_lo, k_hi]: the key-range analysis applied to
 * the mask with the roles of i and j swapped (patterns replaced by their bodies, since
 * their closed forms are written for query rows).
 */
export function queryRangesOf(mask: Expr, opts: AnalysisOptions = {}): StreamRange[] | null {
  const swapped = rewrite(mask, (x) => {
    if (x.op === 'index' && (x.name === 'i' || x.name === 'j')) return { ...x, name: x.name === 'i' ? 'j' : 'i' };
    if (x.op === 'pattern') return x.body ?? x;
    return x;
  });
  const ranges = keyRanges(swapped, opts);
  const rename = (e: Expr) =>
    rewrite(e, (x) => (x.op === 'var' ? (x.name === 'q_lo' ? K_LO : x.name === 'q_hi' ? K_HI : x) : x));
  return ranges && ranges.map((r) => ({ lo: rename(r.lo), hi: rename(r.hi) }));
}
