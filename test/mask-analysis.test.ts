// Mask analysis is sound: a tile it calls full (empty) is true (false) at every point,
// checked by brute force over random tiles; every allowed key lies in the key ranges.
// And it is useful: banded patterns get their obvious full/empty tiles.

import test from 'ava';
import fc from 'fast-check';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import { bin, bool, dim, int, rewrite, type Expr, type Pattern } from '../compiler/ir.js';
import { expandPattern } from '../compiler/patterns.js';
import { simplifyExpr } from '../compiler/passes/simplify.js';
import { evalExpr } from '../compiler/evaluate.js';

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
  // 2 frames × 3 rows × 5 columns = 30 positions; kernel · dilation within every axis.
  neighborhood3d: (a, b) => {
    const k2 = 2 + (b % 3);
    return pattern({
      name: 'neighborhood3d', depth: int(2), height: int(3), width: int(5),
      kernel: [int(2), int(2 + (a % 2)), int(k2)], dilation: [int(1), int(1), int(k2 === 2 ? 1 + ((a >> 2) % 2) : 1)],
      causal: [a % 2 === 1, (a >> 1) % 2 === 1, b % 2 === 1], length: int(30), keyLength: int(30),
    });
  },
  // A 5 × 6 grid (30 positions), blocks of 1..3 rows and columns, overlaps −1..2.
  halo2d: (a, b) => pattern({
    name: 'halo2d', height: int(5), width: int(6), size: [int(1 + (a % 3)), int(1 + (b % 3))],
    overlap: [int((a >> 1) % 4 - 1), int((b >> 1) % 4 - 1)], length: int(30), keyLength: int(30),
  }),
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

// ---- pattern arguments of either sign ----
// Params are ints of any sign: `block(-4)` groups queries by floor(i / −4) ({0}, {1..4},
// {5..8}, …), `window(-1)` allows nothing. Each argument is a constant or (`sym`) an
// expression over N whose sign the analysis cannot know (N − 30 + a, which is a at N = 30).

const NN = 30;
const arg = (a: number, sym: boolean): Expr => (sym ? bin('add', bin('sub', N, int(NN)), int(a)) : int(a));
const stripped = (mask: Expr): Expr => rewrite(mask, (x) => (x.op === 'pattern' ? x.body! : x));
/** The mask's value by its body (the reference evaluates the body; NATTEN's argument checks are skipped). */
const allowedBody = (mask: Expr, i: number, j: number) => evalExpr(stripped(mask), { b: 0, h: 0, i, j, dims: { N: NN } }) as boolean;

const signed: Record<string, { make: (a: number, b: number, sym: boolean) => Expr; a: [number, number]; b?: [number, number]; skip?: (a: number, b: number) => boolean }> = {
  sliding: { make: (a, _b, sym) => pattern({ name: 'sliding', w: arg(a, sym) }), a: [-12, 12] },
  window: { make: (a, _b, sym) => pattern({ name: 'window', r: arg(a, sym) }), a: [-12, 12] },
  sink: { make: (a, _b, sym) => pattern({ name: 'sink', n: arg(a, sym) }), a: [-12, 12] },
  global: { make: (a, _b, sym) => pattern({ name: 'global', n: arg(a, sym) }), a: [-12, 12] },
  // size 0 divides by zero (a compile error for a constant): not a mask to evaluate.
  block: { make: (a, _b, sym) => pattern({ name: 'block', size: arg(a, sym) }), a: [-12, 12], skip: (a) => a === 0 },
  halo: { make: (a, b, sym) => pattern({ name: 'halo', size: arg(a, sym), overlap: arg(b, sym) }), a: [-12, 12], b: [-12, 12], skip: (a) => a === 0 },
  // Outside NATTEN's domain (kernel < 2 or dilation < 1 is an error at compile or run time),
  // the analysis must still not claim a wrong range for the body.
  'neighborhood (bad args)': {
    make: (a, b, sym) => pattern({ name: 'neighborhood', kernel: arg(a, sym), dilation: arg(b, sym), causal: false, length: N, keyLength: N }),
    a: [-3, 4], b: [-3, 3], skip: (a, b) => b === 0 || (a >= 2 && b >= 1),
  },
  'neighborhood causal (bad args)': {
    make: (a, b, sym) => pattern({ name: 'neighborhood', kernel: arg(a, sym), dilation: arg(b, sym), causal: true, length: N, keyLength: N }),
    a: [-3, 4], b: [-3, 3], skip: (a, b) => b === 0 || (a >= 2 && b >= 1),
  },
  'block or sliding': {
    make: (a, b, sym) => bin('or', pattern({ name: 'block', size: arg(a, sym) }), pattern({ name: 'sliding', w: arg(b, sym) })),
    a: [-9, 9], b: [-9, 9], skip: (a) => a === 0,
  },
  'block and causal': {
    make: (a, _b, sym) => bin('and', pattern({ name: 'block', size: arg(a, sym) }), pattern({ name: 'causal' })),
    a: [-9, 9], skip: (a) => a === 0,
  },
};

