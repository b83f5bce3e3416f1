// The decode schedule (`dims` staging: a fused attend of at most 4 bound query rows over
// at least 1024 bound keys; the lanes of a subgroup split the head dims): checked against
// the float64 reference on varied shapes — one query, head dims that are not a multiple of
// the lanes' chunks, key counts that are not tile multiples, GQA, fully masked rows and
// their −inf log-sum-exp, f16 inputs, masks that read tensors — and the rule's edges.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import type { AttendKernel } from '../compiler/kernel.js';
import { run } from '../runtime/run.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { checkGraph, compare, graphOf, kernelsFor } from './helpers/webgpu-check.js';

const program = (mask: string, extra = '', ret = 'attend(q, k, v, mask: MASK)') => `attention dec {
  input q: f32[B, H, N, D]
  input k: f32[B, Hk, M, D]
  input v: f32[B, Hk, M, E]
  ${extra}
  dims  B = 1, H = 2, Hk = 2, N = 1, M = 1024, D = 64, E = 64
  return ${ret.replace('MASK', mask)}
}`;

async function staging(src: string, dims: Record<string, number>): Promise<string | undefined> {
  const g = graphOf(src);
  const ks = await kernelsFor(g, { ...g.dimDefaults, ...dims }, true);
  const k = ks.find((x) => x.kind === 'attend');
  return k && 'schedule' in k ? (k.schedule as { staging: string }).staging : undefined;
}

test.before(async () => {
  await getWebGPU();
});

const cases: [string, string, Record<string, number>][] = [
  ['one query at the end of the cache', 'causal_end', { N: 1, M: 1100 }],
  ['4 queries, GQA (4 heads share 1)', 'causal_end', { N: 4, M: 2053, H: 4, Hk: 1 }],
  ['3 queries, head dims 20 and 12 (partial lane chunks)', 'causal_end', { N: 3, M: 1030, D: 20, E: 12 }],
  ['2 batches, 3 queries, sliding window at the end', 'j <= i + (M - N) && j > i + (M - N) - 300', { B: 2, N: 3, M: 1500 }],
  ['large head dim (D = 160)', 'causal_end', { N: 2, M: 1024, D: 160, E: 96 }],
];
for (const [name, mask, dims] of cases) {
  test(`decode schedule: ${name}`, async (t) => {
    const src = program(mask);
    t.is(await staging(src, dims), 'dims');
    const { sources } = await checkGraph(t, graphOf(src), dims);
    t.true(sources.some((s) => s.includes('subgroupAdd(')));
  });
}

test('decode schedule: fully masked rows are exact zeros and their lse is -inf', async (t) => {
  const src = program('i != 1 && j < 1500', '', 'o, lse: lse(o)').replace('return o', 'let o = attend(q, k, v, mask: i != 1 && j < 1500)\n  return o');
  const dims = { N: 4, M: 1600 };
  t.is(await staging(src, dims), 'dims');
  const { out } = await checkGraph(t, graphOf(src), dims, { expectZeros: true });
  t.true(out.data.some((x) => x === 0));
});

test('decode schedule: score modifiers and a mask that reads a tensor', async (t) => {
  const src = program('doc[i + (M - N)] == doc[j] && j <= i + (M - N)', 'input doc: i32[M]',
    'attend(q, k, v, mask: MASK, score: 30.0 * tanh((s + alibi(h, H) * float(j - i)) / 30.0))');
  const dims = { N: 4, M: 1200 };
  t.is(await staging(src, dims), 'dims');
  await checkGraph(t, graphOf(src), dims);
});

test('decode schedule: f16 inputs', async (t) => {
  const src = program('causal_end').replaceAll(': f32[', ': f16[');
  t.is(await staging(src, { N: 2, M: 1111 }), 'dims');
  await checkGraph(t, graphOf(src), { N: 2, M: 1111 });
});

