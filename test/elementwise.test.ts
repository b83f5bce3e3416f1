// Elementwise tensor arithmetic (docs/language-extensions.md): the checker's rules (f32
// operands, shapes equal or one axis short, what functions apply), the reference's values
// computed by hand, the fuse-elementwise pass (a chain of maps is one kernel), and the
// devices against the reference: differential attention with causal and fully masked
// rows, N ≠ M, GQA, a per-row [B, H, N] operand, head dims that are not multiples of 4.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { lowerToKernels } from '../compiler/pipeline.js';
import { DEFAULT_CAPS } from '../compiler/caps.js';
import { printGraph } from '../compiler/print.js';
import { run } from '../runtime/run.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor } from '../runtime/tensor.js';
import { devicesAgree } from './helpers/devices.js';

const codes = (src: string) => compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);

const HEAD = `input q, k, v: f32[B, H, N, D]
  input w: f32[B, H, N]
  input c: f32[H, C, D]`;

test('checker: f32 tensors combine with + - * / %, unary -, and abs min max clamp exp log tanh sqrt floor ceil', (t) => {
  const ok = compile(`attention t {
  ${HEAD}
  param lam = 0.5, two = 2
  let o = attend(q, k, v)
  let a = -o * lam + o / two - o % 0.25
  let z = clamp(abs(a), 0.0, 1.0) + min(o, 0.5) * max(w, 0) + exp(a) - log(sqrt(abs(o) + 1.0)) + tanh(o) + floor(o) + ceil(w)
  return z - a
}`);
  t.deepEqual(ok.diagnostics, []);
  const g = ok.graph!;
  t.is(g.nodes[g.output]!.op, 'map');
});

test('checker: what tensor arithmetic refuses, with a code and a hint', (t) => {
  const def = (body: string) => `attention t {\n  ${HEAD}\n  let o = attend(q, k, v)\n  let ids = clusters(q, c)\n  ${body}\n}`;
  t.deepEqual(codes(def('return o + ids')), ['AT302 operator `+` cannot be applied to f32[B, H, N, D] and i32[B, H, N]']);
  t.deepEqual(codes(def('return -ids + o')), ['AT303 operator `-` cannot be applied to i32[B, H, N]']);
  t.deepEqual(codes(def('return o < 1.0')), ['AT302 operator `<` cannot be applied to f32[B, H, N, D] and float']);
  t.deepEqual(codes(def('return float(o)')), ['AT508 argument `x` of `float` must be an int or a float, found f32[B, H, N, D]']);
  const r = compile(def('return float(o)')).diagnostics[0]!;
  t.regex(r.hint ?? '', /only `abs`, `min`, .* apply to tensors/);
  t.deepEqual(codes(def('return exp(ids)')), ['AT508 argument `x` of `exp` must be an f32 tensor, an int or a float, found i32[B, H, N]']);
  // shapes: the same, or one axis short; literal sizes that differ cannot agree
  t.deepEqual(codes(`attention t {\n  input a: f32[B, 4, N, 8]\n  input y: f32[B, 4, N, 16]\n  return a + y\n}`),
    ['AT408 elementwise operands disagree in shape: `a` is f32[B, 4, N, 8] but `y` is f32[B, 4, N, 16]']);
  t.deepEqual(codes(`attention t {\n  input a: f32[B, 4, N, 8]\n  input y: f32[B, 3, N]\n  return a * y\n}`),
    ['AT408 elementwise operands disagree in shape: `a` is f32[B, 4, N, 8] but `y` is f32[B, 3, N]']);
  t.deepEqual(codes(`attention t {\n  input a: f32[B, H, N, D]\n  input y: f32[B, H]\n  return a * y\n}`),
    ['AT408 elementwise operands disagree in shape: `a` is f32[B, H, N, D] but `y` is f32[B, H]']);
  // a scalar is not a tensor: `let`/`return` still need one
  t.deepEqual(codes(`attention t {\n  input a: f32[N]\n  param p = 1.0\n  return p * 2.0\n}`), ['AT604 `return` must be a tensor, found float']);
});

