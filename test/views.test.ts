// Tensors as models hold them (runtime/views.ts): q, k, v as [B, N, H, D] arrays, as
// slices of one packed qkv projection (GQA too), with offsets and strides that are not
// multiples of 4 — read in place by the WebGPU kernels (strides as uniforms, one buffer for
// a packed projection), gathered on the host by WebGL and the reference — and checked on
// every backend against the reference on the same data in C order.
import test from 'ava';
import '../runtime/node/dawn.js';
import { compile } from '../compiler/compile.js';
import { run, type Backend } from '../runtime/run.js';
import { uniformTensor, type Tensor } from '../runtime/tensor.js';
import { contiguous, layoutView, packedQKV, view } from '../runtime/views.js';
import { executeReference } from '../runtime/reference/index.js';
import { compare } from './helpers/webgpu-check.js';
import { kernelsFor } from '../runtime/webgpu/execute.js';

const BACKENDS: Backend[] = ['webgpu', 'webgl', 'reference'];

function program(body: string, decl = 'input q: f32[B, H, N, D]\n  input k, v: f32[B, Hk, N, D]') {
  const r = compile(`attention t {\n  ${decl}\n  return attend(q, k, v${body ? `, ${body}` : ''})\n}`);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r;
}

/** Run on every backend with the views and against the reference on C-order copies. */
async function agree(t: import('ava').ExecutionContext, prog: ReturnType<typeof program>, inputs: Record<string, Tensor>) {
  const flat = Object.fromEntries(Object.entries(inputs).map(([n, x]) => [n, contiguous(x)]));
  const ref = executeReference(prog.graph!, flat);
  for (const backend of BACKENDS) {
    const { output } = await run(prog, inputs, { backend });
    const { bad } = compare(output, ref);
    t.deepEqual(bad, [], backend);
  }
}

test('q, k, v as [B, N, H, D] arrays ([B, N, H·D] memory), causal', async (t) => {
  const [B, H, N, D] = [2, 3, 37, 8];
  const lay = (seed: number) => layoutView(uniformTensor([B, N, H, D], seed).data, [B, H, N, D], 'bnhd');
  await agree(t, program('mask: causal', 'input q, k, v: f32[B, H, N, D]'), { q: lay(1), k: lay(2), v: lay(3) });
});

test('q, k, v as slices of one packed projection, GQA (H = 4, Hk = 2), sliding window; one buffer on the device', async (t) => {
  const [B, N, H, Hk, D] = [1, 41, 4, 2, 8];
  const packed = uniformTensor([B, N, (H + 2 * Hk) * D], 7).data;
  const { q, k, v } = packedQKV(packed, { B, N, H, Hk, D });
  const prog = program('mask: sliding(9)');
  await agree(t, prog, { q, k, v });
  // The kernels read the strided rows through uniforms: the view's offset and strides.
  const kernels = await kernelsFor(prog.graph!, { B, H, Hk, N, D }, { views: { q: 'vec4', k: 'vec4', v: 'vec4' } });
  t.true(kernels.every((kern) => kern.uniforms.includes('k__o') && kern.uniforms.includes('v__s2')));
});

test('views whose offset and strides are not multiples of 4 (element loads), odd head dim, normalize: queries', async (t) => {
  const [B, H, N, D] = [1, 2, 19, 6];
  const pad = 3; // each row starts 3 elements past a multiple of its stride
  const W = H * D + pad;
  const data = uniformTensor([1 + B * N * W], 11).data;
  const q = view(data, [B, H, N, D], [N * W, D, W, 1], 1);
  const k = view(data, [B, H, N, D], [N * W, D, W, 1], 1); // k aliases q: the same memory twice
  const v = contiguous(view(uniformTensor([B * N * W + 1], 12).data, [B, H, N, D], [N * W, D, W, 1], 1));
  await agree(t, program('normalize: queries, mask: j >= i - 4', 'input q, k, v: f32[B, H, N, D]'), { q, k, v });
});

test('agent attention: pooled views, and a view read by a lookup', async (t) => {
  const [B, H, N, D] = [1, 2, 24, 4];
  const lay = (seed: number) => layoutView(uniformTensor([B, N, H, D], seed).data, [B, H, N, D], 'bnhd');
  const src = `attention a {
  input q, k, v: f32[B, H, N, D]
  input bias: f32[H, N, N]
  let a = pool(q, tokens: 5)
  let va = attend(a, k, v)
  return attend(q, a, va, score: s + bias[h, i, j % 5])
}`;
  const prog = compile(src);
  t.true(prog.ok);
  const bias = uniformTensor([N, H, N], 5).data; // stored [N, H, N]: a view [H, N, N]
  await agree(t, prog, { q: lay(1), k: lay(2), v: lay(3), bias: view(bias, [H, N, N], [N, H * N, 1]) });
});

test('a view that is malformed or reaches past its data is refused by name, on every backend', async (t) => {
  const prog = program('', 'input q, k, v: f32[B, H, N, D]');
  const [B, H, N, D] = [1, 2, 8, 4];
  const ok = () => layoutView(uniformTensor([B, N, H, D], 1).data, [B, H, N, D], 'bnhd');
  const short = view(new Float32Array(40), [B, H, N, D], [N * H * D, D, H * D, 1]);
  const strided = view(new Float32Array(200), [B, H, N, D], [N * H * D, D, H * D, 2]);
  for (const backend of BACKENDS) {
    await t.throwsAsync(run(prog, { q: ok(), k: short, v: ok() }, { backend }), { message: /AT703.*input `k`.*reaches element 63 of 40/ });
    await t.throwsAsync(run(prog, { q: strided, k: ok(), v: ok() }, { backend }), { message: /AT703.*input `q`.*last axis must be contiguous/ });
  }
});
