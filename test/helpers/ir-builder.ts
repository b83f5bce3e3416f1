// Hand-built IR graphs for the reference-executor tests (no parser needed).

import {
  bin,
  bool,
  call,
  dim,
  float,
  index,
  int,
  not,
  select,
  type ElemType,
  type Expr,
  type Graph,
  type Node,
  type Pattern,
  type Scalar,
} from '../../compiler/ir.js';

export { bin, bool, call, dim, float, index, int, not, select };

export type DimLike = Expr | string | number;
const toExpr = (d: DimLike): Expr => (typeof d === 'string' ? dim(d) : typeof d === 'number' ? int(d) : d);

export const i = index('i');
export const j = index('j');
export const b = index('b');
export const h = index('h');
export const hk = index('hk');
export const s: Expr = { op: 'score', ty: 'float' };

export const load = (tensor: number, idx: Expr[], ty: Scalar = 'float'): Expr => ({ op: 'load', ty, tensor, idx });
export const fl = (e: Expr): Expr => call('float', [e], 'float');
/** The default scale `1 / sqrt(float(D))`. */
export const defaultScale = (D: DimLike = 'D'): Expr => bin('div', float(1), call('sqrt', [fl(toExpr(D))], 'float'));

// ---- patterns, with bodies written from the spec's table (§3) ----

const and = (a: Expr, c: Expr) => bin('and', a, c);
const or = (a: Expr, c: Expr) => bin('or', a, c);

export const pattern = (origin: Pattern, body: Expr | null): Expr => ({ op: 'pattern', ty: 'bool', origin, body });

export const causal = (): Expr => pattern({ name: 'causal' }, bin('le', j, i));
export const windowP = (r: number): Expr =>
  pattern({ name: 'window', r: int(r) }, bin('le', call('abs', [bin('sub', i, j)], 'int'), int(r)));
export const sliding = (w: number): Expr =>
  pattern({ name: 'sliding', w: int(w) }, and(bin('le', j, i), bin('lt', bin('sub', i, j), int(w))));
export const block = (size: number): Expr =>
  pattern({ name: 'block', size: int(size) }, bin('eq', bin('div', i, int(size)), bin('div', j, int(size))));
export const halo = (size: number, overlap: number): Expr => {
  const blk = bin('div', i, int(size));
  return pattern(
    { name: 'halo', size: int(size), overlap: int(overlap) },
    and(
      bin('ge', j, bin('sub', bin('mul', blk, int(size)), int(overlap))),
      bin('lt', j, bin('add', bin('mul', bin('add', blk, int(1)), int(size)), int(overlap))),
    ),
  );
};
export const sink = (n: number): Expr => pattern({ name: 'sink', n: int(n) }, bin('lt', j, int(n)));
export const globalP = (n: number): Expr => pattern({ name: 'global', n: int(n) }, or(bin('lt', i, int(n)), bin('lt', j, int(n))));

/** NATTEN's one-axis rule as an Expr over the axis positions `x` (query) and `y` (key). */
export function nattenBody(x: Expr, y: Expr, L: Expr, k: number, d: number, isCausal: boolean): Expr {
  const g = bin('mod', x, int(d));
  const same = bin('eq', bin('mod', y, int(d)), g);
  const xp = bin('div', x, int(d));
  const yp = bin('div', y, int(d));
  if (isCausal) {
    const lo = call('max', [bin('add', bin('sub', xp, int(k)), int(1)), int(0)], 'int');
    return and(same, and(bin('le', lo, yp), bin('le', yp, xp)));
  }
  const Lg = bin('div', bin('add', bin('sub', L, g), int(d - 1)), int(d));
  const wl = Math.floor(k / 2);
  const wr = k - 1 - wl;
  const c = call('clamp', [xp, int(wl), bin('sub', bin('sub', Lg, int(1)), int(wr))], 'int');
  return and(same, and(bin('le', bin('sub', c, int(wl)), yp), bin('le', yp, bin('add', c, int(wr)))));
}

export const neighborhood = (kernel: number, dilation = 1, isCausal = false, length: DimLike = 'N', keyLength: DimLike = 'M'): Expr =>
  pattern(
    { name: 'neighborhood', kernel: int(kernel), dilation: int(dilation), causal: isCausal, length: toExpr(length), keyLength: toExpr(keyLength) },
    nattenBody(i, j, toExpr(length), kernel, dilation, isCausal),
  );

