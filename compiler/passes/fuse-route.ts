// Routing by permutation: attention restricted to clusters, at a cost that scales with
// Σ_c |Q_c|·|K_c| instead of N·M.
//
// Recognised (fused, normalize: keys): a mask `cq[b, h, i] == ck[b, hk, j]`, alone or as a
// top-level `&&` conjunct (either side order), where `cq`, `ck` are `clusters` nodes shaped
// like the queries ([B, H, N]) and the keys ([B, Hk, M]). `ck[b, h, j]` is accepted when the
// key heads are the query heads (same dim). The other conjuncts (`extra`, e.g. `causal`)
// are evaluated per entry on the ORIGINAL positions i, j.
//
// Two kernels replace the fused attend:
// - `route-sort`: one invocation per (b, head, cluster c), queries and keys alike: it scans
//   its head's cluster ids in order, counts the ids below c (the cluster's start) and equal
//   to c (its size), then writes the positions with id c, ascending, into its slice of the
//   head's permutation — a stable counting sort, O(C·N) per head, deterministic, no atomics
//   and no barriers. Everything lives in one i32 scratch buffer (layout in kernel.ts,
//   `RouteSortKernel`); every element read later is written first (pooled buffers are not
//   cleared).
// - `route-attend`: a workgroup per (b, h, c, block of the cluster's query slots), over an
//   upper-bound grid B·H·C·ceil(N / rows) (blocks past the cluster's size exit at once).
//   Each query row gathers its vector through the query permutation, streams the cluster's
//   keys/values through the key permutation (online softmax in f32 as the fused kernel:
//   running max/sum, one division at the end, scores ≤ −1e30 masked, a row with no allowed
//   key is exactly 0) and writes its ORIGINAL output row. With `causal` in `extra`, the key
//   loop stops at the first key past the block's largest query position (the permutations
//   are ascending, so a binary search finds it).
//
// This file is the fuse pass's part (recognising the mask, building the two kernels); their
// schedules are chosen by the tile pass (tile-route.ts).

import type { Expr, Graph, NodeOf } from '../ir.js';
import { int } from '../ir.js';
import {
  add, product, type AttendGeometry, type Binding, type Kernel, type RouteAttendKernel, type RouteSortKernel,
} from '../kernel.js';

/** What fuse.ts hands over: the attend's geometry, its main bindings and naming helpers. */
export interface RouteContext {
  geom: AttendGeometry;
  q: Binding;
  /** The keys' and values' bindings (each with its tail where read in place from a concat). */
  kv: Binding[];
  out: Binding;
  specialized: Record<string, number>;
  kernelName: (suffix: string) => string;
  lookupBindings: (exprs: Expr[]) => Binding[];
}

export interface RouteMatch {
  /** The clusters nodes read for the queries and the keys. */
  cq: number;
  ck: number;
  /** Clusters of the query side (its centroids' shape[1]). */
  C: Expr;
  extra: Expr;
  causal: boolean;
}

const same = (a: Expr, b: Expr): boolean => JSON.stringify(a) === JSON.stringify(b);
const isIndex = (e: Expr, name: string): boolean => e.op === 'index' && e.name === name;

function conjuncts(e: Expr, out: Expr[] = []): Expr[] {
  if (e.op === 'and') {
    conjuncts(e.a, out);
    conjuncts(e.b, out);
  } else out.push(e);
  return out;
}

function isCausal(e: Expr): boolean {
  if (e.op === 'pattern') return e.origin.name === 'causal' || (e.body !== null && isCausal(e.body));
  if (e.op === 'le') return isIndex(e.a, 'j') && isIndex(e.b, 'i');
  if (e.op === 'ge') return isIndex(e.a, 'i') && isIndex(e.b, 'j');
  return false;
}

