// Mask analysis is sound: a tile it calls full (empty) is true (false) at every point,
// checked by brute force over random tiles; every allowed key lies in the key ranges.
// And it is useful: banded patterns get their obvious full/empty tiles.

import test from 'ava';
import fc from 'fast-check';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import { bin, dim, int, type Expr, type Pattern } from '../compiler/ir.js';
import { expandPattern } from '../compiler/patterns.js';
import { simplifyExpr } from '../compiler/passes/simplify.js';
import { evalExpr } from '../runtime/reference/expr.js';

const pattern = (origin: Pattern): Expr => ({ op: 'pattern', ty: 'bool', origin, body: expandPattern(origin) });
const N = dim('N');

/** Masks over one axis of length N (N == M), parameterised by small sizes. */
const masks: Record<string, (a: number, b: number) => Expr> = {
  causal: () => pattern({ name: 'causal' }),
  sliding: (a) => pattern({ name: 'sliding', w: int(a + 1) }),
  window: (a) => pattern({ name: 'window', r: int(a) }),
  block: (a) => pattern({ name: 'block', size: int(a + 1) }),
  halo: (a, b) => pattern({ name: 'halo', size: int(a + 1), overlap: int(b) }),
  sink: (a) => pattern({ name: 'sink', n: int(a) }),
  global: (a) => pattern({ name: 'global', n: int(a) }),
  neighborhood: (a, b) => pattern({ name: 'neighborhood', kernel: int(2 + (a % 4)), dilation: int(1 + (b % 3)), causal: false, length: N, keyLength: N }),
  'neighborhood-causal': (a, b) => pattern({ name: 'neighborhood', kernel: int(2 + (a % 4)), dilation: int(1 + (b % 3)), causal: true, length: N, keyLength: N }),
  // Every combination of kernel, dilation (k·d ≤ the axis length) and causal flags per axis.
  neighborhood2d: (a, b) => {
    const k1 = 2 + (b % 2);
    return pattern({
      name: 'neighborhood2d', height: int(6), width: int(5), kernel: [int(2 + (a % 2)), int(k1)],
      dilation: [int(1 + (b % 2)), int(k1 === 2 ? 1 + ((a >> 1) % 2) : 1)],
      causal: [(a >> 2) % 2 === 1, a % 2 === 1], length: int(30), keyLength: int(30),
    });
  },
  streaming: (a, b) => bin('or', masks.sliding!(a, b), bin('and', masks.sink!(b, a), masks.causal!(0, 0))),
  bigbird: (a, b) => bin('or', bin('or', masks.global!(b, a), masks.window!(a, b)), masks.block!(a + 3, b)),
  'not-causal': () => ({ op: 'not', ty: 'bool', a: pattern({ name: 'causal' }) }),
  'abs-expr': (a) => bin('lt', bin('mod', bin('sub', { op: 'index', ty: 'int', name: 'i' }, { op: 'index', ty: 'int', name: 'j' }), int(a + 2)), int(1)),
};

const allowed = (mask: Expr, n: number, i: number, j: number) => evalExpr(mask, { b: 0, h: 0, i, j, dims: { N: n } }) as boolean;