test('reference: every element is the expression in float64, a [B, H, N] operand broadcast along the last axis', (t) => {
  const p = compile(`attention t {
  input x, y: f32[B, N, D]
  input r: f32[B, N]
  param p = 3
  return (x - 2.0 * y) / r + x % 0.5 + max(y, x) * p
}`);
  const B = 2, N = 3, D = 2;
  const x = Float64Array.from({ length: B * N * D }, (_, e) => e * 0.37 - 1.9);
  const y = Float64Array.from({ length: B * N * D }, (_, e) => Math.sin(e));
  const r = Float64Array.from([1, -2, 0.5, 4, 0, -1]);
  const out = executeReference(p.graph!, { x: tensor([B, N, D], x), y: tensor([B, N, D], y), r: tensor([B, N], r) });
  const want = Array.from(x, (xv, e) => {
    const yv = y[e]!;
    const rv = r[Math.floor(e / D)]!;
    return (xv - 2 * yv) / rv + (((xv % 0.5) + 0.5) % 0.5) + Math.max(yv, xv) * 3;
  });
  t.deepEqual(out.shape, [B, N, D]);
  // r = 0 gives ±inf (IEEE), exactly as written
  t.deepEqual(Array.from(out.data), want);
  t.true(out.data.slice(8, 10).every((v) => !Number.isFinite(v)));
});

test('fuse-elementwise: a chain of elementwise lets is one map reading the chain\'s operands; a map read twice stays', (t) => {
  const src = `attention t {
  input a, y: f32[B, H, N, D]
  input r: f32[B, H, N]
  let d = a - y
  let e = d * r
  return e + 1.0
}`;
  const g = compile(src).graph!;
  const out = g.nodes[g.output]!;
  t.is(out.op, 'map');
  t.deepEqual(out.op === 'map' && out.args, [0, 1, 2]);
  t.is(g.nodes.length, 4, 'the inlined maps leave the graph');
  t.regex(printGraph(g), /%3 = map\(%0, %1, %2\) : f32\[B, H, N, D\]\n\s+\(a\[x0, x1, x2, x3\] - y\[x0, x1, x2, x3\]\) \* r\[x0, x1, x2\] \+ 1\.0\n\s+return %3/);
  const kernels = lowerToKernels(g, { fusion: true, caps: DEFAULT_CAPS, dims: { D: 8 } });
  t.deepEqual(kernels.map((k) => k.kind), ['map']);
  // `d` read by two nodes stays its own kernel
  const g2 = compile(`attention t {
  input a, y: f32[B, H, N, D]
  let d = a - y
  let o = attend(d, d, d)
  return o * d
}`).graph!;
  t.deepEqual(lowerToKernels(g2, { fusion: true, caps: DEFAULT_CAPS, dims: { D: 8 } }).map((k) => k.kind), ['map', 'attend', 'map']);
});

const DIFF = (mask: string, dims: string) => `attention diff {
  input q1, q2: f32[B, H, N, D]
  input k1, k2: f32[B, Hk, M, D]
  input v: f32[B, Hk, M, Dv]
  input gate: f32[B, H, N]
  dims  ${dims}
  param lambda = 0.8
  let a1 = attend(q1, k1, v, mask: ${mask})
  let a2 = attend(q2, k2, v, mask: ${mask})
  let d = a1 - lambda * a2
  return d * gate + 0.1 * tanh(d)
}`;

const CASES = [
  { mask: 'causal', dims: 'B = 1, H = 4, Hk = 2, N = 37, M = 37, D = 8, Dv = 12' },
  // N ≠ M, rows with no key (queries i < 9 see nothing: exactly 0), head dims not multiples of 4
  { mask: 'j < i - 8', dims: 'B = 2, H = 2, Hk = 1, N = 21, M = 30, D = 5, Dv = 7' },
  { mask: 'sliding(6)', dims: 'B = 1, H = 3, Hk = 3, N = 70, M = 70, D = 4, Dv = 3' },
];

for (const c of CASES) {
  test(`differential attention (mask: ${c.mask}; ${c.dims}) on webgpu and webgl equals the reference`, async (t) => {
    const { graph: g, inputs, ref } = await devicesAgree(t, DIFF(c.mask, c.dims), { seed: 11 });
    if (c.mask.startsWith('j < i')) {
      // rows with no key: both attends are 0, so the result is exactly 0
      const Dv = 7;
      t.true(ref.output.data.slice(0, 9 * Dv).every((x) => x === 0));
    }
  });
}

test('operands whose symbolic shapes disagree at run time: AT408 on every backend, before any kernel', async (t) => {
  const p = compile(`attention t {
  input a: f32[B, N, D]
  input y: f32[B, M, D]
  dims B = 1, N = 4, M = 5, D = 3
  return a + y
}`);
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, inputs, { backend }), { message: /AT408: elementwise operands disagree in shape: `a` is \[1, 4, 3\] but `y` is \[1, 5, 3\]/ }, backend);
  }
});
