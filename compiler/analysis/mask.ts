// Mask analysis: what a `mask:` expression allows over a tile of queries × keys, derived
// symbolically at compile time and evaluated cheaply in the kernel (no N² work, no table).
//
// - `tilePredicates(mask)`: two bool Exprs over the tile bounds `q_lo, q_hi, k_lo, k_hi`
//   (inclusive): `full` ⇒ the mask is true at every point of the tile, `empty` ⇒ false at
//   every point. Both are SOUND, never complete: when in doubt they are false, and the
//   tile is "mixed" (the kernel evaluates the mask per element).
// - `keyRanges(mask)`: intervals of keys, as Exprs over the query range `q_lo, q_hi`,
//   whose union contains every key any of those queries may see. Kernels loop only over
//   them. `null` means no bound is known (every key may be allowed).
//
// Both work by interval arithmetic over the index expressions, with the pattern builtins'
// exact closed forms where intervals would be too coarse.
//
// Masks that read tensors (`doc[b, i] == doc[b, j]`, `j < len[b]`, a block table) are
// bounded through the tensors' values, when the caller allows it (`{ tensors: true }`:
// the WGSL kernels, which can read them): a lookup whose indices do not depend on i or j
// is its own exact bound (the kernel evaluates it, `b` and `h` in scope); a lookup with
// one index that does, over a bounded range of positions, is bounded by the min and max
// of its values there — the `summary` op, read from block summaries that a small kernel
// computes on the device in O(tensor) work. With `tensors: false` (WebGL, whose key
// ranges are evaluated on the host; or the derivation turned off) a lookup bounds nothing.
//
// Pattern arguments are ints of either sign (`block(-4)` groups i by floor(i / −4), which is
// not a block of 4): each closed form is used only where it holds for the argument's
// value as known at compile time — a constant, or a dim (dims are ≥ 1) — and otherwise
// the pattern's body is analysed like any other expression. Constants are also kept small
// enough (|c| ≤ 2^28) that no bound overflows 32 bits for any sequence length a device can
// hold; a larger one gets a coarser bound or none.

import {
  bin, bool, call, children, E, int, mapChildren, not, select, some, variable, type Expr, type Pattern,
} from '../ir.js';
import { SUMMARY_BLOCK } from '../heuristics.js';
import { simplifyExpr } from '../passes/simplify.js';

export const Q_LO = variable('q_lo');
export const Q_HI = variable('q_hi');
export const K_LO = variable('k_lo');
export const K_HI = variable('k_hi');

/** An interval of ints; `null` is an unknown bound (−∞ / +∞). */
interface Interval {
  lo: Expr | null;
  hi: Expr | null;
}

/** Tri-state of a bool over the tile: `t` ⇒ true everywhere, `f` ⇒ false everywhere. */
interface Truth {
  t: Expr;
  f: Expr;
}

const TRUE = bool(true);
const FALSE = bool(false);
const UNKNOWN_TRUTH: Truth = { t: FALSE, f: FALSE };
const UNBOUNDED: Interval = { lo: null, hi: null };

const { add, sub, mul, div, mod, and, or, min, max } = E;
const lift = <T>(f: (a: Expr, b: Expr) => T) => (a: Expr | null, b: Expr | null): T | null =>
  a && b ? f(a, b) : null;

export interface AnalysisOptions {
  /** Bound lookups by their values (exact, or through block summaries); default false. */
  tensors?: boolean;
}

/** The options of the analysis in progress (the recursion reads them; set per call). */
let tensorBounds = false;

function withOptions<T>(opts: AnalysisOptions, f: () => T): T {
  const saved = tensorBounds;
  tensorBounds = opts.tensors ?? false;
  try {
    return f();
  } finally {
    tensorBounds = saved;
  }
}

export function tilePredicates(mask: Expr, opts: AnalysisOptions = {}): { full: Expr; empty: Expr } {
  const r = withOptions(opts, () => truth(mask));
  return { full: simplifyExpr(r.t), empty: simplifyExpr(r.f) };
}

/** A divisor known to be positive: a positive constant or a dim (dims are ≥ 1). */
function positive(e: Expr): boolean {
  return (e.op === 'const' && typeof e.value === 'number' && e.value > 0) || e.op === 'dim';
}

