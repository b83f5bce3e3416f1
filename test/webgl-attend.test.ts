// Generated WebGL (gpu.js) attention kernels vs the float64 reference executor, at the
// spec's tolerance |out − ref| ≤ 1e-4 + 1e-4·|ref| (§6), for both attention strategies
// (`fused`: online softmax per output element; `scores`: scores → row stats → P·V).
// Programs are compiled from source (compile() runs the graph passes the CLI runs).
// Measured worst error (headless-gl on Mesa llvmpipe): ≤ 0.3% of the tolerance over this
// suite and the samples at small sizes, 1.4% for the gemma sample at N = 2048 — no
// pattern needs a looser bound on WebGL 1 (f32 throughout, highp). `ava --verbose` logs it.
//
// Needs a WebGL context: in Node run under an X display, `xvfb-run -a npx ava test/webgl-*.test.ts`.
// Without one they fail: `npm test` provides one through scripts/with-display.sh.

import test, { type ExecutionContext } from 'ava';
import { close } from './helpers/tolerance.js';
import { qkv } from './helpers/qkv.js';
import { compile } from '../compiler/compile.js';
import type { Graph } from '../compiler/ir.js';
import { bindDims, executeReference } from '../runtime/reference/index.js';
import { uniformTensor, intTensor, type Tensor } from '../runtime/tensor.js';
import { executeWebGL, planWebGL, webglAvailable } from '../runtime/webgl/index.js';
import type { AttendStrategy, WebGLKernel, WebGLPlan } from '../targets/webgl/index.js';
import { attendGraph, bin, causal, load, h, i, j, s as sIdx, int } from './helpers/ir-builder.js';

const available = webglAvailable();
if (!available) throw new Error('no WebGL context (run under `xvfb-run -a`)');

const STRATEGIES: AttendStrategy[] = ['fused', 'scores'];

/** The kernels of a plan that compute the attention (not the packing of its operands). */
const attentionKernels = (plan: WebGLPlan): WebGLKernel[] => plan.kernels.filter((k) => k.kind !== 'pack' && k.kind !== 'unpack');

/** Run on WebGL with each strategy and compare with the reference. Returns the outputs. */
async function check(
  t: ExecutionContext,
  graph: Graph,
  inputs: Record<string, Tensor>,
  strategies: readonly (AttendStrategy | 'auto')[] = STRATEGIES,
): Promise<Tensor[]> {
  const dims = bindDims(graph, inputs);
  const ref = executeReference(graph, inputs);
  const outs: Tensor[] = [];
  for (const strategy of strategies) {
    const out = await executeWebGL(graph, inputs, dims, { strategy });
    t.true(out.data instanceof Float32Array, 'Float32Array output');
    close(t, out, ref);
    outs.push(out);
  }
  return outs;
}

/** Rows (b, h, i) of an output with no allowed key must be exactly +0 / -0-free zeros. */
function rowsZero(t: ExecutionContext, out: Tensor, rows: (bh: number, i: number) => boolean): void {
  const [B, H, N, Dv] = out.shape as [number, number, number, number];
  let checked = 0;
  for (let bh = 0; bh < B * H; bh++) {
    for (let r = 0; r < N; r++) {
      if (!rows(bh, r)) continue;
      for (let d = 0; d < Dv; d++) {
        const x = out.data[(bh * N + r) * Dv + d]!;
        if (x !== 0) t.fail(`row (bh ${bh}, i ${r}) element ${d} is ${x}, not exactly 0`);
      }
      checked++;
    }
  }
  t.true(checked > 0, 'some fully-masked rows were checked');
}

interface AttendSrc {
  mask?: string;
  score?: string;
  scale?: string;
  normalize?: 'keys' | 'queries';
  /** Extra input declarations, e.g. `input bias: f32[H, T]`. */
  inputs?: string[];
  params?: string;
}

/** `q: [B, H, N, D]`, `k: [B, Hk, M, D]`, `v: [B, Hk, M, Dv]` and one attend, compiled. */
function attendSrc(a: AttendSrc = {}): Graph {
  const args = [
    a.mask && `mask: ${a.mask}`,
    a.score && `score: ${a.score}`,
    a.scale && `scale: ${a.scale}`,
    a.normalize && `normalize: ${a.normalize}`,
  ].filter(Boolean);
  const source = [
    'attention t {',
    '  input q: f32[B, H, N, D]',
    '  input k: f32[B, Hk, M, D]',
    '  input v: f32[B, Hk, M, Dv]',
    ...(a.inputs ?? []).map((x) => `  ${x}`),
    ...(a.params ? [`  param ${a.params}`] : []),
    `  return attend(q, k, v${args.map((x) => `, ${x}`).join('')})`,
    '}',
  ].join('\n');
  const r = compile(source);
  if (!r.ok || !r.graph) throw new Error(`${source}\n${r.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n')}`);
  return r.graph;
}

