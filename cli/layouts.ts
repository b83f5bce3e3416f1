// `attnc run --layout`: inputs as models hold them, read in place through strided views
// (runtime/views.ts).
//   --layout q=bnhd,k=bnhd   the input is stored [B, N, H, D] (the same memory as [B, N, H·D]):
//                            with --inputs, DIR/q.npy has shape [B, N, H, D] or [B, N, H·D]
//   --layout qkv             q, k and v are slices of one packed projection
//                            [B, N, (H + Hk)·D + Hk·Dv]: with --inputs, DIR/qkv.npy
// Generated inputs (no --inputs) are the same seeded tensors as without --layout, stored in
// the layout: a run gives the same output (and checksum) with and without it.

import { join } from 'node:path';
import type { Graph } from '../compiler/ir.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import { readNpy } from '../runtime/node/npy-file.js';
import type { Tensor, TensorData } from '../runtime/tensor.js';
import { layoutView, packedQKV } from '../runtime/views.js';

export type LayoutSpec = { packed: boolean; bnhd: string[] };

/** Parse `--layout` values: `qkv`, or `name=bnhd` (comma-separated, repeatable). */
export function parseLayouts(items: string[] | undefined, usage: (msg: string) => Error): LayoutSpec {
  const spec: LayoutSpec = { packed: false, bnhd: [] };
  for (const item of (items ?? []).flatMap((x) => x.split(',')).filter(Boolean)) {
    if (item.trim() === 'qkv') spec.packed = true;
    else {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(bnhd|bhnd)\s*$/.exec(item);
      if (!m) throw usage(`--layout ${item}: expected qkv or NAME=bnhd (NAME=bhnd is the default, C order)`);
      if (m[2] === 'bnhd') spec.bnhd.push(m[1]!);
    }
  }
  return spec;
}

const fail = (name: string, what: string) => new AttncError([diag('AT703', [name, what])]);

/** The inputs q, k, v of a packed layout, with their declared rank checked. */
function packedNames(graph: Graph): [string, string, string] {
  const names = graph.inputs.map((id) => graph.nodes[id]!.name!);
  for (const n of ['q', 'k', 'v']) {
    if (!names.includes(n)) throw fail(n, `--layout qkv needs inputs q, k and v; \`${graph.name}\` has ${names.join(', ')}`);
    const node = graph.nodes[graph.inputs.find((id) => graph.nodes[id]!.name === n)!]!;
    if (node.shape.length !== 4) throw fail(n, `--layout qkv needs [B, H, N, D] inputs; \`${n}\` has rank ${node.shape.length}`);
  }
  return ['q', 'k', 'v'];
}

/** Store C-order [B, H, N, D] data as [B, N, H, D]. */
function toBnhd(t: Tensor): TensorData {
  const [B, H, N, D] = t.shape as [number, number, number, number];
  const out = new (t.data.constructor as { new (n: number): TensorData })(t.data.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let n = 0; n < N; n++) {
    const src = ((b * H + h) * N + n) * D;
    out.set(t.data.subarray(src, src + D), ((b * N + n) * H + h) * D);
  }
  return out;
}

/** Generated (C-order) inputs stored in the layouts: the same values, read through views. */
export function layoutGenerated(graph: Graph, inputs: Record<string, Tensor>, spec: LayoutSpec): Record<string, Tensor> {
  const out = { ...inputs };
  for (const n of spec.bnhd) {
    const t = inputs[n];
    if (!t || t.shape.length !== 4) throw fail(n, '--layout NAME=bnhd is for [B, H, N, D] inputs');
    out[n] = layoutView(toBnhd(t), t.shape as [number, number, number, number], 'bnhd');
  }
  if (spec.packed) {
    const [q, k, v] = packedNames(graph).map((n) => inputs[n]!) as [Tensor, Tensor, Tensor];
    const [B, H, N, D] = q.shape as [number, number, number, number];
    const [Hk, Dv] = [k.shape[1]!, v.shape[3]!];
    if (k.shape[2] !== N || v.shape[2] !== N) throw fail('k', '--layout qkv: q, k and v share one sequence (a projection per token)');
    const W = (H + Hk) * D + Hk * Dv;
    const data = new Float32Array(B * N * W);
    const put = (t: Tensor, at: number) => {
      const [, h, , d] = t.shape as [number, number, number, number];
      const bnhd = toBnhd(t);
      for (let r = 0; r < B * N; r++) data.set(bnhd.subarray(r * h * d, (r + 1) * h * d), r * W + at);
    };
    put(q, 0);
    put(k, H * D);
    put(v, (H + Hk) * D);
    Object.assign(out, packedQKV(data, { B, N, H, Hk, D, Dv }));
  }
  return out;
}

/**
 * The inputs read from DIR in the layouts: `bnhd` files [B, N, H, D] or [B, N, H·D] (H from
 * `dims`); the packed `qkv.npy` [B, N, W] split by the dims' H, Hk, D, Dv.
 */
export function layoutFiles(graph: Graph, dir: string, spec: LayoutSpec, dims: Record<string, number>, read: (name: string) => Tensor): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const need = (n: string, what: string) => {
    const v = dims[what];
    if (v === undefined) throw fail(n, `the layout needs dim ${what}: pass --dims ${what}=… or give it a default`);
    return v;
  };
  const decl = (n: string) => graph.nodes[graph.inputs.find((id) => graph.nodes[id]!.name === n)!]!;
  const dimName = (n: string, axis: number) => {
    const e = decl(n).shape[axis]!;
    return e.op === 'dim' ? e.name : String(e.op === 'const' ? e.value : '?');
  };
  const sizeOf = (n: string, axis: number) => {
    const e = decl(n).shape[axis]!;
    return e.op === 'const' ? Number(e.value) : need(n, dimName(n, axis));
  };
  for (const n of spec.bnhd) {
    const t = read(n);
    const [B, N] = t.shape as [number, number];
    const H = t.shape.length === 4 ? t.shape[2]! : sizeOf(n, 1);
    const D = t.shape.length === 4 ? t.shape[3]! : t.shape[2]! / H;
    if (!(t.shape.length === 4 || t.shape.length === 3) || !Number.isInteger(D)) {
      throw fail(n, `--layout ${n}=bnhd reads [B, N, H, D] or [B, N, H·D]; ${n}.npy has shape [${t.shape.join(', ')}]`);
    }
    out[n] = layoutView(t.data, [B, H, N, D], 'bnhd');
  }
  if (spec.packed) {
    const [q, k, v] = packedNames(graph);
    const t = read('qkv');
    if (t.shape.length !== 3) throw fail('qkv', `--layout qkv reads qkv.npy as [B, N, (H + Hk)·D + Hk·Dv]; found shape [${t.shape.join(', ')}]`);
    const [B, N, W] = t.shape as [number, number, number];
    const [H, Hk, D, Dv] = [sizeOf(q, 1), sizeOf(k, 1), sizeOf(q, 3), sizeOf(v, 3)];
    if ((H + Hk) * D + Hk * Dv !== W) {
      throw fail('qkv', `qkv.npy rows hold ${W} values; H = ${H}, Hk = ${Hk}, D = ${D}, Dv = ${Dv} make (H + Hk)·D + Hk·Dv = ${(H + Hk) * D + Hk * Dv}`);
    }
    Object.assign(out, packedQKV(t.data, { B, N, H, Hk, D, Dv }));
  }
  return out;
}

/** `DIR/NAME.npy`, read as a tensor. */
export const npyIn = (dir: string) => (name: string): Tensor => readNpy(join(dir, `${name}.npy`));
