// halo2d (docs/language-extensions.md): HaloNet's blocks with a halo on a row-major grid,
// 1-D halo's rule on the row and the column. The reference checks the body against the
// rule written from the docs at every entry; the devices run it at shapes that are not
// tile multiples, overlaps of both signs, GQA. (Mask-analysis soundness:
// test/mask-analysis.test.ts.)

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { keyRanges } from '../compiler/analysis/mask.js';
import { evalExpr } from '../compiler/evaluate.js';
import type { NodeOf } from '../compiler/ir.js';
import { run } from '../runtime/run.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { devicesAgree } from './helpers/devices.js';

const program = (mask: string, dims: string) => `attention halo {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, N, D]
  dims  ${dims}
  return attend(q, k, v, mask: ${mask})
}`;

const CASES: { mask: string; dims: string }[] = [
  { mask: 'halo2d(9, 11, 4, 2)', dims: 'B = 1, H = 2, Hk = 1, N = 99, D = 8' },
  { mask: 'halo2d(7, 8, [2, 3], [1, 0])', dims: 'B = 2, H = 2, Hk = 2, N = 56, D = 5' },
  { mask: 'halo2d(6, 6, 3, -1)', dims: 'B = 1, H = 2, Hk = 1, N = 36, D = 4' },
];

for (const c of CASES) {
  test(`${c.mask} on webgpu and webgl equals the reference (which checks its body against the rule)`, async (t) => {
    await devicesAgree(t, program(c.mask, c.dims), { seed: 6 });
  });
}

test('one key range per block of queries: the halo\'s rows, and its columns within one grid row', (t) => {
  const g = compile(program('halo2d(9, 11, 4, 2)', 'B = 1, H = 1, Hk = 1, N = 99, D = 4')).graph!;
  const attend = g.nodes.find((n): n is NodeOf<'attend'> => n.op === 'attend')!;
  const [r] = keyRanges(attend.mask)!;
  const at = (q_lo: number, q_hi: number) => [r!.lo, r!.hi].map((e) => evalExpr(e, { vars: { q_lo, q_hi }, dims: {} }));
  // Query 50: row 4, column 6 → block rows 4..7 ± 2 = 2..9 → 2..8; columns 4..7 ± 2 = 2..9.
  t.deepEqual(at(50, 50), [2 * 11 + 2, 8 * 11 + 9]);
  // Rows 0..1 (queries 0..21): rows 0..5, every column.
  t.deepEqual(at(0, 21), [0, 5 * 11 + 10]);
});

test('halo2d: a zero block size is AT306 at check time; a grid that does not hold N positions is AT709 at run time', async (t) => {
  const errs = (mask: string) => compile(program(mask, 'B = 1, H = 1, Hk = 1, N = 36, D = 4')).diagnostics.map((d) => d.code);
  t.deepEqual(errs('halo2d(6, 6, [3, 0], 1)'), ['AT306']);
  t.deepEqual(errs('halo2d(0, 6, 3, 1)'), ['AT709']);
  const p = compile(program('halo2d(6, 5, 3, 1)', 'B = 1, H = 1, Hk = 1, N = 36, D = 4'));
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, inputs, { backend }), { message: /AT709: `halo2d`: needs N == M == height·width = 6·5 = 30, found N = 36 and M = 36/ }, backend);
  }
});
