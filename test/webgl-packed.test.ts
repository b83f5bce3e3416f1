// The packed (RGBA) textures of the WebGL attention kernels (targets/webgl/packed.ts)
// against the float64 reference at the spec's tolerance: head dims that are not multiples
// of 4, rows folded side by side when a texture would be taller than the device allows,
// the limit on a row's width, attention outputs read flat by a later kernel (unpack) or
// assembled from chunks and packed again, and bindWebGL's resident inputs.
//
// Needs a WebGL context: in Node run under an X display, `xvfb-run -a npx ava test/webgl-*.test.ts`.

import test, { type ExecutionContext } from 'ava';
import { close } from './helpers/tolerance.js';
import { qkv } from './helpers/qkv.js';
import { compile } from '../compiler/compile.js';
import { bind, RunOptionError } from '../index.js';
import type { Graph } from '../compiler/ir.js';
import { bindDims, executeReference } from '../runtime/reference/index.js';
import { uniformTensor, type Tensor } from '../runtime/tensor.js';
import { bindWebGL, executeWebGL, planWebGL, webglAvailable, WebGLError, WebGLLimitError, type WebGLOptions } from '../runtime/webgl/index.js';

if (!webglAvailable()) throw new Error('no WebGL context (run under `xvfb-run -a`)');

