import test, { type ExecutionContext } from 'ava';
import { qkv as qkvOf, type Sizes } from './helpers/qkv.js';
import type { Expr } from '../compiler/ir.js';
import { AttncError } from '../dsl/diagnostics.js';
import { executeReference, runReference } from '../runtime/reference/index.js';
import { tensor, uniformTensor, intTensor, type Tensor } from '../runtime/tensor.js';
import { bruteAttend, flatten, type BruteOpts } from './helpers/brute.js';
import {
  attendGraph,
  bin,
  block,
  call,
  causal,
  dim,
  fl,
  float,
  globalP,
  GraphBuilder,
  h,
  halo,
  hk,
  i,
  int,
  j,
  b as bIdx,
  load,
  neighborhood,
  neighborhood2d,
  pattern,
  s,
  select,
  sink,
  sliding,
  windowP,
} from './helpers/ir-builder.js';

const E = Math.E;

function close(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  t.is(got.length, want.length, 'length');
  let worst = 0;
  let at = -1;
  for (let k = 0; k < want.length; k++) {
    const g = got[k]!;
    const w = want[k]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) t.fail(`element ${k}: got ${g}, want ${w}`);
      continue;
    }
    const err = Math.abs(g - w) / (1 + Math.abs(w));
    if (err > worst) {
      worst = err;
      at = k;
    }
  }
  t.true(worst <= tol, `worst relative error ${worst} at element ${at}: got ${got[at]}, want ${want[at]}`);
}

/** Small head dims (4) by default: the brute force is O(N·M·D). */
const qkv = (sz: Sizes, seed = 1) => qkvOf(sz, seed, 4);

/** Run `graph` on q, k, v (+ extra inputs) and compare with the brute-force formulation. */
function check(
  t: ExecutionContext,
  graph: ReturnType<typeof attendGraph>,
  sz: Sizes,
  brute: BruteOpts,
  extra: Record<string, Tensor> = {},
  seed = 1,
): Float64Array {
  const inputs = { ...qkv(sz, seed), ...extra };
  const out = executeReference(graph, inputs);
  const want = flatten(bruteAttend(inputs.q, inputs.k, inputs.v, brute));
  t.true(out.data instanceof Float64Array);
  close(t, out.data, want);
  return out.data as Float64Array;
}

// ---- hand-computed ----

const hand = () => ({
  q: tensor([1, 1, 2, 1], [1, 2]),
  k: tensor([1, 1, 2, 1], [0, 1]),
  v: tensor([1, 1, 2, 1], [10, 20]),
});

test('hand: dense, N=2, D=1', (t) => {
  // s = q_i k_j (scale 1): row 0 = [0, 1], row 1 = [0, 2]
  const out = executeReference(attendGraph(), hand());
  t.deepEqual(out.shape, [1, 1, 2, 1]);
  close(t, out.data, [(10 + 20 * E) / (1 + E), (10 + 20 * E * E) / (1 + E * E)], 1e-15);
});

test('hand: causal', (t) => {
  const out = executeReference(attendGraph({ mask: causal() }), hand());
  t.is(out.data[0], 10);
  close(t, [out.data[1]!], [(10 + 20 * E * E) / (1 + E * E)], 1e-15);
});

test('hand: a row with no allowed key is exactly +0', (t) => {
  const out = executeReference(attendGraph({ mask: bin('gt', j, i) }), hand());
  t.is(out.data[0], 20);
  t.true(Object.is(out.data[1], 0));
});

test('hand: normalize queries', (t) => {
  // column 0: x = [0, 0] → p = [1/2, 1/2]; column 1: x = [1, 2] → p = [1/(1+e), e/(1+e)]
  const out = executeReference(attendGraph({ normalize: 'queries' }), hand());
  close(t, out.data, [5 + 20 / (1 + E), 5 + (20 * E) / (1 + E)], 1e-15);
});

test('hand: explicit scale and a score modifier', (t) => {
  // x = 0.5 · s + 1 for j = 1 only: row 0 = [0, 1.5], row 1 = [0, 2]
  const score = bin('add', s, select(bin('eq', j, int(1)), float(1), float(0)));
  const out = executeReference(attendGraph({ scale: float(0.5), score }), hand());
  const e15 = Math.exp(1.5);
  close(t, out.data, [(10 + 20 * e15) / (1 + e15), (10 + 20 * E * E) / (1 + E * E)], 1e-15);
});

