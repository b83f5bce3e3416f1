// IEEE binary16 (f16): an `f16` input holds f16 values. Every backend rounds what it is
// given to the nearest f16 (ties to even; beyond ±65504 to ±inf; NaN stays NaN) before it
// computes, so the reference and the devices see the same numbers whether a device stores
// them as f16 (WGSL with `shader-f16`) or widened to f32 (docs/language-extensions.md).

import type { Graph } from '../compiler/ir.js';
import { floatToHalf, halfOfF32, halfToFloat, roundToF16 } from '../dsl/f16.js';
import type { Tensor, TensorData } from './tensor.js';

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

/** Every f16 value by its bit pattern (built once, 256 KiB): decoding is one lookup. */
let table: Float32Array | undefined;
function f16Table(): Float32Array {
  if (!table) table = Float32Array.from({ length: 0x10000 }, (_, h) => halfToFloat(h));
  return table;
}

/** f16 bit patterns → their values. */
export function fromF16Bits(bits: Uint16Array, n = bits.length): Float32Array {
  const t = f16Table();
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = t[bits[k]!]!;
  return out;
}

/** An f16 tensor's values: f16 bits decoded, numbers rounded to the nearest f16. */
export function f16Values(data: TensorData): Float32Array {
  return data instanceof Uint16Array ? fromF16Bits(data) : Float32Array.from(data, roundToF16);
}

/** An f16 tensor as f16 bits padded to whole words: bits as given (copied only to pad), numbers rounded. */
export function f16Bits(data: TensorData): Uint16Array {
  if (!(data instanceof Uint16Array)) return toF16Bits(data);
  if (data.length % 2 === 0 && data.byteOffset % 4 === 0) return data;
  const out = new Uint16Array(data.length + (data.length % 2));
  out.set(data);
  return out;
}

/** The inputs with every `f16` input's values rounded to f16 (as Float32Array; other inputs as given). */
export function roundF16Inputs(graph: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  const out: Record<string, Tensor> = { ...inputs };
  for (const id of graph.inputs) {
    const n = graph.nodes[id]!;
    const t = n.elem === 'f16' ? inputs[n.name!] : undefined;
    if (t) out[n.name!] = { ...t, data: f16Values(t.data) };
  }
  return out;
}
