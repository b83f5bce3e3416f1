// Waiting for the device without taking the CPU from it.
//
// dawn.node settles its promises (mapAsync, onSubmittedWorkDone) by polling the device
// from setImmediate for as long as one is pending: a busy loop on the JS thread. On a
// software device (lavapipe) the kernels run on the same CPU cores, and that loop took a
// share of them: dense attention (N = 2048, H = 8, D = 64) measured 350–470 ms of GPU time
// when awaited at once, 270–295 ms when the JS thread slept until the work was done
// (timestamp queries, five runs each). So a run first sleeps (a timer: no polling) for
// most of the time its program took lately, and only then asks for the result. A
// program's first two runs, and runs expected to take only a few ms, ask at once.
//
// What is remembered is the GPU time (timestamp queries) where the device has it: the
// wall-clock of a run that slept too long is the sleep, not the work, and remembering it
// made the sleeps swing between too long and too short.

import { LruMap } from '../lru.js';

/** Sleep for this share of the expected duration, then poll: durations vary run to run. */
const SLEEP_SHARE = 0.85;
/** Below this many ms of sleep, a timer's own granularity outweighs the gain. */
const MIN_SLEEP_MS = 3;
/** Durations remembered per program; the expectation is their minimum. */
const HISTORY = 3;
/**
 * Without timestamps: an ask that settles within this many ms found the work already
 * done, so the sleep ran long, and half the wait is remembered (re-learnt in a few runs).
 */
const ALREADY_DONE_MS = 1;
/**
 * Runs of a program before its waits are representative (and llvmpipe has compiled its
 * pipelines): the first is not remembered, the second polls throughout, so its GPU time is
 * inflated, and the third sleeps on that. Timing loops (the benchmark, `attnc run
 * --repeat`) warm up this many times.
 */
export const WARM_UP_RUNS = 3;
/** Programs remembered (least recently used forgotten first). */
const PROGRAMS = 256;

/** Per program: its recent durations (empty after its first run, which is not remembered). */
const history = new LruMap<string, number[]>(PROGRAMS);

/** How a wait went: what `remember` needs when there is no GPU time. */
export interface Waited {
  key: string;
  /** ms from submit to the result settling. */
  wall: number;
  /** The ask settled at once: the work was done before it. */
  alreadyDone: boolean;
}

/**
 * Wait for the submit made at `submitted` (performance.now()) of the program `key` names
 * (its kernels and shapes): sleep for most of its expected duration, then `ask` (the
 * promise dawn.node polls for). Pass the result to `remember` once the run's GPU time is
 * known (or not).
 */
export async function waitForDevice(key: string, submitted: number, ask: () => Promise<unknown>): Promise<Waited> {
  const past = history.get(key);
  if (past?.length) {
    const sleep = SLEEP_SHARE * Math.min(...past) - (performance.now() - submitted);
    if (sleep >= MIN_SLEEP_MS) await new Promise((resolve) => setTimeout(resolve, sleep));
  }
  const asked = performance.now();
  await ask();
  const done = performance.now();
  return { key, wall: done - submitted, alreadyDone: done - asked <= ALREADY_DONE_MS };
}

/**
 * Remember how long a run took: its GPU ms when timed, else its wall-clock (halved when
 * the ask found the work already done). A program's first run is not remembered: it may
 * include one-time work (llvmpipe compiles a pipeline at its first dispatch, seconds for
 * a large kernel).
 */
export function remember(w: Waited, gpuMs: number | null): void {
  const past = history.get(w.key);
  const took = gpuMs ?? w.wall * (w.alreadyDone ? 0.5 : 1);
  history.set(w.key, past ? [took, ...past].slice(0, HISTORY) : []);
}
