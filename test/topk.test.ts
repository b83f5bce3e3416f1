// attend(…, topk: n) (docs/language-extensions.md): each query keeps only the n allowed keys
// of largest score, ties to the lower key. The checker's rules, the reference by hand
// (ties), and the devices against the reference: many ties (integer scores), rows with
// fewer than n keys and with none, N ≠ M, GQA, WebGL's chunked heads; on WebGPU the fused
// selection (subgroup schedule) and the unfused one (materialised scores; no subgroups);
// the lse of a top-k attention (over the kept keys) from each of those kernels.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor, type Tensor } from '../runtime/tensor.js';
import { executeWebGLOutputs } from '../runtime/webgl/index.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { bindWebGPU, executeWebGPU } from '../runtime/webgpu/execute.js';
import { devicesAgree } from './helpers/devices.js';
import { compare } from './helpers/webgpu-check.js';

const codes = (src: string) => compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);
const HEAD = 'input q, k, v: f32[B, H, N, D]\n  param n = 3';

test('checker: topk is a constant int of at least 1, with normalize: keys', (t) => {
  t.deepEqual(codes(`attention a {\n  ${HEAD}\n  return attend(q, k, v, topk: 2 * n)\n}`), []);
  t.deepEqual(codes(`attention a {\n  ${HEAD}\n  return attend(q, k, v, topk: N / 2)\n}`),
    ['AT508 argument `topk` of `attend` must be a constant int (a literal or an int param), found `N / 2`']);
  t.deepEqual(codes(`attention a {\n  ${HEAD}\n  return attend(q, k, v, normalize: queries, topk: n)\n}`),
    ['AT508 argument `topk` of `attend` must be used with `normalize: keys`, found `normalize: queries`']);
  t.deepEqual(codes(`attention a {\n  ${HEAD}\n  let o = attend(q, k, v, topk: n)\n  return o, lse(o)\n}`), []);
  t.deepEqual(codes(`attention a {\n  ${HEAD}\n  return attend(q, k, v, topk: n - 3)\n}`), ['AT709 `attend`: topk must be at least 1, found 0']);
  t.deepEqual(compile(`attention a {\n  ${HEAD}\n  return attend(q, k, v, topk: n)\n}`, { params: { n: -1 } }).diagnostics.map((d) => d.code), ['AT709']);
});

test('reference: the n largest scores, ties to the lower key; fewer allowed keys than n keeps them all', (t) => {
  // scores 0, 0, −1, −1, −2, … (pairs of ties): top 3 of keys 0 … 5 are keys 0, 1, 2.
  const p6 = compile(`attention a {
  input q: f32[B, H, N, D]
  input k: f32[B, H, M, D]
  input v: f32[B, H, M, E]
  return attend(q, k, v, mask: j < 6, score: -float(j / 2), topk: 3)
}`);
  const N = 2;
  const M = 8;
  const v = tensor([1, 1, M, 1], [1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7]);
  const out = executeReference(p6.graph!, { q: tensor([1, 1, N, 1], [0, 0]), k: tensor([1, 1, M, 1], new Array(M).fill(0)), v });
  const w = [1, 1, Math.exp(-1)];
  const want = (w[0]! * 1 + w[1]! * 10 + w[2]! * 100) / (w[0]! + w[1]! + w[2]!);
  t.true(Math.abs(out.data[0]! - want) < 1e-12, `${out.data[0]} vs ${want}`);
  const few = compile(`attention a {
  input q: f32[B, H, N, D]
  input k: f32[B, H, M, D]
  input v: f32[B, H, M, E]
  return attend(q, k, v, mask: j < 2, topk: 5)
}`);
  const all = compile(`attention a {
  input q: f32[B, H, N, D]
  input k: f32[B, H, M, D]
  input v: f32[B, H, M, E]
  return attend(q, k, v, mask: j < 2)
}`);
  const inputs = generateInputs(all.graph!, resolveDims(all.graph!, { B: 1, H: 1, N: 3, M: 7, D: 4, E: 2 }), 3);
  t.deepEqual(Array.from(executeReference(few.graph!, inputs).data), Array.from(executeReference(all.graph!, inputs).data));
});