export const neighborhood2d = (
  height: number,
  width: number,
  kernel: [number, number],
  dilation: [number, number] = [1, 1],
  isCausal: [boolean, boolean] = [false, false],
  length: DimLike = 'N',
  keyLength: DimLike = 'M',
): Expr =>
  pattern(
    {
      name: 'neighborhood2d',
      height: int(height),
      width: int(width),
      kernel: [int(kernel[0]), int(kernel[1])],
      dilation: [int(dilation[0]), int(dilation[1])],
      causal: isCausal,
      length: toExpr(length),
      keyLength: toExpr(keyLength),
    },
    and(
      nattenBody(bin('div', i, int(width)), bin('div', j, int(width)), int(height), kernel[0], dilation[0], isCausal[0]),
      nattenBody(bin('mod', i, int(width)), bin('mod', j, int(width)), int(width), kernel[1], dilation[1], isCausal[1]),
    ),
  );

// ---- graphs ----

export interface AttendOpts {
  mask?: Expr;
  score?: Expr;
  scale?: Expr;
  normalize?: 'keys' | 'queries';
  name?: string;
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly inputs: number[] = [];

  private shape(id: number): Expr[] {
    return this.nodes[id]!.shape;
  }

  input(name: string, shape: DimLike[], elem: ElemType = 'f32'): number {
    const id = this.nodes.length;
    this.nodes.push({ id, op: 'input', name, elem, shape: shape.map(toExpr) });
    this.inputs.push(id);
    return id;
  }

  pool(x: number, tokens: DimLike, name?: string): number {
    const id = this.nodes.length;
    const [B, H, , D] = this.shape(x);
    this.nodes.push({ id, op: 'pool', name, elem: 'f32', x, tokens: toExpr(tokens), shape: [B!, H!, toExpr(tokens), D!] });
    return id;
  }

  pool2d(x: number, height: DimLike, width: DimLike, to: [DimLike, DimLike], name?: string): number {
    const id = this.nodes.length;
    const [B, H, , D] = this.shape(x);
    const [ph, pw] = [toExpr(to[0]), toExpr(to[1])];
    this.nodes.push({
      id, op: 'pool2d', name, elem: 'f32', x, height: toExpr(height), width: toExpr(width), to: [ph, pw],
      shape: [B!, H!, bin('mul', ph, pw), D!],
    });
    return id;
  }

  clusters(x: number, centroids: number, name?: string): number {
    const id = this.nodes.length;
    const [B, H, N] = this.shape(x);
    this.nodes.push({ id, op: 'clusters', name, elem: 'i32', x, centroids, shape: [B!, H!, N!] });
    return id;
  }

  attend(q: number, k: number, v: number, opts: AttendOpts = {}): number {
    const id = this.nodes.length;
    const [B, H, N, D] = this.shape(q);
    const Dv = this.shape(v)[3]!;
    this.nodes.push({
      id, op: 'attend', name: opts.name, elem: 'f32', q, k, v,
      mask: opts.mask ?? bool(true),
      score: opts.score ?? s,
      scale: opts.scale ?? bin('div', float(1), call('sqrt', [fl(D!)], 'float')),
      normalize: opts.normalize ?? 'keys',
      shape: [B!, H!, N!, Dv],
    });
    return id;
  }

  build(output = this.nodes.length - 1, dimDefaults: Record<string, number> = {}, name = 'test'): Graph {
    return { name, inputs: [...this.inputs], nodes: [...this.nodes], output, outputs: [{ name: 'out', node: output }], dimDefaults, params: {} };
  }
}

/**
 * The common graph: `q: [B, H, N, D]`, `k: [B, Hk, M, D]`, `v: [B, Hk, M, Dv]` (ids 0, 1, 2),
 * extra inputs from `extra` (ids 3, …), and one attend returned.
 */
export function attendGraph(
  opts: AttendOpts & { extra?: { name: string; shape: DimLike[]; elem?: ElemType }[] } = {},
): Graph {
  const g = new GraphBuilder();
  const q = g.input('q', ['B', 'H', 'N', 'D']);
  const k = g.input('k', ['B', 'Hk', 'M', 'D']);
  const v = g.input('v', ['B', 'Hk', 'M', 'Dv']);
  for (const x of opts.extra ?? []) g.input(x.name, x.shape, x.elem ?? 'f32');
  g.attend(q, k, v, opts);
  return g.build();
}
