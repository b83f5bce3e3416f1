// Tensors as models hold them: strided views of the caller's memory. A view keeps the
// program's logical shape ([B, H, N, D]) and says where each element lives in `data`
// (offset + Σ index·stride, in elements, the last axis contiguous), so q, k and v can be
// [B, N, H, D] arrays (the same memory as [B, N, H·D]) or slices of one packed
// [B, N, (H + 2·Hk)·D] projection, and are read in place: WebGPU binds the caller's memory
// once and its kernels address rows through the strides (uniforms); the reference
// executor and WebGL gather a view into C order on the host (their inputs come from the
// host either way).

import { AttncError, diag } from '../dsl/diagnostics.js';
import { size, strides as cStrides, type Tensor, type TensorData } from './tensor.js';

export type Layout = 'bhnd' | 'bnhd';

/** A strided view of `data` with logical `shape`. */
export function view(data: TensorData, shape: readonly number[], strides: readonly number[], offset = 0): Tensor {
  return { data, shape: [...shape], strides: [...strides], offset };
}

/**
 * `data` holding a logical [B, H, N, D] tensor in `layout`: `bhnd` (C order) or `bnhd`
 * ([B, N, H, D], the same memory as [B, N, H·D], as attention projections produce it).
 */
export function layoutView(data: TensorData, shape: readonly [number, number, number, number], layout: Layout): Tensor {
  const [, H, N, D] = shape;
  return layout === 'bhnd' ? view(data, shape, cStrides(shape)) : view(data, shape, [N * H * D, D, H * D, 1]);
}

/**
 * q, k and v as views of one packed projection [B, N, (H + Hk)·D + Hk·Dv] (q's heads, then
 * k's, then v's, per token), as a fused qkv projection writes it; Hk < H is GQA.
 */
export function packedQKV(
  data: TensorData, { B, N, H, Hk = H, D, Dv = D }: { B: number; N: number; H: number; Hk?: number; D: number; Dv?: number },
): { q: Tensor; k: Tensor; v: Tensor } {
  const W = (H + Hk) * D + Hk * Dv;
  return {
    q: view(data, [B, H, N, D], [N * W, D, W, 1], 0),
    k: view(data, [B, Hk, N, D], [N * W, D, W, 1], H * D),
    v: view(data, [B, Hk, N, Dv], [N * W, Dv, W, 1], (H + Hk) * D),
  };
}

/** True when `t` is in C order from element 0 (no view, or a view that is the identity). */
export function isContiguous(t: Tensor): boolean {
  if (!t.strides) return (t.offset ?? 0) === 0;
  const c = cStrides(t.shape);
  return (t.offset ?? 0) === 0 && t.shape.every((n, a) => n <= 1 || t.strides![a] === c[a]);
}

/** The elements of `data` a view reaches: 1 + its last element's position (0 when empty). */
export function viewExtent(t: Tensor): number {
  if (size(t.shape) === 0) return 0;
  const s = t.strides ?? cStrides(t.shape);
  return (t.offset ?? 0) + t.shape.reduce((acc, n, a) => acc + (n - 1) * s[a]!, 0) + 1;
}

/** Refuse a view that is malformed or reaches past its data (AT703, naming the input). */
export function checkView(name: string, t: Tensor): void {
  if (!t.strides && t.offset === undefined) return;
  const bad = (what: string) => new AttncError([diag('AT703', [name, what])]);
  const s = t.strides ?? cStrides(t.shape);
  const off = t.offset ?? 0;
  if (s.length !== t.shape.length) throw bad(`${s.length} strides for a tensor of rank ${t.shape.length}`);
  if (![...s, off].every((x) => Number.isSafeInteger(x) && x >= 0)) throw bad(`strides [${s.join(', ')}] and offset ${off} must be non-negative integers`);
  if (t.shape.length > 0 && t.shape[t.shape.length - 1]! > 1 && s[s.length - 1] !== 1) {
    throw bad(`the last axis must be contiguous (stride 1), found stride ${s[s.length - 1]}`);
  }
  const extent = viewExtent(t);
  if (extent > t.data.length) throw bad(`the view (offset ${off}, strides [${s.join(', ')}]) reaches element ${extent - 1} of ${t.data.length}`);
}

/** `t` in C order: itself when it is already, else a gathered copy of the same element type. */
export function contiguous(t: Tensor): Tensor {
  if (isContiguous(t)) return t.strides || t.offset ? { data: t.data, shape: t.shape } : t;
  const n = size(t.shape);
  const out = new (t.data.constructor as { new (n: number): TensorData })(n);
  const s = t.strides ?? cStrides(t.shape);
  const idx = new Array<number>(t.shape.length).fill(0);
  let src = t.offset ?? 0;
  for (let e = 0; e < n; e++) {
    out[e] = t.data[src]!;
    // odometer over the logical index, keeping `src` in step
    for (let a = t.shape.length - 1; a >= 0; a--) {
      idx[a]!++;
      src += s[a]!;
      if (idx[a]! < t.shape[a]!) break;
      src -= s[a]! * t.shape[a]!;
      idx[a] = 0;
    }
  }
  return { data: out, shape: [...t.shape] };
}

/** Every input in C order (for the backends that read inputs on the host). */
export function contiguousInputs(inputs: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, contiguous(t)]));
}

/**
 * The inputs given as strided views, for the kernel passes (PassOptions.views: `vec4` when
 * the offset and every stride are multiples of 4), and the uniforms that describe them
 * (`<name>__o`, `<name>__s<axis>`, `<name>__n`: the buffer's length), added to `dims`.
 */
export function viewsOf(
  inputs: Readonly<Record<string, Tensor>>, names: readonly string[],
): { views: Record<string, 'vec4' | 'scalar'>; dims: Record<string, number> } {
  const views: Record<string, 'vec4' | 'scalar'> = {};
  const dims: Record<string, number> = {};
  for (const name of names) {
    const t = inputs[name];
    if (!t || isContiguous(t)) continue;
    const s = t.strides ?? cStrides(t.shape);
    const off = t.offset ?? 0;
    views[name] = [off, ...s.slice(0, -1)].every((x) => x % 4 === 0) ? 'vec4' : 'scalar';
    dims[`${name}__o`] = off;
    s.slice(0, -1).forEach((x, a) => (dims[`${name}__s${a}`] = x));
    dims[`${name}__n`] = t.data.length;
  }
  return { views, dims };
}
