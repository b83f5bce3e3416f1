import test from 'ava';
import fc from 'fast-check';
import type { Expr } from '../compiler/ir.js';
import { AttncError } from '../dsl/diagnostics.js';
import {
  alibiSlope,
  alibiSlopes,
  compileNumber,
  evalExpr,
  executeReference,
  floatMod,
  floorDiv,
  floorMod,
  poolBin,
  runReference,
} from '../runtime/reference/index.js';
import { tensor, uniformTensor, type Tensor } from '../runtime/tensor.js';
import { bin, bool, call, dim, fl, float, GraphBuilder, i, int, j, load, not, select } from './helpers/ir-builder.js';

// ---- pool / pool2d ----

function poolGraph(tokens: number) {
  const g = new GraphBuilder();
  const x = g.input('x', ['B', 'H', 'N', 'D']);
  g.pool(x, tokens);
  return g.build();
}

test('pool bins follow adaptive_avg_pool1d (N not divisible by n)', (t) => {
  t.deepEqual([0, 1, 2].map((tt) => poolBin(tt, 3, 7)), [[0, 3], [2, 5], [4, 7]]);
  t.deepEqual([0, 1, 2, 3].map((tt) => poolBin(tt, 4, 10)), [[0, 3], [2, 5], [5, 8], [7, 10]]);
  // x = 0..6 along N, D = 2 with the second column = 10 × the first
  const x = tensor([1, 1, 7, 2], Array.from({ length: 14 }, (_, k) => (k % 2 ? 10 : 1) * Math.floor(k / 2)));
  const out = executeReference(poolGraph(3), { x });
  t.deepEqual(out.shape, [1, 1, 3, 2]);
  t.deepEqual(Array.from(out.data), [1, 10, 3, 30, 5, 50]);
  // n = N is the identity, n = 1 the mean
  t.deepEqual(Array.from(executeReference(poolGraph(7), { x }).data), Array.from(x.data));
  t.deepEqual(Array.from(executeReference(poolGraph(1), { x }).data), [3, 30]);
});