// With `lse`, the program also returns the attention's log-sum-exp (over its kept keys).
const PROGRAM = (mask: string, score: string, topk: number, dims: string, lse = false) => `attention t {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims  ${dims}
  let o = attend(q, k, v, mask: ${mask}, score: ${score}, topk: ${topk})
  return o${lse ? ', lse: lse(o)' : ''}
}`;

const CASES = [
  { mask: 'true', score: 's', topk: 8, dims: 'B = 1, H = 4, Hk = 2, N = 33, M = 70, D = 8' },
  // integer scores: many ties at the threshold (the lower keys win)
  { mask: 'j <= i + 20', score: 'floor(s * 2.0)', topk: 5, dims: 'B = 2, H = 2, Hk = 1, N = 30, M = 41, D = 5', lse: true },
  // rows with fewer than k allowed keys (the first queries) and with none (query 0 sees j < 0)
  { mask: 'j < i && j > i - 9', score: 's', topk: 6, dims: 'B = 1, H = 3, Hk = 3, N = 40, M = 40, D = 4', lse: true },
  // many keys replaced while streaming; integer scores tie at the boundary; fully masked rows
  { mask: 'i % 7 != 3', score: 'floor(s * 4.0)', topk: 64, dims: 'B = 1, H = 2, Hk = 1, N = 21, M = 301, D = 16', lse: true },
  // a kept set in groups whose last is short (13 = 4 + 4 + 4 + 1), ties at the boundary
  { mask: 'j <= i + 40', score: 'floor(s * 3.0)', topk: 13, dims: 'B = 1, H = 2, Hk = 2, N = 37, M = 90, D = 8' },
];

for (const c of CASES) {
  test(`top-${c.topk} on webgpu and webgl equals the reference: mask ${c.mask}, score ${c.score}${c.lse ? ', and its lse' : ''}`, async (t) => {
    const { graph: g, inputs, ref } = await devicesAgree(t, PROGRAM(c.mask, c.score, c.topk, c.dims, c.lse), { seed: 12 });
    const dims = resolveDims(g);
    const want = Object.values(ref.outputs);
    const agree = (outs: readonly Tensor[], what: string) =>
      outs.forEach((o, n) => t.deepEqual(compare(o, want[n]!).bad, [], `${what}: output ${n}`));
    // WebGPU: the fused selection (checked in the source; in groups past k = 8), unfused, and without subgroups
    const gpu = await getWebGPU();
    const sources: string[] = [];
    const fused = await executeWebGPU(g, inputs, dims, { onKernel: (_k, src) => sources.push(src) });
    t.true(sources.some((src) => src.includes(c.topk > 8 ? 'topk_regroup(' : 'topk_last(')), 'the fused kernel selects');
    t.deepEqual(compare(fused, ref.output).bad, [], 'webgpu fused');
    const variants = [
      // the fused selection with 1 and 4 rows per invocation (4: long sequences), unfused, without subgroups
      ['fused, 1 row per invocation', { rowsPerThread: 1 }], ['fused, 4 rows per invocation', { rowsPerThread: 4 }],
      ['unfused', { fusion: false }], ['no subgroups', { caps: { ...gpu.caps, subgroups: false } }],
    ] as const;
    for (const [name, o] of variants) {
      const bound = await bindWebGPU(g, inputs, dims, o);
      agree(await bound.readAll(), `webgpu ${name}`);
      bound.release();
    }
    // WebGL with the heads in chunks (the scores a few heads at a time)
    agree(await executeWebGLOutputs(g, inputs, dims, { maxScratch: 2 * dims.N! * Math.ceil(dims.M! / 4) * 4 }), 'webgl chunked');
  });
}