test('dense attention (B=2, H=2, N=M=37, D=16), both strategies', async (t) => {
  await check(t, attendSrc(), qkv({ B: 2, N: 37 }));
});

test('dense attention, D=64 and auto strategy', async (t) => {
  await check(t, attendSrc(), qkv({ H: 1, N: 24, D: 64 }, 7), ['auto', 'fused']);
});

test('causal with N < M and N > M (top-left aligned)', async (t) => {
  await check(t, attendSrc({ mask: 'causal' }), qkv({ N: 20, M: 33 }, 3));
  await check(t, attendSrc({ mask: 'causal' }), qkv({ N: 33, M: 20 }, 5));
});

test('grouped-query (H=4, Hk=2) and multi-query (H=4, Hk=1) attention', async (t) => {
  await check(t, attendSrc({ mask: 'causal' }), qkv({ B: 2, H: 4, Hk: 2, N: 19 }, 11));
  await check(t, attendSrc(), qkv({ H: 4, Hk: 1, N: 17, M: 23 }, 13));
});

test('Dv ≠ D (D=32, Dv=16 and D=16, Dv=48)', async (t) => {
  await check(t, attendSrc({ mask: 'causal' }), qkv({ N: 21, D: 32, Dv: 16 }, 17));
  await check(t, attendSrc(), qkv({ N: 15, D: 16, Dv: 48 }, 19));
});

test('fully-masked rows are exactly 0 (mask j < i - 3)', async (t) => {
  const outs = await check(t, attendSrc({ mask: 'j < i - 3' }), qkv({ N: 16 }, 23));
  for (const out of outs) rowsZero(t, out, (_bh, r) => r <= 3);
});

test('a mask no query satisfies (sink(0): no key range at all) gives rows of exactly 0, both normalisations', async (t) => {
  for (const normalize of ['keys', 'queries'] as const) {
    const outs = await check(t, attendSrc({ mask: 'sink(0)', normalize }), qkv({ N: 5, M: 13, Dv: 3 }, 27));
    for (const out of outs) rowsZero(t, out, () => true);
  }
});

test('an allowed score of -inf behaves as masked; rows of -inf are exactly 0', async (t) => {
  const score = 'i < 2 ? log(0.0) : (j % 3 == 0 ? s + log(float(j % 3)) : s)';
  const outs = await check(t, attendSrc({ score }), qkv({ N: 12 }, 29));
  for (const out of outs) rowsZero(t, out, (_bh, r) => r < 2);
});

test('sliding window (w=5) and window (r=3)', async (t) => {
  await check(t, attendSrc({ mask: 'sliding(5)' }), qkv({ N: 40 }, 31));
  await check(t, attendSrc({ mask: 'window(3)' }), qkv({ N: 33 }, 37));
});

test('block (size 8) and halo (size 8, overlap 3)', async (t) => {
  await check(t, attendSrc({ mask: 'block(8)' }), qkv({ N: 37 }, 41));
  await check(t, attendSrc({ mask: 'halo(8, 3)' }), qkv({ N: 37 }, 43));
});

test('sink + causal, global tokens, and sliding || (sink && causal) (streaming)', async (t) => {
  await check(t, attendSrc({ mask: 'sink(3) && causal' }), qkv({ N: 20 }, 47));
  await check(t, attendSrc({ mask: 'global(4)' }), qkv({ N: 26 }, 53));
  await check(t, attendSrc({ mask: 'sliding(6) || (sink(4) && causal)' }), qkv({ N: 45 }, 59));
});

test('neighborhood (kernel 5, dilation 2), non-causal and causal', async (t) => {
  await check(t, attendSrc({ mask: 'neighborhood(5, dilation: 2)' }), qkv({ N: 29 }, 61));
  await check(t, attendSrc({ mask: 'neighborhood(3, dilation: 2, causal: true)' }), qkv({ N: 23 }, 67));
});