/** The value of an int constant, else undefined. */
function constant(e: Expr): number | undefined {
  return e.op === 'const' && typeof e.value === 'number' ? e.value : undefined;
}

/** A negative constant divisor (floor division by it is monotone non-increasing). */
function negativeConstant(e: Expr): boolean {
  const c = constant(e);
  return c !== undefined && c < 0;
}

// ---- a budget on what the analysis builds ----
// Some rules use an operand's bounds twice (`?:`'s truth, `%`, `abs`, the hull of key
// ranges), so over nested `?:` chains or `&&` of unions the derived Exprs would grow
// exponentially (a 16-case `?:` chain took seconds, 32 cases never finished). Every
// bound and predicate is therefore kept within a size and a depth — replaced by "unknown"
// (an unbounded end, a false predicate, no key ranges) beyond them, which is always sound.
// The depth also keeps the kernels' predicates within the targets' own limits (Tint
// stops at a parser depth of 128).
const MAX_SIZE = 1500;
const MAX_DEPTH = 40;
const measured = new WeakMap<Expr, { size: number; depth: number }>();

/** Tree size (shared nodes counted at every use, as a renderer prints them) and depth; linear in distinct nodes. */
function measure(e: Expr): { size: number; depth: number } {
  let m = measured.get(e);
  if (!m) {
    m = { size: 1, depth: 1 };
    for (const c of children(e)) {
      const k = measure(c);
      m.size += k.size;
      m.depth = Math.max(m.depth, k.depth + 1);
    }
    measured.set(e, m);
  }
  return m;
}

const withinBudget = (e: Expr | null): boolean => !e || (measure(e).size <= MAX_SIZE && measure(e).depth <= MAX_DEPTH);

function interval(e: Expr): Interval {
  const r = intervalOf(e);
  return { lo: withinBudget(r.lo) ? r.lo : null, hi: withinBudget(r.hi) ? r.hi : null };
}

function intervalOf(e: Expr): Interval {
  if (e.ty !== 'int') return UNBOUNDED;
  switch (e.op) {
    case 'const': case 'dim': return { lo: e, hi: e };
    case 'var': return { lo: e, hi: e };
    case 'index':
      if (e.name === 'i') return { lo: Q_LO, hi: Q_HI };
      if (e.name === 'j') return { lo: K_LO, hi: K_HI };
      return { lo: int(0), hi: null };
    case 'neg': {
      const a = interval(e.a);
      return { lo: a.hi && bin('sub', int(0), a.hi), hi: a.lo && bin('sub', int(0), a.lo) };
    }
    case 'add': {
      const [a, b] = [interval(e.a), interval(e.b)];
      return { lo: lift(add)(a.lo, b.lo), hi: lift(add)(a.hi, b.hi) };
    }
    case 'sub': {
      const [a, b] = [interval(e.a), interval(e.b)];
      return { lo: lift(sub)(a.lo, b.hi), hi: lift(sub)(a.hi, b.lo) };
    }
    case 'mul': {
      const [x, c] = e.b.op === 'const' ? [e.a, e.b] : e.a.op === 'const' ? [e.b, e.a] : [null, null];
      if (!x || !c || typeof c.value !== 'number') return UNBOUNDED;
      const a = interval(x);
      const scale = (v: Expr | null) => v && mul(v, c);
      return c.value >= 0 ? { lo: scale(a.lo), hi: scale(a.hi) } : { lo: scale(a.hi), hi: scale(a.lo) };
    }
    case 'div': {
      // Floor division by a positive divisor is monotone in the numerator; by a negative
      // one, antitone. A divisor of unknown sign (or 0) bounds nothing.
      const a = interval(e.a);
      if (positive(e.b)) return { lo: a.lo && div(a.lo, e.b), hi: a.hi && div(a.hi, e.b) };
      if (negativeConstant(e.b)) return { lo: a.hi && div(a.hi, e.b), hi: a.lo && div(a.lo, e.b) };
      return UNBOUNDED;
    }
    case 'mod': {
      // Floor modulo takes the divisor's sign: [0, b − 1] for b > 0, [b + 1, 0] for b < 0.
      const up = positive(e.b);
      if (!up && !negativeConstant(e.b)) return UNBOUNDED;
      const a = interval(e.a);
      const [bottom, top] = up ? [int(0), sub(e.b, int(1))] : [add(e.b, int(1)), int(0)];
      if (!a.lo || !a.hi) return { lo: bottom, hi: top };
      // Exact when the whole interval lies in one period (where x mod b increases with x),
      // else the full residue range.
      const onePeriod = bin('eq', div(a.lo, e.b), div(a.hi, e.b));
      return { lo: select(onePeriod, mod(a.lo, e.b), bottom), hi: select(onePeriod, mod(a.hi, e.b), top) };
    }
    case 'call':
      return callInterval(e.fn, e.args.map(interval));
    case 'load':
      return tensorBounds ? lookupInterval(e) : UNBOUNDED;
    case 'select': {
      const c = truth(e.c);
      const [a, b] = [interval(e.a), interval(e.b)];
      const pick = (x: Expr | null, y: Expr | null, hull: (p: Expr, q: Expr) => Expr) =>
        x && y ? select(c.t, x, select(c.f, y, hull(x, y))) : null;
      return { lo: pick(a.lo, b.lo, min), hi: pick(a.hi, b.hi, max) };
    }
    default:
      return UNBOUNDED;
  }
}

