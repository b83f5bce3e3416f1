// concat(x, y) (docs/language-extensions.md): x then y along the sequence axis — one
// softmax over local keys together with summary tokens (Combiner, CCA). The checker's
// rules, the reference by hand, an attention over concatenated keys on every backend
// against the reference (and against the same attention merged through lse), empty parts,
// sizes that disagree at run time, and WGSL reading keys and values in place from the parts.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { run } from '../runtime/run.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor } from '../runtime/tensor.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { planWebGL } from '../runtime/webgl/execute.js';
import { executeWebGPU } from '../runtime/webgpu/execute.js';
import { devicesAgree } from './helpers/devices.js';
import { compare } from './helpers/webgpu-check.js';

const codes = (src: string) => compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);

test('checker: float tensors of rank 4 with one batch, heads and head dim; the result\'s length is the sum', (t) => {
  const def = (x: string, y: string) => `attention c {\n  input x: ${x}\n  input y: ${y}\n  return concat(x, y)\n}`;
  t.deepEqual(codes(def('f32[B, H, N, D]', 'f32[B, H, M, D]')), []);
  t.deepEqual(codes(def('f32[B, H, N, 8]', 'f32[B, H, M, 4]')), ['AT402 head dims disagree: `x` has 8 but `y` has 4']);
  t.deepEqual(codes(def('f32[B, 2, N, D]', 'f32[B, 3, M, D]')), ['AT405 shapes disagree on the heads of `x` and `y`: 2 vs 3']);
  t.deepEqual(codes(def('f32[B, H, N, D]', 'i32[B, H, M, D]')), ['AT508 argument `y` of `concat` must be a float tensor, found i32[B, H, M, D]']);
  t.deepEqual(codes(def('f32[B, H, N]', 'f32[B, H, N]')).map((c) => c.slice(0, 5)), ['AT404', 'AT404']);
  const g = compile(def('f32[1, 2, 3, 4]', 'f32[1, 2, 5, 4]')).graph!;
  t.deepEqual(g.nodes[g.output]!.shape.map((e) => (e.op === 'const' ? e.value : '?')), [1, 2, 8, 4]);
});

test('reference: x\'s rows, then y\'s', (t) => {
  const p = compile('attention c {\n  input x: f32[B, H, N, D]\n  input y: f32[B, H, M, D]\n  return concat(x, y)\n}');
  const x = tensor([1, 2, 2, 1], [1, 2, 3, 4]);
  const y = tensor([1, 2, 1, 1], [10, 20]);
  const out = executeReference(p.graph!, { x, y });
  t.deepEqual(out.shape, [1, 2, 3, 1]);
  t.deepEqual(Array.from(out.data), [1, 2, 10, 3, 4, 20]);
});

const SUMMARY = (mask: string, dims: string) => `attention combined {
  input q, k, v: f32[B, H, N, D]
  dims  ${dims}
  param size = 8
  let ks = pool(k, tokens: N / size)
  let vs = pool(v, tokens: N / size)
  return attend(q, concat(k, ks), concat(v, vs), mask: ${mask})
}`;

const CASES = [
  // local causal keys of the query's block, and the summaries of earlier blocks (j − N: summary index)
  { mask: 'j < N ? (j / size == i / size && j <= i) : (j - N < i / size)', dims: 'B = 2, H = 2, N = 40, D = 6' },
  // only summaries (an empty local part for every query), rows of the first block see nothing
  { mask: 'j >= N && j - N < i / size', dims: 'B = 1, H = 3, N = 33, D = 4' },
];

for (const c of CASES) {
  test(`attention over concat(k, summaries) on every backend equals the reference: ${c.mask}`, async (t) => {
    await devicesAgree(t, SUMMARY(c.mask, c.dims), { seed: 6 });
  });
}

