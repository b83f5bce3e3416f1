// WebGL (gpu.js) kernels for pool, pool2d, clusters and multi-op programs (agent, routing),
// every sample program at small sizes, and the runtime's errors, caching and listings —
// against the float64 reference executor at |out − ref| ≤ 1e-4 + 1e-4·|ref| (spec §6).
//
// Needs a WebGL context: in Node run under an X display, `xvfb-run -a npx ava test/webgl-*.test.ts`.
// Without one they fail: `npm test` provides one through scripts/with-display.sh.

import { readdirSync, readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { close } from './helpers/tolerance.js';
import { compile } from '../compiler/compile.js';
import type { Graph } from '../compiler/ir.js';
import { AttncError } from '../dsl/diagnostics.js';
import { bindDims, executeReference, generateInputs } from '../runtime/reference/index.js';
import { uniformTensor, type Tensor } from '../runtime/tensor.js';
import { executeWebGL, planWebGL, printWebGL, webglAvailable, webglDevice, webglListings, WebGLLimitError } from '../runtime/webgl/index.js';
import { bin, call, dim, float, index, int, variable } from '../compiler/ir.js';
import { evalSize } from '../compiler/kernel.js';
import { renderExpr, type ExprEnv, type Helper } from '../targets/webgl/index.js';

const available = webglAvailable();
if (!available) throw new Error('no WebGL context (run under `xvfb-run -a`)');

function program(source: string, params: Record<string, number | boolean> = {}): Graph {
  const r = compile(source, { params });
  if (!r.ok || !r.graph) throw new Error(r.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
  return r.graph;
}

async function check(t: ExecutionContext, graph: Graph, inputs: Record<string, Tensor>): Promise<Tensor> {
  const dims = bindDims(graph, inputs);
  const ref = executeReference(graph, inputs);
  const out = await executeWebGL(graph, inputs, dims);
  close(t, out, ref);
  return out;
}

/**
 * Smallest gap between the best and second-best cosine similarity over all tokens (float64),
 * so clusters tests can avoid near-ties that f32 may break differently (spec §4).
 */
function clusterMargin(x: Tensor, cent: Tensor): number {
  const [B, H, N, D] = x.shape as [number, number, number, number];
  const C = cent.shape[1]!;
  let margin = Infinity;
  for (let bh = 0; bh < B * H; bh++) {
    const h = bh % H;
    for (let i = 0; i < N; i++) {
      const sims: number[] = [];
      let xn = 0;
      for (let d = 0; d < D; d++) xn += x.data[(bh * N + i) * D + d]! ** 2;
      for (let c = 0; c < C; c++) {
        let dot = 0;
        let cn = 0;
        for (let d = 0; d < D; d++) {
          const u = cent.data[(h * C + c) * D + d]!;
          dot += x.data[(bh * N + i) * D + d]! * u;
          cn += u * u;
        }
        sims.push(xn > 0 && cn > 0 ? dot / Math.sqrt(xn * cn) : 0);
      }
      sims.sort((a, b) => b - a);
      margin = Math.min(margin, sims[0]! - (sims[1] ?? -Infinity));
    }
  }
  return margin;
}

const POOL = `attention p {
  input x: f32[B, H, N, D]
  param n = 5
  return pool(x, tokens: n)
}`;

test('pool: adaptive average bins, n dividing N and not (N = 37 → 5, 7, 37 tokens; N = 12 → 4)', async (t) => {
  for (const [N, n] of [[37, 5], [37, 7], [37, 37], [12, 4], [13, 1]] as const) {
    const g = program(POOL, { n });
    await check(t, g, { x: uniformTensor([2, 2, N, 16], N * 100 + n) });
  }
});

test('pool2d: a 6×7 grid to [4, 3] and [2, 7], a 5×5 grid to [5, 5]', async (t) => {
  const src = `attention p {
    input x: f32[B, H, N, D]
    param ht = 6, wd = 7, ph = 4, pw = 3
    return pool2d(x, height: ht, width: wd, to: [ph, pw])
  }`;
  await check(t, program(src), { x: uniformTensor([1, 3, 42, 32], 1) });
  await check(t, program(src, { ph: 2, pw: 7 }), { x: uniformTensor([2, 1, 42, 16], 2) });
  await check(t, program(src, { ht: 5, wd: 5, ph: 5, pw: 5 }), { x: uniformTensor([1, 2, 25, 16], 3) });
});

const CLUSTERS = `attention c {
  input x: f32[B, H, N, D]
  input centroids: f32[H, C, D]
  return clusters(x, centroids)
}`;

test('clusters: cosine argmax (inputs without near-ties), returned as i32', async (t) => {
  const g = program(CLUSTERS);
  let seed = 1;
  let x: Tensor;
  let cent: Tensor;
  do {
    x = uniformTensor([2, 2, 40, 16], seed);
    cent = uniformTensor([2, 6, 16], seed + 1000);
    seed++;
  } while (clusterMargin(x, cent) < 1e-4);
  const inputs = { x, centroids: cent };
  const out = await executeWebGL(g, inputs, bindDims(g, inputs));
  const ref = executeReference(g, inputs);
  t.true(out.data instanceof Int32Array);
  t.deepEqual([...out.data], [...ref.data]);
});

test('clusters: exact ties go to the lowest index; a zero vector goes to cluster 0', async (t) => {
  const g = program(CLUSTERS);
  const D = 4;
  // centroids: c0 = e1, c1 = e0, c2 = e0 (duplicate of c1), c3 = 0
  const cent = { data: new Float32Array([0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), shape: [1, 4, D] };
  // tokens: along e0 (→ c1, tie with c2), zero (→ 0), along -e1 (c3's 0 beats c0's -1 and c1's 0? ties: c1 = c2 = c3 = 0 → c1)
  const x = { data: new Float32Array([2, 0, 0, 0, 0, 0, 0, 0, 0, -3, 0, 0, 0, 0.5, 0, 0]), shape: [1, 1, 4, D] };
  const inputs = { x, centroids: cent };
  const out = await executeWebGL(g, inputs, bindDims(g, inputs));
  t.deepEqual([...out.data], [1, 0, 1, 0]);
  t.deepEqual([...out.data], [...executeReference(g, inputs).data]);
});

test('routing: clusters(q), clusters(k) and an attend masked by cluster equality && causal', async (t) => {
  const src = readFileSync(new URL('../samples/routing.attn', import.meta.url), 'utf8');
  const g = program(src);
  let seed = 1;
  let inputs: Record<string, Tensor>;
  do {
    inputs = {
      q: uniformTensor([1, 2, 33, 16], seed),
      k: uniformTensor([1, 2, 33, 16], seed + 1),
      v: uniformTensor([1, 2, 33, 16], seed + 2),
      centroids: uniformTensor([2, 4, 16], seed + 3),
    };
    seed += 4;
  } while (clusterMargin(inputs.q!, inputs.centroids!) < 1e-4 || clusterMargin(inputs.k!, inputs.centroids!) < 1e-4);
  await check(t, g, inputs);
});

test('agent attention: pool → attend → attend (7 agents over N = 50)', async (t) => {
  const src = readFileSync(new URL('../samples/agent.attn', import.meta.url), 'utf8');
  const g = program(src, { agents: 7 });
  const q = uniformTensor([1, 2, 50, 32], 5);
  await check(t, g, { q, k: uniformTensor([1, 2, 50, 32], 6), v: uniformTensor([1, 2, 50, 32], 7) });
});

/** Small dims and params for each sample (they default to N = 512+). */
const SMALL: Record<string, { dims: Record<string, number>; params?: Record<string, number | boolean> }> = {
  agent: { dims: { B: 1, H: 2, N: 40, D: 16 }, params: { agents: 6 } },
  agent2d: { dims: { B: 1, H: 2, N: 72, D: 16 }, params: { height: 8, width: 9 } },
  biased: { dims: { B: 2, H: 2, N: 24, D: 16, T: 47 } },
  bigbird: { dims: { B: 1, H: 2, N: 40, D: 16 }, params: { globals: 3, radius: 4, size: 8 } },
  blocked: { dims: { B: 1, H: 2, N: 40, D: 16 }, params: { size: 8, overlap: 3 } },
  block_table: { dims: { B: 1, H: 2, N: 40, D: 16, NB: 5 }, params: { size: 8 } },
  documents: { dims: { B: 2, H: 2, N: 33, D: 16 } },
  gemma: { dims: { B: 1, H: 2, N: 30, D: 32 }, params: { cap: 2.0 } },
  gqa: { dims: { B: 1, H: 4, Hk: 2, N: 30, D: 16 } },
  decode: { dims: { B: 1, H: 4, Hk: 2, N: 5, M: 77, D: 16 } },
  differential: { dims: { B: 1, H: 4, Hk: 2, N: 30, D: 8, Dv: 12 } },
  combiner: { dims: { B: 1, H: 2, N: 40, D: 16 }, params: { size: 8, blocks: 5 } },
  topk: { dims: { B: 1, H: 2, N: 30, D: 16 }, params: { keep: 5 } },
  landmark: { dims: { B: 1, H: 2, N: 45, D: 16 }, params: { block: 8, keep: 2 } },
  block_sparse: { dims: { B: 1, H: 2, N: 45, D: 16 }, params: { block: 8, keep: 2 } },
  half: { dims: { B: 1, H: 4, Hk: 2, N: 30, D: 16 }, params: { window: 7 } },
  cca: { dims: { B: 1, H: 2, N: 40, D: 16 }, params: { size: 8, groups: 5, window: 6 } },
  flash_decoding: { dims: { B: 1, H: 4, Hk: 2, N: 3, M: 77, D: 16 } },
  image_halo: { dims: { B: 1, H: 2, N: 63, D: 16 }, params: { height: 7, width: 9, size: 3, halo: 1 } },
  local_window: { dims: { B: 1, H: 2, N: 30, D: 16 }, params: { kernel: 5, dilation: 2 } },
  padding: { dims: { B: 3, H: 2, N: 30, D: 16 } },
  neighborhood2d: { dims: { B: 1, H: 2, N: 48, D: 16 }, params: { height: 6, width: 8, kernel: 3, dilation: 2 } },
  reversed: { dims: { B: 1, H: 2, N: 30, D: 16 } },
  streaming: { dims: { B: 1, H: 4, N: 40, D: 16 }, params: { window: 8, sinks: 3 } },
  video: { dims: { B: 1, H: 2, N: 75, D: 16 }, params: { frames: 3, height: 5, width: 5 } },
};

const samplesDir = new URL('../samples/', import.meta.url);
for (const file of readdirSync(samplesDir).filter((f) => f.endsWith('.attn')).sort()) {
  const name = file.replace(/\.attn$/, '');
  if (name === 'routing') continue; // needs inputs without near-ties: tested above
  test(`sample ${file} at small sizes`, async (t) => {
    const small = SMALL[name];
    if (!small) return t.fail(`no small sizes for sample ${file}: add them to SMALL`);
    const g = program(readFileSync(new URL(file, samplesDir), 'utf8'), small.params);
    const inputs = generateInputs(g, { ...g.dimDefaults, ...small.dims }, 42);
    await check(t, g, inputs);
  });
}

test('printWebGL shows each kernel\'s JavaScript and the GLSL gpu.js generated', (t) => {
  const g = program(readFileSync(new URL('../samples/streaming.attn', import.meta.url), 'utf8'), { window: 8, sinks: 2 });
  const dims = { B: 1, H: 2, N: 16, D: 16 };
  const text = printWebGL(g, dims, { strategy: 'fused' });
  t.regex(text, /==== kernel streaming_attend3_fused/);
  t.regex(text, /void kernel\(\)/);
  t.regex(text, /const int LOOP_MAX = 8;/, 'loop bound = the sliding window width');
  t.regex(text, /float attnc_alibi\(float h, float m\)/);
  t.notRegex(text, /float acosh/, 'gpu.js runtime helpers trimmed');
  const listings = webglListings(g, dims, { strategy: 'scores' });
  t.deepEqual(listings.map((l) => l.name), [
    'streaming_tensor0_pack', 'streaming_tensor1_pack', 'streaming_tensor2_pack',
    'streaming_attend3_scores', 'streaming_attend3_rowstats', 'streaming_attend3_probs', 'streaming_attend3_pv',
  ]);
  for (const l of listings) t.regex(l.glsl, /gl_FragData|out vec4|data0/);
  // packed operands are read a texel at a time through the native helper, given the sampler
  t.regex(listings[3]!.glsl, /vec4 attnc_ld\(sampler2D t, ivec2 size, ivec3 dim, float y, float x\)/);
  t.regex(listings[3]!.glsl, webglDevice().version === 2 ? /texelFetch\(t, / : /texture2D\(t, /);
});

test('kernels are cached per (graph, dims): a second run reuses them', async (t) => {
  const g = program(POOL, { n: 3 });
  const x = uniformTensor([1, 1, 9, 4], 9);
  const a = await executeWebGL(g, { x }, { B: 1, H: 1, N: 9, D: 4 });
  const x2 = uniformTensor([1, 1, 9, 4], 10);
  const b = await executeWebGL(g, { x: x2 }, { B: 1, H: 1, N: 9, D: 4 });
  close(t, b, executeReference(g, { x: x2 }));
  t.notDeepEqual([...a.data], [...b.data]);
  const c = await executeWebGL(g, { x: uniformTensor([1, 1, 12, 4], 11) }, { B: 1, H: 1, N: 12, D: 4 });
  t.deepEqual(c.shape, [1, 1, 3, 4]);
});

test('invalid runtime sizes are errors before any kernel runs', async (t) => {
  const g = program(`attention bad {
    input q, k, v: f32[B, H, N, D]
    param kernel = 5
    return attend(q, k, v, mask: neighborhood(kernel))
  }`);
  const inputs = { q: uniformTensor([1, 1, 4, 4], 1), k: uniformTensor([1, 1, 4, 4], 2), v: uniformTensor([1, 1, 4, 4], 3) };
  const err = await t.throwsAsync(executeWebGL(g, inputs, bindDims(g, inputs)));
  t.true(err instanceof AttncError);
  t.regex(err!.message, /exceeds the length 4/);
  const gqa = program(`attention g {
    input q: f32[B, H, N, D]
    input k, v: f32[B, Hk, N, D]
    return attend(q, k, v)
  }`);
  const bad = { q: uniformTensor([1, 3, 4, 4], 1), k: uniformTensor([1, 2, 4, 4], 2), v: uniformTensor([1, 2, 4, 4], 3) };
  const e2 = await t.throwsAsync(executeWebGL(gqa, bad, bindDims(gqa, bad)));
  t.regex(e2!.message, /multiple of the key\/value heads/);
});

test('sizes beyond f32-exact addressing are a clear error naming the tensor', (t) => {
  const g = program(`attention big {
    input q, k, v: f32[B, H, N, D]
    return attend(q, k, v)
  }`);
  const err = t.throws(() => planWebGL(g, { B: 1, H: 64, N: 4096, D: 128 }));
  t.true(err instanceof WebGLLimitError);
  t.regex(err!.message, /`q` \(%0\) has 33554432 elements/);
  // the three-pass form's B·H·N·M scores are computed a few heads at a time ...
  const chunked = planWebGL(g, { B: 1, H: 8, N: 2048, D: 64 });
  t.is(chunked.strategies[3], 'scores');
  t.deepEqual(chunked.kernels.find((k) => k.kind === 'scores')!.chunk, { heads: 4, count: 2, total: 8, into: 3 });
  // ... unless one head alone is too large: auto falls back to the fused kernel
  const plan = planWebGL(g, { B: 1, H: 2, N: 8192, D: 16 });
  t.is(plan.strategies[3], 'fused');
  const e2 = t.throws(() => planWebGL(g, { B: 1, H: 2, N: 8192, D: 16 }, { strategy: 'scores' }), { instanceOf: WebGLLimitError });
  t.regex(e2!.message, /scores of one head/);
});

test('the expression renderer keeps floor division/modulo, folds constants and maps -inf to the masked stand-in', (t) => {
  const helpers = new Set<Helper>();
  const env: ExprEnv = {
    helpers,
    index: (n) => `i_${n}`,
    score: () => 'sc',
    dim: (n) => `this.constants.dim_${n}`,
    load: (id, idx) => `t${id}[${idx.join(', ')}]`,
  };
  const i = index('i');
  const j = index('j');
  t.is(renderExpr(bin('div', bin('sub', j, i), int(3)), env), 'attnc_idiv((i_j - i_i), 3)');
  t.is(renderExpr(bin('mod', i, dim('N')), env), 'attnc_imod(i_i, this.constants.dim_N)');
  t.is(renderExpr(bin('div', float(1), call('sqrt', [call('float', [dim('D')], 'float')], 'float')), env), '(1.0 / Math.sqrt(this.constants.dim_D))');
  t.is(renderExpr(bin('div', int(-3), int(2)), env), '(-2)', 'constants fold with floor division');
  t.is(renderExpr(bin('mod', int(-3), int(2)), env), '1');
  t.is(renderExpr(call('log', [float(0)], 'float'), env), '(-3.0e38)');
  t.is(renderExpr(call('int', [bin('mul', float(-2.5), call('float', [i], 'float'))], 'int'), env), 'attnc_trunc(((-2.5) * i_i))');
  t.deepEqual([...helpers].sort(), ['attnc_idiv', 'attnc_imod', 'attnc_trunc']);
  t.is(evalSize(bin('div', bin('sub', variable('q_lo'), int(7)), int(2)), {}, { q_lo: 2 }), -3, 'host-side range bounds: floor division');
});