test('hand: N != M, GQA, Dv != D', (t) => {
  // H = 2 query heads share one kv head; N = 1, M = 3, D = 1, Dv = 2
  const q = tensor([1, 2, 1, 1], [0, 1]);
  const k = tensor([1, 1, 3, 1], [0, 0, Math.log(2)]);
  const v = tensor([1, 1, 3, 2], [1, 0, 0, 1, 4, 4]);
  const out = executeReference(attendGraph(), { q, k, v });
  t.deepEqual(out.shape, [1, 2, 1, 2]);
  // head 0: uniform → [(1+0+4)/3, (0+1+4)/3]; head 1: weights 1, 1, 2 → /4
  close(t, out.data, [5 / 3, 5 / 3, (1 + 8) / 4, (1 + 8) / 4], 1e-15);
});

// ---- random inputs against the brute-force formulation ----

test('dense', (t) => {
  check(t, attendGraph(), { B: 2, H: 2, N: 7, D: 5 }, {});
});

test('causal, N < M and N > M (top-left aligned)', (t) => {
  check(t, attendGraph({ mask: causal() }), { B: 2, H: 3, N: 5, M: 9 }, { mask: (_b, _h, _hk, i, j) => j <= i });
  check(t, attendGraph({ mask: causal() }), { B: 1, H: 2, N: 9, M: 4 }, { mask: (_b, _h, _hk, i, j) => j <= i });
});

test('GQA (H=4, Hk=2) and MQA (Hk=1)', (t) => {
  for (const Hk of [2, 1]) {
    const mask = bin('eq', bin('mod', bin('add', j, hk), int(2)), int(0));
    check(t, attendGraph({ mask }), { B: 2, H: 4, Hk, N: 6, M: 8 }, { mask: (_b, _h, hk, _i, j) => (j + hk) % 2 === 0 });
  }
});

test('GQA: query head h reads kv head h / (H / Hk)', (t) => {
  // Each kv head's values are constant = its index; output of head h must be hk(h).
  const H = 6;
  const Hk = 3;
  const v = tensor([1, Hk, 4, 2], Array.from({ length: Hk * 8 }, (_, x) => Math.floor(x / 8)));
  const { q, k } = qkv({ H, Hk, N: 3, M: 4, D: 2 });
  const out = executeReference(attendGraph(), { q, k, v });
  for (let hh = 0; hh < H; hh++) close(t, [out.data[hh * 3 * 2]!], [Math.floor(hh / 2)], 1e-15);
});

test('Dv != D', (t) => {
  check(t, attendGraph({ mask: causal() }), { B: 1, H: 2, N: 6, M: 6, D: 3, Dv: 7 }, { mask: (_b, _h, _hk, i, j) => j <= i });
});

test('fully-masked rows are exactly +0 (keys and queries)', (t) => {
  const mask = bin('and', bin('ge', i, int(3)), bin('le', j, i));
  for (const normalize of ['keys', 'queries'] as const) {
    const out = check(t, attendGraph({ mask, normalize }), { B: 2, H: 2, N: 6, Dv: 3 }, { mask: (_b, _h, _hk, i, j) => i >= 3 && j <= i, normalize });
    for (let bh = 0; bh < 4; bh++) {
      for (let r = 0; r < 3; r++) {
        for (let d = 0; d < 3; d++) t.true(Object.is(out[(bh * 6 + r) * 3 + d], 0));
      }
    }
  }
});

test('normalize: queries with a mask, and with GQA', (t) => {
  check(t, attendGraph({ normalize: 'queries', mask: causal() }), { B: 2, H: 2, N: 7, M: 7 }, {
    normalize: 'queries',
    mask: (_b, _h, _hk, i, j) => j <= i,
  });
  check(t, attendGraph({ normalize: 'queries', mask: sliding(3) }), { B: 1, H: 4, Hk: 2, N: 8, M: 8, Dv: 3 }, {
    normalize: 'queries',
    mask: (_b, _h, _hk, i, j) => j <= i && i - j < 3,
  });
  // N != M with queries: a column (key) that no query may see contributes nothing
  check(t, attendGraph({ normalize: 'queries', mask: causal() }), { B: 1, H: 2, Hk: 1, N: 4, M: 9 }, {
    normalize: 'queries',
    mask: (_b, _h, _hk, i, j) => j <= i,
  });
});

