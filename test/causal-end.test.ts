// causal_end (docs/language-extensions.md): j ≤ i + (M − N), causal aligned to the end of
// the keys — decoding N queries at the end of an M-key cache. On the devices against the
// reference (which checks the body against the rule at every entry) for N < M, N > M
// (rows with no key: exact zeros) and N = M (= causal), with GQA; the closed-form key range
// and tile predicates against brute force for N ≠ M.

import test from 'ava';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import { compile } from '../compiler/compile.js';
import { evalExpr } from '../compiler/evaluate.js';
import type { NodeOf } from '../compiler/ir.js';
import { run } from '../runtime/run.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { devicesAgree } from './helpers/devices.js';

const program = (mask: string, dims: string) => `attention decode {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims  ${dims}
  return attend(q, k, v, mask: ${mask})
}`;

const CASES = [
  'B = 1, H = 4, Hk = 2, N = 5, M = 133, D = 16',
  'B = 2, H = 2, Hk = 1, N = 1, M = 70, D = 8',
  'B = 1, H = 2, Hk = 2, N = 40, M = 25, D = 8',
];

for (const dims of CASES) {
  test(`causal_end at ${dims}: webgpu and webgl equal the reference`, async (t) => {
    const { graph: g, ref } = await devicesAgree(t, program('causal_end', dims), { seed: 2 });
    const { N, M, D } = resolveDims(g) as Record<string, number>;
    // Queries i < N − M see no key: their rows are exact zeros (and only theirs).
    const empty = Math.max(0, N! - M!);
    const row = (i: number) => [...ref.output.data.subarray(i * D!, (i + 1) * D!)];
    for (let i = 0; i < N!; i++) t.is(row(i).every((x) => x === 0), i < empty, `row ${i}`);
  });
}

test('with N = M, causal_end is causal', async (t) => {
  const dims = 'B = 1, H = 2, Hk = 2, N = 37, M = 37, D = 8';
  const [a, b] = [compile(program('causal_end', dims)), compile(program('causal', dims))];
  const inputs = generateInputs(a.graph!, resolveDims(a.graph!), 3);
  t.deepEqual([...(await run(a, inputs, { backend: 'reference' })).output.data], [...(await run(b, inputs, { backend: 'reference' })).output.data]);
});

test('the key range [0, q_hi + M − N] and the tile predicates hold for N ≠ M (brute force)', (t) => {
  for (const [N, M] of [[5, 40], [40, 5], [9, 9]] as const) {
    const g = compile(program('causal_end', `B = 1, H = 1, Hk = 1, N = ${N}, M = ${M}, D = 4`)).graph!;
    const attend = g.nodes.find((n): n is NodeOf<'attend'> => n.op === 'attend')!;
    const dims = { B: 1, H: 1, Hk: 1, N, M, D: 4 };
    const [r] = keyRanges(attend.mask)!;
    const { full, empty } = tilePredicates(attend.mask);
    for (let qLo = 0; qLo < N; qLo += 2) for (let kLo = 0; kLo < M; kLo += 3) {
      const vars = { q_lo: qLo, q_hi: Math.min(qLo + 3, N - 1), k_lo: kLo, k_hi: Math.min(kLo + 4, M - 1) };
      const hi = evalExpr(r!.hi, { vars, dims }) as number;
      const [isFull, isEmpty] = [evalExpr(full, { vars, dims }), evalExpr(empty, { vars, dims })];
      for (let i = vars.q_lo; i <= vars.q_hi; i++) for (let j = 0; j < M; j++) {
        const allowed = evalExpr(attend.mask, { b: 0, h: 0, i, j, dims }) as boolean;
        t.is(allowed, j <= i + M - N);
        if (allowed) t.true(j <= hi);
        if (j >= vars.k_lo && j <= vars.k_hi) {
          if (isFull) t.true(allowed);
          if (isEmpty) t.false(allowed);
        }
      }
    }
  }
});
