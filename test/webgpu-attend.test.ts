// Attention kernels on the device vs the float64 reference: head dims, N ≠ M, Dv ≠ D,
// GQA/MQA, fully-masked rows, the mask builtins, score modifiers, normalize: queries,
// schedules for other device limits — fused, and unfused where marked.
import test from 'ava';
import { DEFAULT_CAPS } from '../compiler/caps.js';
import { LARGE_ROWS } from '../compiler/heuristics.js';
import { lowerToKernels } from '../compiler/pipeline.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { checkGraph, graphOf } from './helpers/webgpu-check.js';

const prog = (body: string, decl = 'input q, k, v: f32[B, H, N, D]') => `
attention t {
  ${decl}
  return attend(q, k, v${body ? `, ${body}` : ''})
}`;
const cross = `
  input q: f32[B, H, N, D]
  input k: f32[B, Hk, M, D]
  input v: f32[B, Hk, M, Dv]`;

// 20 and 12: an odd number of vec4s, so the subgroup path's last chunk step is guarded.
for (const D of [12, 16, 20, 32, 64, 128]) {
  test(`head dim ${D}, N = 67`, async (t) => {
    const g = graphOf(prog(''));
    await checkGraph(t, g, { B: 1, H: 2, N: 67, D });
    if (D === 16 || D === 128) await checkGraph(t, g, { B: 1, H: 2, N: 67, D }, { fusion: false });
  });
}

test('N ≠ M, Dv ≠ D, GQA, B = 2 (causal, top-left aligned)', async (t) => {
  const g = graphOf(prog('mask: causal', cross));
  for (const fusion of [true, false]) {
    await checkGraph(t, g, { B: 2, H: 4, Hk: 2, N: 37, M: 75, D: 16, Dv: 24 }, { fusion });
    await checkGraph(t, g, { B: 2, H: 4, Hk: 2, N: 90, M: 41, D: 16, Dv: 24 }, { fusion });
  }
});

test('head dims not a multiple of 4 (D = 6, Dv = 10), MQA', async (t) => {
  const g = graphOf(prog('mask: window(5)', cross));
  for (const fusion of [true, false]) await checkGraph(t, g, { B: 2, H: 3, Hk: 1, N: 45, M: 45, D: 6, Dv: 10 }, { fusion });
});

test('fully-masked rows are exactly 0 (normalize: keys and queries)', async (t) => {
  for (const norm of ['keys', 'queries']) {
    const g = graphOf(prog(`mask: j > i + 2, normalize: ${norm}`));
    for (const fusion of [true, false]) await checkGraph(t, g, { B: 1, H: 2, N: 70, D: 16 }, { fusion, expectZeros: true });
  }
});

test('a −inf score behaves as masked (log(0.0)); a row with only −inf scores is 0', async (t) => {
  const g = graphOf(prog('mask: causal, score: s + log(float(j % 2))'));
  for (const fusion of [true, false]) await checkGraph(t, g, { B: 1, H: 1, N: 40, D: 16 }, { fusion, expectZeros: true });
});

const masks: Record<string, string> = {
  causal: 'causal',
  sliding: 'sliding(9)',
  window: 'window(4)',
  block: 'block(24)',
  halo: 'halo(20, 5)',
  sink: 'sink(3)',
  global: 'global(4)',
  'sink && causal || sliding': 'sink(2) && causal || sliding(7)',
  'neighborhood dilation 3': 'neighborhood(5, dilation: 3)',
  'neighborhood causal': 'neighborhood(4, dilation: 2, causal: true)',
  'neighborhood2d per-axis': 'neighborhood2d(9, 11, [3, 5], dilation: [2, 1], causal: [false, true])',
  'neighborhood2d causal': 'neighborhood2d(9, 11, 3, causal: true)',
  'document mask (expression)': '(i / 17) % 3 == (j / 17) % 3 && j <= i + 5',
};

for (const [name, mask] of Object.entries(masks)) {
  test(`mask ${name} (subgroup and workgroup paths)`, async (t) => {
    const g = graphOf(prog(`mask: ${mask}`));
    const { caps } = await getWebGPU();
    const sub = await checkGraph(t, g, { B: 1, H: 2, N: 99, D: 16 });
    if (caps.subgroups) t.true(sub.sources.some((x) => x.includes('subgroupBroadcast')));
    const wg = await checkGraph(t, g, { B: 1, H: 2, N: 99, D: 16 }, { caps: { ...caps, subgroups: false } });
    t.true(wg.sources.some((x) => x.includes('workgroupBarrier')));
  });
}