test('pool: tokens > N is an error', (t) => {
  const err = t.throws(() => executeReference(poolGraph(8), { x: uniformTensor([1, 1, 7, 2], 1) }), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT709');
  t.regex(err.message, /`pool`: tokens must be between 1 and the sequence length N = 7, found 8/);
});

test('pool2d: per-axis adaptive bins, row-major', (t) => {
  const g = new GraphBuilder();
  const x = g.input('x', ['B', 'H', 'N', 'D']);
  g.pool2d(x, 3, 5, [2, 2]);
  const graph = g.build();
  // grid value = 10·row + col
  const grid = tensor([1, 1, 15, 1], Array.from({ length: 15 }, (_, k) => 10 * Math.floor(k / 5) + (k % 5)));
  const out = executeReference(graph, { x: grid });
  t.deepEqual(out.shape, [1, 1, 4, 1]);
  // rows: 3 → 2 bins [0,2), [1,3): mean row 0.5, 1.5; cols: 5 → 2 bins [0,3), [2,5): mean col 1, 3
  t.deepEqual(Array.from(out.data), [5 + 1, 5 + 3, 15 + 1, 15 + 3]);
  const bad = t.throws(() => executeReference(graph, { x: uniformTensor([1, 1, 14, 1], 1) }), { instanceOf: AttncError });
  t.regex(bad.message, /N = 14 must equal height·width = 3·5 = 15/);
});

test('pool2d: to larger than the grid is an error', (t) => {
  const g = new GraphBuilder();
  const x = g.input('x', ['B', 'H', 'N', 'D']);
  g.pool2d(x, 2, 3, [3, 1]);
  const err = t.throws(() => executeReference(g.build(), { x: uniformTensor([1, 1, 6, 1], 1) }), { instanceOf: AttncError });
  t.regex(err.message, /to\[0\] must be between 1 and height = 2, found 3/);
});

// ---- clusters ----

function clustersRun(x: Tensor, c: Tensor): number[] {
  const g = new GraphBuilder();
  const xi = g.input('x', ['B', 'H', 'N', 'D']);
  const ci = g.input('c', ['H', 'C', 'D']);
  g.clusters(xi, ci);
  const out = runReference(g.build(), { x, c }).output;
  assertInt32(out);
  return Array.from(out.data);
}
const assertInt32 = (out: Tensor) => {
  if (!(out.data instanceof Int32Array)) throw new Error('clusters must give Int32Array');
};

test('clusters: cosine similarity, exact ties to the lowest, zero vectors to 0', (t) => {
  // centroids: c0 = (1, 0), c1 = (0, 1), c2 = (1, 0) (duplicate of c0), c3 = (0, 0)
  const c = tensor([1, 4, 2], [1, 0, 0, 1, 1, 0, 0, 0]);
  const x = tensor([1, 1, 6, 2], [
    5, 0.1, // → c0 (tie with c2: lowest)
    0.1, 3, // → c1
    0, 0, // zero vector → 0
    -1, -1, // all similarities ≤ 0: c3 (zero centroid) has 0, the best → 3
    1, 1, // equal similarity to c0, c1 and c2 → 0
    -2, 1, // c1: 1/√5 > 0
  ]);
  t.deepEqual(clustersRun(x, c), [0, 1, 0, 3, 0, 1]);
});

test('clusters: scale invariance and per-head centroid sets', (t) => {
  const c = tensor([2, 2, 2], [1, 0, 0, 1, /* head 1 swapped */ 0, 1, 1, 0]);
  const x = tensor([1, 2, 2, 2], [100, 1, 0.001, 0.01, 100, 1, 0.001, 0.01]);
  t.deepEqual(clustersRun(x, c), [0, 1, 1, 0]);
});

test('clusters: shape errors', (t) => {
  const err = t.throws(() => clustersRun(uniformTensor([1, 2, 3, 4], 1), uniformTensor([3, 2, 4], 2)), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT704'); // H bound to 2 by x and 3 by c
});

// ---- ALiBi ----

test('alibi slopes: 8 heads are 2^-1 … 2^-8', (t) => {
  t.deepEqual(alibiSlopes(8), [1, 2, 3, 4, 5, 6, 7, 8].map((k) => 2 ** -k));
});

// fairseq's get_slopes, transcribed (with the same float operations: its repeated
// multiplication drifts by a few ulps from the spec's closed form 2^(-8(h+1)/n)).
function fairseq(n: number): number[] {
  const pow2 = (m: number) => {
    const start = 2 ** -(2 ** -(Math.log2(m) - 3));
    return Array.from({ length: m }, (_, k) => start * start ** k);
  };
  if (Number.isInteger(Math.log2(n))) return pow2(n);
  const closest = 2 ** Math.floor(Math.log2(n));
  return [...pow2(closest), ...fairseq(2 * closest).filter((_, k) => k % 2 === 0).slice(0, n - closest)];
}

test('alibi slopes: 6 and 12 heads (fairseq get_slopes)', (t) => {
  t.deepEqual(alibiSlopes(6), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
  const s12 = alibiSlopes(12);
  const want12 = [...[1, 2, 3, 4, 5, 6, 7, 8].map((k) => 2 ** -k), 2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5];
  for (let k = 0; k < 12; k++) t.true(Math.abs(s12[k]! - want12[k]!) <= 1e-15, `head ${k}: ${s12[k]} vs ${want12[k]}`);
  for (const n of [1, 2, 3, 5, 6, 7, 12, 16, 20, 24, 40]) {
    const f = fairseq(n);
    const mine = alibiSlopes(n);
    for (let k = 0; k < n; k++) t.true(Math.abs(mine[k]! - f[k]!) <= 1e-13 * f[k]!, `n=${n} head ${k}: ${mine[k]} vs ${f[k]}`);
  }
});

test('alibi: h outside [0, heads) is an error', (t) => {
  for (const [hh, n] of [[8, 8], [-1, 8], [0, 0]] as const) {
    const err = t.throws(() => alibiSlope(hh, n), { instanceOf: AttncError });
    t.is(err.diagnostics[0]!.code, 'AT708');
  }
  const e = call('alibi', [int(3), int(2)], 'float');
  t.throws(() => evalExpr(e), { message: /0 <= h < heads, found h = 3 and heads = 2/ });
  t.is(evalExpr(call('alibi', [int(1), int(6)], 'float')), 2 ** -4);
});

// ---- integer and float semantics ----

const ev = (e: Expr) => evalExpr(e);

test('int div/mod are floor division/modulo (Python)', (t) => {
  const cases: [number, number, number, number][] = [
    [-3, 2, -2, 1],
    [3, -2, -2, -1],
    [-3, -2, 1, -1],
    [7, 2, 3, 1],
    [-4, 2, -2, 0],
    [0, -5, 0, 0],
    [-1, 5, -1, 4],
    [-2147483648, 3, -715827883, 1],
  ];
  for (const [a, b, q, r] of cases) {
    t.is(ev(bin('div', int(a), int(b))), q, `${a} / ${b}`);
    t.is(ev(bin('mod', int(a), int(b))), r, `${a} % ${b}`);
    t.true(Object.is(ev(bin('div', int(a), int(b))), q + 0), 'no negative zero');
    t.true(Object.is(ev(bin('mod', int(a), int(b))), r + 0), 'no negative zero');
  }
});

test('int div/mod agree with a BigInt floor formulation (property)', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1000, max: 1000 }).filter((x) => x !== 0), (a, b) => {
      const A = BigInt(a);
      const B = BigInt(b);
      let q = A / B;
      if ((A % B !== 0n) && ((A < 0n) !== (B < 0n))) q -= 1n;
      const r = A - q * B;
      return floorDiv(a, b) === Number(q) && floorMod(a, b) === Number(r) && ev(bin('div', int(a), int(b))) === Number(q);
    }),
  ));
});

