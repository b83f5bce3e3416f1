// Exact scalar semantics of the language (spec §2–§3), in one place: the reference
// executor evaluates with these and the simplify pass folds constants with them, so a
// folded constant is always what the reference would have computed.

import type { Span } from '../dsl/ast.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import type { BinOp, CallFn, Expr, Scalar } from './ir.js';

/** Floor division of ints (Python semantics); throws AT306 on a zero divisor. */
export function floorDiv(a: number, b: number, span?: Span): number {
  if (b === 0) throw new AttncError([diag('AT306', [], span)]);
  const r = a % b;
  let q = (a - r) / b;
  if (r !== 0 && r < 0 !== b < 0) q -= 1;
  return q + 0;
}

/** Floor modulo of ints (Python semantics: the result has the divisor's sign); throws AT306 on zero. */
export function floorMod(a: number, b: number, span?: Span): number {
  if (b === 0) throw new AttncError([diag('AT306', [], span)]);
  let r = a % b;
  if (r !== 0 && r < 0 !== b < 0) r += b;
  return r + 0;
}

/**
 * ALiBi slope of head `h` out of `heads` (fairseq `get_slopes`): for a power of two n,
 * `2^(-8(h+1)/n)`; otherwise the slopes of the largest power of two m < n, followed by the
 * even-indexed slopes of the 2m-head set for the remaining n − m heads.
 */
export function alibiSlope(h: number, heads: number, span?: Span): number {
  if (!Number.isInteger(h) || !Number.isInteger(heads) || h < 0 || h >= heads) {
    throw new AttncError([diag('AT708', [h, heads], span)]);
  }
  let m = 1;
  while (m * 2 <= heads) m *= 2;
  if (h < m) return 2 ** ((-8 * (h + 1)) / m);
  // even-indexed slope 2·(h − m) of the 2m-head set: 2^(-8(2(h−m)+1)/(2m))
  return 2 ** ((-8 * (2 * (h - m) + 1)) / (2 * m));
}

/** All slopes of `heads` heads (convenience for tests and docs). */
export function alibiSlopes(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => alibiSlope(h, heads));
}

/** Python's float modulo: fmod, then shifted to the divisor's sign. */
export function floatMod(a: number, b: number): number {
  let r = a % b;
  if (r !== 0) {
    if (b < 0 !== r < 0) r += b;
  } else {
    r = b < 0 ? -0 : 0;
  }
  return r;
}

/**
 * Apply a binary operator to two constants of type `ty` (for constant folding; the
 * reference executor has its own per-op closures with overflow checks).
 */
export function applyBinary(op: BinOp, ty: Scalar, a: number, b: number): number | boolean {
  const isInt = ty === 'int';
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return isInt ? floorDiv(a, b) : a / b;
    case 'mod': return isInt ? floorMod(a, b) : floatMod(a, b);
    case 'eq': return a === b;
    case 'ne': return a !== b;
    case 'lt': return a < b;
    case 'le': return a <= b;
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'and': case 'or':
      throw new Error(`internal: ${op} short-circuits; it is not folded by applyBinary`);
  }
}

// `ty` is the result type (kept for callers that fold by type).
export function applyCall(fn: CallFn, _ty: Scalar, args: number[]): number {
  const [x = NaN, y = NaN, z = NaN] = args;
  switch (fn) {
    case 'abs': return Math.abs(x);
    case 'min': return Math.min(x, y);
    case 'max': return Math.max(x, y);
    case 'clamp': return Math.min(Math.max(x, y), z);
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'tanh': return Math.tanh(x);
    case 'sqrt': return Math.sqrt(x);
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    case 'float': return x;
    case 'int': return Math.trunc(x);
    case 'alibi': return alibiSlope(x, y);
  }
}

/** True when the subtree reads nothing that varies (folded at render time). */
export function isConstTree(e: Expr): boolean {
  switch (e.op) {
    case 'const': return true;
    case 'index': case 'dim': case 'score': case 'load': case 'var': return false;
    case 'pattern': return !!e.body && isConstTree(e.body);
    case 'neg': case 'not': return isConstTree(e.a);
    case 'select': return isConstTree(e.c) && isConstTree(e.a) && isConstTree(e.b);
    case 'call': return e.args.every(isConstTree);
    default: return isConstTree(e.a) && isConstTree(e.b);
  }
}

/** Evaluate a constant subtree with the language's semantics. */
export function foldConst(e: Expr): number | boolean {
  switch (e.op) {
    case 'const': return e.value;
    case 'neg': {
      const a = foldConst(e.a) as number;
      return e.ty === 'int' ? (-a) | 0 : -a;
    }
    case 'not': return !foldConst(e.a);
    case 'select': return foldConst(e.c) ? foldConst(e.a) : foldConst(e.b);
    case 'call': return applyCall(e.fn, e.ty, e.args.map((x) => Number(foldConst(x))));
    case 'pattern': return foldConst(e.body!);
    case 'and': return Boolean(foldConst(e.a)) && Boolean(foldConst(e.b));
    case 'or': return Boolean(foldConst(e.a)) || Boolean(foldConst(e.b));
    case 'add': case 'sub': case 'mul': case 'div': case 'mod':
    case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge': {
      const a = foldConst(e.a);
      const b = foldConst(e.b);
      return applyBinary(e.op, e.a.ty, Number(a), Number(b));
    }
    default:
      throw new Error(`internal: cannot fold ${e.op}`);
  }
}
