// topk(q, k, n, mask:, score:, scale:) (docs/language-extensions.md): which n keys each query
// keeps, as a 1/0 tensor [B, H, N, M] — the block-level selection of landmark attention and
// HiP when k holds one summary per key block, read by the attention's mask. The checker's
// rules, the reference by hand (ties, fewer than n keys, none), the devices against the
// reference (ties at the boundary, N ≠ M, GQA, fully masked rows, keys concatenated in
// place), and a landmark program end to end.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { compile } from '../compiler/compile.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor } from '../runtime/tensor.js';
import { planWebGL } from '../runtime/webgl/execute.js';
import { devicesAgree } from './helpers/devices.js';

const codes = (src: string, params?: Record<string, number>) =>
  compile(src, params ? { params } : {}).diagnostics.map((d) => `${d.code} ${d.message}`);
const HEAD = 'input q, k: f32[B, H, N, D]\n  input ids: i32[B, H, N, D]\n  param n = 3';
const program = (body: string) => `attention a {\n  ${HEAD}\n  ${body}\n}`;

test('checker: n is a constant int of at least 1; q and k are float tensors of one head dim; the result is [B, H, N, M]', (t) => {
  t.deepEqual(codes(program('return topk(q, k, 2 * n, mask: j <= i, score: s * 2.0, scale: 0.5)')), []);
  t.deepEqual(codes(program('return topk(q, k, N / 2)')),
    ['AT508 argument `n` of `topk` must be a constant int (a literal or an int param), found `N / 2`']);
  t.deepEqual(codes(program('return topk(q, k, n - 3)')), ['AT709 `topk`: n must be at least 1, found 0']);
  t.deepEqual(codes(program('return topk(q, k, n)'), { n: -2 }).map((c) => c.slice(0, 5)), ['AT709']);
  t.deepEqual(codes(program('return topk(ids, k, n)')), ['AT508 argument `q` of `topk` must be a float tensor, found i32[B, H, N, D]']);
  t.deepEqual(codes(program('return lse(topk(q, k, n))')).map((c) => c.slice(0, 5)), ['AT508']);
  t.deepEqual(codes(program('return topk(q, k)')).map((c) => c.slice(0, 5)), ['AT504']);
  const p = compile(`attention a {
  input q: f32[B, H, N, D]
  input blocks: f32[B, Hk, T, D]
  return topk(q, blocks, 2)
}`);
  t.true(p.ok, p.diagnostics.map((d) => d.message).join('\n'));
  t.deepEqual(p.graph!.nodes.at(-1)!.shape.map((e) => (e.op === 'dim' ? e.name : '?')), ['B', 'H', 'N', 'T']);
});

test('reference: the n largest scores as 1, ties to the lower key; fewer allowed keys than n keeps them all; none keeps none', (t) => {
  // Scores 0, 0, −1, −1, −2, … (pairs of ties), keys j < 6 allowed, j = 4 scored −inf:
  // the top 3 are keys 0, 1, 2 (key 3 ties with 2 and loses); query 1 sees keys j < 2 only
  // (fewer than 3: both kept); query 2 sees none.
  const p = compile(`attention a {
  input q: f32[B, H, N, D]
  input k: f32[B, H, M, D]
  return topk(q, k, 3, mask: i == 0 ? j < 6 : j < 2 && i == 1, score: j == 4 ? log(0.0) : -float(j / 2))
}`);
  const out = executeReference(p.graph!, { q: tensor([1, 1, 3, 1], [0, 0, 0]), k: tensor([1, 1, 8, 1], new Array(8).fill(0)) });
  t.deepEqual(out.shape, [1, 1, 3, 8]);
  t.deepEqual(Array.from(out.data), [
    1, 1, 1, 0, 0, 0, 0, 0,
    1, 1, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
  ]);
  // A NaN score among a query's allowed keys makes its row NaN (as attend's top-k does).
  const nan = compile(`attention a {
  input q: f32[B, H, N, D]
  input k: f32[B, H, M, D]
  return topk(q, k, 1, score: i == 0 && j == 1 ? sqrt(-1.0) : s)
}`);
  const rows = executeReference(nan.graph!, { q: tensor([1, 1, 2, 1], [1, 1]), k: tensor([1, 1, 2, 1], [1, 2]) });
  t.deepEqual(Array.from(rows.data).map((x) => (Number.isNaN(x) ? 'NaN' : x)), ['NaN', 'NaN', 0, 1]);
});

// `k` of T keys per (batch, key head): the selection is [B, H, N, T].
const SELECT = (mask: string, score: string, n: number, dims: string) => `attention t {
  input q: f32[B, H, N, D]
  input k: f32[B, Hk, T, D]
  dims  ${dims}
  return topk(q, k, ${n}, mask: ${mask}, score: ${score})
}`;

const CASES = [
  { mask: 'true', score: 's', n: 4, dims: 'B = 1, H = 4, Hk = 2, N = 33, T = 19, D = 8' },
  // integer scores: many ties at the threshold (the lower keys win)
  { mask: 'j <= i / 3', score: 'floor(s * 2.0)', n: 3, dims: 'B = 2, H = 2, Hk = 1, N = 30, T = 11, D = 5' },
  // rows with fewer than n allowed keys and with none (query 0 sees j < 0); N ≠ T, one key head
  { mask: 'j < i / 4', score: 's', n: 5, dims: 'B = 1, H = 3, Hk = 1, N = 40, T = 9, D = 4' },
  // more keys than a workgroup (the selection's rounds over strided columns), ties
  { mask: 'i % 5 != 2', score: 'floor(s * 4.0)', n: 16, dims: 'B = 1, H = 2, Hk = 2, N = 7, T = 301, D = 16' },
];

