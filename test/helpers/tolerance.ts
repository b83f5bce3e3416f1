// The spec's tolerance (§6), in one place for the tests: an f32 kernel passes when
// |out − ref| ≤ 1e-4 + 1e-4·|ref| elementwise.

import type { ExecutionContext } from 'ava';
import type { Tensor } from '../../runtime/tensor.js';

/** The worst |out − ref| as a multiple of the tolerance (NaN counts as infinitely wrong), and where. */
export function worstError(got: Tensor, want: Tensor, atol = 1e-4, rtol = 1e-4): { ratio: number; at: number } {
  let ratio = 0;
  let at = -1;
  for (let k = 0; k < want.data.length; k++) {
    const g = got.data[k]!;
    const w = want.data[k]!;
    // Equal values (±inf, NaN) are exact; an infinity or NaN on one side only is infinitely wrong.
    const same = g === w || (Number.isNaN(g) && Number.isNaN(w));
    const r = same ? 0 : Number.isFinite(g) && Number.isFinite(w) ? Math.abs(g - w) / (atol + rtol * Math.abs(w)) : Infinity;
    if (r > ratio || (at < 0 && r >= ratio)) {
      ratio = r;
      at = k;
    }
  }
  return { ratio, at };
}

/** Assert `got` matches `want` within the tolerance; logs the worst error (ava --verbose). */
export function close(t: ExecutionContext, got: Tensor, want: Tensor, atol = 1e-4, rtol = 1e-4): void {
  t.deepEqual(got.shape, want.shape, 'shape');
  t.is(got.data.length, want.data.length, 'length');
  const { ratio, at } = worstError(got, want, atol, rtol);
  t.log(`worst error: ${(ratio * 100).toFixed(2)}% of the tolerance`);
  t.true(ratio <= 1, `element ${at}: got ${got.data[at]}, want ${want.data[at]} (${ratio.toFixed(3)}× the tolerance)`);
}