const readsIJ = (e: Expr) => some(e, (x) => (x.op === 'index' && (x.name === 'i' || x.name === 'j')) || x.op === 'pattern');

/**
 * A lookup's values over the tile: itself when no index depends on i or j; with one index
 * that does and a bounded range of positions, the min and max of the tensor's blocks that
 * meet that range (the other indices as they are); else unbounded (two varying axes).
 */
function lookupInterval(e: Extract<Expr, { op: 'load' }>): Interval {
  const varying = e.idx.flatMap((x, a) => (readsIJ(x) ? [a] : []));
  if (varying.length === 0) return { lo: e, hi: e };
  if (varying.length > 1) return UNBOUNDED;
  const axis = varying[0]!;
  const at = interval(e.idx[axis]!);
  if (!at.lo || !at.hi) return UNBOUNDED;
  const idx = e.idx.map((x, a) => (a === axis ? int(0) : x));
  const block = summaryBlock(e.idx[axis]!);
  const bound = (fn: 'min' | 'max'): Expr => ({ op: 'summary', ty: e.ty, fn, tensor: e.tensor, axis, block, idx, lo: at.lo!, hi: at.hi! });
  return { lo: bound('min'), hi: bound('max') };
}

/**
 * Positions per summary block for a lookup at `index`: SUMMARY_BLOCK positions where the
 * index moves about one position per query or key (`doc[b, i]`), fewer where it moves
 * slower — `blocks[h, i / 64, r]` moves one position per 64 queries, so a tile's range is
 * one or two positions and needs blocks of 1 (a power of two ≥ 1).
 */
function summaryBlock(index: Expr): number {
  const slowdown = (e: Expr): number => {
    if (!readsIJ(e)) return 1;
    switch (e.op) {
      case 'div': { const c = constant(e.b); return slowdown(e.a) * (c !== undefined && c > 1 ? c : 1); }
      case 'mul': { const c = constant(e.b) ?? constant(e.a); return slowdown(readsIJ(e.a) ? e.a : e.b) / (c !== undefined && Math.abs(c) > 1 ? Math.abs(c) : 1); }
      case 'add': case 'sub': return Math.min(slowdown(e.a), slowdown(e.b));
      case 'neg': return slowdown(e.a);
      default: return 1;
    }
  };
  let block = 1;
  while (block * 2 <= SUMMARY_BLOCK / slowdown(index)) block *= 2;
  return block;
}

function callInterval(fn: string, args: Interval[]): Interval {
  const [a = UNBOUNDED, b = UNBOUNDED, c = UNBOUNDED] = args;
  switch (fn) {
    case 'min': return { lo: lift(min)(a.lo, b.lo), hi: a.hi && b.hi ? min(a.hi, b.hi) : a.hi ?? b.hi };
    case 'max': return { lo: a.lo && b.lo ? max(a.lo, b.lo) : a.lo ?? b.lo, hi: lift(max)(a.hi, b.hi) };
    case 'clamp': return callInterval('min', [callInterval('max', [a, b]), c]);
    case 'abs': {
      if (!a.lo || !a.hi) return { lo: int(0), hi: null };
      const zero = int(0);
      return {
        lo: select(bin('ge', a.lo, zero), a.lo, select(bin('le', a.hi, zero), bin('sub', zero, a.hi), zero)),
        hi: max(bin('sub', zero, a.lo), a.hi),
      };
    }
    default: return UNBOUNDED;
  }
}