for (const c of CASES) {
  test(`topk(…, ${c.n}) on webgpu and webgl equals the reference: mask ${c.mask}, score ${c.score}`, async (t) => {
    const { ref } = await devicesAgree(t, SELECT(c.mask, c.score, c.n, c.dims), { seed: 21 });
    // Every row keeps min(n, its allowed keys) — here at least one row keeps n.
    const T = ref.output.shape[3]!;
    const data = Array.from(ref.output.data);
    const kept = Array.from({ length: data.length / T }, (_, r) => data.slice(r * T, (r + 1) * T).reduce((a, x) => a + x, 0));
    t.true(kept.every((x) => x <= c.n) && kept.includes(c.n), kept.join(' '));
  });
}

test('topk over keys concatenated in place (summaries and local keys), read by a mask', async (t) => {
  await devicesAgree(t, `attention t {
  input q, k, v: f32[B, H, N, D]
  input g: f32[B, H, G, D]
  dims  B = 1, H = 2, N = 24, G = 3, D = 8
  let keys = concat(g, k)
  let kept = topk(q, keys, 4, mask: j < G || j - G <= i)
  return attend(q, keys, concat(g, v), mask: kept[b, h, i, j] > 0.5)
}`, { seed: 5 });
});

// Landmark attention (Mohtashami & Jaggi, 2023) / HiP: each query attends to its own block
// and to the `keep` earlier blocks whose summary (the block's mean key) scores highest.
const LANDMARK = (dims: string) => `attention landmark {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, N, D]
  dims  ${dims}
  param block = 8, keep = 2
  let summaries = pool(k, tokens: (N + block - 1) / block)
  let kept = topk(q, summaries, keep, mask: j < i / block)
  return attend(q, k, v, mask: causal && (j / block == i / block || kept[b, h, i, j / block] > 0.5))
}`;

test('landmark attention (block-level top-k) on webgpu and webgl equals the reference; keep ≥ blocks is causal attention', async (t) => {
  for (const dims of ['B = 1, H = 2, Hk = 2, N = 77, D = 8', 'B = 2, H = 4, Hk = 1, N = 40, D = 16']) {
    await devicesAgree(t, LANDMARK(dims), { seed: 9 });
  }
  // Keeping every earlier block is plain causal attention.
  const all = compile(LANDMARK('B = 1, H = 1, Hk = 1, N = 50, D = 4'), { params: { keep: 7 } }).graph!;
  const causal = compile(`attention c {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, N, D]
  dims  B = 1, H = 1, Hk = 1, N = 50, D = 4
  return attend(q, k, v, mask: causal)
}`).graph!;
  const inputs = generateInputs(causal, resolveDims(causal), 3);
  const [a, b] = [executeReference(all, inputs).data, executeReference(causal, inputs).data];
  t.true(a.every((x, n) => Math.abs(x - b[n]!) < 1e-12));
});

// Per block of queries (samples/block_sparse.attn): the selection is read at [i / block,
// j / block], which WGSL's tile predicates decide at each tile's corner.
test('block-sparse top-k per query block on webgpu and webgl equals the reference (tiles decided by the selection)', async (t) => {
  const src = readFileSync(new URL('../samples/block_sparse.attn', import.meta.url), 'utf8');
  // (Blocks of 32 and 64 hold whole tiles of keys and of query rows: those decide tiles.)
  for (const [dims, params] of [[{ N: 77 }, { block: 8, keep: 2 }], [{ N: 200 }, { block: 32, keep: 2 }], [{ N: 300 }, { block: 64, keep: 1 }]] as const) {
    const p = compile(src, { params });
    const graph = p.graph!;
    const inputs = generateInputs(graph, resolveDims(graph, { B: 1, H: 2, D: 16, ...dims }), 4);
    await devicesAgree(t, p, { inputs });
  }
});

test('n beyond the keys keeps every allowed key, on every backend (n = 2³¹ − 1, for topk and attend)', async (t) => {
  const { ref } = await devicesAgree(t, SELECT('j <= i', 's', 2147483647, 'B = 1, H = 2, Hk = 1, N = 9, T = 7, D = 4'), { seed: 2 });
  const T = 7;
  Array.from(ref.output.data).forEach((x, e) => t.is(x, (e % T) <= Math.floor(e / T) % 9 ? 1 : 0));
  await devicesAgree(t, `attention a {
  input q, k, v: f32[B, H, N, D]
  dims  B = 1, H = 2, N = 9, D = 4
  return attend(q, k, v, mask: j <= i, topk: 2147483647)
}`, { seed: 2 });
});

test('webgl refuses, by name and limit, a topk whose scores would have to be split by heads', (t) => {
  const g = compile(`attention t {
  input q, k: f32[B, H, N, D]
  dims  B = 1, H = 2, N = 8, D = 4
  return topk(q, k, 2)
}`).graph!;
  const dims = resolveDims(g);
  t.is(planWebGL(g, dims, { maxScratch: 128 }).kernels.length > 0, true); // both heads' scores in one texture
  const e = t.throws(() => planWebGL(g, dims, { maxScratch: 100 }));
  t.regex(e!.message, /scores of topk %\d+ \(2·8·8 elements\) exceed the 100 elements of one WebGL scratch texture, and a selection is not split by heads/);
});