test('int division and modulo by zero are errors', (t) => {
  for (const op of ['div', 'mod'] as const) {
    const err = t.throws(() => ev(bin(op, int(5), bin('sub', int(2), int(2)))), { instanceOf: AttncError });
    t.is(err.diagnostics[0]!.code, 'AT306');
  }
  // inside a mask, the error says where
  const f = compileNumber(bin('div', i, j), { dims: {}, scope: 'mask' });
  const err = t.throws(() => f({ b: 0, h: 1, hk: 1, i: 3, j: 0, s: 0 }), { instanceOf: AttncError });
  t.regex(err.diagnostics[0]!.hint ?? '', /i = 3, j = 0/);
});

test('float div and floor-mod', (t) => {
  t.is(ev(bin('div', float(1), float(0))), Infinity);
  t.is(ev(bin('mod', float(-3.5), float(2))), 0.5);
  t.is(ev(bin('mod', float(3.5), float(-2))), -0.5);
  t.is(ev(bin('mod', float(-1e-20), float(1))), 1); // Python gives 1.0
  t.true(Number.isNaN(ev(bin('mod', float(1), float(0))) as number));
  t.true(Object.is(floatMod(-4, 2), 0));
  t.true(Object.is(floatMod(4, -2), -0));
  t.is(ev(bin('div', float(-3), float(2))), -1.5);
});

test('int() truncates toward zero; float() converts', (t) => {
  t.is(ev(call('int', [float(-2.7)], 'int')), -2);
  t.is(ev(call('int', [float(2.7)], 'int')), 2);
  t.true(Object.is(ev(call('int', [float(-0.5)], 'int')), 0));
  t.is(ev(call('float', [int(3)], 'float')), 3);
  for (const x of [NaN, Infinity, 3e9]) {
    const err = t.throws(() => ev(call('int', [float(x)], 'int')), { instanceOf: AttncError });
    t.is(err.diagnostics[0]!.code, 'AT711');
  }
});

