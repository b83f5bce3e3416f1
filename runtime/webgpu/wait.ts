// Waiting for the device without taking the CPU from it.
//
// dawn.node settles its promises (mapAsync, onSubmittedWorkDone) by polling the device
// from setImmediate for as long as one is pending: a busy loop on the JS thread. On a
// software device (lavapipe) the kernels run on the same CPU cores, and that loop took a
// share of them: dense attention (N = 2048, H = 8, D = 64) measured 350–470 ms of GPU time
// when awaited at once, 270–295 ms when the JS thread slept until the work was done
// (timestamp queries, five runs each). So a run first sleeps (a timer: no polling) for
// most of the time its program took before, and only then asks for the result; a
// program's first two runs, and runs shorter than a few ms, wait at once.

/** Sleep for this share of the expected duration, then poll: an estimate may run long. */
const SLEEP_SHARE = 0.85;
/** Below this many ms of sleep, a timer's own granularity outweighs the gain. */
const MIN_SLEEP_MS = 3;
/** Durations remembered per program; the expectation is their minimum. */
const HISTORY = 3;
/**
 * An ask that settles within this many ms found the work already done: the sleep ran
 * long, the program got faster, and half the wait is remembered (re-learn in a few runs).
 */
const ALREADY_DONE_MS = 1;
/** Programs remembered (least recently used forgotten first). */
const PROGRAMS = 256;

const history = new Map<string, number[]>();

/**
 * Wait for the submit made at `submitted` (performance.now()) of the program `key` names
 * (its kernels and shapes): sleep for most of its expected duration, then `ask` (the
 * promise dawn.node polls for), and remember how long the wait took.
 */
export async function waitForDevice(key: string, submitted: number, ask: () => Promise<unknown>): Promise<void> {
  const past = history.get(key);
  if (past) history.delete(key); // re-inserted below: most recently used last
  if (past?.length) {
    const sleep = SLEEP_SHARE * Math.min(...past) - (performance.now() - submitted);
    if (sleep >= MIN_SLEEP_MS) await new Promise((resolve) => setTimeout(resolve, sleep));
  }
  const asked = performance.now();
  await ask();
  const done = performance.now();
  // The first run is not remembered: it may include one-time work (llvmpipe compiles a
  // pipeline at its first dispatch, seconds for a large kernel).
  const took = (done - submitted) * (past?.length && done - asked <= ALREADY_DONE_MS ? 0.5 : 1);
  history.set(key, past ? [took, ...past].slice(0, HISTORY) : []);
  if (history.size > PROGRAMS) history.delete(history.keys().next().value!);
}