for (const [name, { make, a: ra, b: rb = [0, 0], skip }] of Object.entries(signed)) {
  const args = fc.tuple(fc.integer({ min: ra[0], max: ra[1] }), fc.integer({ min: rb[0], max: rb[1] }), fc.boolean())
    .filter(([a, b]) => !skip?.(a, b));

  test(`tile predicates are sound for arguments of either sign: ${name}`, (t) => {
    t.notThrows(() => fc.assert(fc.property(
      args, fc.integer({ min: 0, max: NN - 1 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: NN - 1 }), fc.integer({ min: 1, max: 12 }),
      ([a, b, sym], qLo, qn, kLo, kn) => {
        const mask = make(a, b, sym);
        const { full, empty } = tilePredicates(mask);
        const vars = { q_lo: qLo, q_hi: Math.min(qLo + qn, NN) - 1, k_lo: kLo, k_hi: Math.min(kLo + kn, NN) - 1 };
        const isFull = evalExpr(full, { vars, dims: { N: NN } });
        const isEmpty = evalExpr(empty, { vars, dims: { N: NN } });
        for (let i = vars.q_lo; i <= vars.q_hi; i++) {
          for (let j = vars.k_lo; j <= vars.k_hi; j++) {
            const v = allowedBody(mask, i, j);
            if ((isFull && !v) || (isEmpty && v)) return false;
          }
        }
        return true;
      }), { numRuns: 400 }));
  });

  test(`key ranges contain every allowed key for arguments of either sign: ${name}`, (t) => {
    t.notThrows(() => fc.assert(fc.property(
      args, fc.integer({ min: 0, max: NN - 1 }), fc.integer({ min: 0, max: 12 }),
      ([a, b, sym], qLo, qn) => {
        const mask = make(a, b, sym);
        const ranges = keyRanges(mask);
        if (!ranges) return true;
        const vars = { q_lo: qLo, q_hi: Math.min(qLo + Math.max(qn, 1), NN) - 1 };
        const at = (e: Expr) => evalExpr(e, { vars, dims: { N: NN } }) as number;
        const bounds = ranges.map((r) => [at(r.lo), at(r.hi), r.step ? at(r.step) : 1] as const);
        const covered = (j: number) => bounds.some(([lo, hi, step]) => lo <= j && j <= hi && (j - lo) % step === 0);
        for (let i = vars.q_lo; i <= vars.q_hi; i++) {
          for (let j = 0; j < NN; j++) {
            if (allowedBody(mask, i, j) && !covered(j)) return false;
          }
        }
        return true;
      }), { numRuns: 400 }));
  });
}

test('block(-4): the analysis follows floor division by a negative size', (t) => {
  const mask = pattern({ name: 'block', size: int(-4) });
  // Keys of each query, by brute force: {0}, {1..4}, {5..8}, …
  t.deepEqual([0, 1, 4, 5, 8].map((i) => Array.from({ length: 12 }, (_, j) => j).filter((j) => allowedBody(mask, i, j))),
    [[0], [1, 2, 3, 4], [1, 2, 3, 4], [5, 6, 7, 8], [5, 6, 7, 8]]);
  const [r] = keyRanges(mask)!;
  const at = (e: Expr, q_lo: number, q_hi: number) => evalExpr(e, { vars: { q_lo, q_hi } }) as number;
  // A single query's range is exactly its block (key 0's block reaches below 0: clamped).
  t.deepEqual([at(r!.lo, 1, 1), at(r!.hi, 1, 1)], [1, 4]);
  t.deepEqual([at(r!.lo, 6, 6), at(r!.hi, 6, 6)], [5, 8]);
  t.deepEqual([at(r!.lo, 0, 0), at(r!.hi, 0, 0)], [-3, 0]);
  // Queries 0..63 reach keys 0..64 (query 61..63's block is 61..64), which a
  // positive-size closed form would have cut at 59.
  t.deepEqual([at(r!.lo, 0, 63), at(r!.hi, 0, 63)], [-3, 64]);
  // and the tile predicates see the blocks: queries 1..4 × keys 1..4 is full, × keys 5..8 empty
  const { full, empty } = tilePredicates(mask);
  const tile = (q: [number, number], k: [number, number]) => {
    const vars = { q_lo: q[0], q_hi: q[1], k_lo: k[0], k_hi: k[1] };
    return evalExpr(full, { vars }) ? 'full' : evalExpr(empty, { vars }) ? 'empty' : 'mixed';
  };
  t.is(tile([1, 4], [1, 4]), 'full');
  t.is(tile([1, 4], [5, 8]), 'empty');
  t.is(tile([1, 5], [1, 4]), 'mixed');
});

test('non-positive constants: no key at all where the rule allows none; size 0 has no closed form', (t) => {
  for (const p of [
    { name: 'sliding', w: int(0) }, { name: 'sliding', w: int(-3) }, { name: 'window', r: int(-1) },
    { name: 'sink', n: int(0) }, { name: 'sink', n: int(-2147483648) }, { name: 'global', n: int(-5) },
  ] as Pattern[]) {
    t.deepEqual(keyRanges(pattern(p)), [], p.name);
  }
  // A constant zero divisor (a compile error in a program) gets no range and no full/empty tile.
  for (const p of [{ name: 'block', size: int(0) }, { name: 'halo', size: int(0), overlap: int(2) }] as Pattern[]) {
    t.is(keyRanges(pattern(p)), null, p.name);
    const { full, empty } = tilePredicates(pattern(p));
    t.deepEqual([full, empty], [bool(false), bool(false)], p.name);
  }
  // A negative literal arrives as −(4): still a constant to the analysis.
  const neg = pattern({ name: 'block', size: { op: 'neg', ty: 'int', a: int(4) } });
  t.deepEqual(keyRanges(neg), keyRanges(pattern({ name: 'block', size: int(-4) })));
  // A symbolic size of unknown sign has no closed form: the body's analysis (every key).
  t.is(keyRanges(pattern({ name: 'block', size: bin('sub', N, int(40)) })), null);
  // Huge constants: no bound that overflows 32 bits.
  t.is(keyRanges(pattern({ name: 'window', r: int(2147483647) })), null);
});
