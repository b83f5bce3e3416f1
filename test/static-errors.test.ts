// Errors the compiler can see (spec §2): a zero divisor known at compile time (AT306),
// int overflow of constants (AT710), int() of NaN or an out-of-range float (AT711), alibi
// of constants out of range (AT708) and NATTEN's argument rules on constants (AT709) are
// diagnostics with positions from `check` (declared params) and `compile` (with overrides);
// a param override outside the 32-bit range is AT702. The simplify pass folds with the
// reference's semantics and leaves what would fail for the run to report.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { bin, call, float, int, type Expr } from '../compiler/ir.js';
import { simplifyExpr } from '../compiler/passes/simplify.js';
import { AttncError } from '../dsl/diagnostics.js';
import { check, formatAll } from '../dsl/index.js';
import { executeReference, generateInputs, resolveDims } from '../runtime/reference/index.js';
import { evalExpr } from '../compiler/evaluate.js';
import { floatLiteral as webglFloat } from '../targets/webgl/expr.js';
import { floatLiteral as wgslFloat, renderExpr as renderWgsl } from '../targets/wgsl/expr.js';

const prog = (params: string, body: string) => `attention t {
  input q, k, v: f32[B, H, N, D]
  dims B = 1, H = 2, N = 16, D = 8
  param ${params}
  return attend(q, k, v, ${body})
}
`;

/** `code line text` of each diagnostic of `check`, where text is the source under its span. */
function diagnosed(text: string): string[] {
  return check({ path: 't.attn', text }).diagnostics.map((d) => `${d.code} ${at(text, d.span?.start)} ${d.span ? text.slice(d.span.start, d.span.end) : ''}`);
}
/** `line` of an offset (the spanned text says where on the line). */
function at(text: string, offset: number | undefined): string {
  return offset === undefined ? '-' : String(text.slice(0, offset).split('\n').length);
}
/** Offset of the `nth` (0-based) occurrence of `needle` in `text`. */
function offsetOf(text: string, needle: string, nth = 0): number {
  let k = -1;
  for (let n = 0; n <= nth; n++) k = text.indexOf(needle, k + 1);
  return k;
}

// ---- AT306 ----

test('a zero divisor known at compile time: literal, constant expression, param', (t) => {
  t.deepEqual(diagnosed(prog('z = 0', 'mask: i / 0 == j')), ['AT306 5 0']);
  t.deepEqual(diagnosed(prog('z = 0', 'mask: i % (3 - 3) == j')), ['AT306 5 3 - 3']);
  t.deepEqual(diagnosed(prog('z = 0', 'mask: i / z == j')), ['AT306 5 z']);
  t.deepEqual(diagnosed(prog('z = 2', 'mask: i / (z - 2) == j')), ['AT306 5 z - 2']);
  t.deepEqual(diagnosed(prog('z = 0', 'scale: float(1 / z)')), ['AT306 5 z']);
  // The hint names the params that made it zero.
  const d = check({ path: 't.attn', text: prog('z = 0', 'mask: i / z == j') }).diagnostics[0]!;
  t.is(d.hint, 'with `z` = 0');
  t.is(formatAll([{ ...d, file: { path: 't.attn', text: prog('z = 0', 'mask: i / z == j') } }]).split('\n')[0],
    't.attn:5:36: error[AT306]: integer division or modulo by zero');
});

test('block(0) and halo(0, 1): AT306 at the size argument', (t) => {
  t.deepEqual(diagnosed(prog('size = 4', 'mask: block(0)')), ['AT306 5 0']);
  t.deepEqual(diagnosed(prog('size = 0', 'mask: block(size) || causal')), ['AT306 5 size']);
  t.deepEqual(diagnosed(prog('size = 4', 'mask: halo(0, 1)')), ['AT306 5 0']);
  t.deepEqual(diagnosed(prog('size = 4', 'mask: halo(overlap: 2, size: size - 4)')), ['AT306 5 size - 4']);
  const d = check({ path: 't.attn', text: prog('size = 0', 'mask: block(size)') }).diagnostics[0]!;
  t.is(d.hint, '`block(size)` is `i / size == j / size`; with `size` = 0');
  // Negative sizes are fine (floor division by a negative size is well defined).
  t.deepEqual(diagnosed(prog('size = -4', 'mask: block(size) || halo(size, 2)')), []);
});

