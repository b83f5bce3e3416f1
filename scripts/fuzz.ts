// `npm run fuzz -- --count N --seed S [--backend webgpu|webgl|both]`: the differential
// fuzzer of test/fuzz.test.ts for long runs. Each failure is shrunk by fast-check and
// printed as a reproduction (program text with its dims, input seed, backend, command);
// the run then goes on from the next seed until N programs ran on each backend. Exit 1
// when anything failed.

import fc from 'fast-check';
import { parseArgs } from 'node:util';
import '../runtime/node/dawn.js';
import type { Backend } from '../runtime/run.js';
import { differ, programArb, reproduction } from '../test/helpers/fuzz.js';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '1000' }, seed: { type: 'string' }, backend: { type: 'string', default: 'both' } },
});
const count = Number(values.count);
const seed0 = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const backends: Backend[] = values.backend === 'both' ? ['webgpu', 'webgl'] : [values.backend as Backend];
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed0) || !backends.every((b) => b === 'webgpu' || b === 'webgl')) {
  console.error('usage: npm run fuzz -- [--count N] [--seed S] [--backend webgpu|webgl|both]');
  process.exit(2);
}

const t0 = performance.now();
let failures = 0;
let evaluated = 0;
for (const backend of backends) {
  let done = 0;
  let seed = seed0;
  while (done < count) {
    let failure = '';
    const r = await fc.check(
      fc.asyncProperty(programArb, async (p) => {
        if (++evaluated % 50 === 0) console.error(`${backend}: ${evaluated} programs run (shrinking included), ${Math.round((performance.now() - t0) / 1000)} s`);
        const why = await differ(p, backend);
        if (why) failure = reproduction(p, backend, why);
        return why === null;
      }),
      { seed, numRuns: count - done },
    );
    done += r.numRuns;
    if (r.failed) {
      failures++;
      console.log(`\n=== failure ${failures} (fast-check seed ${seed}, path ${r.counterexamplePath}) ===\n${failure}`);
      seed++;
    }
    console.error(`${backend}: ${done}/${count} programs, ${failures} failures, ${Math.round((performance.now() - t0) / 1000)} s`);
  }
}
console.log(`\n${count} programs per backend (${backends.join(', ')}), seed ${seed0}: ${failures} failures in ${Math.round((performance.now() - t0) / 1000)} s`);
process.exit(failures ? 1 : 0);