test('functions', (t) => {
  t.is(ev(call('abs', [int(-3)], 'int')), 3);
  t.is(ev(call('min', [int(-3), int(2)], 'int')), -3);
  t.is(ev(call('max', [float(-3), float(2.5)], 'float')), 2.5);
  t.is(ev(call('clamp', [int(9), int(0), int(4)], 'int')), 4);
  t.is(ev(call('clamp', [int(-9), int(0), int(4)], 'int')), 0);
  t.is(ev(call('exp', [float(0)], 'float')), 1);
  t.is(ev(call('log', [float(0)], 'float')), -Infinity);
  t.is(ev(call('sqrt', [int(9)], 'float')), 3); // ints are promoted
  t.is(ev(call('floor', [float(-1.5)], 'float')), -2);
  t.is(ev(call('ceil', [float(-1.5)], 'float')), -1);
  t.is(ev(call('tanh', [float(0)], 'float')), 0);
  t.is(ev(select(bool(false), int(1), int(2))), 2);
  t.is(ev(not(bool(false))), true);
  t.is(ev(bin('add', float(0.5), fl(int(2)))), 2.5);
});

test('int overflow is an error', (t) => {
  const err = t.throws(() => ev(bin('mul', int(65536), int(65536))), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT710');
  t.throws(() => ev(bin('add', int(2147483647), int(1))), { instanceOf: AttncError });
  t.throws(() => ev(bin('div', int(-2147483648), int(-1))), { instanceOf: AttncError });
  t.is(ev(bin('sub', int(-2147483647), int(1))), -2147483648);
});

test('and, or and select short-circuit', (t) => {
  const boom = bin('eq', bin('div', int(1), int(0)), int(0));
  t.is(ev(bin('and', bool(false), boom)), false);
  t.is(ev(bin('or', bool(true), boom)), true);
  t.is(ev(select(bool(true), int(1), bin('div', int(1), int(0)))), 1);
  t.throws(() => ev(bin('and', bool(true), boom)), { instanceOf: AttncError });
});

test('dims and index variables', (t) => {
  t.is(evalExpr(bin('mul', dim('N'), int(2)), { dims: { N: 5 } }), 10);
  t.is(evalExpr(bin('sub', i, j), { i: 3, j: 5 }), -2);
  t.throws(() => evalExpr(dim('Q'), { dims: {} }), { instanceOf: AttncError, message: /AT705/ });
  t.throws(() => evalExpr(bin('sub', i, j), { i: 3 }), { message: /`j`/ });
});

test('load: out-of-range index names the tensor and the index', (t) => {
  const bias = tensor([2, 3], [1, 2, 3, 4, 5, 6]);
  const tensors = new Map([[7, bias]]);
  const tensorName = () => 'bias';
  t.is(evalExpr(load(7, [int(1), int(2)]), { tensors, tensorName }), 6);
  t.is(evalExpr(load(7, [i, j]), { tensors, tensorName, i: 1, j: 0 }), 4);
  const err = t.throws(() => evalExpr(load(7, [int(1), int(3)]), { tensors, tensorName }), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT707');
  t.is(err.diagnostics[0]!.message, 'index [1, 3] is out of range for `bias` of shape [2, 3]');
  t.throws(() => evalExpr(load(7, [int(-1), int(0)]), { tensors, tensorName }), { instanceOf: AttncError });
  const rank = t.throws(() => evalExpr(load(7, [int(1)]), { tensors, tensorName }), { instanceOf: AttncError });
  t.is(rank.diagnostics[0]!.code, 'AT401');
  // rank-4 lookups use the general path
  const t4 = tensor([1, 2, 1, 2], [1, 2, 3, 4]);
  t.is(evalExpr(load(0, [int(0), int(1), int(0), int(1)]), { tensors: [t4] }), 4);
  t.throws(() => evalExpr(load(0, [int(0), int(2), int(0), int(1)]), { tensors: [t4] }), { message: /\[0, 2, 0, 1\]/ });
});

test('ill-typed IR is an internal error', (t) => {
  t.throws(() => ev({ op: 'add', ty: 'int', a: int(1), b: float(2) }), { message: /internal error/ });
  t.throws(() => ev({ op: 'var', ty: 'int', name: 'q_lo' }), { message: /internal error/ });
  t.is(evalExpr({ op: 'var', ty: 'int', name: 'q_lo' }, { vars: { q_lo: 4 } }), 4);
});