test('dead code the compiler drops reports nothing; live code does', (t) => {
  // A param-guarded division: the guard is constant, the division never evaluated.
  t.deepEqual(diagnosed(prog('z = 0', 'mask: z > 0 && i / z == j')), []);
  t.deepEqual(diagnosed(prog('z = 0', 'mask: z == 0 || i / z == j')), []);
  t.deepEqual(diagnosed(prog('z = 0', 'score: z == 0 ? s : s / float(i / z)')), []);
  // … and it compiles and runs (the reference never divides).
  const r = compile(prog('z = 0', 'mask: z > 0 && i / z == j || causal'), { target: 'wgsl' });
  t.true(r.ok, r.diagnostics.map((x) => x.message).join('\n'));
  // A condition the compiler cannot decide keeps both branches live.
  t.deepEqual(diagnosed(prog('z = 0', 'score: i > 0 ? s : s / float(i / z)')), ['AT306 5 z']);
  t.deepEqual(diagnosed(prog('z = 0', 'mask: j > i && i / z == j')), ['AT306 5 z']);
});

test('NATTEN arguments known at compile time: AT709 at the argument, as the run would say', (t) => {
  const one = (body: string) => check({ path: 't.attn', text: prog('kern = 1', body) }).diagnostics.map((d) => `${d.code} ${d.message}`);
  t.deepEqual(one('mask: neighborhood(kern)'), ['AT709 `neighborhood`: kernel must be at least 2, found 1']);
  t.deepEqual(one('mask: neighborhood(3, dilation: 0)'), ['AT709 `neighborhood`: dilation must be at least 1, found 0']);
  t.deepEqual(one('mask: neighborhood2d(0, 4, 3)'), ['AT709 `neighborhood2d`: height and width must be at least 1, found 0 and 4']);
  t.deepEqual(one('mask: neighborhood2d(4, 4, [3, 5])'),
    ['AT709 `neighborhood2d`: kernel (column axis) × dilation (column axis) = 5 × 1 = 5 exceeds the length 4']);
  t.deepEqual(one('mask: neighborhood2d(8, 8, 3, dilation: [1, -2])'), ['AT709 `neighborhood2d`: dilation (column axis) must be at least 1, found -2']);
  t.deepEqual(diagnosed(prog('kern = 1', 'mask: neighborhood2d(8, 8, 3, dilation: [1, -2])')), ['AT709 5 -2']);
  t.deepEqual(one('mask: neighborhood(3, dilation: 2) || neighborhood2d(4, 4, [3, 2], dilation: [1, 2])'), []);
});

// ---- AT710, AT711, AT708 ----

test('constant int overflow is AT710 at the operation; int() of NaN or out of range is AT711', (t) => {
  t.deepEqual(diagnosed(prog('big = 2147483647', 'score: s + float(2147483647 + 1)')), ['AT710 5 2147483647 + 1']);
  t.deepEqual(diagnosed(prog('big = 2147483647', 'score: s + float(big + 1)')), ['AT710 5 big + 1']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float(65536 * 65536)')), ['AT710 5 65536 * 65536']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float(-(-2147483647 - 1))')), ['AT710 5 -(-2147483647 - 1)']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float(abs(-2147483647 - 1))')), ['AT710 5 abs(-2147483647 - 1)']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float((-2147483647 - 1) / -1)')), ['AT710 5 (-2147483647 - 1) / -1']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float(int(3000000000.0))')), ['AT711 5 int(3000000000.0)']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float(int(log(0.0) * 0.0))')), ['AT711 5 int(log(0.0) * 0.0)']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + float(int(1.0 / 0.0))')), ['AT711 5 int(1.0 / 0.0)']);
  t.deepEqual(diagnosed(prog('big = 2', 'score: s + alibi(3, big)')), ['AT708 5 alibi(3, big)']);
  const msgs = check({ path: 't.attn', text: prog('big = 2147483647', 'score: s + float(big + 1) + float(int(log(0.0) * 0.0))') })
    .diagnostics.map((d) => d.message);
  t.deepEqual(msgs, ['integer overflow: 2147483647 + 1 = 2147483648 does not fit in a 32-bit int', 'cannot convert NaN to int']);
  // In range: no error, and the folded value is exact.
  t.deepEqual(diagnosed(prog('big = 2147483646', 'score: s + float(big + 1) + float(int(-2147483648.9)) + float(2147483647 - 1 + 1)')), []);
  // Float arithmetic does not overflow: 2147483647 + 1.0 is a float.
  t.deepEqual(diagnosed(prog('big = 2147483647', 'score: s + float(big) + 1.0 + float(big) * 2.0')), []);
});

