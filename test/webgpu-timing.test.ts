// GPU-side timing (ExecuteOptions.timing, BoundProgram.profile): timestamp queries around a
// run's compute passes.
// lavapipe offers `timestamp-query`; a device without it must never report a time.
import test from 'ava';
import { generateInputs } from '../runtime/reference/index.js';
import { bindKernels, getWebGPU } from '../runtime/webgpu/execute.js';
import { executeKernels, graphOf, kernelsFor } from './helpers/webgpu-check.js';

const dense = graphOf(`
attention t {
  input q, k, v: f32[B, H, N, D]
  return attend(q, k, v)
}`);

/** The GPU times of `runs` runs after a warm-up (empty without timestamp-query). */
async function gpuTimes(N: number, fusion: boolean, runs: number): Promise<number[]> {
  const dims = { B: 1, H: 4, N, D: 32 };
  const kernels = await kernelsFor(dense, dims, fusion);
  const inputs = generateInputs(dense, dims, 1);
  const times: number[] = [];
  await executeKernels(kernels, dense, inputs, dims);
  for (let r = 0; r < runs; r++) await executeKernels(kernels, dense, inputs, dims, { timing: (ms) => times.push(ms) });
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

test('timing: reported when the device grants timestamp-query, never otherwise', async (t) => {
  const gpu = await getWebGPU();
  t.is(gpu.timestamps, gpu.adapter.features.has('timestamp-query'));
  const times = await gpuTimes(64, true, 2);
  if (!gpu.timestamps) {
    t.deepEqual(times, [], 'no timestamp-query: the callback must not be called');
    return;
  }
  t.log(`dense N=64 fused: ${times.map((x) => x.toFixed(3)).join(', ')} ms`);
  t.is(times.length, 2, 'called once per run');
  for (const ms of times) t.true(Number.isFinite(ms) && ms > 0, `gpu ms = ${ms}`);
});

test('timing: a larger problem takes more GPU time (dense, fused and fusion-off)', async (t) => {
  const gpu = await getWebGPU();
  if (!gpu.timestamps) return t.pass('no timestamp-query on this device');
  for (const fusion of [true, false]) {
    const small = median(await gpuTimes(64, fusion, 3));
    const large = median(await gpuTimes(512, fusion, 3));
    t.log(`fusion ${fusion ? 'on' : 'off'}: N=64 ${small.toFixed(3)} ms, N=512 ${large.toFixed(3)} ms`);
    t.true(large > small, `N=512 (${large} ms) should take longer than N=64 (${small} ms)`);
  }
});

test('profile: one GPU time per kernel, in run order, and the run still computes the same', async (t) => {
  const gpu = await getWebGPU();
  const dims = { B: 1, H: 2, N: 96, D: 16 };
  const inputs = generateInputs(dense, dims, 2);
  const kernels = await kernelsFor(dense, dims, false); // fusion off: several kernels
  t.true(kernels.length > 1);
  const bound = await bindKernels(kernels, dense, inputs, dims);
  try {
    const before = await bound.read();
    const times = await bound.profile();
    if (!gpu.timestamps) return t.is(times, null, 'no timestamp-query: no profile');
    t.truthy(times);
    t.deepEqual(times!.map((x) => x.kernel), kernels.map((k) => k.name));
    for (const { kernel, ms } of times!) t.true(Number.isFinite(ms) && ms > 0, `${kernel}: ${ms} ms`);
    t.log(times!.map((x) => `${x.kernel} ${x.ms.toFixed(3)} ms`).join(', '));
    t.deepEqual((await bound.read()).data, before.data, 'profiling leaves the result unchanged');
  } finally {
    bound.release();
  }
});
