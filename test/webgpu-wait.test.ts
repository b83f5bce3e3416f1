// The wait for the device (runtime/webgpu/wait.ts): a program's first run asks for its
// result at once; later runs sleep through most of the time the program took before
// asking (dawn.node's pending promises busy-poll the CPU a software device computes on).
import test from 'ava';
import { waitForDevice } from '../runtime/webgpu/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Run one wait whose work takes `ms`; resolves to how long after submit `ask` was called. */
async function waitOnce(key: string, ms: number): Promise<number> {
  const submitted = performance.now();
  let askedAt = -1;
  await waitForDevice(key, submitted, async () => {
    askedAt = performance.now() - submitted;
    if (askedAt < ms) await sleep(ms - askedAt); // else done already: settles at once, as dawn.node's (~0.2 ms)
  });
  return askedAt;
}

test('wait: the first two runs ask at once, later runs of the same program sleep first', async (t) => {
  const key = `test-${Math.random()}`;
  t.true(await waitOnce(key, 500) < 10, 'no history: ask at once');
  t.true(await waitOnce(key, 60) < 10, 'the first run (one-time work, e.g. a compile) is not remembered');
  // (Upper bounds are loose: timers fire late on a loaded machine, never early.)
  const asked = await waitOnce(key, 60);
  t.true(asked >= 45, `asked after ${asked} ms: should sleep through most of the ~60 ms`);
  t.true(await waitOnce(`other-${Math.random()}`, 60) < 10, 'another program has its own history');
});

test('wait: short programs never sleep (timer granularity)', async (t) => {
  // Work that is done when asked (no timer in the fake, so a loaded machine cannot
  // stretch it): the remembered duration is far below the shortest sleep.
  const key = `short-${Math.random()}`;
  await waitOnce(key, 0);
  await waitOnce(key, 0);
  t.true(await waitOnce(key, 0) < 2.5);
});

test('wait: a program that got faster is re-learnt (an ask that finds the work done halves the expectation)', async (t) => {
  const key = `faster-${Math.random()}`;
  await waitOnce(key, 300);
  await waitOnce(key, 300);
  t.true(await waitOnce(key, 300) >= 250, 'sleeps ~255 ms after a 300 ms run');
  for (let r = 0; r < 4; r++) await waitOnce(key, 30);
  const asked = await waitOnce(key, 30);
  t.true(asked < 100, `asked after ${asked} ms: after a few 30 ms runs, the sleep fits them (not the 300 ms)`);
});