test('the samples have no static errors', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs');
  for (const f of readdirSync('samples').filter((x) => x.endsWith('.attn'))) {
    t.deepEqual(check({ path: f, text: readFileSync(`samples/${f}`, 'utf8') }).diagnostics, [], f);
  }
});

// ---- compile() with param overrides ----

test('compile(): an override that makes a divisor zero is AT306 at the division or the argument', (t) => {
  const text = prog('z = 2, size = 4', 'mask: i / z == j / z || block(size)');
  t.true(compile(text).ok);
  const byZ = compile(text, { params: { z: 0 } });
  t.false(byZ.ok);
  t.deepEqual(byZ.diagnostics.map((d) => `${d.code} ${d.span?.start} ${d.hint}`),
    [`AT306 ${offsetOf(text, 'z ==')} with \`z\` = 0`, `AT306 ${offsetOf(text, 'z ||')} with \`z\` = 0`]);
  t.is(byZ.diagnostics[0]!.file?.path, '<input>');
  const bySize = compile(text, { params: { size: 0 }, target: 'wgsl' });
  t.deepEqual(bySize.diagnostics.map((d) => `${d.code} ${d.span?.start}-${d.span?.end}`), [`AT306 ${offsetOf(text, 'size)')}-${offsetOf(text, 'size)') + 4}`]);
  t.is(bySize.wgsl, null);
  // An overflow or a NaN conversion through a param, likewise.
  const big = prog('big = 2', 'score: s + float(big * 1048576)');
  t.true(compile(big).ok);
  t.deepEqual(compile(big, { params: { big: 2 ** 20 } }).diagnostics.map((d) => `${d.code} ${d.message}`),
    ['AT710 integer overflow: 1048576 * 1048576 = 1099511627776 does not fit in a 32-bit int']);
  const conv = prog('x = 1.0', 'score: s + float(int(x * 1e10))');
  t.deepEqual(compile(conv, { params: { x: 1 } }).diagnostics.map((d) => d.code), ['AT711']);
});

test('compile(): an int param outside the 32-bit range is AT702 naming the param and the range', (t) => {
  const text = prog('window = 8', 'mask: sliding(window)');
  for (const v of [99999999999, 2147483648, -2147483649, 2 ** 60]) {
    const r = compile(text, { params: { window: v } });
    t.false(r.ok);
    t.is(r.diagnostics.length, 1);
    t.is(r.diagnostics[0]!.code, 'AT702');
    t.is(r.diagnostics[0]!.message, `param \`window\` is int (i32: -2147483648..2147483647); cannot set it to ${v}`);
  }
  for (const v of [2147483647, -2147483648]) t.true(compile(text, { params: { window: v } }).ok, String(v));
  // A float param takes any number.
  t.true(compile(prog('temp = 0.5', 'score: s * temp'), { params: { temp: 99999999999 } }).ok);
});

// ---- simplify folds with the reference's semantics ----

const ev = (e: Expr) => evalExpr(e);
const code = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof AttncError ? e.diagnostics[0]!.code : `not an AttncError: ${(e as Error).message}`;
  }
};