function truth(e: Expr): Truth {
  const r = truthOf(e);
  return { t: withinBudget(r.t) ? r.t : FALSE, f: withinBudget(r.f) ? r.f : FALSE };
}

function truthOf(e: Expr): Truth {
  switch (e.op) {
    case 'const': return e.value ? { t: TRUE, f: FALSE } : { t: FALSE, f: TRUE };
    case 'pattern': return e.body ? truth(e.body) : UNKNOWN_TRUTH;
    case 'not': { const a = truth(e.a); return { t: a.f, f: a.t }; }
    case 'and': { const [a, b] = [truth(e.a), truth(e.b)]; return { t: and(a.t, b.t), f: or(a.f, b.f) }; }
    case 'or': { const [a, b] = [truth(e.a), truth(e.b)]; return { t: or(a.t, b.t), f: and(a.f, b.f) }; }
    case 'select': {
      const [c, a, b] = [truth(e.c), truth(e.a), truth(e.b)];
      return { t: or(or(and(c.t, a.t), and(c.f, b.t)), and(a.t, b.t)), f: or(or(and(c.t, a.f), and(c.f, b.f)), and(a.f, b.f)) };
    }
    case 'lt': case 'le': case 'gt': case 'ge': case 'eq': case 'ne':
      return either(comparison(e as Comparison), tileConstant(e as Comparison));
    default:
      return UNKNOWN_TRUTH;
  }
}

function comparison(e: Comparison): Truth {
  switch (e.op) {
    case 'lt': return less(e.a, e.b, false);
    case 'le': return less(e.a, e.b, true);
    case 'gt': return less(e.b, e.a, false);
    case 'ge': return less(e.b, e.a, true);
    default: {
      if (e.a.ty !== 'int') return UNKNOWN_TRUTH;
      const [a, b] = [interval(e.a), interval(e.b)];
      if (!a.lo || !a.hi || !b.lo || !b.hi) return UNKNOWN_TRUTH;
      const same = and(and(bin('eq', a.lo, a.hi), bin('eq', b.lo, b.hi)), bin('eq', a.lo, b.lo));
      const apart = or(bin('lt', a.hi, b.lo), bin('lt', b.hi, a.lo));
      return e.op === 'eq' ? { t: same, f: apart } : { t: apart, f: same };
    }
  }
}