test('dilated neighborhood: queries and keys regrouped by dilation group (subgroup path)', async (t) => {
  const { caps } = await getWebGPU();
  const cases: [string, string, Record<string, number>][] = [
    ['neighborhood(5, dilation: 3)', 'input q, k, v: f32[B, H, N, D]', { B: 1, H: 2, N: 100, D: 16 }],
    ['neighborhood(3, dilation: 4, causal: true)', cross, { B: 2, H: 4, Hk: 2, N: 37, M: 37, D: 16, Dv: 24 }],
    ['neighborhood(7, dilation: 2) && j != i + 2', 'input q, k, v: f32[B, H, N, D]', { B: 1, H: 1, N: 71, D: 8 }],
    ['neighborhood(2, dilation: 6)', 'input q, k, v: f32[B, H, N, D]', { B: 1, H: 2, N: 13, D: 4 }],
  ];
  for (const [mask, decl, dims] of cases) {
    const r = await checkGraph(t, graphOf(prog(`mask: ${mask}`, decl)), dims);
    if (caps.subgroups) t.true(r.sources.some((x) => x.includes('let DIL =')), `${mask}: regrouped`);
  }
  // 2-D, dilation on both axes (not regrouped: evaluated per element on the band).
  for (const mask of ['neighborhood2d(9, 11, 3, dilation: [2, 3])', 'neighborhood2d(8, 7, [3, 2], dilation: 2, causal: [true, false])']) {
    const g = graphOf(prog(`mask: ${mask}`));
    const N = mask.startsWith('neighborhood2d(9') ? 99 : 56;
    await checkGraph(t, g, { B: 1, H: 2, N, D: 16 });
    await checkGraph(t, g, { B: 1, H: 2, N, D: 16 }, { caps: { ...caps, subgroups: false } });
  }
});

test('masks, unfused (second opinion)', async (t) => {
  for (const mask of ['neighborhood2d(9, 11, [3, 5], dilation: [2, 1], causal: [false, true])', 'halo(20, 5)', 'sink(2) && causal || sliding(7)']) {
    await checkGraph(t, graphOf(prog(`mask: ${mask}`)), { B: 1, H: 2, N: 99, D: 16 }, { fusion: false });
  }
});

test('score modifiers: ALiBi with a non-power-of-two head count, soft-cap, bias lookup', async (t) => {
  const alibi = graphOf(prog('mask: causal, score: s + alibi(h, H) * float(j - i)'));
  await checkGraph(t, alibi, { B: 1, H: 6, N: 50, D: 16 });
  const cap = graphOf(prog('score: 2.0 * tanh(s * 4.0 / 2.0), scale: 1.0'));
  await checkGraph(t, cap, { B: 1, H: 2, N: 50, D: 32 });
  const bias = graphOf(prog('mask: window(6), score: s * 0.5 + bias[h, i - j + 6] - float(abs(i - j)) / 8.0', 'input q, k, v: f32[B, H, N, D]\n  input bias: f32[H, T]'));
  for (const fusion of [true, false]) await checkGraph(t, bias, { B: 2, H: 2, N: 61, D: 16, T: 13 }, { fusion });
});

test('normalize: queries with masks and GQA', async (t) => {
  const g = graphOf(prog('mask: causal, normalize: queries', cross));
  for (const fusion of [true, false]) await checkGraph(t, g, { B: 2, H: 4, Hk: 2, N: 77, M: 77, D: 16, Dv: 8 }, { fusion });
  const w = graphOf(prog('mask: sliding(10) || sink(2), normalize: queries'));
  await checkGraph(t, w, { B: 1, H: 2, N: 150, D: 32 });
  const n = graphOf(prog('mask: neighborhood(5, dilation: 2), normalize: queries'));
  await checkGraph(t, n, { B: 1, H: 2, N: 99, D: 16 });
  const { caps } = await getWebGPU();
  for (const x of [g, n]) await checkGraph(t, x, { B: 2, H: 4, Hk: 2, N: 99, M: 99, D: 16, Dv: 8 }, { caps: { ...caps, subgroups: false } });
});

test('the workgroup path at every head dim', async (t) => {
  const { caps } = await getWebGPU();
  const g = graphOf(prog('mask: causal', cross));
  for (const [D, Dv] of [[16, 16], [32, 24], [64, 64], [128, 128], [6, 10]]) {
    await checkGraph(t, g, { B: 2, H: 2, Hk: 1, N: 75, M: 61, D: D!, Dv: Dv! }, { caps: { ...caps, subgroups: false } });
  }
});

test('schedules for other device limits: WebGPU defaults, and a tiny workgroup memory (storage staging)', async (t) => {
  const g = graphOf(prog('mask: causal', cross));
  const dims = { B: 1, H: 2, Hk: 1, N: 70, M: 70, D: 64, Dv: 32 };
  const { caps } = await getWebGPU();
  await checkGraph(t, g, dims, { caps: { ...DEFAULT_CAPS, maxStorageBufferBindingSize: caps.maxStorageBufferBindingSize } });
  const tiny = { ...caps, subgroups: false, maxWorkgroupStorageSize: 1024, maxInvocationsPerWorkgroup: 32, maxWorkgroupSizeX: 32 };
  const r = await checkGraph(t, g, dims, { caps: tiny });
  t.true(r.sources.some((s) => s.includes('storage staging')), 'tiny workgroup memory selects storage staging');
  const rq = graphOf(prog('mask: causal, normalize: queries', cross));
  await checkGraph(t, rq, dims, { caps: tiny });
});