test('a dilated neighborhood visits only its k keys per query, under both normalisations', async (t) => {
  for (const normalize of ['keys', 'queries'] as const) {
    for (const mask of ['neighborhood(5, dilation: 3)', 'neighborhood(4, dilation: 2, causal: true)']) {
      const graph = attendSrc({ mask, normalize });
      if (normalize === 'keys') {
        const dims = { B: 1, H: 2, Hk: 2, N: 31, M: 31, D: 16, Dv: 16 };
        const fused = attentionKernels(planWebGL(graph, dims, { strategy: 'fused' }));
        t.is(fused.length, 1);
        t.true(fused[0]!.loopMaxIterations <= 5, `${mask}: ${fused[0]!.loopMaxIterations} keys per query`);
        // scores: the k keys of a query are ⌈k / 4⌉ texels of 4 slots
        const texels = Math.ceil(Number(/\((\d+)/.exec(mask)![1]) / 4);
        const pv = attentionKernels(planWebGL(graph, dims, { strategy: 'scores' })).find((k) => k.kind === 'pv')!;
        t.is(pv.loopMaxIterations, texels, `${mask}: ${pv.loopMaxIterations} texels per query`);
      }
      await check(t, graph, qkv({ N: 31 }, 79));
    }
  }
});

test('neighborhood2d on a 6×8 grid (kernel [3, 3], dilation [1, 2]) and a causal-row 5×5 grid', async (t) => {
  await check(t, attendSrc({ mask: 'neighborhood2d(6, 8, 3, dilation: [1, 2])' }), qkv({ N: 48, D: 32 }, 71));
  await check(t, attendSrc({ mask: 'neighborhood2d(5, 5, [3, 3], causal: [true, false])' }), qkv({ N: 25 }, 73));
});

test('bias-table lookup score: s + bias[h, i - j + N - 1]', async (t) => {
  const g = attendSrc({ mask: 'causal', score: 's + bias[h, i - j + N - 1]', inputs: ['input bias: f32[H, T]'] });
  const N = 18;
  await check(t, g, { ...qkv({ H: 3, N }, 79), bias: uniformTensor([3, 2 * N - 1], 83) });
});

test('document mask from an i32 lookup: doc[b, i] == doc[b, j]', async (t) => {
  const g = attendSrc({ mask: 'doc[b, i] == doc[b, j]', inputs: ['input doc: i32[B, N]'] });
  await check(t, g, { ...qkv({ B: 2, N: 27 }, 89), doc: intTensor([2, 27], 97, 0, 3) });
});

test('ALiBi with H = 8 (power of two) and H = 6', async (t) => {
  const score = 's + alibi(h, H) * float(j - i)';
  await check(t, attendSrc({ score, mask: 'causal' }), qkv({ H: 8, N: 30 }, 101));
  await check(t, attendSrc({ score }), qkv({ H: 6, Hk: 3, N: 22 }, 103));
});

test('soft-capping: cap * tanh(s / cap), with large scores', async (t) => {
  // scale 4: scores up to ~32, deep into tanh's saturation
  const g = attendSrc({ score: 'cap * tanh(s / cap)', scale: '4.0', params: 'cap = 5.0' });
  await check(t, g, qkv({ N: 25, D: 32 }, 107));
});

test('floor division and modulo of negative ints in a mask: (j - i) / 3 == -1 || (i - j) % 4 == 3', async (t) => {
  await check(t, attendSrc({ mask: '(j - i) / 3 == -1 || (i - j) % 4 == 3' }), qkv({ N: 23 }, 109));
});

test('scalar functions in a score: int() truncation, float floor-mod, clamp, abs, sqrt, floor, ceil, min, max, exp', async (t) => {
  const score = [
    's',
    '0.1 * float(int(float(i) * 0.5 - 3.2))', // int() truncates toward zero: i = 0 → -3
    '0.05 * (float(j - i) % 2.5)', // floor-mod of floats: -5.0 % 2.5 == 0, -3.0 % 2.5 == 2.0
    '0.01 * float(clamp(j - i, -3, 3))',
    '0.1 * sqrt(abs(s))',
    '0.02 * ceil(float(j) * 0.25 + 0.1)',
    '-0.03 * floor(0.6 - float(i) * 0.25)',
    '0.1 * min(s, max(exp(s), 0.5))',
    '0.01 * float(abs((j - i) / 4 - 1))',
  ].join(' + ');
  await check(t, attendSrc({ score }), qkv({ N: 22 }, 139));
});

test('normalize: queries, dense, causal + GQA, and a two-range mask', async (t) => {
  await check(t, attendSrc({ normalize: 'queries' }), qkv({ N: 19, M: 26 }, 113));
  await check(t, attendSrc({ normalize: 'queries', mask: 'causal' }), qkv({ B: 2, H: 4, Hk: 2, N: 24, Dv: 32 }, 127));
  await check(t, attendSrc({ normalize: 'queries', mask: 'sliding(4) || sink(2)' }), qkv({ N: 21 }, 129));
});

test('normalize: queries, fully-masked query rows are exactly 0', async (t) => {
  const outs = await check(t, attendSrc({ normalize: 'queries', mask: 'i >= 4 && sliding(6)' }), qkv({ N: 20 }, 131));
  for (const out of outs) rowsZero(t, out, (_bh, r) => r < 4);
});

test('N = 130 with D = 64 (sliding window 32)', async (t) => {
  await check(t, attendSrc({ mask: 'sliding(32)' }), qkv({ H: 2, N: 130, D: 64 }, 137));
});

test('scores computed a few heads at a time when the scratch would be too large (forced small)', async (t) => {
  const g = attendSrc({ mask: 'causal' });
  const inputs = qkv({ B: 1, H: 5, N: 20 }, 149);
  const dims = bindDims(g, inputs);
  const plan = planWebGL(g, dims, { strategy: 'scores', maxScratch: 900 });
  // 20 queries × 20 keys (5 texels of 4 slots) a head: 2 heads of 400 fit 900
  t.deepEqual(attentionKernels(plan).map((k) => k.chunk && { heads: k.chunk.heads, count: k.chunk.count }), [
    { heads: 2, count: 3 }, { heads: 2, count: 3 }, { heads: 2, count: 3 }, { heads: 2, count: 3 },
  ]);
  const ref = executeReference(g, inputs);
  close(t, await executeWebGL(g, inputs, dims, { strategy: 'scores', maxScratch: 900 }), ref);
  const gq = attendSrc({ normalize: 'queries', mask: 'sliding(7)' });
  const inq = qkv({ B: 2, H: 2, Hk: 1, N: 18 }, 151);
  close(t, await executeWebGL(gq, inq, bindDims(gq, inq), { strategy: 'scores', maxScratch: 300 }), executeReference(gq, inq));
});

test('hand-built IR (no compile()): causal with a bias lookup', async (t) => {
  const N = 14;
  const score = bin('add', sIdx, load(3, [h, bin('add', bin('sub', i, j), int(N - 1))]));
  const g = attendGraph({ score, mask: causal(), extra: [{ name: 'bias', shape: ['H', 2 * N - 1] }] });
  await check(t, g, { ...qkv({ H: 2, N }, 157), bias: uniformTensor([2, 2 * N - 1], 163) });
});

test('the plan loops only over each query\'s key range, with the true trip count', (t) => {
  const g = attendSrc({ mask: 'sliding(5)' });
  const dims = { B: 1, H: 2, Hk: 2, N: 40, M: 40, D: 16, Dv: 16 };
  const fused = attentionKernels(planWebGL(g, dims, { strategy: 'fused' }));
  t.is(fused.length, 1);
  t.is(fused[0]!.loopMaxIterations, 5);
  const scores = attentionKernels(planWebGL(g, dims, { strategy: 'scores' }));
  t.deepEqual(scores.map((k) => k.kind), ['scores', 'rowstats', 'probs', 'pv']);
  t.deepEqual(scores[0]!.output, [2, 80, 1], 'banded scores: 5 key slots per query in 2 texels, one row per (head, query)');
  t.is(scores[3]!.loopMaxIterations, 2, 'P·V loops over the 2 texels of a query');
  // auto picks the cheaper form by texel fetches: the scores passes
  t.is(planWebGL(g, dims).strategies[3], 'scores');
  // dense: no range, all M keys
  const dense = attentionKernels(planWebGL(attendSrc(), dims, { strategy: 'fused' }));
  t.regex(dense[0]!.source, /kj < this\.constants\.M/);
  // two ranges (sliding || sink): widths 6 and 4, loops bounded by the widest; 2 + 1 texels
  const two = planWebGL(attendSrc({ mask: 'sliding(6) || (sink(4) && causal)' }), dims, { strategy: 'fused' });
  t.is(attentionKernels(two)[0]!.loopMaxIterations, 6);
  const twoScores = attentionKernels(planWebGL(attendSrc({ mask: 'sliding(6) || (sink(4) && causal)' }), dims, { strategy: 'scores' }));
  t.deepEqual(twoScores[0]!.output, [3, 80, 1]);
});