/** The routing pattern in an attend's mask, or null. */
export function matchRouting(g: Graph, n: NodeOf<'attend'>, geom: AttendGeometry): RouteMatch | null {
  if (n.normalize !== 'keys') return null;
  const parts = conjuncts(n.mask);
  const clustersLoad = (e: Expr, pos: 'i' | 'j'): number | null => {
    if (e.op !== 'load' || e.idx.length !== 3) return null;
    const node = g.nodes[e.tensor];
    if (node?.op !== 'clusters') return null;
    const [eb, eh, ep] = e.idx as [Expr, Expr, Expr];
    if (!isIndex(eb, 'b') || !isIndex(ep, pos)) return null;
    const want = pos === 'i' ? [geom.B, geom.H, geom.N] : [geom.B, geom.Hk, geom.M];
    if (node.shape.length !== 3 || !node.shape.every((s, a) => same(s, want[a]!))) return null;
    if (pos === 'i') return isIndex(eh, 'h') ? node.id : null;
    if (isIndex(eh, 'hk') || (isIndex(eh, 'h') && same(geom.H, geom.Hk))) return node.id;
    return null;
  };
  for (let p = 0; p < parts.length; p++) {
    const e = parts[p]!;
    if (e.op !== 'eq') continue;
    let cq = clustersLoad(e.a, 'i');
    let ck = clustersLoad(e.b, 'j');
    if (cq === null || ck === null) {
      cq = clustersLoad(e.b, 'i');
      ck = clustersLoad(e.a, 'j');
    }
    if (cq === null || ck === null) continue;
    const cn = g.nodes[cq] as NodeOf<'clusters'>;
    const C = g.nodes[cn.centroids]!.shape[1]!;
    const rest = parts.filter((_, x) => x !== p);
    const extra = rest.length
      ? rest.reduce((a, b) => ({ op: 'and', ty: 'bool', a, b }) as Expr)
      : ({ op: 'const', ty: 'bool', value: true } as Expr);
    return { cq, ck, C, extra, causal: rest.some(isCausal) };
  }
  return null;
}

/** Elements of the `route` scratch buffer (layout: kernel.ts, RouteSortKernel). */
function routeElems(geom: AttendGeometry, C: Expr): Expr {
  const { B, H, Hk, N, M } = geom;
  return add(
    add(product([int(2), B, H, C]), product([int(2), B, Hk, C])),
    add(product([B, H, N]), product([B, Hk, M])),
  );
}

/** The routing kernels for attend `n`, or null when its mask is not a routing mask. */
export function routeKernels(g: Graph, n: NodeOf<'attend'>, ctx: RouteContext): Kernel[] | null {
  const m = matchRouting(g, n, ctx.geom);
  if (!m) return null;
  const { geom } = ctx;
  const ids = (id: number, name: string, role: 'qids' | 'kids'): Binding => {
    const node = g.nodes[id]!;
    return {
      name, role, buffer: { kind: 'node', node: id }, elem: 'i32', access: 'read', vec4: false, shape: node.shape,
      label: `cluster ids \`${node.name ?? `%${id}`}\` (clusters %${id})`,
    };
  };
  const elems = routeElems(geom, m.C);
  const route: Binding = {
    name: 'route', role: 'route', buffer: { kind: 'scratch', id: `${n.id}.route`, elems }, elem: 'i32',
    access: 'read_write', vec4: false, shape: [elems], label: `cluster ranges and permutations of attend %${n.id}`,
  };
  const what = `attend %${n.id} (normalize: keys), routed by cluster`;
  const common = { node: n.id, uniforms: [], workgroups: int(0), features: [], specialized: ctx.specialized, target: 'wgsl' as const, geom, C: m.C };
  const sort: RouteSortKernel = {
    ...common, kind: 'route-sort', name: ctx.kernelName('route_sort'),
    label: `${what}, pass 1: stable counting sort of queries and keys by cluster`,
    bindings: [ids(m.cq, 'qids', 'qids'), ids(m.ck, 'kids', 'kids'), route], schedule: null,
  };
  const attend: RouteAttendKernel = {
    ...common, kind: 'route-attend', name: ctx.kernelName('route_attend'),
    label: `${what}, pass 2: attention within each cluster (online softmax)`,
    bindings: [ctx.q, ...ctx.kv, ctx.out, { ...route, access: 'read' }, ...ctx.lookupBindings([m.extra, n.score])],
    extra: m.extra, causal: m.causal, score: n.score, scale: n.scale, schedule: null,
  };
  return [sort, attend];
}
