// The wait for the device (runtime/webgpu/wait.ts): a program's first runs ask for their
// result at once; later runs sleep through most of the time the program took lately
// before asking (dawn.node's pending promises busy-poll the CPU a software device
// computes on). Durations come from the GPU time when there is one.
import test from 'ava';
import { remember, waitForDevice } from '../runtime/webgpu/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One run whose work takes `ms` (its GPU time `gpuMs`, or none); resolves to how long
 * after submit the result was asked for. The fake settles at once when the work is done
 * (as dawn.node does, in ~0.2 ms), so a loaded machine cannot stretch a finished wait.
 */
async function runOnce(key: string, ms: number, gpuMs: number | null = null): Promise<number> {
  const submitted = performance.now();
  let askedAt = -1;
  const w = await waitForDevice(key, submitted, async () => {
    askedAt = performance.now() - submitted;
    if (askedAt < ms) await sleep(ms - askedAt);
  });
  remember(w, gpuMs);
  return askedAt;
}

test('wait: the first two runs ask at once, later runs of the same program sleep first', async (t) => {
  const key = `test-${Math.random()}`;
  t.true(await runOnce(key, 500) < 10, 'no history: ask at once');
  t.true(await runOnce(key, 60) < 10, 'the first run (one-time work, e.g. a compile) is not remembered');
  // (Upper bounds are loose: timers fire late on a loaded machine, never early.)
  const asked = await runOnce(key, 60);
  t.true(asked >= 45, `asked after ${asked} ms: should sleep through most of the ~60 ms`);
  t.true(await runOnce(`other-${Math.random()}`, 60) < 10, 'another program has its own history');
});

test('wait: short programs never sleep (timer granularity)', async (t) => {
  const key = `short-${Math.random()}`;
  for (let r = 0; r < 2; r++) await runOnce(key, 0);
  t.true(await runOnce(key, 0) < 2.5);
});

test('wait: without GPU times, a program that got faster is re-learnt (an ask that finds the work done halves)', async (t) => {
  const key = `faster-${Math.random()}`;
  for (let r = 0; r < 2; r++) await runOnce(key, 300);
  t.true(await runOnce(key, 300) >= 250, 'sleeps ~255 ms after 300 ms runs');
  for (let r = 0; r < 4; r++) await runOnce(key, 30);
  const asked = await runOnce(key, 30);
  t.true(asked < 100, `asked after ${asked} ms: after a few 30 ms runs, the sleep fits them (not the 300 ms)`);
});

test('wait: with GPU times, the work is remembered, not an overlong sleep', async (t) => {
  const key = `gpu-${Math.random()}`;
  for (let r = 0; r < 2; r++) await runOnce(key, 200, 200);
  t.true(await runOnce(key, 40, 40) >= 150, 'expects ~200 ms: sleeps ~170 ms although the work took 40');
  const asked = await runOnce(key, 40, 40);
  t.true(asked < 60, `asked after ${asked} ms: the 40 ms GPU time is remembered at once, not the ~170 ms wait`);
});