for (const [name, make] of Object.entries(masks)) {
  test(`tile predicates are sound: ${name}`, (t) => {
    t.notThrows(() => fc.assert(fc.property(
      fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 29 }), fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 29 }), fc.integer({ min: 1, max: 8 }),
      (a, b, qLo, qn, kLo, kn) => {
        const n = 30;
        const mask = make(a, b);
        const { full, empty } = tilePredicates(mask);
        const vars = { q_lo: qLo, q_hi: Math.min(qLo + qn, n) - 1, k_lo: kLo, k_hi: Math.min(kLo + kn, n) - 1 };
        const isFull = evalExpr(full, { vars, dims: { N: n } });
        const isEmpty = evalExpr(empty, { vars, dims: { N: n } });
        for (let i = vars.q_lo; i <= vars.q_hi; i++) {
          for (let j = vars.k_lo; j <= vars.k_hi; j++) {
            const v = allowed(mask, n, i, j);
            if (isFull && !v) return false;
            if (isEmpty && v) return false;
          }
        }
        return true;
      }), { numRuns: 300 }));
  });

  test(`key ranges contain every allowed key: ${name}`, (t) => {
    t.notThrows(() => fc.assert(fc.property(
      fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 29 }), fc.integer({ min: 0, max: 8 }),
      (a, b, qLo, qn) => {
        const n = 30;
        const mask = make(a, b);
        const ranges = keyRanges(mask);
        if (!ranges) return true;
        // qn = 0: a single query (q_lo == q_hi), where NATTEN's ranges are exact.
        const vars = { q_lo: qLo, q_hi: Math.min(qLo + Math.max(qn, 1), n) - 1 };
        const at = (e: Expr) => evalExpr(e, { vars, dims: { N: n } }) as number;
        const bounds = ranges.map((r) => [at(r.lo), at(r.hi), r.step ? at(r.step) : 1] as const);
        const covered = (j: number) => bounds.some(([lo, hi, step]) => lo <= j && j <= hi && (j - lo) % step === 0);
        for (let i = vars.q_lo; i <= vars.q_hi; i++) {
          for (let j = 0; j < n; j++) {
            if (allowed(mask, n, i, j) && !covered(j)) return false;
          }
        }
        return true;
      }), { numRuns: 300 }));
  });
}

test('banded patterns classify their obvious tiles', (t) => {
  const tile = (mask: Expr, q: [number, number], k: [number, number]) => {
    const { full, empty } = tilePredicates(mask);
    const vars = { q_lo: q[0], q_hi: q[1], k_lo: k[0], k_hi: k[1] };
    return evalExpr(full, { vars, dims: { N: 64 } }) ? 'full' : evalExpr(empty, { vars, dims: { N: 64 } }) ? 'empty' : 'mixed';
  };
  const causal = masks.causal!(0, 0);
  t.is(tile(causal, [16, 31], [0, 15]), 'full');
  t.is(tile(causal, [0, 15], [16, 31]), 'empty');
  t.is(tile(causal, [16, 31], [16, 31]), 'mixed');
  const block = pattern({ name: 'block', size: int(16) });
  t.is(tile(block, [16, 31], [16, 31]), 'full');
  t.is(tile(block, [16, 31], [32, 47]), 'empty');
  const sliding = pattern({ name: 'sliding', w: int(8) });
  t.is(tile(sliding, [32, 39], [0, 15]), 'empty');
  t.is(tile(sliding, [32, 39], [32, 39]), 'mixed');
});

test('key ranges of banded patterns are closed forms in the query range', (t) => {
  const r = keyRanges(pattern({ name: 'sliding', w: int(256) }))!;
  t.is(r.length, 1);
  const at = (e: Expr) => evalExpr(simplifyExpr(e), { vars: { q_lo: 1000, q_hi: 1063 } });
  t.deepEqual([at(r[0]!.lo), at(r[0]!.hi)], [745, 1063]);
  t.is(keyRanges(bin('eq', { op: 'index', ty: 'int', name: 'i' }, { op: 'load', ty: 'int', tensor: 0, idx: [] })), null);
});

test('a single query\'s neighborhood range holds exactly its k keys, one dilation group', (t) => {
  for (const causal of [false, true]) {
    const mask = pattern({ name: 'neighborhood', kernel: int(5), dilation: int(3), causal, length: N, keyLength: N });
    const [r] = keyRanges(mask)!;
    for (let i = 0; i < 40; i++) {
      const at = (e: Expr) => evalExpr(e, { vars: { q_lo: i, q_hi: i }, dims: { N: 40 } }) as number;
      const keys: number[] = [];
      for (let j = at(r!.lo); j <= at(r!.hi); j += at(r!.step!)) keys.push(j);
      const want = Array.from({ length: 40 }, (_, j) => j).filter((j) => allowed(mask, 40, i, j));
      t.deepEqual(keys.filter((j) => j >= 0), want, `query ${i}, causal ${causal}`);
    }
  }
});
