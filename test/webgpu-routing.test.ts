// Routing by permutation (compiler/passes/route.ts, targets/wgsl/route.ts): a mask
// `cq[b, h, i] == ck[b, hk, j] (&& extra)` sorts queries and keys by cluster on the device
// and attends within each cluster. Checked against the float64 reference with uneven
// clusters (an empty one, one holding everything, queries whose cluster has no key),
// causal and not, GQA, B = 2, N ≠ M, N not a multiple of the block — on the subgroup,
// workgroup and storage schedules — and that the routing kernels are the ones chosen.
//
// Inputs: q/k rows are a chosen centroid plus small noise, so cluster assignment has a
// wide margin (the spec's near-tie caveat); the helper checks the margin and that each row
// lands in the cluster it was built for.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import type { Graph } from '../compiler/ir.js';
import { resolveDims, generateInputs } from '../runtime/reference/index.js';
import type { Tensor } from '../runtime/tensor.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { checkGraph, graphOf, kernelsFor } from './helpers/webgpu-check.js';

/** Deterministic PRNG in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Assign = (b: number, h: number, pos: number) => number;

/**
 * Inputs for a routing program: centroids random, each q/k row = its assigned centroid +
 * noise (|noise| ≤ 0.05 per component); v random. Asserts the assignment margin.
 */
function routingInputs(
  g: Graph,
  dims: Record<string, number>,
  names: { q: string; k: string; qc: string; kc: string },
  qa: Assign,
  ka: Assign,
  seed = 7,
): Record<string, Tensor> {
  const d = resolveDims(g, dims);
  const inputs = generateInputs(g, d, seed);
  const r = rng(seed);
  const { B, N, D, C } = d as Record<string, number>;
  const H = d.H!;
  const Hk = d.Hk ?? H;
  const M = d.M ?? N!;
  const cent = (heads: number) => {
    const t = new Float32Array(heads * C! * D!);
    for (let x = 0; x < t.length; x++) t[x] = Math.fround(2 * r() - 1);
    return t;
  };
  const qc = cent(H);
  const kc = names.kc === names.qc ? qc : cent(Hk);
  const rows = (heads: number, len: number, c: Float32Array, assign: Assign) => {
    const t = new Float32Array(B! * heads * len * D!);
    for (let b = 0; b < B!; b++) for (let h = 0; h < heads; h++) for (let p = 0; p < len; p++) {
      const cl = assign(b, h, p);
      if (!(cl >= 0 && cl < C!)) throw new Error(`test bug: cluster ${cl} of ${C}`);
      const o = ((b * heads + h) * len + p) * D!;
      for (let x = 0; x < D!; x++) t[o + x] = Math.fround(c[(h * C! + cl) * D! + x]! + 0.1 * (r() - 0.5));
      // the margin: cosine to the assigned centroid beats every other by > 1e-3
      const cos = (cc: number) => {
        let dot = 0, n1 = 0, n2 = 0;
        for (let x = 0; x < D!; x++) {
          const a = t[o + x]!, m = c[(h * C! + cc) * D! + x]!;
          dot += a * m; n1 += a * a; n2 += m * m;
        }
        return dot / Math.sqrt(n1 * n2);
      };
      const mine = cos(cl);
      for (let cc = 0; cc < C!; cc++) if (cc !== cl && !(cos(cc) < mine - 1e-3)) throw new Error(`near-tie in the test inputs (cluster ${cl} vs ${cc})`);
    }
    return t;
  };
  inputs[names.qc] = { data: qc, shape: [H, C!, D!] };
  if (names.kc !== names.qc) inputs[names.kc] = { data: kc, shape: [Hk, C!, D!] };
  inputs[names.q] = { data: rows(H, N!, qc, qa), shape: [B!, H, N!, D!] };
  inputs[names.k] = { data: rows(Hk, M, kc, ka), shape: [B!, Hk, M, D!] };
  return inputs;
}

const routingSample = readFileSync(new URL('../samples/routing.attn', import.meta.url), 'utf8');

