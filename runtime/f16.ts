// IEEE binary16 (f16): an `f16` input holds f16 values. Every backend rounds what it is
// given to the nearest f16 (ties to even; beyond ±65504 to ±inf; NaN stays NaN) before it
// computes, so the reference and the devices see the same numbers whether a device stores
// them as f16 (WGSL with `shader-f16`) or widened to f32 (docs/language-extensions.md).

import type { Graph } from '../compiler/ir.js';
import type { Tensor } from './tensor.js';

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
function halfOfF32(x: number): number {
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

/**
 * Values as f16 bit patterns, padded to whole 4-byte words (GPU copies are whole words).
 * A Float32Array is converted on its bits in one pass (the upload path: ~2 ns a value
 * on the CI machine).
 */
export function toF16Bits(data: ArrayLike<number>): Uint16Array {
  const n = data.length;
  const out = new Uint16Array(n + (n % 2));
  if (!(data instanceof Float32Array) || data.byteOffset % 4 !== 0) {
    for (let k = 0; k < n; k++) out[k] = floatToHalf(data[k]!);
    return out;
  }
  const bits = new Uint32Array(data.buffer, data.byteOffset, n);
  for (let k = 0; k < n; k++) {
    const b = bits[k]!;
    const a = b & 0x7fffffff;
    // A normal f16 (2^-14 ≤ |x| < 2^16), branch-free: adding 0xfff plus the lowest kept bit
    // rounds the 13 dropped bits to nearest even, a carry running into the exponent (and
    // from 65520 up into inf); then the exponent is rebased (127 − 15 = 112, << 10).
    if (a >= 0x38800000 && a < 0x47800000) out[k] = ((b >>> 16) & 0x8000) | (((a + 0xfff + ((a >>> 13) & 1)) >>> 13) - 0x1c000);
    else out[k] = halfOfF32(data[k]!);
  }
  return out;
}

/** `x` rounded to the nearest f16 value. */
export const roundToF16 = (x: number): number => halfToFloat(floatToHalf(x));

/** The inputs with every `f16` input's values rounded to f16 (as Float32Array; other inputs as given). */
export function roundF16Inputs(graph: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  const out: Record<string, Tensor> = { ...inputs };
  for (const id of graph.inputs) {
    const n = graph.nodes[id]!;
    const t = n.elem === 'f16' ? inputs[n.name!] : undefined;
    if (t) out[n.name!] = { ...t, data: Float32Array.from(t.data, roundToF16) };
  }
  return out;
}