test('simplify leaves what would fail unfolded, so the reference reports it (not an internal error)', (t) => {
  const cases: [Expr, string][] = [
    [bin('add', int(2147483647), int(1)), 'AT710'],
    [bin('mul', int(65536), int(65536)), 'AT710'],
    [bin('sub', int(-2147483648), int(1)), 'AT710'],
    [bin('div', int(-2147483648), int(-1)), 'AT710'],
    [{ op: 'neg', ty: 'int', a: int(-2147483648) }, 'AT710'],
    [call('abs', [int(-2147483648)], 'int'), 'AT710'],
    [call('int', [float(3e9)], 'int'), 'AT711'],
    [call('int', [bin('mul', call('log', [float(0)], 'float'), float(0))], 'int'), 'AT711'],
    [bin('div', int(7), int(0)), 'AT306'],
    [bin('mod', int(7), bin('sub', int(2), int(2))), 'AT306'],
    [call('alibi', [int(3), int(2)], 'float'), 'AT708'],
  ];
  for (const [e, want] of cases) {
    const s = simplifyExpr(e);
    t.not(s.op, 'const', JSON.stringify(e));
    t.is(code(() => ev(s)), want, JSON.stringify(e));
  }
});

test('simplify still folds everything that does not fail, to the same values', (t) => {
  const folds: [Expr, number | boolean][] = [
    [bin('add', int(2147483646), int(1)), 2147483647],
    [bin('sub', int(-2147483647), int(1)), -2147483648],
    [bin('div', int(-7), int(2)), -4],
    [bin('mod', int(-7), int(2)), 1],
    [bin('mod', int(7), int(-2)), -1],
    [{ op: 'neg', ty: 'int', a: int(2147483647) }, -2147483647],
    [call('int', [float(-2147483648.5)], 'int'), -2147483648],
    [call('int', [float(2.9)], 'int'), 2],
    [bin('mul', call('log', [float(0)], 'float'), float(2)), -Infinity],
    [call('abs', [float(-2.5)], 'float'), 2.5],
    [bin('lt', int(3), int(4)), true],
  ];
  for (const [e, want] of folds) {
    const s = simplifyExpr(e);
    t.deepEqual(s, { op: 'const', ty: e.ty, value: want }, JSON.stringify(e));
    t.is(ev(e), want);
  }
  // −0 never appears as an int constant
  t.true(Object.is((simplifyExpr({ op: 'neg', ty: 'int', a: int(0) }) as { value: number }).value, 0));
  // A folded float NaN stays NaN in the IR.
  const nan = simplifyExpr(bin('mul', call('log', [float(0)], 'float'), float(0)));
  t.true(nan.op === 'const' && Number.isNaN(nan.value));
});

test('simplify gathers int constants only while they fit in 32 bits', (t) => {
  const i: Expr = { op: 'index', ty: 'int', name: 'i' };
  // (i + 2147483647) + 1 would need the constant 2147483648: left as is (the reference reports
  // the overflow for i ≥ 0).
  const s = simplifyExpr(bin('add', bin('add', i, int(2147483647)), int(1)));
  const consts: number[] = [];
  (function walk(e: Expr): void {
    if (e.op === 'const' && typeof e.value === 'number') consts.push(e.value);
    if ('a' in e) walk(e.a);
    if ('b' in e) walk(e.b);
  })(s);
  t.true(consts.every((c) => c >= -2147483648 && c <= 2147483647), JSON.stringify(consts));
  t.is(code(() => evalExpr(s, { i: 0, j: 0, b: 0, h: 0 })), 'AT710');
  // (i + 5) − 2 still becomes i + 3; (7 − i) + 2 becomes 9 − i
  t.deepEqual(simplifyExpr(bin('sub', bin('add', i, int(5)), int(2))), bin('add', i, int(3)));
  t.deepEqual(simplifyExpr(bin('add', bin('sub', int(7), i), int(2))), bin('sub', int(9), i));
});

test('a program whose errors are static never reaches the reference; a valid one runs', (t) => {
  const ok = compile(prog('z = 3', 'mask: i / z == j / z, score: s + float(2147483646 + 1) / 1e9'));
  t.true(ok.ok);
  const dims = resolveDims(ok.graph!, {});
  const out = executeReference(ok.graph!, generateInputs(ok.graph!, dims, 1));
  t.true(Array.from(out.data).every(Number.isFinite));
});