test('normalize: queries normalises per query head under GQA', (t) => {
  // Two query heads with identical q share one kv head: the column softmax runs over each
  // head's own queries, so both heads give the same output (not half of it).
  const q1 = uniformTensor([1, 1, 5, 4], 3);
  const q = tensor([1, 2, 5, 4], [...q1.data, ...q1.data]);
  const { k, v } = qkv({ H: 1, Hk: 1, N: 5 }, 7);
  const out = executeReference(attendGraph({ normalize: 'queries' }), { q, k, v });
  const single = executeReference(attendGraph({ normalize: 'queries' }), { q: q1, k, v });
  close(t, out.data.slice(0, 20), single.data, 0);
  close(t, out.data.slice(20), single.data, 0);
});

test('score: ALiBi with 6 heads', (t) => {
  const score = bin('add', s, bin('mul', call('alibi', [h, dim('H')], 'float'), fl(bin('sub', j, i))));
  const slopes = [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3];
  check(t, attendGraph({ score, mask: causal() }), { B: 1, H: 6, N: 6 }, {
    mask: (_b, _h, _hk, i, j) => j <= i,
    score: (x, _b, h, _hk, i, j) => x + slopes[h]! * (j - i),
  });
});

test('score: soft-cap tanh(s / 30.0) * 30.0', (t) => {
  const score = bin('mul', call('tanh', [bin('div', s, float(30))], 'float'), float(30));
  // Large q so the cap matters.
  const sz = { B: 1, H: 2, N: 5, D: 3 };
  const inputs = qkv(sz);
  for (let x = 0; x < inputs.q.data.length; x++) inputs.q.data[x]! *= 100;
  const out = executeReference(attendGraph({ score }), inputs);
  const want = flatten(bruteAttend(inputs.q, inputs.k, inputs.v, { score: (x) => Math.tanh(x / 30) * 30 }));
  close(t, out.data, want);
});

test('score: a bias tensor lookup bias[h, i - j + M]', (t) => {
  const g = attendGraph({
    score: bin('add', s, load(3, [h, bin('add', bin('sub', i, j), dim('M'))])),
    extra: [{ name: 'bias', shape: ['H', 'L'] }],
  });
  const N = 5;
  const M = 6;
  const bias = uniformTensor([2, N + M], 99);
  check(t, g, { H: 2, N, M }, { score: (x, _b, h, _hk, i, j) => x + bias.data[h * (N + M) + i - j + M]! }, { bias });
});

test('mask: an i32 document-id lookup doc[b, i] == doc[b, j]', (t) => {
  const g = attendGraph({
    mask: bin('and', bin('eq', load(3, [bIdx, i], 'int'), load(3, [bIdx, j], 'int')), causal()),
    extra: [{ name: 'doc', shape: ['B', 'N'], elem: 'i32' }],
  });
  const doc = tensor([2, 8], Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 0, 1, 1, 1, 1, 1, 3, 3]));
  check(t, g, { B: 2, H: 2, N: 8 }, { mask: (b, _h, _hk, i, j) => doc.data[b * 8 + i] === doc.data[b * 8 + j] && j <= i }, { doc });
});

test('-inf scores from log(0.0) behave as masked', (t) => {
  const minusInf = call('log', [float(0)], 'float');
  const score = select(bin('eq', bin('mod', j, int(3)), int(0)), minusInf, s);
  const viaScore = check(t, attendGraph({ score, mask: causal() }), { B: 1, H: 2, N: 7 }, {
    mask: (_b, _h, _hk, i, j) => j <= i && j % 3 !== 0,
  });
  const viaMask = executeReference(
    attendGraph({ mask: bin('and', causal(), bin('ne', bin('mod', j, int(3)), int(0))) }),
    qkv({ B: 1, H: 2, N: 7 }),
  );
  close(t, viaScore, viaMask.data, 0);
  // Row 0 only allows j = 0, whose score is -inf: exactly 0.
  for (let d = 0; d < 4; d++) t.true(Object.is(viaScore[d], 0));
  // Same under normalize: queries.
  const q = check(t, attendGraph({ score, mask: causal(), normalize: 'queries' }), { B: 1, H: 2, N: 7 }, {
    mask: (_b, _h, _hk, i, j) => j <= i && j % 3 !== 0,
    normalize: 'queries',
  });
  for (let d = 0; d < 4; d++) t.true(Object.is(q[d], 0));
});

