// Exact scalar semantics of the language (spec §2–§3), in one place: the reference
// executor evaluates with these and the simplify pass folds constants with them, so a
// folded constant is always what the reference would have computed.

import type { BinOp, CallFn, Scalar } from './ir.js';

export class EvalError extends Error {}

/** Floor division of ints (Python semantics: -3 / 2 == -2). */
export function floorDiv(a: number, b: number): number {
  if (b === 0) throw new EvalError('integer division by zero');
  return Math.floor(a / b);
}

/** Floor modulo (Python semantics: -3 % 2 == 1); also used for floats. */
export function floorMod(a: number, b: number, ty: Scalar = 'int'): number {
  if (b === 0 && ty === 'int') throw new EvalError('integer modulo by zero');
  return a - Math.floor(a / b) * b;
}

/** ALiBi slope of head `h` of `heads` (fairseq `get_slopes`). */
export function alibiSlope(h: number, heads: number): number {
  if (!(Number.isInteger(h) && Number.isInteger(heads) && h >= 0 && h < heads)) {
    throw new EvalError(`alibi(${h}, ${heads}): the head must be in [0, ${heads})`);
  }
  const pow2 = (n: number) => Array.from({ length: n }, (_, k) => 2 ** ((-8 * (k + 1)) / n));
  const m = 2 ** Math.floor(Math.log2(heads));
  if (m === heads) return pow2(heads)[h]!;
  const slopes = [...pow2(m), ...pow2(2 * m).filter((_, k) => k % 2 === 0).slice(0, heads - m)];
  return slopes[h]!;
}

/** Wrap to a signed 32-bit int, as devices compute. */
const i32 = (x: number) => x | 0;

export function applyBinary(op: BinOp, ty: Scalar, a: number, b: number): number | boolean {
  const isInt = ty === 'int';
  switch (op) {
    case 'add': return isInt ? i32(a + b) : a + b;
    case 'sub': return isInt ? i32(a - b) : a - b;
    case 'mul': return isInt ? Math.imul(a, b) : a * b;
    case 'div': return isInt ? floorDiv(a, b) : a / b;
    case 'mod': return floorMod(a, b, ty);
    case 'eq': return a === b;
    case 'ne': return a !== b;
    case 'lt': return a < b;
    case 'le': return a <= b;
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'and': case 'or':
      throw new EvalError(`internal: ${op} is evaluated with short-circuiting, not applyBinary`);
  }
}

export function applyCall(fn: CallFn, ty: Scalar, args: number[]): number {
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
    case 'int': return ty === 'int' ? i32(Math.trunc(x)) : Math.trunc(x);
    case 'alibi': return alibiSlope(x, y);
  }
}
