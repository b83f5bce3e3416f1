// Pattern builtins with negative and zero arguments on the device, against the float64
// reference. A param may be any int: `block(-4)` is the spec's `i / -4 == j / -4` (floor
// division: blocks {0}, {1..4}, {5..8}, …), `window(-1)` allows no key. The kernels' key
// ranges and tile predicates come from the mask analysis, whose closed forms once assumed a
// positive size (block(-4) gave zero rows on WebGPU). Also the queries-normalised kernels,
// whose query ranges come from the same analysis with i and j swapped.

import test from 'ava';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { checkGraph, graphOf } from './helpers/webgpu-check.js';

const prog = (mask: string, params: string, normalize = 'keys') => `
attention t {
  input q, k, v: f32[B, H, N, D]
  param ${params}
  return attend(q, k, v, mask: ${mask}, normalize: ${normalize})
}`;

/** mask, params, dims, and whether the mask allows no key at all (every row exactly 0). */
const cases: [string, string, Record<string, number>, boolean?][] = [
  // the reported program: N = 8, size = −4
  ['block(size)', 'size = -4', { B: 1, H: 1, N: 8, D: 4 }],
  ['block(size)', 'size = -24', { B: 1, H: 2, N: 99, D: 16 }],
  ['block(size) && causal', 'size = -7', { B: 1, H: 2, N: 70, D: 16 }],
  // query q's keys: [start − 15, start − 6] with start = 20·ceil(q / 20)
  ['halo(size, overlap)', 'size = -20, overlap = 15', { B: 1, H: 2, N: 99, D: 16 }],
  ['halo(size, overlap)', 'size = -20, overlap = 5', { B: 1, H: 2, N: 99, D: 16 }, true],
  ['halo(size, overlap)', 'size = 16, overlap = -3', { B: 1, H: 2, N: 99, D: 16 }],
  ['window(r) || sink(n)', 'r = -1, n = 3', { B: 1, H: 2, N: 40, D: 16 }],
  ['sliding(w) || global(n)', 'w = 0, n = -5', { B: 1, H: 2, N: 40, D: 16 }, true],
  ['sliding(w) || block(size)', 'w = -3, size = -9', { B: 1, H: 2, N: 67, D: 16 }],
];

for (const [mask, params, dims, empty = false] of cases) {
  test(`${mask} with ${params} matches the reference (fused, unfused, workgroup path)`, async (t) => {
    const g = graphOf(prog(mask, params));
    const { caps } = await getWebGPU();
    const fused = await checkGraph(t, g, dims);
    // Rows attend where the reference says so (the old bug zeroed them), and a mask that
    // allows nothing gives exact zeros.
    t.is(fused.ref.data.every((x) => x === 0), empty, 'the reference agrees with the case');
    t.is(fused.out.data.every((x) => x === 0), empty);
    await checkGraph(t, g, dims, { fusion: false });
    await checkGraph(t, g, dims, { caps: { ...caps, subgroups: false } });
  });
}

test('block(-4) on N = 8: the device output equals the reference, row by row', async (t) => {
  const g = graphOf(prog('block(size)', 'size = 4'), { size: -4 });
  const { out, ref } = await checkGraph(t, g, { B: 1, H: 1, N: 8, D: 4 });
  // Query 0 is alone in its block: its output is its own value row, exactly v[0].
  t.deepEqual(Array.from(out.data.slice(0, 4)).map((x) => x.toFixed(5)), Array.from(ref.data.slice(0, 4)).map((x) => x.toFixed(5)));
  // Queries 1..4 share one block: equal keys, so different outputs only through q.
  t.notDeepEqual(Array.from(out.data.slice(4, 8)), Array.from(out.data.slice(0, 4)));
});

test('normalize: queries with negative sizes', async (t) => {
  for (const [mask, params] of [['block(size)', 'size = -6'], ['halo(size, overlap)', 'size = -10, overlap = 2']]) {
    await checkGraph(t, graphOf(prog(mask, params, 'queries')), { B: 1, H: 2, N: 50, D: 16 });
  }
});