type Comparison = Expr & { op: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne'; a: Expr; b: Expr };

/** Either proof: true (false) everywhere when either rule proves it. */
function either(a: Truth, b: Truth | null): Truth {
  return b ? { t: or(a.t, b.t), f: or(a.f, b.f) } : a;
}

/**
 * A comparison of lookups whose indices are the same at every entry of the tile — two
 * moving indices included, which the summaries cannot bound: `sel[b, h, i / 64, j / 64] >
 * 0.5` over a tile inside one block of 64 queries and one of 64 keys — is decided once, at
 * the tile's corner: true everywhere where it holds there and every moving index is a
 * point over the tile, false everywhere where it does not. Only where lookups are read
 * (`tensors`), for a comparison with a lookup of two moving indices, and i, j occur in it
 * only inside lookups' indices.
 */
function tileConstant(e: Comparison): Truth | null {
  // (One moving index is the summaries' case: lookupInterval.)
  if (!tensorBounds || !some(e, (x) => x.op === 'load' && x.idx.filter(readsIJ).length > 1)) return null;
  let points: Expr = TRUE;
  let bounded = true;
  const corner = (x: Expr): Expr => {
    if (x.op === 'load') {
      return {
        ...x,
        idx: x.idx.map((ix) => {
          if (!readsIJ(ix)) return ix;
          const r = interval(ix);
          if (!r.lo || !r.hi) bounded = false;
          else points = and(points, bin('eq', r.lo, r.hi));
          return r.lo ?? ix;
        }),
      };
    }
    if (x.op === 'index' && (x.name === 'i' || x.name === 'j')) bounded = false;
    if (x.op === 'pattern') bounded = false;
    return mapChildren(x, corner);
  };
  const at = corner(e);
  if (!bounded) return null;
  return { t: and(points, at), f: and(points, not(at)) };
}

/** `a < b` (or `a <= b` when `orEqual`) over the tile. */
function less(x: Expr, y: Expr, orEqual: boolean): Truth {
  if (x.ty !== 'int') return UNKNOWN_TRUTH;
  const [a, b] = [interval(x), interval(y)];
  const op = orEqual ? 'le' : 'lt';
  const negated = orEqual ? 'gt' : 'ge';
  return {
    t: a.hi && b.lo ? bin(op, a.hi, b.lo) : FALSE,
    f: a.lo && b.hi ? bin(negated, a.lo, b.hi) : FALSE,
  };
}

// ---- key ranges ----

export interface KeyRange {
  lo: Expr;
  hi: Expr;
  /**
   * Only keys `lo + k·step` can be allowed (a dilation group). Absent: every key in
   * [lo, hi]. Ignoring it is always sound; a per-query loop uses it to skip the keys of
   * other dilation groups.
   */
  step?: Expr;
}

/** Above any sequence length: an upper bound the kernel clamps to M − 1. */
const NO_LIMIT = int(2147483647);
const MAX_RANGES = 3;

export function keyRanges(mask: Expr, opts: AnalysisOptions = {}): KeyRange[] | null {
  const r = withOptions(opts, () => ranges(mask));
  return r && r.map((x) => ({
    lo: simplifyExpr(x.lo),
    hi: simplifyExpr(x.hi),
    ...(x.step ? { step: simplifyExpr(x.step) } : {}),
  }));
}

function ranges(e: Expr): KeyRange[] | null {
  const r = rangesOf(e);
  return r && r.every((x) => withinBudget(x.lo) && withinBudget(x.hi) && withinBudget(x.step ?? null)) ? r : null;
}

function rangesOf(e: Expr): KeyRange[] | null {
  switch (e.op) {
    case 'const': return e.value ? null : [];
    case 'pattern': return patternRanges(e.origin) ?? (e.body ? ranges(e.body) : null);
    case 'and': {
      const [a, b] = [ranges(e.a), ranges(e.b)];
      if (!a) return b;
      if (!b) return a;
      return cap(a.flatMap((x) => b.map((y) => ({ lo: max(x.lo, y.lo), hi: min(x.hi, y.hi) }))));
    }
    case 'or': {
      const [a, b] = [ranges(e.a), ranges(e.b)];
      return a && b ? cap([...a, ...b]) : null;
    }
    case 'lt': case 'le': case 'gt': case 'ge': case 'eq':
      return comparisonRange(e.op, e.a, e.b);
    default:
      return null;
  }
}

/** More than a few ranges cost more to iterate than they save: merge into their hull. */
function cap(rs: KeyRange[]): KeyRange[] {
  if (rs.length <= MAX_RANGES) return rs;
  return [{ lo: rs.map((r) => r.lo).reduce(min), hi: rs.map((r) => r.hi).reduce(max) }];
}

/** `j <op> e` (or `e <op> j`) with `e` free of `j`: bound j by e's interval over the queries. */
function comparisonRange(op: 'lt' | 'le' | 'gt' | 'ge' | 'eq', a: Expr, b: Expr): KeyRange[] | null {
  const isJ = (x: Expr) => x.op === 'index' && x.name === 'j';
  const mentionsJ = (x: Expr) => some(x, (y) => isJ(y) || y.op === 'pattern');
  let other: Expr;
  if (isJ(a) && !mentionsJ(b)) other = b;
  else if (isJ(b) && !mentionsJ(a)) {
    other = a;
    op = ({ lt: 'gt', le: 'ge', gt: 'lt', ge: 'le', eq: 'eq' } as const)[op];
  } else return null;
  const r = interval(other);
  const zero = int(0);
  switch (op) {
    case 'lt': return r.hi ? [{ lo: zero, hi: sub(r.hi, int(1)) }] : null;
    case 'le': return r.hi ? [{ lo: zero, hi: r.hi }] : null;
    case 'gt': return r.lo ? [{ lo: add(r.lo, int(1)), hi: NO_LIMIT }] : null;
    case 'ge': return r.lo ? [{ lo: r.lo, hi: NO_LIMIT }] : null;
    case 'eq': return r.lo && r.hi ? [{ lo: r.lo, hi: r.hi }] : null;
  }
}

/**
 * NATTEN's window on one axis of length `L` (LANGUAGE.md §3) for the single position `x`:
 * the first and last positions it allows (its dilation group's keys in between).
 */
function nattenWindow(x: Expr, L: Expr, k: Expr, d: Expr, causal: boolean): { first: Expr; last: Expr } {
  const one = int(1);
  const g = mod(x, d);
  const xg = div(x, d);
  if (causal) return { first: add(g, mul(d, E.max(add(sub(xg, k), one), int(0)))), last: x };
  const groupLength = div(sub(add(sub(L, g), d), one), d);
  const wl = div(k, int(2));
  const wr = sub(sub(k, one), wl);
  const c = call('clamp', [xg, wl, sub(sub(groupLength, one), wr)], 'int');
  return { first: add(g, mul(d, sub(c, wl))), last: add(g, mul(d, add(c, wr))) };
}

/** Pattern constants beyond this magnitude get no closed form that could overflow 32 bits. */
const LARGE = 2 ** 28;

/** A constant in [lo, hi], or (when `dims`) a dim; anything else is not known to be. */
function within(e: Expr, lo: number, hi: number, dims = true): boolean {
  const c = constant(e);
  return c !== undefined ? lo <= c && c <= hi : dims && e.op === 'dim';
}

/** Not a constant outside [lo, hi] (a symbolic value may be anything). */
function notOutside(e: Expr, lo: number, hi: number): boolean {
  const c = constant(e);
  return c === undefined || (lo <= c && c <= hi);
}

/** The pattern with each argument that folds to a constant (`-4`, `2 * 8`) replaced by it. */
function foldArgs(p: Pattern): Pattern {
  const f = (e: Expr): Expr => {
    if (e.op === 'const') return e;
    const s = simplifyExpr(e);
    return s.op === 'const' ? s : e;
  };
  switch (p.name) {
    case 'causal': case 'causal_end': return p;
    case 'window': return { ...p, r: f(p.r) };
    case 'sliding': return { ...p, w: f(p.w) };
    case 'block': return { ...p, size: f(p.size) };
    case 'halo': return { ...p, size: f(p.size), overlap: f(p.overlap) };
    case 'halo2d': return {
      ...p, height: f(p.height), width: f(p.width), size: [f(p.size[0]), f(p.size[1])], overlap: [f(p.overlap[0]), f(p.overlap[1])],
    };
    case 'sink': case 'global': return { ...p, n: f(p.n) };
    case 'neighborhood': return { ...p, kernel: f(p.kernel), dilation: f(p.dilation) };
    case 'neighborhood2d': return {
      ...p, height: f(p.height), width: f(p.width),
      kernel: [f(p.kernel[0]), f(p.kernel[1])], dilation: [f(p.dilation[0]), f(p.dilation[1])],
    };
    case 'neighborhood3d': return {
      ...p, depth: f(p.depth), height: f(p.height), width: f(p.width),
      kernel: [f(p.kernel[0]), f(p.kernel[1]), f(p.kernel[2])], dilation: [f(p.dilation[0]), f(p.dilation[1]), f(p.dilation[2])],
    };
  }
}

/**
 * Exact closed forms of the pattern builtins over queries [q_lo, q_hi], where they hold for
 * the arguments as known at compile time; null: no closed form (the body is analysed).
 */
function patternRanges(origin: Pattern): KeyRange[] | null {
  const p = foldArgs(origin);
  const one = int(1);
  const zero = int(0);
  const nonPositive = (e: Expr) => (constant(e) ?? 1) <= 0;
  switch (p.name) {
    case 'causal': return [{ lo: zero, hi: Q_HI }];
    // j ≤ i + (M − N) (no overflow: q_hi < N).
    case 'causal_end': return [{ lo: zero, hi: add(Q_HI, sub(p.keyLength, p.length)) }];
    // j ≤ i and j > i − w: no key for w ≤ 0. For a symbolic w of either sign the bounds
    // stay a superset (an empty range when w ≤ 0).
    case 'sliding': return nonPositive(p.w) ? [] : [{ lo: add(sub(Q_LO, p.w), one), hi: Q_HI }];
    // |i − j| ≤ r: no key for r < 0 (for a symbolic negative r the bounds still hold: the
    // rule allows nothing). A huge r gets no bound (q_hi + r could overflow).
    case 'window': {
      const r = constant(p.r);
      if (r !== undefined && r < 0) return [];
      return r === undefined || r <= LARGE ? [{ lo: sub(Q_LO, p.r), hi: add(Q_HI, p.r) }] : null;
    }
    case 'block': {
      // i / size == j / size (floor division). For size > 0 the blocks are
      // [k·size, (k + 1)·size − 1]; for size < 0, query q's block is
      // [size·(q/size + 1) + 1, size·(q/size)], and q/size decreases as q grows.
      if (within(p.size, 1, 2147483647)) {
        return [{ lo: mul(div(Q_LO, p.size), p.size), hi: sub(mul(add(div(Q_HI, p.size), one), p.size), one) }];
      }
      if (within(p.size, -LARGE, -1, false)) {
        return [{ lo: add(mul(add(div(Q_LO, p.size), one), p.size), one), hi: mul(div(Q_HI, p.size), p.size) }];
      }
      return null;
    }
    case 'halo': {
      // Query q allows [start(q) − overlap, start(q) + size + overlap − 1] with
      // start(q) = (q / size)·size, which never decreases with q for either sign of size
      // (for size < 0 it is |size|·ceil(q / |size|)): the bounds of q_lo and q_hi hold
      // for any nonzero size and any overlap.
      if (!notOutside(p.size, -LARGE, LARGE) || !notOutside(p.overlap, -LARGE, LARGE) || constant(p.size) === 0) return null;
      return [{
        lo: sub(mul(div(Q_LO, p.size), p.size), p.overlap),
        hi: sub(add(mul(add(div(Q_HI, p.size), one), p.size), p.overlap), one),
      }];
    }
    case 'halo2d': {
      // Key rows: from the first query row's block start − overlap to the last query row's
      // block end + overlap (block starts never decrease for a positive size), clipped to
      // the grid; within one query row, its block's columns the same way, else every column.
      if (![p.height, p.width, ...p.size].every((a) => within(a, 1, LARGE)) || !p.overlap.every((o) => notOutside(o, -LARGE, LARGE))) return null;
      const w = p.width;
      const [rowLo, rowHi] = [div(Q_LO, w), div(Q_HI, w)];
      const oneRow = E.eq(rowLo, rowHi);
      const start = (x: Expr, s: Expr) => mul(div(x, s), s);
      const firstRow = E.max(sub(start(rowLo, p.size[0]), p.overlap[0]), zero);
      const lastRow = E.min(sub(add(add(start(rowHi, p.size[0]), p.size[0]), p.overlap[0]), one), sub(p.height, one));
      const [colLo, colHi] = [mod(Q_LO, w), mod(Q_HI, w)];
      const firstCol = select(oneRow, E.max(sub(start(colLo, p.size[1]), p.overlap[1]), zero), zero);
      const lastCol = select(oneRow, E.min(sub(add(add(start(colHi, p.size[1]), p.size[1]), p.overlap[1]), one), sub(w, one)), sub(w, one));
      return [{ lo: add(mul(firstRow, w), firstCol), hi: add(mul(lastRow, w), lastCol) }];
    }
    // j < n: no key for n ≤ 0 (symbolic: hi = n − 1 < 0 = lo, empty).
    case 'sink': return nonPositive(p.n) ? [] : [{ lo: zero, hi: sub(p.n, one) }];
    // i < n || j < n: for n ≤ 0 neither (queries are ≥ 0).
    case 'global': return nonPositive(p.n) ? [] : [{ lo: zero, hi: select(bin('lt', Q_LO, p.n), NO_LIMIT, sub(p.n, one)) }];
    case 'neighborhood': {
      // NATTEN's window is defined for kernel ≥ 2 and dilation ≥ 1 (else an error at compile
      // or run time); the closed form only where the arguments are known to be in range.
      if (!within(p.kernel, 2, LARGE, false) || !within(p.dilation, 1, LARGE)) return null;
      // For a block of queries: within a dilation group the shifted window spans at most
      // k − 1 group steps on either side of a query, i.e. (k − 1)·d positions. For a
      // single query (q_lo == q_hi, as in a per-query loop) NATTEN's window is exact: the
      // k keys g + d·j' of its group g, j' from its (shifted or clipped) window start.
      const reach = mul(sub(p.kernel, one), p.dilation);
      const exact = nattenWindow(Q_LO, p.length, p.kernel, p.dilation, p.causal);
      const single = E.eq(Q_LO, Q_HI);
      return [{
        lo: select(single, exact.first, sub(Q_LO, reach)),
        hi: select(single, exact.last, p.causal ? Q_HI : add(Q_HI, reach)),
        step: select(single, p.dilation, one),
      }];
    }
    case 'neighborhood2d': {
      const sizes = [p.height, p.width, ...p.dilation];
      if (!sizes.every((a) => within(a, 1, LARGE)) || !p.kernel.every((k) => within(k, 2, LARGE, false))) return null;
      return [gridWindow(Q_LO, Q_HI, p.height, p.width, p.kernel, p.dilation, p.causal)];
    }
    case 'neighborhood3d': {
      const sizes = [p.depth, p.height, p.width, ...p.dilation];
      if (!sizes.every((a) => within(a, 1, LARGE)) || !p.kernel.every((k) => within(k, 2, LARGE, false))) return null;
      // Key frames: for a block of queries in one frame, exactly that frame's window (NATTEN's
      // rule on the depth axis); across frames, every frame within reach. Within the frames,
      // the 2-D window of the block's in-frame positions (one frame), else whole frames.
      const plane = mul(p.height, p.width);
      const [fLo, fHi] = [div(Q_LO, plane), div(Q_HI, plane)];
      const oneFrame = E.eq(fLo, fHi);
      const reach = mul(sub(p.kernel[0], one), p.dilation[0]);
      const frames = nattenWindow(fLo, p.depth, p.kernel[0], p.dilation[0], p.causal[0]);
      const first = select(oneFrame, frames.first, sub(fLo, reach));
      const last = select(oneFrame, frames.last, p.causal[0] ? fHi : add(fHi, reach));
      const inner = gridWindow(mod(Q_LO, plane), mod(Q_HI, plane), p.height, p.width,
        [p.kernel[1], p.kernel[2]], [p.dilation[1], p.dilation[2]], [p.causal[1], p.causal[2]]);
      // (The 2-D range may reach past its frame's rows: clipped to the frame.)
      return [{
        lo: add(mul(first, plane), select(oneFrame, E.max(inner.lo, zero), zero)),
        hi: add(mul(last, plane), select(oneFrame, E.min(inner.hi, sub(plane, one)), sub(plane, one))),
      }];
    }
  }
}

/**
 * The keys a block of queries [qlo, qhi] of one row-major height × width grid may see
 * under NATTEN's 2-D rule, as one contiguous range. Key rows: for a block of queries in one
 * grid row, exactly that row's window (k0 rows: NATTEN's rule on the row axis); across
 * rows, every row within reach. Key columns bound the two ends of the range: a window never
 * reaches further than (k1 − 1)·d1 columns from its query.
 */
function gridWindow(
  qlo: Expr, qhi: Expr, height: Expr, width: Expr, kernel: [Expr, Expr], dilation: [Expr, Expr], causal: [boolean, boolean],
): KeyRange {
  const one = int(1);
  const zero = int(0);
  const w = width;
  const [rowLo, rowHi] = [div(qlo, w), div(qhi, w)];
  const oneRow = E.eq(rowLo, rowHi);
  const rowReach = mul(sub(kernel[0], one), dilation[0]);
  const colReach = mul(sub(kernel[1], one), dilation[1]);
  const rows = nattenWindow(rowLo, height, kernel[0], dilation[0], causal[0]);
  const firstRow = select(oneRow, rows.first, sub(rowLo, rowReach));
  const lastRow = select(oneRow, rows.last, causal[0] ? rowHi : add(rowHi, rowReach));
  const firstCol = select(oneRow, E.max(sub(mod(qlo, w), colReach), zero), zero);
  const lastCol = select(oneRow, E.min(causal[1] ? mod(qhi, w) : add(mod(qhi, w), colReach), sub(w, one)), sub(w, one));
  return { lo: add(mul(firstRow, w), firstCol), hi: add(mul(lastRow, w), lastCol) };
}