test('one softmax over concatenated keys equals the two parts merged through lse', async (t) => {
  const dims = 'B = 1, H = 2, N = 40, D = 8';
  const whole = compile(SUMMARY('j < N ? (j / size == i / size && j <= i) : (j - N < i / size)', dims));
  const merged = compile(`attention merged {
  input q, k, v: f32[B, H, N, D]
  dims  ${dims}
  param size = 8
  let ks = pool(k, tokens: N / size)
  let vs = pool(v, tokens: N / size)
  let o1 = attend(q, k, v, mask: j / size == i / size && j <= i)
  let o2 = attend(q, ks, vs, mask: j < i / size)
  let l1 = lse(o1)
  let l2 = lse(o2)
  let m = max(l1, l2)
  return (o1 * exp(l1 - m) + o2 * exp(l2 - m)) / (exp(l1 - m) + exp(l2 - m))
}`);
  const inputs = generateInputs(whole.graph!, resolveDims(whole.graph!), 2);
  const a = await run(whole, inputs, { backend: 'reference' });
  const b = await run(merged, inputs, { backend: 'reference' });
  t.deepEqual(compare(b.output, a.output).bad, []);
});

test('parts whose batch disagrees at run time: AT405 on every backend; an empty part is allowed', async (t) => {
  const p = compile('attention c {\n  input x: f32[B, H, N, D]\n  input y: f32[C, H, M, D]\n  dims B = 1, C = 2, H = 2, N = 3, M = 4, D = 4\n  return concat(x, y)\n}');
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, inputs, { backend }), { message: /AT405: shapes disagree on the batch of `x` and `y`: 1 vs 2/ }, backend);
  }
  const empty = generateInputs(p.graph!, resolveDims(p.graph!, { C: 1, M: 0 }), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    const r = await run(p, empty, { backend });
    t.deepEqual(Array.from(r.output.data), Array.from(empty.x!.data), backend);
  }
});

test('concat of arithmetic, and arithmetic on a concat: every backend equals the reference; sizes still checked', async (t) => {
  // (Elementwise fusion leaves a concat's operands alone: it read a dropped node before.)
  const def = (ret: string, y = 'f32[B, H, M, D]') =>
    `attention c {\n  input x: f32[B, H, N, D]\n  input y: ${y}\n  dims B = 1, C = 2, H = 2, N = 3, M = 5, D = 4\n  return ${ret}\n}`;
  for (const ret of ['concat(x * 2.0, y)', 'concat(x, y - 1.0) * 2.0', 'exp(concat(x * 0.5, y + 1.0) - 2.0)']) {
    await devicesAgree(t, def(ret), { seed: 4 });
  }
  const p = compile(def('concat(x, y) * 2.0', 'f32[C, H, M, D]'));
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, inputs, { backend }), { message: /AT405: shapes disagree on the batch of `x` and `y`: 1 vs 2/ }, backend);
  }
});

// A concatenation only attentions read, as keys or values, is read in place on WGSL: the
// kernels bind its two parts (`k`, `k_tail`) and no copy kernel runs. Every WGSL schedule
// that reads keys and values, against the reference; on WebGL the attention's pack reads
// the parts.
const IN_PLACE = [
  { what: 'summaries, head dim 6 (scalar rows)', src: SUMMARY('j < N ? (j / size == i / size && j <= i) : (j - N < i / size)', 'B = 2, H = 2, N = 40, D = 6') },
  {
    what: 'GQA, normalize: queries, an empty first part for the keys',
    src: `attention c {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  input k0, v0: f32[B, Hk, Z, D]
  dims  B = 1, H = 4, Hk = 2, N = 21, M = 30, Z = 0, D = 8
  return attend(q, concat(k0, k), concat(v, v0), mask: j % 3 != i % 3, normalize: queries)
}`,
  },
  {
    what: 'decode: 2 queries over 1 100 local keys and 37 summaries, causal at the end',
    src: `attention c {
  input q: f32[B, H, N, D]
  input k, v: f32[B, H, M, D]
  input ks, vs: f32[B, H, T, D]
  dims  B = 1, H = 2, N = 2, M = 1100, T = 37, D = 8
  return attend(q, concat(ks, k), concat(vs, v), mask: causal_end)
}`,
  },
];