test('a folded NaN stays NaN: it decides comparisons and arithmetic exactly; targets never print it as 0', (t) => {
  const nan = bin('mul', call('log', [float(0)], 'float'), float(0)); // folds to NaN
  const fj = call('float', [{ op: 'index', ty: 'int', name: 'j' }], 'float');
  const s: Expr = { op: 'score', ty: 'float' };
  // comparisons with NaN are false (!= true) whatever the other side: the mask is a constant
  t.deepEqual(simplifyExpr(bin('lt', fj, nan)), { op: 'const', ty: 'bool', value: false });
  t.deepEqual(simplifyExpr(bin('ge', nan, fj)), { op: 'const', ty: 'bool', value: false });
  t.deepEqual(simplifyExpr(bin('eq', fj, nan)), { op: 'const', ty: 'bool', value: false });
  t.deepEqual(simplifyExpr(bin('ne', fj, nan)), { op: 'const', ty: 'bool', value: true });
  // arithmetic and min/max/clamp with NaN are NaN
  for (const e of [bin('add', s, nan), bin('div', nan, fj), call('min', [fj, nan], 'float'), call('clamp', [s, float(0), nan], 'float')]) {
    const r = simplifyExpr(e);
    t.true(r.op === 'const' && Number.isNaN(r.value), JSON.stringify(e));
  }
  // … but never over an operand that may fail at run time (a lookup is evaluated by the reference)
  const load: Expr = { op: 'load', ty: 'float', tensor: 3, idx: [int(0)] };
  t.is(simplifyExpr(bin('lt', load, nan)).op, 'lt');
  // and the reference agrees with every fold
  t.is(evalExpr(bin('lt', fj, nan), { j: 2, i: 0, b: 0, h: 0 }), false);
  t.is(evalExpr(bin('ne', fj, nan), { j: 2, i: 0, b: 0, h: 0 }), true);
  // WGSL has no NaN constant: a NaN renders as a call of the nan_f32 helper (a NaN at run
  // time, never 0); WebGL's literal is 0.0 / 0.0.
  const helpers = new Set<string>();
  const env = { index: (n: string) => n, score: () => 's', dim: (n: string) => `u.d_${n}`, load: () => '0.0f', helpers };
  t.is(renderWgsl(bin('add', s, nan), env), '(s + nan_f32())');
  t.deepEqual([...helpers], ['nan_f32']);
  t.throws(() => wgslFloat(NaN), { message: /no WGSL literal/ });
  t.is(webglFloat(NaN), '(0.0 / 0.0)');
  t.is(wgslFloat(1.5), '1.5f');
  t.is(wgslFloat(-Infinity), '(-3.0e38f)');
});

test('compile: a mask comparing with a folded NaN is a constant in the graph', (t) => {
  const r = compile(prog('c = 3', 'mask: float(j) < sqrt(-1.0) || j <= i'), { target: 'none' });
  t.true(r.ok);
  const attend = r.graph!.nodes.find((n) => n.op === 'attend')!;
  t.deepEqual(attend.op === 'attend' && attend.mask, bin('le', { op: 'index', ty: 'int', name: 'j' }, { op: 'index', ty: 'int', name: 'i' }));
});

test('a param override decides the static errors: it can fix a bad default and make a good one bad', (t) => {
  const src = 'attention p {\n  input q, k, v: f32[B, H, N, D]\n  param z = 0\n  return attend(q, k, v, mask: i / z == j / z)\n}\n';
  t.deepEqual(compile(src).diagnostics.map((d) => d.code), ['AT306', 'AT306']); // both divisions
  t.true(compile(src, { params: { z: 2 } }).ok);
  const good = src.replace('z = 0', 'z = 2');
  t.true(compile(good).ok);
  t.deepEqual(compile(good, { params: { z: 0 } }).diagnostics.map((d) => d.code), ['AT306', 'AT306']);
  // An override that is not a value of the param is the lowering's AT702, not a static error.
  t.deepEqual(compile(good, { params: { z: 2.5 } }).diagnostics.map((d) => d.code), ['AT702']);
});
