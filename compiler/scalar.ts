// Exact scalar semantics of the language (spec §2–§3) on IR constants: the simplify pass
// folds with `foldBinary`/`foldCall`/`foldNeg`, which give the reference executor's value
// or its error, so a folded constant is always what the reference would have computed
// (and an operation that would fail stays unfolded, for the run to report). `applyBinary`,
// `applyCall` and `foldConst` are the unchecked forms the targets use to print constants.

import { alibiSlope, floatMod, floorDiv, floorMod, intAbs, intArith, intNeg, toInt } from '../dsl/semantics.js';
import type { BinOp, CallFn, Expr, Scalar } from './ir.js';

// The value-level semantics live in dsl/semantics.ts (the checker folds with them too).
export { alibiSlope, floatMod, floorDiv, floorMod, INT_MAX, INT_MIN, isInt32 } from '../dsl/semantics.js';

/** All slopes of `heads` heads (convenience for tests and docs). */
export function alibiSlopes(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => alibiSlope(h, heads));
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

/**
 * Fold a binary operator on constants exactly as the reference executor evaluates it
 * (`ty` is the operands' type): the same value, or the same error as an AttncError — AT306
 * (int division or modulo by zero), AT710 (an int result outside the 32-bit range).
 */
export function foldBinary(op: BinOp, ty: Scalar, a: number, b: number): number | boolean {
  if (ty === 'int' && (op === 'add' || op === 'sub' || op === 'mul' || op === 'div' || op === 'mod')) return intArith(op, a, b);
  return applyBinary(op, ty, a, b);
}

/**
 * Fold a call on constants as the reference evaluates it (`ty` is the result type): AT711
 * for `int()` of NaN, ±inf or a value outside the 32-bit range, AT710 for the int
 * `abs(-2147483648)`, AT708 for `alibi` outside 0 <= h < heads.
 */
export function foldCall(fn: CallFn, ty: Scalar, args: number[]): number {
  if (fn === 'int') return toInt(args[0] ?? NaN);
  if (fn === 'abs' && ty === 'int') return intAbs(args[0] ?? NaN);
  return applyCall(fn, ty, args);
}

/** Fold `-a` as the reference evaluates it (AT710 for the int −(−2147483648)). */
export function foldNeg(ty: Scalar, a: number): number {
  return ty === 'int' ? intNeg(a) : -a;
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
