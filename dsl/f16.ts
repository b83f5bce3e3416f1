// IEEE binary16 (f16) values: the rounding every backend applies to an `f16` input and
// that `f16(x)` applies (round to nearest, ties to even; from 65520 up ±inf; NaN stays NaN;
// subnormals kept). Value semantics, like dsl/semantics.ts: the checker folds `f16(…)` of
// constants with them, the reference executor evaluates with them, the runtime converts
// data with them (runtime/f16.ts).

/** The value of the f16 bit pattern `h`. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round half to even (v ≥ 0). */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The f16 bit pattern nearest `x` (round to nearest, ties to even), rounded once from `x`
 * itself: from its f32 bits when `x` is an f32 value (the usual case: fast), else from the
 * double.
 */
export function floatToHalf(x: number): number {
  return Math.fround(x) === x ? halfOfF32(x) : halfOfDouble(x);
}

/** f32 → f16 on the bits: the 13 (or more, for subnormals) dropped mantissa bits round to nearest even. */
export function halfOfF32(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // the f16 biased exponent (127 − 15)
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A subnormal f16 (or 0): the 24-bit significand shifted into multiples of 2^-24.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is right (up to inf)
  return sign | h;
}

/** f64 → f16 from the double's value (exported for the tests that check the two paths agree). */
export function halfOfDouble(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65504 is the largest f16; 65520 is halfway to the next power of two and rounds up (to even).
  if (a >= 65520) return sign | 0x7c00;
  // Subnormals (and zero): multiples of 2^-24; 1024 of them carries into the smallest normal.
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** `x` rounded to the nearest f16 value. */
export const roundToF16 = (x: number): number => halfToFloat(floatToHalf(x));