/** Self-attention routing with its own mask (one centroid set). */
const selfProg = (mask: string) => `
attention r {
  input q, k, v: f32[B, H, N, D]
  input centroids: f32[H, C, D]
  let cq = clusters(q, centroids)
  let ck = clusters(k, centroids)
  return attend(q, k, v, mask: ${mask})
}`;

/** GQA / cross attention: keys have their own heads, length and centroids. */
const gqaProg = (mask: string) => `
attention r {
  input q: f32[B, H, N, D]
  input k: f32[B, Hk, M, D]
  input v: f32[B, Hk, M, Dv]
  input qcent: f32[H, C, D]
  input kcent: f32[Hk, C, D]
  let cq = clusters(q, qcent)
  let ck = clusters(k, kcent)
  return attend(q, k, v, mask: ${mask})
}`;

// Uneven clusters (C = 5): 0 large, 1 small, 2 EMPTY, 3 queries only (no keys: those rows are
// exactly 0), 4 the rest; the mix shifts with the head and batch.
const unevenQ: Assign = (b, h, p) => { const x = (p * 7 + h * 3 + b) % 20; return x < 9 ? 0 : x < 11 ? 1 : x < 14 ? 3 : 4; };
const unevenK: Assign = (b, h, p) => { const x = (p * 11 + h + 2 * b) % 20; return x < 10 ? 0 : x < 12 ? 1 : 4; };
const everything: Assign = () => 1;
const selfNames = { q: 'q', k: 'k', qc: 'centroids', kc: 'centroids' };
const gqaNames = { q: 'q', k: 'k', qc: 'qcent', kc: 'kcent' };

async function variants(t: ExecutionContext, g: Graph, dims: Record<string, number>, inputs: Record<string, Tensor>, expectZeros = false) {
  const { caps } = await getWebGPU();
  const sub = await checkGraph(t, g, dims, { inputs, expectZeros });
  if (caps.subgroups) {
    t.true(sub.sources.some((x) => x.includes('subgroupBroadcast') && x.includes('route_attend')));
    // 4 rows per invocation (long sequences): with causal, 4 row slots each with its own key count.
    const four = await checkGraph(t, g, dims, { inputs, expectZeros, rowsPerThread: 4 });
    t.true(four.sources.some((x) => x.includes('× 4 query rows') && x.includes('route_attend')));
  }
  const wg = await checkGraph(t, g, dims, { inputs, expectZeros, caps: { ...caps, subgroups: false } });
  t.true(wg.sources.some((x) => x.includes('workgroupBarrier') && x.includes('route_attend')));
  const tiny = { ...caps, subgroups: false, maxWorkgroupStorageSize: 256, maxInvocationsPerWorkgroup: 32, maxWorkgroupSizeX: 32 };
  const st = await checkGraph(t, g, dims, { inputs, expectZeros, caps: tiny });
  t.true(st.sources.some((x) => x.includes('storage staging') && x.includes('route_attend')));
  return sub;
}