test('NaN scores propagate to their row (keys) or column (queries)', (t) => {
  const nan = bin('div', float(0), float(0));
  const score = select(bin('and', bin('eq', i, int(2)), bin('eq', j, int(1))), nan, s);
  const inputs = qkv({ B: 1, H: 1, N: 4 });
  const keys = executeReference(attendGraph({ score }), inputs);
  for (let r = 0; r < 4; r++) for (let d = 0; d < 4; d++) t.is(Number.isNaN(keys.data[r * 4 + d]!), r === 2);
  const queries = executeReference(attendGraph({ score, normalize: 'queries' }), inputs);
  // column 1 is NaN, and every query receives from column 1
  for (let x = 0; x < 16; x++) t.true(Number.isNaN(queries.data[x]!));
  // a masked NaN does not propagate: score is evaluated only where the mask allows
  const masked = executeReference(attendGraph({ score, mask: bin('ne', j, int(1)) }), inputs);
  t.true(Array.from(masked.data).every(Number.isFinite));
});

test('score is evaluated only where the mask allows (out-of-range lookups are guarded)', (t) => {
  // bias has N entries; j < N guards bias[j] for M > N
  const g = attendGraph({
    mask: bin('lt', j, dim('N')),
    score: bin('add', s, load(3, [j])),
    extra: [{ name: 'bias', shape: ['N'] }],
  });
  const bias = uniformTensor([4], 5);
  check(t, g, { H: 1, N: 4, M: 6 }, { mask: (_b, _h, _hk, _i, j) => j < 4, score: (x, _b, _h, _hk, _i, j) => x + bias.data[j]! }, { bias });
  const bad = attendGraph({ score: bin('add', s, load(3, [j])), extra: [{ name: 'bias', shape: ['N'] }] });
  const err = t.throws(() => executeReference(bad, { ...qkv({ H: 1, N: 4, M: 6 }), bias }), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT707');
  t.regex(err.message, /\[4\] is out of range for `bias` of shape \[4\]/);
});

// ---- patterns (bodies from the spec table, cross-checked against the spec rules) ----

const natten1 = (i: number, j: number, L: number, k: number, d: number, causalF: boolean): boolean => {
  // written independently from the spec text
  if (i % d !== j % d) return false;
  const g = i % d;
  const ip = Math.floor(i / d);
  const jp = Math.floor(j / d);
  if (causalF) return jp <= ip && jp >= Math.max(ip - k + 1, 0);
  const Lg = Math.floor((L - g + d - 1) / d);
  const wl = Math.floor(k / 2);
  const wr = k - 1 - wl;
  const c = Math.min(Math.max(ip, wl), Lg - 1 - wr);
  return jp >= c - wl && jp <= c + wr;
};

const patternCases: [string, Expr, (i: number, j: number) => boolean, number, number?][] = [
  ['window(2)', windowP(2), (i, j) => Math.abs(i - j) <= 2, 9],
  ['sliding(3)', sliding(3), (i, j) => j <= i && i - j < 3, 9],
  ['block(4)', block(4), (i, j) => Math.floor(i / 4) === Math.floor(j / 4), 10],
  ['halo(4, 1)', halo(4, 1), (i, j) => j >= Math.floor(i / 4) * 4 - 1 && j < (Math.floor(i / 4) + 1) * 4 + 1, 11],
  ['sink(2) || causal', bin('or', sink(2), causal()), (i, j) => j < 2 || j <= i, 7, 9],
  ['global(2)', globalP(2), (i, j) => i < 2 || j < 2, 8, 6],
  ['neighborhood(3)', neighborhood(3), (i, j) => natten1(i, j, 8, 3, 1, false), 8],
  ['neighborhood(3, dilation 2)', neighborhood(3, 2), (i, j) => natten1(i, j, 9, 3, 2, false), 9],
  ['neighborhood(4, dilation 2, causal)', neighborhood(4, 2, true), (i, j) => natten1(i, j, 11, 4, 2, true), 11],
  [
    'neighborhood2d(3, 4, [3, 2], [1, 2], [false, true])',
    neighborhood2d(3, 4, [3, 2], [1, 2], [false, true]),
    (i, j) => natten1(Math.floor(i / 4), Math.floor(j / 4), 3, 3, 1, false) && natten1(i % 4, j % 4, 4, 2, 2, true),
    12,
  ],
];

for (const [name, mask, rule, N, M] of patternCases) {
  test(`pattern ${name}`, (t) => {
    for (const normalize of ['keys', 'queries'] as const) {
      check(t, attendGraph({ mask, normalize }), { B: 1, H: 2, N, M: M ?? N }, { mask: (_b, _h, _hk, i, j) => rule(i, j), normalize });
    }
  });
}

test('NATTEN examples from the spec', (t) => {
  const allowed = (L: number, k: number, d: number, i: number) =>
    Array.from({ length: L }, (_, j) => j).filter((j) => natten1(i, j, L, k, d, false));
  t.deepEqual(allowed(8, 3, 1, 0), [0, 1, 2]);
  t.deepEqual(allowed(8, 3, 1, 7), [5, 6, 7]);
  t.deepEqual(allowed(9, 3, 2, 0), [0, 2, 4]);
  t.deepEqual(allowed(9, 3, 2, 8), [4, 6, 8]);
  // and the executor agrees: with v = one-hot positions, out[i] > 0 exactly on allowed keys
  const L = 9;
  const v = tensor([1, 1, L, L], Array.from({ length: L * L }, (_, x) => (Math.floor(x / L) === x % L ? 1 : 0)));
  const q = tensor([1, 1, L, 1], new Array(L).fill(0));
  const k = tensor([1, 1, L, 1], new Array(L).fill(0));
  const out = executeReference(attendGraph({ mask: neighborhood(3, 2) }), { q, k, v });
  const row = (i: number) => Array.from({ length: L }, (_, j) => j).filter((j) => out.data[i * L + j]! > 0);
  t.deepEqual(row(0), [0, 2, 4]);
  t.deepEqual(row(8), [4, 6, 8]);
  t.deepEqual(row(3), [1, 3, 5]);
});

test('pattern errors: missing body, N != M, kernel too large, disagreeing body', (t) => {
  const inputs = qkv({ H: 1, N: 6 });
  const noBody = attendGraph({ mask: pattern({ name: 'causal' }, null) });
  t.throws(() => executeReference(noBody, inputs), { message: /expand-builtins/ });

  const e1 = t.throws(() => executeReference(attendGraph({ mask: neighborhood(3) }), qkv({ H: 1, N: 6, M: 7 })), { instanceOf: AttncError });
  t.is(e1.diagnostics[0]!.code, 'AT709');
  t.regex(e1.message, /N == M/);

  const e2 = t.throws(() => executeReference(attendGraph({ mask: neighborhood(4, 2) }), inputs), { instanceOf: AttncError });
  t.regex(e2.message, /4 × 2 = 8 exceeds the length 6/);

  const e3 = t.throws(() => executeReference(attendGraph({ mask: neighborhood(1) }), inputs), { instanceOf: AttncError });
  t.regex(e3.message, /at least 2/);

  const e4 = t.throws(() => executeReference(attendGraph({ mask: neighborhood2d(2, 3, [2, 2]) }), qkv({ H: 1, N: 5 })), {
    instanceOf: AttncError,
  });
  t.regex(e4.message, /height·width/);

  // A body that disagrees with the spec's rule is caught by the cross-check (on by default).
  const wrong = attendGraph({ mask: pattern({ name: 'causal' }, bin('lt', j, i)) });
  t.throws(() => executeReference(wrong, inputs), { message: /body of pattern `causal`/ });
  t.notThrows(() => executeReference(wrong, inputs, { checkPatterns: false }));
});

// ---- shape checks inside attend ----

test('attend shape errors', (t) => {
  const g = new GraphBuilder();
  const q = g.input('q', ['B', 'H', 'N', 'D']);
  const k = g.input('k', ['B', 'Hk', 'M', 'E']);
  const v = g.input('v', ['B', 'Hk', 'M', 'Dv']);
  g.attend(q, k, v);
  const graph = g.build();
  const ok = { q: uniformTensor([1, 4, 3, 2], 1), k: uniformTensor([1, 2, 5, 2], 2), v: uniformTensor([1, 2, 5, 3], 3) };
  t.notThrows(() => executeReference(graph, ok));
  const e1 = t.throws(() => executeReference(graph, { ...ok, k: uniformTensor([1, 2, 5, 3], 2) }), { instanceOf: AttncError });
  t.is(e1.diagnostics[0]!.code, 'AT402');
  const e2 = t.throws(
    () => executeReference(graph, { ...ok, k: uniformTensor([1, 3, 5, 2], 2), v: uniformTensor([1, 3, 5, 3], 3) }),
    { instanceOf: AttncError },
  );
  t.is(e2.diagnostics[0]!.code, 'AT709');
  t.regex(e2.message, /multiple of/);
});

// ---- multi-node graphs ----

test('agent attention: pool + two attends', (t) => {
  const g = new GraphBuilder();
  const q = g.input('q', ['B', 'H', 'N', 'D']);
  const k = g.input('k', ['B', 'H', 'N', 'D']);
  const v = g.input('v', ['B', 'H', 'N', 'D']);
  const a = g.pool(q, 3, 'a');
  const va = g.attend(a, k, v, { name: 'va' });
  g.attend(q, a, va);
  const graph = g.build();
  const inputs = qkv({ B: 2, H: 2, N: 8, D: 3 });
  const res = runReference(graph, inputs);
  // pool by hand: bins of 8 into 3: [0,3), [2,6), [5,8)
  const bins = [[0, 3], [2, 6], [5, 8]] as const;
  const pooled = new Float64Array(2 * 2 * 3 * 3);
  for (let bh = 0; bh < 4; bh++) {
    bins.forEach(([s0, e0], tt) => {
      for (let d = 0; d < 3; d++) {
        let acc = 0;
        for (let p = s0; p < e0; p++) acc += inputs.q.data[(bh * 8 + p) * 3 + d]!;
        pooled[(bh * 3 + tt) * 3 + d] = acc / (e0 - s0);
      }
    });
  }
  close(t, res.values[a]!.data, pooled);
  const A = tensor([2, 2, 3, 3], pooled);
  const VA = tensor([2, 2, 3, 3], flatten(bruteAttend(A, inputs.k, inputs.v)));
  close(t, res.values[va]!.data, VA.data);
  close(t, res.output.data, flatten(bruteAttend(inputs.q, A, VA)));
});

test('routing: clusters in the mask', (t) => {
  const g = new GraphBuilder();
  const q = g.input('q', ['B', 'H', 'N', 'D']);
  const k = g.input('k', ['B', 'H', 'N', 'D']);
  const v = g.input('v', ['B', 'H', 'N', 'D']);
  const cen = g.input('centroids', ['H', 'C', 'D']);
  const cq = g.clusters(q, cen, 'cq');
  const ck = g.clusters(k, cen, 'ck');
  g.attend(q, k, v, {
    mask: bin('and', bin('eq', load(cq, [bIdx, h, i], 'int'), load(ck, [bIdx, hk, j], 'int')), causal()),
  });
  const graph = g.build();
  const inputs = { ...qkv({ B: 1, H: 2, N: 10, D: 3 }, 11), centroids: uniformTensor([2, 3, 3], 12) };
  const res = runReference(graph, inputs);
  const CQ = res.values[cq]!.data;
  const CK = res.values[ck]!.data;
  t.true(CQ instanceof Int32Array);
  const want = bruteAttend(inputs.q, inputs.k, inputs.v, { mask: (_b, h, hk, i, j) => CQ[h * 10 + i] === CK[hk * 10 + j] && j <= i });
  close(t, res.output.data, flatten(want));
});

test('int inputs for f32 tensors and f64 inputs are accepted; output is float64', (t) => {
  const q = tensor([1, 1, 2, 1], Int32Array.from([1, 2]));
  const k = tensor([1, 1, 2, 1], Float32Array.from([0, 1]));
  const v = tensor([1, 1, 2, 1], [10, 20]);
  const out = executeReference(attendGraph(), { q, k, v });
  t.true(out.data instanceof Float64Array);
  close(t, out.data, [(10 + 20 * E) / (1 + E), (10 + 20 * E * E) / (1 + E * E)], 1e-15);
});

test('N = 300 runs in reasonable time', (t) => {
  const score = bin('add', s, bin('mul', call('alibi', [h, dim('H')], 'float'), fl(bin('sub', j, i))));
  const g = attendGraph({ mask: bin('or', sliding(64), sink(4)), score });
  const inputs = qkv({ B: 1, H: 4, N: 300, D: 32 });
  const t0 = performance.now();
  executeReference(g, inputs);
  const ms = performance.now() - t0;
  t.log(`N=300, H=4, D=32: ${ms.toFixed(0)} ms`);
  t.true(ms < 5000);
});

test('random int lookups stay exact', (t) => {
  // score adds an int tensor converted to float
  const g = attendGraph({
    score: bin('add', s, fl(load(3, [i, j], 'int'))),
    extra: [{ name: 'rel', shape: ['N', 'M'], elem: 'i32' }],
  });
  const rel = intTensor([5, 5], 4);
  check(t, g, { H: 1, N: 5 }, { score: (x, _b, _h, _hk, i, j) => x + rel.data[i * 5 + j]! }, { rel });
});
