// Cross-check: the compiler's pattern expansions (compiler/patterns.ts) against the spec's
// rules as the reference executor implements them (runtime/reference/patterns.ts), entry by
// entry, through the executor's own `checkPatterns` path.

import test from 'ava';
import fc from 'fast-check';
import { int, type Expr, type Pattern } from '../compiler/ir.js';
import { expandPattern } from '../compiler/patterns.js';
import { compileBool } from '../runtime/reference/index.js';

function agree(p: Pattern, N: number, M: number): number {
  const e: Expr = { op: 'pattern', ty: 'bool', origin: p, body: expandPattern(p) };
  const f = compileBool(e, { dims: {}, scope: 'mask', lengths: { N, M }, checkPatterns: true });
  let allowed = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) if (f({ b: 0, h: 0, hk: 0, i, j, s: NaN })) allowed++;
  return allowed;
}

test('simple patterns', (t) => {
  // checkPatterns makes the executor throw on the first entry where body and rule differ.
  t.notThrows(() => {
  for (const [N, M] of [[7, 7], [5, 11], [11, 5]] as const) {
    agree({ name: 'causal' }, N, M);
    for (const r of [0, 1, 3]) agree({ name: 'window', r: int(r) }, N, M);
    for (const w of [1, 2, 5]) agree({ name: 'sliding', w: int(w) }, N, M);
    for (const size of [1, 3, 4]) agree({ name: 'block', size: int(size) }, N, M);
    for (const [size, overlap] of [[3, 0], [3, 1], [4, 2]]) agree({ name: 'halo', size: int(size!), overlap: int(overlap!) }, N, M);
    for (const n of [0, 2]) {
      agree({ name: 'sink', n: int(n) }, N, M);
      agree({ name: 'global', n: int(n) }, N, M);
    }
  }
  });
});

test('neighborhood (property)', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.integer({ min: 2, max: 24 }), fc.integer({ min: 2, max: 7 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (L, k, d, causal) => {
      fc.pre(k * d <= L);
      const n = agree({ name: 'neighborhood', kernel: int(k), dilation: int(d), causal, length: int(L), keyLength: int(L) }, L, L);
      // non-causal: every query sees exactly k keys
      return causal || n === k * L;
    }),
  ));
});

test('neighborhood2d (property)', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 7 }),
      fc.integer({ min: 2, max: 7 }),
      fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 })),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      fc.tuple(fc.boolean(), fc.boolean()),
      (H, W, k, d, causal) => {
        fc.pre(k[0] * d[0] <= H && k[1] * d[1] <= W);
        const L = H * W;
        agree(
          {
            name: 'neighborhood2d',
            height: int(H),
            width: int(W),
            kernel: [int(k[0]), int(k[1])],
            dilation: [int(d[0]), int(d[1])],
            causal,
            length: int(L),
            keyLength: int(L),
          },
          L,
          L,
        );
        return true;
      },
    ),
  ));
});
