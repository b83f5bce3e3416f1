// pool, pool2d and clusters kernels on the device vs the float64 reference.
import test from 'ava';
import { getWebGPU } from '../runtime/webgpu/execute.js';
import { generateInputs, resolveDims } from '../runtime/reference/index.js';
import { checkGraph, graphOf } from './helpers/webgpu-check.js';

test('pool: tokens not dividing N, odd head dim', async (t) => {
  const g = graphOf('attention p { input x: f32[B, H, N, D]\n param n = 7\n return pool(x, tokens: n) }');
  await checkGraph(t, g, { B: 2, H: 3, N: 50, D: 20 });
  await checkGraph(t, graphOf('attention p { input x: f32[B, H, N, D]\n return pool(x, tokens: 1) }'), { B: 1, H: 1, N: 33, D: 8 });
  await checkGraph(t, graphOf('attention p { input x: f32[B, H, N, D]\n return pool(x, tokens: N) }'), { B: 1, H: 2, N: 33, D: 8 });
});

test('pool2d: windows not dividing the grid', async (t) => {
  const g = graphOf('attention p { input x: f32[B, H, N, D]\n return pool2d(x, height: 7, width: 9, to: [3, 4]) }');
  await checkGraph(t, g, { B: 2, H: 2, N: 63, D: 12 });
});

test('clusters: cosine nearest centroid, exact ties to the lowest index, zero vectors to 0', async (t) => {
  const g = graphOf('attention c { input x: f32[B, H, N, D]\n input cs: f32[H, C, D]\n return clusters(x, cs) }');
  const dims = resolveDims(g, { B: 2, H: 2, N: 40, D: 12, C: 6 });
  const inputs = generateInputs(g, dims, 3);
  const x = inputs.x!.data;
  const cs = inputs.cs!.data;
  const D = 12;
  for (let d = 0; d < D; d++) {
    x[5 * D + d] = 0; // a zero token → cluster 0
    for (const h of [0, 1]) {
      cs[(h * 6 + 3) * D + d] = cs[(h * 6 + 1) * D + d]!; // centroid 3 duplicates centroid 1: 3 is never chosen
      cs[(h * 6 + 4) * D + d] = 0; // a zero centroid: similarity 0
    }
    x[(40 + 7) * D + d] = 2 * cs[(1 * 6 + 1) * D + d]!; // b=0, h=1, n=7: exactly along centroid 1 (= 3)
  }
  const r = await checkGraph(t, g, { B: 2, H: 2, N: 40, D: 12, C: 6 }, { inputs });
  t.true(r.out.data instanceof Int32Array);
  t.is(r.out.data[5], 0);
  t.is(r.out.data[47], 1);
  t.false(Array.from(r.out.data).includes(3));
  const { caps } = await getWebGPU();
  if (caps.subgroups) t.true(r.sources.some((x) => x.includes('subgroupBroadcast')), 'centroids shared by broadcast');
  // Without subgroups every lane reads the centroids itself: the same answers.
  const plain = await checkGraph(t, g, { B: 2, H: 2, N: 40, D: 12, C: 6 }, { inputs, caps: { ...caps, subgroups: false } });
  t.false(plain.sources.some((x) => x.includes('subgroupBroadcast')));
  t.deepEqual(plain.out.data, r.out.data);
  // A head dim of 10 vec4s (one full chunk step of 8 lanes, one guarded) and N past a workgroup.
  await checkGraph(t, g, { B: 1, H: 3, N: 70, D: 40, C: 5 });
});