test('a dispatch over the per-dimension limit is folded into x·y', async (t) => {
  const g = graphOf(prog('mask: causal'));
  // The unfused row softmax dispatches B·H·N workgroups: 3·2·67 = 402 > 100.
  await checkGraph(t, g, { B: 3, H: 2, N: 67, D: 16 }, { fusion: false, maxWorkgroupsPerDimension: 100 });
  // The fused kernel: B·H·⌈N / rows per workgroup⌉ ≤ 3·2·⌈67 / 8⌉ = 54 > 8, and ≤ 8² = 64.
  await checkGraph(t, g, { B: 3, H: 2, N: 67, D: 16 }, { fusion: true, maxWorkgroupsPerDimension: 8 });
});

test('the subgroup path with 4 rows per invocation (forced at a small odd shape): GQA, Dv ≠ D, fully-masked rows', async (t) => {
  const { caps } = await getWebGPU();
  if (!caps.subgroups) return t.pass('no subgroups on this device');
  // N = 45 rows: not a multiple of 4 rows, nor of a workgroup's 128; M = 41 keys: not a
  // multiple of the 4-key block; rows i ≥ 38 allow no key (exact zeros).
  const dims = { B: 2, H: 4, Hk: 2, N: 45, M: 41, D: 16, Dv: 24 };
  for (const norm of ['keys', 'queries']) {
    const g = graphOf(prog(`mask: j > i + 2, normalize: ${norm}`, cross));
    const r = await checkGraph(t, g, dims, { rowsPerThread: 4, expectZeros: true });
    t.true(r.sources.some((x) => x.includes('× 4 rows')), `normalize: ${norm}: 4-row schedule`);
  }
});

test('slot guards: each row slot skips the key blocks outside its own band (4 rows, banded masks)', async (t) => {
  const { caps } = await getWebGPU();
  if (!caps.subgroups) return t.pass('no subgroups on this device');
  // One key range per row block and 4 row slots: slots see different parts of the band,
  // the last slots run past N, and causal rows near the end of a shorter M see no key.
  const cases: [string, string, Record<string, number>][] = [
    ['mask: sliding(5)', 'input q, k, v: f32[B, H, N, D]', { B: 1, H: 2, N: 150, D: 16 }],
    ['mask: causal', cross, { B: 1, H: 4, Hk: 2, N: 70, M: 61, D: 16, Dv: 8 }],
    ['mask: window(3)', 'input q, k, v: f32[B, H, N, D]', { B: 2, H: 1, N: 133, D: 8 }],
    ['mask: neighborhood(5, dilation: 3)', 'input q, k, v: f32[B, H, N, D]', { B: 1, H: 2, N: 200, D: 16 }],
    ['mask: neighborhood(4, dilation: 2, causal: true)', 'input q, k, v: f32[B, H, N, D]', { B: 1, H: 1, N: 97, D: 8 }],
  ];
  for (const [body, decl, dims] of cases) {
    const r = await checkGraph(t, graphOf(prog(body, decl)), dims, { rowsPerThread: 4 });
    t.true(r.sources.some((x) => x.includes('let act3 =')), `${body}: slot guards`);
    // A device whose subgroups may be 32 wide gets workgroups of 32 (one of its subgroups):
    // here four of lavapipe's, each slot guard covering all four subgroups' rows.
    const wide = await checkGraph(t, graphOf(prog(body, decl)), dims, { rowsPerThread: 4, caps: { ...caps, subgroupMaxSize: 32 } });
    t.true(wide.sources.some((x) => x.includes('@workgroup_size(32)') && x.includes('let act3 =')), `${body}: 32 invocations`);
  }
});

test('the subgroup path blocks 4 rows per invocation only for long bound query lengths', async (t) => {
  const { caps } = await getWebGPU();
  if (!caps.subgroups) return t.pass('no subgroups on this device');
  const g = graphOf(prog(''));
  const rows = (N: number, D = 64) => {
    const dims = { B: 1, H: 8, N, D };
    return lowerToKernels(g, { fusion: true, caps, dims })
      .map((k) => ('schedule' in k && k.schedule && 'rowsPerThread' in k.schedule ? k.schedule.rowsPerThread : 0));
  };
  t.deepEqual(rows(LARGE_ROWS * 2), [4]);
  t.deepEqual(rows(LARGE_ROWS), [4]);
  t.deepEqual(rows(LARGE_ROWS - 1), [2]);
  t.deepEqual(rows(67), [2]);
  t.deepEqual(rows(LARGE_ROWS * 2, 128), [2]); // D + Dv = 256: 4 rows would not fit in registers
  // N not bound (compile time, or dims not given): 2 rows
  const unbound = lowerToKernels(g, { fusion: true, caps, dims: { D: 64 } }).map((k) => k.schedule);
  t.deepEqual(unbound.map((s) => (s && 'rowsPerThread' in s ? s.rowsPerThread : 0)), [2]);
});
