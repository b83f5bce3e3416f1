// The language's scalar semantics on values (spec §2–§3), in one place: the checker folds
// constants with them (static errors), compiler/scalar.ts folds IR constants with them, and
// the reference executor evaluates with them. Every function that can fail throws an
// AttncError with the code the reference executor reports:
//   AT306 integer division or modulo by zero,
//   AT708 alibi(h, heads) outside 0 <= h < heads,
//   AT710 an int result outside the 32-bit range (no wrap-around),
//   AT711 int() of a NaN, an infinity or a value outside the 32-bit range.

import type { Span } from './ast.js';
import { AttncError, diag } from './diagnostics.js';

export const INT_MIN = -2147483648;
export const INT_MAX = 2147483647;

/** A 32-bit signed int. */
export const isInt32 = (v: number): boolean => Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX;

/** The largest finite f32 (numpy.finfo(float32).max). */
export const F32_MAX = 3.4028234663852886e38;

/**
 * `x` is a finite f32 once rounded to one (round to nearest, so 3.40282356e38 still is).
 * Float literals and float params must be (AT104, AT702): devices compute in f32, where a
 * larger value is ±inf, while the float64 reference would keep it finite.
 */
export const isFiniteF32 = (x: number): boolean => Number.isFinite(Math.fround(x));

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

/** `v` when it is a 32-bit int, else AT710 naming the computation (`what`, e.g. `a + b`). */
export function checkInt32(what: string, v: number, span?: Span): number {
  if (v > INT_MAX || v < INT_MIN) throw new AttncError([diag('AT710', [`${what} = ${v}`], span)]);
  return v + 0;
}

export type IntArithOp = 'add' | 'sub' | 'mul' | 'div' | 'mod';
const SYMBOL: Record<IntArithOp, string> = { add: '+', sub: '-', mul: '*', div: '/', mod: '%' };

/** An int operation with the spec's checks: AT306 (zero divisor), AT710 (overflow). */
export function intArith(op: IntArithOp, a: number, b: number, span?: Span): number {
  const what = `${a} ${SYMBOL[op]} ${b < 0 ? `(${b})` : b}`;
  switch (op) {
    case 'add': return checkInt32(what, a + b, span);
    case 'sub': return checkInt32(what, a - b, span);
    case 'mul': return checkInt32(what, a * b, span);
    case 'div': return checkInt32(what, floorDiv(a, b, span), span);
    case 'mod': return floorMod(a, b, span);
  }
}

/** `-a` on an int (AT710 for −2147483648). */
export function intNeg(a: number, span?: Span): number {
  return checkInt32(`-(${a})`, 0 - a, span);
}

/** `abs(a)` on an int (AT710 for −2147483648). */
export function intAbs(a: number, span?: Span): number {
  return checkInt32(`abs(${a})`, Math.abs(a), span);
}

/** `int(x)`: truncation toward zero; AT711 for NaN, ±inf and values outside the 32-bit range. */
export function toInt(x: number, span?: Span): number {
  const t = Math.trunc(x);
  if (!Number.isFinite(t) || t > INT_MAX || t < INT_MIN) throw new AttncError([diag('AT711', [x], span)]);
  return t + 0;
}

/**
 * What is wrong with one axis of a NATTEN neighborhood (spec §3: kernel ≥ 2, dilation ≥ 1,
 * kernel · dilation ≤ the axis length), as the detail of an AT709; undefined when nothing
 * is, or when a value is not known (`undefined`). `axis` is '' or ' (row axis)' etc.
 */
export function nattenAxisProblem(
  axis: string,
  length: number | undefined,
  kernel: number | undefined,
  dilation: number | undefined,
): { arg: 'kernel' | 'dilation' | 'length'; detail: string } | undefined {
  if (kernel !== undefined && kernel < 2) return { arg: 'kernel', detail: `kernel${axis} must be at least 2, found ${kernel}` };
  if (dilation !== undefined && dilation < 1) return { arg: 'dilation', detail: `dilation${axis} must be at least 1, found ${dilation}` };
  if (length !== undefined && kernel !== undefined && dilation !== undefined && kernel * dilation > length) {
    return {
      arg: 'length',
      detail: `kernel${axis} × dilation${axis} = ${kernel} × ${dilation} = ${kernel * dilation} exceeds the length ${length}`,
    };
  }
  return undefined;
}
