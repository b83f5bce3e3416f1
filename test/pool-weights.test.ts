// pool(x, tokens:, weights:) (docs/language-extensions.md): the weighted average of each
// adaptive bin, exactly 0 where a bin's weights sum to 0. The checker's rules, the reference
// by hand, and the devices against the reference (bins of unequal widths, negative weights,
// a zero-sum bin, the pooled tokens attended to as in CCA).

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { run } from '../runtime/run.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor } from '../runtime/tensor.js';
import { devicesAgree } from './helpers/devices.js';

const codes = (src: string) => compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);

test('checker: weights are a float tensor of x\'s batch, heads and length', (t) => {
  const def = (w: string, ret = 'pool(x, tokens: 4, weights: w)') => `attention t {\n  input x: f32[B, H, N, D]\n  input w: ${w}\n  return ${ret}\n}`;
  t.deepEqual(codes(def('f32[B, H, N]')), []);
  t.deepEqual(codes(def('f32[B, H, N]', 'pool(x, 4, w)')), []);
  t.deepEqual(codes(def('i32[B, H, N]')), ['AT508 argument `weights` of `pool` must be a float tensor, found i32[B, H, N]']);
  t.deepEqual(codes(def('f32[B, H, N, D]')), ['AT404 `w` must have rank 3, found rank 4']);
  t.deepEqual(codes(`attention t {\n  input x: f32[B, H, 16, D]\n  input w: f32[B, H, 15]\n  return pool(x, tokens: 4, weights: w)\n}`),
    ['AT405 shapes disagree on the length of `x` and `w`: 16 vs 15']);
});

test('reference: Σ w·x / Σ w over each adaptive bin, 0 where the weights sum to 0; without weights the plain average, unchanged', (t) => {
  const p = compile('attention t {\n  input x: f32[B, H, N, D]\n  input w: f32[B, H, N]\n  return pool(x, tokens: 3, weights: w)\n}');
  // N = 5, 3 tokens: bins [0, 2), [1, 4), [3, 5)
  const x = tensor([1, 1, 5, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const w = tensor([1, 1, 5], [1, 3, -2, 2, -2]);
  const out = executeReference(p.graph!, { x, w });
  t.deepEqual(Array.from(out.data), [
    (1 * 1 + 3 * 3) / 4, (1 * 2 + 3 * 4) / 4,
    (3 * 3 - 2 * 5 + 2 * 7) / 3, (3 * 4 - 2 * 6 + 2 * 8) / 3,
    0, 0, // weights 2 − 2 = 0
  ]);
  const plain = compile('attention t {\n  input x: f32[B, H, N, D]\n  return pool(x, tokens: 3)\n}');
  t.deepEqual(Array.from(executeReference(plain.graph!, { x }).data), [2, 3, 5, 6, 8, 9]);
});

const CCA = `attention cca {
  input q, k, v: f32[B, H, N, D]
  input importance: f32[B, H, N]
  dims  B = 2, H = 2, N = 45, D = 6
  param tokens = 7
  let ks = pool(k, tokens: tokens, weights: importance)
  let vs = pool(v, tokens: tokens, weights: importance)
  return attend(q, ks, vs)
}`;

test('weighted pooling on webgpu and webgl equals the reference: bins of unequal width, negative and zero-sum weights, pooled keys attended', async (t) => {
  const p = compile(CCA);
  t.true(p.ok, p.diagnostics.map((d) => d.message).join('\n'));
  const g = p.graph!;
  const inputs = generateInputs(g, resolveDims(g), 4);
  // a zero-sum bin: 45 positions in 7 bins, bin 2 is [12, 20)
  const imp = inputs.importance!.data as Float32Array;
  for (let p = 12; p < 20; p++) imp[p] = p % 2 ? 0.5 : -0.5;
  const direct = compile(CCA.replace('return attend(q, ks, vs)', 'return ks'));
  await devicesAgree(t, p, { inputs });
  const { ref } = await devicesAgree(t, direct, { inputs });
  t.true(ref.output.data.slice(2 * 6, 3 * 6).every((x) => x === 0), 'the zero-sum bin is exactly 0');
});

test('weights whose shape disagrees with x at run time: AT405 on every backend', async (t) => {
  const p = compile('attention t {\n  input x: f32[B, H, N, D]\n  input w: f32[B, H, M]\n  dims B = 1, H = 1, N = 8, M = 7, D = 4\n  return pool(x, tokens: 2, weights: w)\n}');
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, inputs, { backend }), { message: /AT405: shapes disagree on the length of `x` and `w`: 8 vs 7/ }, backend);
  }
});
