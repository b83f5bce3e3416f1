// Dense host tensors (C order) and seeded random inputs.
//
// A Tensor is a flat typed array plus a shape; the last axis varies fastest. The reference
// executor reads any of the three element arrays and computes in float64.
//
// Random inputs are reproducible across runs and machines: they come from mulberry32, a
// 32-bit generator (Tommy Ettinger's, public domain), seeded from `--seed`:
//   float inputs: Math.fround(lo + (hi - lo) * u) with u = next() in [0, 1), lo = -1, hi = 1;
//   int inputs:   lo + floor((hi - lo) * u), default range [0, 8).
// Each input of a program draws from its own stream, seeded by `inputSeed(seed, name)`
// (FNV-1a of `${seed}:${name}`), so adding or reordering inputs leaves the others unchanged.

/**
 * Element arrays. A Uint16Array is f16 bit patterns (IEEE binary16), for an `f16` input
 * only, in C order: uploaded as they are where the device stores f16 (no conversion on the
 * host), decoded to their values everywhere else (runtime/f16.ts).
 */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint16Array;

export interface Tensor {
  data: TensorData;
  /** The logical shape (what the program declares, e.g. [B, H, N, D]). */
  shape: number[];
  /**
   * A strided view of `data` (runtime/views.ts): element idx is at
   * `offset + Σ idx[a]·strides[a]`, in elements; the last stride is 1. Absent: C order.
   * So models' layouts ([B, N, H, D], one packed qkv projection) are read in place.
   */
  strides?: number[];
  offset?: number;
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** C-order strides, in elements. */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = s;
    s *= shape[k]!;
  }
  return out;
}

function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid tensor shape [${shape.join(', ')}]: sizes must be non-negative integers`);
  }
}

/**
 * A tensor of `shape` holding `data` (not copied). A plain number array becomes a
 * Float64Array. Throws when the data length does not match the shape.
 */
export function tensor(shape: readonly number[], data: TensorData | readonly number[]): Tensor {
  checkShape(shape);
  const arr = Array.isArray(data) ? Float64Array.from(data as readonly number[]) : (data as TensorData);
  const n = size(shape);
  if (arr.length !== n) {
    throw new Error(`tensor data has ${arr.length} elements but shape [${shape.join(', ')}] needs ${n}`);
  }
  return { data: arr, shape: [...shape] };
}

export type DType = 'f32' | 'f64' | 'i32';

/** A tensor of zeros. */
export function zeros(shape: readonly number[], dtype: DType = 'f64'): Tensor {
  checkShape(shape);
  const n = size(shape);
  const data = dtype === 'f32' ? new Float32Array(n) : dtype === 'i32' ? new Int32Array(n) : new Float64Array(n);
  return { data, shape: [...shape] };
}

/** Values rounded to float32 (a copy). */
export function toFloat32(t: Tensor): Tensor {
  return { data: new Float32Array(t.data), shape: [...t.shape] };
}

/** Element at a multi-index (no bounds check beyond the flat range). */
export function at(t: Tensor, ...idx: number[]): number {
  if (idx.length !== t.shape.length) throw new Error(`at(): ${idx.length} indices for a rank-${t.shape.length} tensor`);
  let off = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    const d = t.shape[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= d) throw new Error(`at(): index [${idx.join(', ')}] out of range for shape [${t.shape.join(', ')}]`);
    off = off * d + i;
  }
  return t.data[off]!;
}

// ---- seeded random numbers ----

/** mulberry32: a function returning uniform floats in [0, 1), seeded with a 32-bit int. */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a (32-bit) of a string. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The seed of input `name` under the run seed `seed`. */
export function inputSeed(seed: number, name: string): number {
  return fnv1a(`${seed}:${name}`);
}

/** Float32 tensor with elements uniform in [lo, hi] (rounded to float32), reproducible from `seed`. */
export function uniformTensor(shape: readonly number[], seed: number, lo = -1, hi = 1): Tensor {
  checkShape(shape);
  const next = mulberry32(seed);
  const data = new Float32Array(size(shape));
  for (let k = 0; k < data.length; k++) data[k] = lo + (hi - lo) * next();
  return { data, shape: [...shape] };
}

/** Default range of generated integer inputs: [0, 8). */
export const INT_INPUT_RANGE: readonly [number, number] = [0, 8];

/** Int32 tensor with elements uniform in the integers [lo, hi), reproducible from `seed`. */
export function intTensor(shape: readonly number[], seed: number, lo = INT_INPUT_RANGE[0], hi = INT_INPUT_RANGE[1]): Tensor {
  checkShape(shape);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) throw new Error(`intTensor: invalid range [${lo}, ${hi})`);
  const next = mulberry32(seed);
  const data = new Int32Array(size(shape));
  for (let k = 0; k < data.length; k++) data[k] = lo + Math.floor((hi - lo) * next());
  return { data, shape: [...shape] };
}
