// The differential fuzzer in CI (test/helpers/fuzz.ts): random valid programs at random
// small shapes on webgpu and webgl against the reference. A bounded count with a seed
// fixed per run — FUZZ_SEED, else one derived from the date, so CI explores a new corner
// each day and a failure reproduces from the seed it prints. Longer runs:
// `npm run fuzz -- --count 10000 --seed S` (scripts/fuzz.ts).

import test from 'ava';
import fc from 'fast-check';
import '../runtime/node/dawn.js';
import type { Backend } from '../runtime/run.js';
import { differ, programArb, reproduction } from './helpers/fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);

for (const backend of ['webgpu', 'webgl'] as Backend[]) {
  test.serial(`${RUNS} random programs agree with the reference on ${backend} (seed ${SEED})`, async (t) => {
    let failure = '';
    const result = await fc.check(
      fc.asyncProperty(programArb, async (p) => {
        const why = await differ(p, backend);
        if (why) failure = reproduction(p, backend, why);
        return why === null;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    t.log(`seed ${SEED}, ${result.numRuns} programs`);
    t.false(result.failed, `${failure}\n(fast-check seed ${SEED}, path ${result.counterexamplePath})`);
  });
}

// Programs the fuzzer found wrong once, shrunk, kept as fixed cases.
const FOUND: { why: string; source: string }[] = [
  {
    // WGSL's clamp with constant lo > hi is a shader-creation error (the language's clamp
    // is min(max(x, lo), hi)); a float clamp with lo > hi may give the median on devices.
    why: 'clamp with lo > hi',
    source: `attention fuzz {
  input q, k, v: f32[B, H, N, D]
  dims B = 2, H = 2, N = 37, D = 3
  param r = 0
  return attend(q, k, v, mask: 0 <= clamp(i, 1, r), score: s + clamp(s, 0.5, -0.5))
}
`,
  },
  {
    // WebGL's column statistics (normalize: queries) looped over queries with a GLSL int
    // counter: a score mixing `i` with floats did not compile.
    why: 'normalize: queries with a score mixing i and floats, on WebGL',
    source: `attention fuzz {
  input q: f32[B, H, N, D]
  input k: f32[B, Hk, M, D]
  input v: f32[B, Hk, M, Dv]
  input doc: i32[B, L]
  dims B = 2, H = 1, Hk = 1, N = 1, M = 19, D = 3, Dv = 2, L = 19
  return attend(q, k, v, normalize: queries, score: s + 0.1 * float((doc[b, i] == doc[b, j] ? b : i)))
}
`,
  },
];

for (const { why, source } of FOUND) {
  test.serial(`found by the fuzzer: ${why}`, async (t) => {
    for (const backend of ['webgpu', 'webgl'] as Backend[]) t.is(await differ({ source, seed: 0 }, backend), null, backend);
  });
}