test('the routing kernels are chosen (fused); fusion: false keeps scores/softmax/pv', async (t) => {
  const g = graphOf(routingSample);
  const dims = resolveDims(g, { B: 1, H: 2, N: 80, D: 32, C: 5 });
  const fused = await kernelsFor(g, dims, true);
  t.deepEqual(fused.map((k) => k.kind), ['clusters', 'clusters', 'route-sort', 'route-attend']);
  const ra = fused.find((k) => k.kind === 'route-attend');
  t.true(ra?.kind === 'route-attend' && ra.causal);
  const unfused = await kernelsFor(g, dims, false);
  // (Unfused, the scores kernel bounds the cluster-id lookups by their block summaries.)
  t.deepEqual(unfused.map((k) => k.kind), ['clusters', 'clusters', 'summary', 'summary', 'scores', 'softmax', 'pv']);
  // normalize: queries keeps the generic kernels; a non-routing mask the fused attend.
  const rq = graphOf(selfProg('cq[b, h, i] == ck[b, hk, j], normalize: queries'));
  t.deepEqual((await kernelsFor(rq, resolveDims(rq, { B: 1, H: 2, N: 40, D: 16, C: 3 }), true)).map((k) => k.kind), ['clusters', 'clusters', 'summary', 'summary', 'colstats', 'colapply']);
  const other = graphOf(selfProg('cq[b, h, i] != ck[b, hk, j]'));
  t.deepEqual((await kernelsFor(other, resolveDims(other, { B: 1, H: 2, N: 40, D: 16, C: 3 }), true)).map((k) => k.kind), ['clusters', 'clusters', 'summary', 'summary', 'attend']);
  // either side order, nested conjuncts, `h` for the key head without GQA
  for (const mask of ['causal && ck[b, hk, j] == cq[b, h, i]', 'j <= i + 3 && (cq[b, h, i] == ck[b, h, j] && causal)']) {
    const x = graphOf(selfProg(mask));
    const ks = await kernelsFor(x, resolveDims(x, { B: 1, H: 2, N: 40, D: 16, C: 3 }), true);
    t.deepEqual(ks.map((k) => k.kind), ['clusters', 'clusters', 'route-sort', 'route-attend'], mask);
    t.true(ks[3]!.kind === 'route-attend' && ks[3]!.causal, mask);
  }
});

test('sample routing (causal): uneven clusters incl. an empty one, B = 2, N not a multiple of the block', async (t) => {
  const g = graphOf(routingSample);
  const dims = { B: 2, H: 2, N: 131, D: 32, C: 5 };
  const inputs = routingInputs(g, dims, selfNames, unevenQ, unevenK);
  const r = await variants(t, g, dims, inputs, true);
  t.log(`max error ${r.maxErr.toExponential(2)}, ${r.zeros} exact zeros`);
  await checkGraph(t, g, dims, { inputs, fusion: false });
});

test('non-causal routing, and a cluster holding everything (= dense attention)', async (t) => {
  const g = graphOf(selfProg('cq[b, h, i] == ck[b, hk, j]'));
  const dims = { B: 2, H: 3, N: 75, D: 16, C: 5 };
  await variants(t, g, dims, routingInputs(g, dims, selfNames, unevenQ, unevenK), true);
  await variants(t, g, dims, routingInputs(g, dims, selfNames, everything, everything));
  const c = graphOf(routingSample);
  await variants(t, c, { B: 1, H: 2, N: 90, D: 32, C: 3 }, routingInputs(c, { B: 1, H: 2, N: 90, D: 32, C: 3 }, selfNames, everything, everything));
});

test('GQA (Hk < H), N ≠ M, Dv ≠ D, causal and not', async (t) => {
  for (const mask of ['cq[b, h, i] == ck[b, hk, j] && causal', 'ck[b, hk, j] == cq[b, h, i]']) {
    const g = graphOf(gqaProg(mask));
    for (const [N, M] of [[70, 53], [45, 101]]) {
      const dims = { B: 2, H: 4, Hk: 2, N: N!, M: M!, D: 16, Dv: 24, C: 5 };
      await variants(t, g, dims, routingInputs(g, dims, gqaNames, unevenQ, unevenK), true);
    }
  }
});

test('extra conjuncts are evaluated on the original positions; a large cluster count', async (t) => {
  const g = graphOf(selfProg('cq[b, h, i] == ck[b, hk, j] && sliding(40) && (i + j) % 3 != 1'));
  const dims = { B: 1, H: 2, N: 150, D: 32, C: 5 };
  await variants(t, g, dims, routingInputs(g, dims, selfNames, unevenQ, unevenK), true);
  const many = { B: 1, H: 2, N: 200, D: 16, C: 37 };
  const spread: Assign = (b, h, p) => (p * 13 + h * 5) % 37 === 36 ? 0 : (p * 13 + h * 5) % 37;
  const g2 = graphOf(routingSample);
  await variants(t, g2, many, routingInputs(g2, many, selfNames, spread, spread));
});