test('decode schedule: chosen for at most 4 bound queries over at least 1024 bound keys', async (t) => {
  const src = program('causal_end');
  t.is(await staging(src, { N: 5, M: 4096 }), 'subgroup');
  t.is(await staging(src, { N: 4, M: 1023 }), 'subgroup');
  t.is(await staging(src, { N: 4, M: 1024 }), 'dims');
});

test('decode kernels stay correct when bound at other sizes than they were lowered for', async (t) => {
  // prepare() lowers once and may be encoded at other dims: N = 20 through the N = 4 kernels.
  const g = graphOf(program('causal_end'));
  const dims = { ...g.dimDefaults, N: 20, M: 1300 };
  const { bindKernels } = await import('../runtime/webgpu/execute.js');
  const { executeReference, generateInputs } = await import('../runtime/reference/index.js');
  const { compare } = await import('./helpers/webgpu-check.js');
  const ks = await kernelsFor(g, { ...dims, N: 4 }, true);
  t.is((ks.find((k) => k.kind === 'attend') as { schedule: { staging: string } }).schedule.staging, 'dims');
  const inputs = generateInputs(g, dims, 3);
  const bound = await bindKernels(ks, g, inputs, dims);
  try {
    t.deepEqual(compare(await bound.read(), executeReference(g, inputs)).bad, []);
  } finally {
    bound.release();
  }
});

// Split-KV (AttendSchedule.splits): with few (b, h, row block) workgroups and at least
// 2 · SPLIT_KEYS keys, each workgroup streams one slice of the keys and a merge kernel
// combines the slices' partial softmax (decode and subgroup paths). Every output (the attention and its lse) against the reference:
// uneven slices, slices that a window leaves without a key, fully masked rows, GQA, partial
// lane chunks, an f16 output folded into the store.
const splitCases: [string, string, Record<string, number>, string?][] = [
  ['one query, 8 slices', 'causal_end', { N: 1, M: 16500 }],
  ['4 queries, GQA, a window that leaves the first slice without keys; fully masked row 1', 'i != 1 && j <= i + (M - N) && j > i + (M - N) - 300', { N: 4, M: 4500, H: 4, Hk: 1 }],
  ['3 queries, head dims 20 and 12, 3 uneven slices', 'causal_end', { N: 3, M: 6200, D: 20, E: 12 }],
  ['2 queries, an f16 output', 'causal_end', { N: 2, M: 4097 }, 'f16'],
  // past 4 queries: the subgroup path, split the same way
  ['16 queries (the subgroup path), 4 uneven slices', 'causal_end', { N: 16, M: 8300 }],
  ['30 queries, GQA, a window that leaves slices without keys; fully masked row 1', 'i != 1 && j <= i + (M - N) && j > i + (M - N) - 300', { N: 30, M: 4400, H: 4, Hk: 2 }],
];
for (const [name, mask, dims, f16] of splitCases) {
  test(`split-KV decode: ${name}`, async (t) => {
    const src = f16
      ? program(mask, '', 'f16(attend(q, k, v, mask: MASK))')
      : program(mask, '', 'o, lse: lse(o)').replace('return o', `let o = attend(q, k, v, mask: ${mask})\n  return o`);
    const p = compile(src);
    const g = p.graph!;
    const bound = resolveDims(g, { ...g.dimDefaults, ...dims });
    const ks = await kernelsFor(g, bound, true);
    const att = ks.find((k) => k.kind === 'attend') as AttendKernel;
    t.true((att.schedule?.splits ?? 1) > 1, 'split');
    t.is(att.schedule?.staging, dims.N! <= 4 ? 'dims' : 'subgroup');
    t.true(ks.some((k) => k.kind === 'merge'), 'merged');
    const inputs = generateInputs(g, bound, 7);
    const [ref, gpu] = [await run(p, inputs, { backend: 'reference' }), await run(p, inputs, { backend: 'webgpu' })];
    for (const [out, want] of Object.entries(ref.outputs)) {
      t.deepEqual(compare(gpu.outputs[out]!, want, { f16: !!f16 }).bad, [], out);
    }
  });
}
