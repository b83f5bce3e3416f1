// neighborhood3d (docs/language-extensions.md): NATTEN's rule on each axis of a row-major
// depth × height × width volume. The reference executor checks the expanded body against
// the rule written from the docs at every entry (checkPatterns); the devices run it at
// shapes that are not tile multiples, with dilation, per-axis causal flags and GQA; the
// checker refuses constant arguments NATTEN does not define. (Mask-analysis soundness:
// test/mask-analysis.test.ts.)

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { keyRanges } from '../compiler/analysis/mask.js';
import type { NodeOf } from '../compiler/ir.js';
import { run } from '../runtime/run.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { devicesAgree } from './helpers/devices.js';
import { evalExpr } from '../compiler/evaluate.js';

const program = (mask: string, dims: string) => `attention video {
  input q, k, v: f32[B, H, N, D]
  input kk, vv: f32[B, Hk, N, D]
  dims  ${dims}
  return attend(q, kk, vv, mask: ${mask})
}`;

const CASES: { mask: string; dims: string }[] = [
  { mask: 'neighborhood3d(3, 4, 5, [3, 3, 3])', dims: 'B = 1, H = 2, Hk = 1, N = 60, D = 8' },
  { mask: 'neighborhood3d(4, 3, 7, [2, 3, 3], dilation: [2, 1, 2], causal: [true, false, true])', dims: 'B = 2, H = 2, Hk = 2, N = 84, D = 5' },
  { mask: 'neighborhood3d(5, 5, 5, 3, causal: true)', dims: 'B = 1, H = 4, Hk = 2, N = 125, D = 16' },
];

for (const c of CASES) {
  test(`${c.mask} on webgpu and webgl equals the reference (which checks its body against the rule)`, async (t) => {
    await devicesAgree(t, program(c.mask, c.dims), { seed: 4 });
  });
}

test('one key range per block of queries: the window\'s frames and rows for one query, whole frames for a block', (t) => {
  const g = compile(program('neighborhood3d(4, 3, 5, [3, 3, 3], causal: [true, false, false])', 'B = 1, H = 1, Hk = 1, N = 60, D = 4')).graph!;
  const attend = g.nodes.find((n): n is NodeOf<'attend'> => n.op === 'attend')!;
  const [r] = keyRanges(attend.mask)!;
  const at = (q_lo: number, q_hi: number) => [r!.lo, r!.hi].map((e) => evalExpr(e, { vars: { q_lo, q_hi }, dims: {} }));
  // Query 37: frame 2, row 1, column 2 → frames 0..2 and rows 0..2 exactly; columns
  // within reach (k − 1)·d = 2 of column 2 (0..4; the mask picks 1..3): keys 0..44.
  t.deepEqual(at(37, 37), [0, 44]);
  // Queries of frame 3 (45..59): frames 1..3, the whole frames.
  t.deepEqual(at(45, 59), [15, 59]);
});

test('the checker refuses constant arguments NATTEN does not define, at the argument', (t) => {
  const errs = (mask: string) => compile(program(mask, 'B = 1, H = 1, Hk = 1, N = 60, D = 4')).diagnostics.map((d) => `${d.code}: ${d.message}`);
  t.deepEqual(errs('neighborhood3d(3, 4, 5, [1, 3, 3])'), ['AT709: `neighborhood3d`: kernel (depth axis) must be at least 2, found 1']);
  t.deepEqual(errs('neighborhood3d(3, 4, 5, [3, 3, 3], dilation: [1, 2, 1])'),
    ['AT709: `neighborhood3d`: kernel (row axis) × dilation (row axis) = 3 × 2 = 6 exceeds the length 4']);
  t.deepEqual(errs('neighborhood3d(0, 4, 5, 3)'), ['AT709: `neighborhood3d`: depth, height and width must be at least 1, found 0, 4 and 5']);
  t.deepEqual(errs('neighborhood3d(3, 4, 5, [3, 3])'), ['AT508: argument `kernel` of `neighborhood3d` must be an int or a triple `[a, b, c]`, found a list of 2']);
});

test('a volume that does not hold N positions is AT709 at run time, on every backend', async (t) => {
  const p = compile(program('neighborhood3d(3, 4, 5, 2)', 'B = 1, H = 1, Hk = 1, N = 61, D = 4'));
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, inputs, { backend }), { message: /AT709: `neighborhood3d`: needs N == M == depth·height·width = 3·4·5 = 60, found N = 61 and M = 61/ }, backend);
  }
});