for (const c of IN_PLACE) {
  test(`WGSL reads a concatenation of keys and values in place, on every schedule: ${c.what}`, async (t) => {
    const { graph: g, inputs, ref } = await devicesAgree(t, c.src, { seed: 9 });
    const dims = resolveDims(g);
    const gpu = await getWebGPU();
    for (const [name, o] of [
      ['default', {}], ['unfused', { fusion: false }], ['no subgroups', { caps: { ...gpu.caps, subgroups: false } }], ['4 rows per invocation', { rowsPerThread: 4 }],
    ] as const) {
      const kernels: string[] = [];
      const out = await executeWebGPU(g, inputs, dims, { ...o, onKernel: (k, src) => kernels.push(`${k.label}\n${src}`) });
      t.deepEqual(compare(out, ref.output).bad, [], name);
      t.false(kernels.some((k) => k.includes('elementwise arithmetic')), `${name}: no copy kernel`);
      t.true(kernels.some((k) => k.includes('fn ld4_k(') && k.includes('k_tail')), `${name}: the keys read from both parts`);
      if (name === 'default' && c.what.startsWith('decode')) t.true(kernels.some((k) => k.includes('schedule: dims staging')), 'the decode schedule');
    }
    // WebGL (its result checked by devicesAgree): the pack of each concatenation reads its
    // parts; no flat copy of it comes first.
    const plan = planWebGL(g, dims);
    const concats = g.nodes.filter((n) => n.op === 'map' && n.concat).map((n) => n.id);
    t.deepEqual(plan.kernels.filter((k) => concats.includes(k.node)).map((k) => k.name.replace(/.*_/, '')), concats.map(() => 'map'));
    t.true(plan.kernels.filter((k) => concats.includes(k.node)).every((k) => k.label.includes('into its packed texture')));
  });
}

test('a concatenation that is also returned is copied once and read from the copy', async (t) => {
  const src = SUMMARY('j < N ? (j / size == i / size && j <= i) : (j - N < i / size)', 'B = 1, H = 2, N = 24, D = 4')
    .replace('return attend(q, concat(k, ks), concat(v, vs), mask:', 'let kk = concat(k, ks)\n  return kk, attend(q, kk, concat(v, vs), mask:');
  const { graph: g, inputs } = await devicesAgree(t, src, { seed: 3 });
  const kernels: string[] = [];
  await executeWebGPU(g, inputs, resolveDims(g), { onKernel: (k) => kernels.push(k.label) });
  t.is(kernels.filter((k) => k.includes('elementwise arithmetic')).length, 1, kernels.join('\n'));
});

test('routing by cluster over concatenated keys: the keys copied (clustered too), the values read in place', async (t) => {
  const { graph: g, inputs, ref } = await devicesAgree(t, `attention routing {
  input q, k, v: f32[B, H, N, D]
  input ks, vs: f32[B, H, T, D]
  input centroids: f32[H, C, D]
  dims  B = 1, H = 2, N = 40, T = 5, D = 8, C = 3
  let kk = concat(k, ks)
  let cq = clusters(q, centroids)
  let ck = clusters(kk, centroids)
  return attend(q, kk, concat(v, vs), mask: cq[b, h, i] == ck[b, hk, j] && j <= i + 2)
}`, { seed: 3 });
  const kernels: string[] = [];
  const out = await executeWebGPU(g, inputs, resolveDims(g), { onKernel: (k, src) => kernels.push(`${k.label}\n${src}`) });
  t.deepEqual(compare(out, ref.output).bad, []);
  t.is(kernels.filter((k) => k.includes('elementwise arithmetic')).length, 1);
  t.true(kernels.some((k) => k.includes('routed by cluster, pass 2') && k.includes('fn ld4_v(') && k.includes('v_tail')));
});