function program(source: string): Graph {
  const r = compile(source);
  if (!r.ok || !r.graph) throw new Error(r.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
  return r.graph;
}

/** One attend over q [B, H, N, D], k [B, Hk, M, D], v [B, Hk, M, Dv]. */
const attend = (args = '') => program(`attention t {
  input q: f32[B, H, N, D]
  input k: f32[B, Hk, M, D]
  input v: f32[B, Hk, M, Dv]
  return attend(q, k, v${args})
}`);

async function check(t: ExecutionContext, g: Graph, inputs: Record<string, Tensor>, options: WebGLOptions = {}): Promise<void> {
  close(t, await executeWebGL(g, inputs, bindDims(g, inputs), options), executeReference(g, inputs));
}

const STRATEGIES = ['scores', 'fused'] as const;

test('head dims that are not multiples of 4 (D = 5, Dv = 7; D = 3, Dv = 1), GQA, N ≠ M, both strategies and normalisations', async (t) => {
  for (const strategy of STRATEGIES) {
    await check(t, attend(), qkv({ B: 2, H: 4, Hk: 2, N: 23, M: 17, D: 5, Dv: 7 }, 3), { strategy });
    await check(t, attend(', mask: causal'), qkv({ H: 3, Hk: 1, N: 13, M: 19, D: 3, Dv: 1 }, 5), { strategy });
    await check(t, attend(', mask: sliding(6), normalize: queries'), qkv({ B: 2, H: 2, Hk: 1, N: 21, D: 5, Dv: 7 }, 7), { strategy });
    await check(t, attend(', mask: neighborhood(5, dilation: 3)'), qkv({ N: 31, D: 6, Dv: 10 }, 9), { strategy });
  }
});

test('rows fold side by side when a texture would be taller than the device allows (max side 128)', async (t) => {
  const options = { maxTextureSize: 128 };
  const g = attend(', mask: sliding(9) || sink(2)');
  const dims = { B: 2, H: 3, Hk: 3, N: 70, M: 70, D: 8, Dv: 12 };
  const plan = planWebGL(g, dims, { ...options, strategy: 'scores' });
  // q: 420 rows of 2 texels fold 4 to a texel row (105 rows ≤ 128); scores: 420 rows of 3 + 1 texels
  t.like(plan.layouts.p0, { rows: 420, width: 2, fold: 4 });
  t.like(plan.layouts.sattend3_scores, { rows: 420, width: 4, fold: 4 });
  t.like(plan.layouts.p3, { rows: 420, width: 3, fold: 4 });
  for (const k of plan.kernels) t.true(k.output[0] <= 128 && k.output[1] <= 128, `${k.name}: ${k.output}`);
  const inputs = qkv({ B: 2, H: 3, N: 70, D: 8, Dv: 12 }, 11);
  for (const strategy of STRATEGIES) {
    await check(t, g, inputs, { ...options, strategy });
    await check(t, attend(', normalize: queries'), inputs, { ...options, strategy });
  }
});

test('a row wider than the device\'s textures is a named limit error', (t) => {
  const g = attend();
  const err = t.throws(() => planWebGL(g, { B: 1, H: 1, Hk: 1, N: 4, M: 300, D: 4, Dv: 4 }, { maxTextureSize: 64, strategy: 'scores' }), {
    instanceOf: WebGLLimitError,
  });
  t.regex(err!.message, /^the scores of %3: 4 rows of 75 RGBA texels need a 75 × 4 texture; this WebGL device's textures are at most 64 texels a side\./);
});

test('an attention output read flat by a later kernel is unpacked on the device (pool of an attend, a lookup in a mask)', async (t) => {
  const pooled = program(`attention p {
    input q, k, v: f32[B, H, N, D]
    let o = attend(q, k, v, mask: causal)
    return pool(o, tokens: 5)
  }`);
  const inputs = qkv({ B: 1, H: 2, N: 23, D: 7 }, 13);
  const plan = planWebGL(pooled, bindDims(pooled, inputs));
  t.deepEqual(plan.kernels.filter((k) => k.kind === 'unpack').map((k) => k.name), ['p_tensor3_unpack']);
  await check(t, pooled, inputs);
  const looked = program(`attention l {
    input q, k, v: f32[B, H, N, D]
    let o = attend(q, k, v, mask: sliding(4))
    return attend(q, k, v, mask: o[b, h, i, 0] < o[b, h, j, 1])
  }`);
  for (const strategy of STRATEGIES) await check(t, looked, qkv({ N: 19, D: 5 }, 17), { strategy });
});

test('a chunked attention\'s output feeds the next attention (agent: packed again from the assembled values)', async (t) => {
  const g = program(`attention agent {
    input q, k, v: f32[B, H, N, D]
    let a = pool(q, tokens: 6)
    let va = attend(a, k, v)
    return attend(q, a, va, mask: j < 4)
  }`);
  const inputs = qkv({ B: 2, H: 3, N: 29, D: 6 }, 19);
  const options = { strategy: 'scores', maxScratch: 250 } as const;
  const plan = planWebGL(g, bindDims(g, inputs), options);
  const chunked = plan.kernels.filter((k) => k.chunk);
  t.true(chunked.length >= 8, `${chunked.length} chunked kernels`);
  t.true(plan.kernels.some((k) => k.kind === 'pack' && k.args[0]!.kind === 'node' && k.args[0]!.node === 4), 'the first output is packed again');
  await check(t, g, inputs, options);
});

test('bindWebGL: packed inputs stay resident; read, dispatch and profile; another run does not disturb them; release', async (t) => {
  const g = attend(', mask: causal');
  const a = qkv({ B: 1, H: 2, N: 21, D: 5 }, 23);
  const b = qkv({ B: 1, H: 2, N: 21, D: 5 }, 29);
  const dims = bindDims(g, a);
  const bound = await bindWebGL(g, a, dims, { strategy: 'scores' });
  const want = executeReference(g, a);
  close(t, await bound.read(), want);
  t.is(await bound.dispatch(), null);
  // a plain run of the same (cached) plan on other inputs re-renders the pack kernels ...
  close(t, await executeWebGL(g, b, dims, { strategy: 'scores' }), executeReference(g, b));
  // ... and the bound program still reads its own
  close(t, await bound.read(), want);
  const profile = await bound.profile();
  t.deepEqual(profile.map((p) => p.kernel), ['t_attend3_scores', 't_attend3_rowstats', 't_attend3_probs', 't_attend3_pv']);
  for (const p of profile) t.true(p.ms >= 0 && Number.isFinite(p.ms));
  bound.release();
  await t.throwsAsync(bound.read(), { instanceOf: WebGLError, message: /released/ });
  await t.throwsAsync(bound.dispatch(), { instanceOf: WebGLError, message: /released/ });
});

test('bind(…, { backend: \'webgl\' }): the public API binds on WebGL; a backend bind() does not know is refused', async (t) => {
  const src = 'attention t {\n  input q, k, v: f32[B, H, N, D]\n  return attend(q, k, v, mask: sliding(5))\n}\n';
  const program = compile(src);
  const inputs = qkv({ B: 1, H: 2, N: 19, D: 6 }, 31);
  const bound = await bind(program, inputs, { backend: 'webgl' });
  t.deepEqual(bound.dims, bindDims(program.graph!, inputs));
  close(t, await bound.read(), executeReference(program.graph!, inputs));
  t.is(await bound.dispatch(), null);
  bound.release();
  await t.throwsAsync(bind(program, inputs, { backend: 'reference' as 'webgl' }), { instanceOf: RunOptionError, message: /backend: "reference" is not valid; expected webgpu or webgl/ });
});

test('bindWebGL with a chunked attention and with a tensor read flat (a bias table)', async (t) => {
  const g = program(`attention b {
    input q, k, v: f32[B, H, N, D]
    input bias: f32[H, T]
    return attend(q, k, v, mask: causal, score: s + bias[h, i - j + N - 1])
  }`);
  const N = 17;
  const inputs = { ...qkv({ H: 3, N, D: 5 }, 31), bias: uniformTensor([3, 2 * N - 1], 37) };
  const bound = await bindWebGL(g, inputs, bindDims(g, inputs), { strategy: 'scores', maxScratch: 700 });
  try {
    const want = executeReference(g, inputs);
    close(t, await bound.read(), want);
    close(t, await bound.read(), want);
  } finally {
    bound.release();
  }
});
