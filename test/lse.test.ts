// lse(x) (docs/language-extensions.md): the log-sum-exp of an attention's allowed scores per
// query, −inf for a query with none. The checker's rules, the reference against a direct
// float64 computation, the devices against the reference (WGSL: subgroup and workgroup
// paths, fusion off; WebGL: both strategies; −inf rows exactly), and the identity that
// makes it useful: two attentions over disjoint key sets merged through their lse equal one
// attention over the union (Combiner, flash-decoding).

import test from 'ava';
import { compile } from '../compiler/compile.js';
import type { Graph } from '../compiler/ir.js';
import { run } from '../runtime/run.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { executeWebGPU } from '../runtime/webgpu/execute.js';
import { executeWebGL } from '../runtime/webgl/index.js';
import type { Tensor } from '../runtime/tensor.js';
import { compare } from './helpers/webgpu-check.js';

function graph(src: string): Graph {
  const r = compile(src);
  if (!r.ok || !r.graph) throw new Error(r.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
  return r.graph;
}

const codes = (src: string) => compile(src).diagnostics.map((d) => `${d.code} ${d.message}`);

test('checker: lse takes an attention normalized over keys — a call, or a let bound to one (through let chains)', (t) => {
  const head = 'input q, k, v: f32[B, H, N, D]';
  t.deepEqual(codes(`attention t {\n  ${head}\n  return lse(attend(q, k, v, mask: causal))\n}`), []);
  t.deepEqual(codes(`attention t {\n  ${head}\n  let o = attend(q, k, v)\n  let p = o\n  return lse(p)\n}`), []);
  const g = graph(`attention t {\n  ${head}\n  let o = attend(q, k, v)\n  return lse(o)\n}`);
  t.is(g.nodes[g.output]!.op, 'lse');
  t.deepEqual(g.nodes[g.output]!.shape.map((d) => (d.op === 'dim' ? d.name : '?')), ['B', 'H', 'N']);
  t.deepEqual(codes(`attention t {\n  ${head}\n  return lse(q)\n}`),
    ['AT508 argument `x` of `lse` must be an attention normalized over keys (`attend(…)` or a `let` bound to one), found `q`']);
  t.deepEqual(codes(`attention t {\n  ${head}\n  let p = pool(q, tokens: 4)\n  return lse(p)\n}`),
    ['AT508 argument `x` of `lse` must be an attention normalized over keys (`attend(…)` or a `let` bound to one), found `p`']);
  const rev = compile(`attention t {\n  ${head}\n  return lse(attend(q, k, v, normalize: queries))\n}`).diagnostics;
  t.deepEqual(rev.map((d) => d.code), ['AT508']);
  t.regex(rev[0]!.message, /found `normalize: queries`/);
  t.regex(rev[0]!.hint ?? '', /per query over its keys/);
  t.deepEqual(codes(`attention t {\n  ${head}\n  let o = attend(q, k, v)\n  return lse(o, o)\n}`).map((c) => c.slice(0, 5)), ['AT501']);
});

const PROG = (mask: string, score = 's', dims = 'B = 2, H = 4, Hk = 2, N = 21, M = 30, D = 6') => `attention l {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims  ${dims}
  let o = attend(q, k, v, mask: ${mask}, score: ${score})
  return lse(o)
}`;

test('reference: log Σ exp over the allowed scores, computed directly in float64; −inf for rows with no allowed key or only −inf scores', (t) => {
  const g = graph(PROG('j < i - 3 && j > i - 15', 'j == i - 4 ? log(0.0) : s * 2.0'));
  const dims = resolveDims(g);
  const inputs = generateInputs(g, dims, 5);
  const out = executeReference(g, inputs);
  const { B, H, Hk, N, M, D } = dims as Record<string, number>;
  const q = inputs.q!.data;
  const k = inputs.k!.data;
  const want: number[] = [];
  for (let b = 0; b < B!; b++) for (let h = 0; h < H!; h++) for (let i = 0; i < N!; i++) {
    const hk = Math.floor(h / (H! / Hk!));
    let sum = 0;
    for (let j = 0; j < M!; j++) {
      if (!(j < i - 3 && j > i - 15) || j === i - 4) continue; // masked, or a −inf score
      let dot = 0;
      for (let d = 0; d < D!; d++) dot += q[((b * H! + h) * N! + i) * D! + d]! * k[((b * Hk! + hk) * M! + j) * D! + d]!;
      sum += Math.exp(2 * dot / Math.sqrt(D!));
    }
    want.push(Math.log(sum)); // log(0) = −inf: rows 0 … 4
  }
  t.deepEqual(out.shape, [B, H, N]);
  t.is(out.data[0], -Infinity);
  t.is(out.data[4], -Infinity, 'query 4 sees only key 0, whose score is −inf');
  for (let e = 0; e < want.length; e++) {
    const w = want[e]!;
    if (w === -Infinity) t.is(out.data[e], -Infinity);
    else t.true(Math.abs(out.data[e]! - w) <= 1e-12 * Math.max(1, Math.abs(w)), `element ${e}: ${out.data[e]} vs ${w}`);
  }
});

const DEVICE_CASES = [
  { mask: 'j < i - 3 && j > i - 15', score: 's * 2.0' },
  { mask: 'causal', score: 's', dims: 'B = 1, H = 2, Hk = 1, N = 70, M = 70, D = 16' },
  { mask: 'sliding(9) || sink(2)', score: 'j == 0 ? log(0.0) : s', dims: 'B = 1, H = 3, Hk = 3, N = 40, M = 40, D = 5' },
];

for (const c of DEVICE_CASES) {
  test(`lse on webgpu (subgroup and workgroup paths, fusion off) and webgl (both strategies) equals the reference: mask ${c.mask}, score ${c.score}`, async (t) => {
    const g = graph(PROG(c.mask, c.score, c.dims));
    const dims = resolveDims(g);
    const inputs = generateInputs(g, dims, 9);
    const ref = executeReference(g, inputs);
    const { caps } = await getWebGPU();
    const outs: [string, Tensor][] = [
      ['webgpu', await executeWebGPU(g, inputs, dims)],
      ['webgpu workgroup path', await executeWebGPU(g, inputs, dims, { caps: { ...caps, subgroups: false } })],
      ['webgpu fusion off (the lse is the fused kernel\'s)', await executeWebGPU(g, inputs, dims, { fusion: false })],
      ['webgl fused', await executeWebGL(g, inputs, dims, { strategy: 'fused' })],
      ['webgl scores', await executeWebGL(g, inputs, dims, { strategy: 'scores' })],
    ];
    for (const [what, out] of outs) t.deepEqual(compare(out, ref).bad, [], what);
  });
}

/** Two attentions over disjoint key sets (a ∪ b), merged exactly through their lse. */
const MERGE = (a: string, b: string, dims: string) => `attention merge {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims  ${dims}
  let o1 = attend(q, k, v, mask: ${a})
  let o2 = attend(q, k, v, mask: ${b})
  let l1 = lse(o1)
  let l2 = lse(o2)
  let m = max(l1, l2)
  return (o1 * exp(l1 - m) + o2 * exp(l2 - m)) / (exp(l1 - m) + exp(l2 - m))
}`;
const WHOLE = (mask: string, dims: string) => `attention whole {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims  ${dims}
  return attend(q, k, v, mask: ${mask})
}`;

const MERGES = [
  // split-KV decoding: the cache's two halves (each query sees at least one key of the first)
  { a: 'causal_end && j < M / 2', b: 'causal_end && j >= M / 2', dims: 'B = 1, H = 4, Hk = 2, N = 3, M = 57, D = 8' },
  // local keys and, where there are any, distant ones (rows of the first block have none: lse −inf, weight 0)
  { a: 'sliding(8)', b: 'j <= i - 8', dims: 'B = 2, H = 2, Hk = 1, N = 37, M = 37, D = 4' },
];

for (const c of MERGES) {
  test(`merging through lse: attend(${c.a}) ⊕ attend(${c.b}) equals one attend over the union, on every backend`, async (t) => {
    const merged = compile(MERGE(c.a, c.b, c.dims));
    const whole = compile(WHOLE(`(${c.a}) || (${c.b})`, c.dims));
    t.true(merged.ok && whole.ok, merged.diagnostics.concat(whole.diagnostics).map((d) => d.message).join('\n'));
    const inputs = generateInputs(whole.graph!, resolveDims(whole.graph!), 13);
    const want = await run(whole, inputs, { backend: 'reference' });
    for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
      const got = await run(merged, inputs, { backend });
      t.deepEqual(compare(got.output, want.output).bad, [], backend);
    }
  });
}

test('an attention with a routing mask whose lse is read runs as the fused kernel (no routing by permutation) and agrees', async (t) => {
  const g = graph(`attention r {
  input q, k, v: f32[B, H, N, D]
  input centroids: f32[H, C, D]
  dims B = 1, H = 2, N = 33, D = 8, C = 3
  let cq = clusters(q, centroids)
  let ck = clusters(k, centroids)
  let o = attend(q, k, v, mask: cq[b, h, i] == ck[b, hk, j] && causal)
  return lse(o)
}`);
  const dims = resolveDims(g);
  const inputs = generateInputs(g, dims, 3);
  const kinds: string[] = [];
  const out = await executeWebGPU(g, inputs, dims, { onKernel: (k) => kinds.push(k.kind) });
  t.false(kinds.includes('route-attend'));
  t.deepEqual(compare(out, executeReference(g, inputs)).bad, []);
});
