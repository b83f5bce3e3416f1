// The catalogue of wrong programs: for each, the exact text the user sees — code,
// `file:line:col`, the code frame with its squiggle, and the hint. Plus the formatter's
// edge cases and the checker's type annotations.

import test from 'ava';
import type { Expr, ReturnStmt } from '../dsl/ast.js';
import { diag } from '../dsl/diagnostics.js';
import { check, format, formatAll, lineCol, parse } from '../dsl/index.js';

const HEAD = 'attention t {\n  input q, k, v: f32[B, H, N, D]\n  param window = 3\n';

/** A definition with inputs q, k, v and a param `window` (lines 1–3), then `body` from line 4. */
const def = (body: string): string => HEAD + body.replace(/^\n/, '') + '\n}\n';

const errors = (text: string): string => formatAll(check({ path: 't.attn', text }).diagnostics);

function golden(name: string, text: string, want: string[]): void {
  test(`golden: ${name}`, (t) => {
    t.is(errors(text), want.join('\n'));
  });
}

golden('misspelt pattern', def(`
  return attend(q, k, v, mask: windw(3))`), [
    't.attn:4:32: error[AT206]: unknown function `windw`',
    '4 |   return attend(q, k, v, mask: windw(3))',
    '  |                                ^~~~~',
    '  = hint: did you mean `window`?',
]);

golden('misspelt name', def(`
  return attend(q, k, v, mask: sliding(windo))`), [
    't.attn:4:40: error[AT201]: unknown name `windo`',
    '4 |   return attend(q, k, v, mask: sliding(windo))',
    '  |                                        ^~~~~',
    '  = hint: did you mean `window`?',
]);

golden('unknown name in a score', `attention t {
	input q, k, v: f32[B, H, N, D]
	return attend(q, k, v, score: s * tmp)
}
`, [
    't.attn:3:36: error[AT201]: unknown name `tmp`',
    '3 | \treturn attend(q, k, v, score: s * tmp)',
    '  | \t                                  ^~~',
]);

golden('missing argument of sliding()', def(`
  return attend(q, k, v, mask: sliding())`), [
    't.attn:4:32: error[AT504]: missing argument `w` of `sliding`',
    '4 |   return attend(q, k, v, mask: sliding())',
    '  |                                ^~~~~~~~~',
    '  = hint: signature: sliding(w)',
]);

golden('too many arguments', def(`
  return attend(q, k, v, mask: window(1, 2))`), [
    't.attn:4:42: error[AT501]: `window` takes 1 argument, found 2',
    '4 |   return attend(q, k, v, mask: window(1, 2))',
    '  |                                          ^',
    '  = hint: signature: window(r)',
]);

golden('unknown named argument', def(`
  return attend(q, k, v, mask: neighborhood(3, dilaton: 2))`), [
    't.attn:4:48: error[AT502]: `neighborhood` has no parameter named `dilaton`',
    '4 |   return attend(q, k, v, mask: neighborhood(3, dilaton: 2))',
    '  |                                                ^~~~~~~',
    '  = hint: did you mean `dilation`?',
]);

golden('argument given twice', def(`
  return attend(q, k, v, mask: neighborhood(3, kernel: 5))`), [
    't.attn:4:48: error[AT503]: argument `kernel` of `neighborhood` is given twice',
    '4 |   return attend(q, k, v, mask: neighborhood(3, kernel: 5))',
    '  |                                                ^~~~~~',
]);

golden('positional after named', def(`
  return attend(q, k, v, mask: neighborhood(kernel: 3, 2))`), [
    't.attn:4:56: error[AT505]: positional arguments must come before named ones',
    '4 |   return attend(q, k, v, mask: neighborhood(kernel: 3, 2))',
    '  |                                                        ^',
]);

golden('missing tensor argument', def(`
  return attend(q, k)`), [
    't.attn:4:10: error[AT504]: missing argument `v` of `attend`',
    '4 |   return attend(q, k)',
    '  |          ^~~~~~~~~~~~',
    '  = hint: signature: attend(q, k, v, mask: true, score: s, scale: 1 / sqrt(float(D)), normalize: keys, topk: none)',
]);

golden('`s` in a mask', def(`
  return attend(q, k, v, mask: s > 0)`), [
    't.attn:4:32: error[AT204]: `s` is only available inside `score:`',
    '4 |   return attend(q, k, v, mask: s > 0)',
    '  |                                ^',
    '  = hint: a mask cannot depend on scores; use `score:`',
]);

golden('`s` in scale', def(`
  return attend(q, k, v, scale: s)`), [
    't.attn:4:33: error[AT204]: `s` is only available inside `score:`',
    '4 |   return attend(q, k, v, scale: s)',
    '  |                                 ^',
]);

golden('score returning bool', def(`
  return attend(q, k, v, score: i < j)`), [
    't.attn:4:33: error[AT308]: `score:` must be a float expression, found bool',
    '4 |   return attend(q, k, v, score: i < j)',
    '  |                                 ^~~~~',
]);

golden('int score', def(`
  return attend(q, k, v, score: j - i)`), [
    't.attn:4:33: error[AT308]: `score:` must be a float expression, found int',
    '4 |   return attend(q, k, v, score: j - i)',
    '  |                                 ^~~~~',
    '  = hint: use `float(...)`',
]);

golden('int mask', def(`
  return attend(q, k, v, mask: i - j)`), [
    't.attn:4:32: error[AT307]: `mask:` must be a bool expression, found int',
    '4 |   return attend(q, k, v, mask: i - j)',
    '  |                                ^~~~~',
    '  = hint: compare it, e.g. `x != 0`',
]);

golden('`i` outside mask and score', def(`
  let a = pool(q, tokens: i)
  return attend(q, a, a)`), [
    't.attn:4:27: error[AT203]: `i` is only available inside `mask:` and `score:`',
    '4 |   let a = pool(q, tokens: i)',
    '  |                           ^',
]);

golden('chained comparison', def(`
  return attend(q, k, v, mask: i < j < 3)`), [
    't.attn:4:38: error[AT305]: comparisons do not chain: write `a < b && b < c`',
    '4 |   return attend(q, k, v, mask: i < j < 3)',
    '  |                                      ^',
]);

golden('missing return', def(`
  let a = pool(q, tokens: 4)`), [
    't.attn:1:11: error[AT601]: definition `t` has no `return`',
    '1 | attention t {',
    '  |           ^',
    '  = hint: end the definition with `return attend(…)`',
]);

golden('two returns', def(`
  return attend(q, k, v)
  return q`), [
    't.attn:5:3: error[AT602]: definition `t` has more than one `return`',
    '5 |   return q',
    '  |   ^~~~~~~~',
]);

golden('return not last', def(`
  return attend(q, k, v)
  let a = pool(q, tokens: 4)`), [
    't.attn:4:3: error[AT603]: `return` must be the last statement',
    '4 |   return attend(q, k, v)',
    '  |   ^~~~~~~~~~~~~~~~~~~~~~',
]);

golden('let of a scalar', def(`
  let w = window * 2
  return attend(q, k, v)`), [
    't.attn:4:11: error[AT604]: `w` must be a tensor, found int',
    '4 |   let w = window * 2',
    '  |           ^~~~~~~~~~',
]);

golden('unterminated comment', def(`
  /* keys only
  return attend(q, k, v)`), [
    't.attn:4:3: error[AT103]: unterminated block comment',
    '4 |   /* keys only',
    '  |   ^~',
    '  = hint: close it with `*/`',
]);

golden('causal()', def(`
  return attend(q, k, v, mask: causal())`), [
    't.attn:4:32: error[AT509]: `causal` is not a function; write `causal` without parentheses',
    '4 |   return attend(q, k, v, mask: causal())',
    '  |                                ^~~~~~~~',
]);

golden('list where a scalar is expected', def(`
  return attend(q, k, v, mask: window([1, 2]))`), [
    't.attn:4:39: error[AT511]: a list `[a, b]` is only allowed where a builtin takes a pair or a triple',
    '4 |   return attend(q, k, v, mask: window([1, 2]))',
    '  |                                       ^~~~~~',
]);

golden('pair expected', `attention t {
  input q, k, v: f32[B, H, N, D]
  let a = pool2d(q, height: 4, width: 4, to: 2)
  return attend(q, a, a)
}
`, [
    't.attn:3:46: error[AT508]: argument `to` of `pool2d` must be a pair `[a, b]`, found int',
    '3 |   let a = pool2d(q, height: 4, width: 4, to: 2)',
    '  |                                              ^',
]);

golden('q/k head dims disagree', `attention t {
  input q: f32[B, H, N, 64]
  input k, v: f32[B, H, N, 32]
  return attend(q, k, v)
}
`, [
    't.attn:4:20: error[AT402]: head dims disagree: `q` has 64 but `k` has 32',
    '4 |   return attend(q, k, v)',
    '  |                    ^',
]);

golden('k/v lengths disagree', `attention t {
  input q, k: f32[B, H, 8, D]
  input v: f32[B, H, 16, D]
  return attend(q, k, v)
}
`, [
    't.attn:4:23: error[AT405]: shapes disagree on the key length of `k` and `v`: 8 vs 16',
    '4 |   return attend(q, k, v)',
    '  |                       ^',
]);

golden('query heads not a multiple of kv heads', `attention t {
  input q: f32[B, 8, N, D]
  input k, v: f32[B, 3, N, D]
  return attend(q, k, v)
}
`, [
    't.attn:4:20: error[AT405]: shapes disagree on the heads of `q` and `k`: 8 vs 3',
    '4 |   return attend(q, k, v)',
    '  |                    ^',
    '  = hint: the query heads must be a multiple of the key/value heads',
]);

golden('centroids head dim', `attention t {
  input q, k, v: f32[B, H, N, 64]
  input centroids: f32[H, C, 32]
  let cq = clusters(q, centroids)
  return attend(q, k, v, mask: cq[b, h, i] == j)
}
`, [
    't.attn:4:24: error[AT402]: head dims disagree: `q` has 64 but `centroids` has 32',
    '4 |   let cq = clusters(q, centroids)',
    '  |                        ^~~~~~~~~',
]);

golden('wrong rank', def(`
  input bias: f32[H, N]
  return attend(q, k, bias)`), [
    't.attn:5:23: error[AT404]: `bias` must have rank 4, found rank 2',
    '5 |   return attend(q, k, bias)',
    '  |                       ^~~~',
    '  = hint: `attend` takes v: [B, H, N, D]',
]);

golden('lookup with the wrong index count', def(`
  input bias: f32[H, N]
  return attend(q, k, v, score: s + bias[h, i, j])`), [
    't.attn:5:37: error[AT401]: `bias` is indexed with 3 indices but has rank 2',
    '5 |   return attend(q, k, v, score: s + bias[h, i, j])',
    '  |                                     ^~~~~~~~~~~~~',
    '  = hint: `bias` is f32[H, N]',
]);

golden('lookup with a float index', def(`
  input bias: f32[H, N]
  return attend(q, k, v, score: s + bias[h, 0.5])`), [
    't.attn:5:45: error[AT301]: type mismatch: expected int, found float',
    '5 |   return attend(q, k, v, score: s + bias[h, 0.5])',
    '  |                                             ^~~',
    '  = hint: convert it with `int(...)`',
]);

golden('lookup outside mask and score', def(`
  let x = q[0, 0, 0, 0]
  return attend(q, k, v)`), [
    't.attn:4:11: error[AT407]: tensor lookups are only allowed inside `mask:` and `score:`',
    '4 |   let x = q[0, 0, 0, 0]',
    '  |           ^~~~~~~~~~~~~',
    '  = hint: a `let` or `return` takes a whole tensor',
]);

golden('indexing a non-tensor', def(`
  return attend(q, k, v, mask: H[0] == 1)`), [
    't.attn:4:32: error[AT406]: only tensors can be indexed; `H` is an int',
    '4 |   return attend(q, k, v, mask: H[0] == 1)',
    '  |                                ^',
]);

golden('normalize: rows', def(`
  return attend(q, k, v, normalize: rows)`), [
    't.attn:4:37: error[AT510]: `normalize:` takes `keys` or `queries`',
    '4 |   return attend(q, k, v, normalize: rows)',
    '  |                                     ^~~~',
]);

golden('normalize value elsewhere', def(`
  return attend(q, k, v, mask: keys)`), [
    't.attn:4:32: error[AT201]: unknown name `keys`',
    '4 |   return attend(q, k, v, mask: keys)',
    '  |                                ^~~~',
    '  = hint: `keys` is only a value of `normalize:`',
]);

golden('tensor operation inside a mask', def(`
  return attend(q, k, v, mask: attend(q, k, v))`), [
    't.attn:4:32: error[AT506]: `attend` is a tensor operation and cannot be used inside an index expression',
    '4 |   return attend(q, k, v, mask: attend(q, k, v))',
    '  |                                ^~~~~~',
]);

golden('pattern in a let', def(`
  let m = window(3)
  return attend(q, k, v)`), [
    't.attn:4:11: error[AT507]: `window` is a pattern and can only be used inside `mask:`',
    '4 |   let m = window(3)',
    '  |           ^~~~~~',
]);

golden('pattern in a score', def(`
  return attend(q, k, v, score: s + float(causal))`), [
    't.attn:4:43: error[AT507]: `causal` is a pattern and can only be used inside `mask:`',
    '4 |   return attend(q, k, v, score: s + float(causal))',
    '  |                                           ^~~~~~',
]);

golden('float size', def(`
  let a = pool(q, tokens: 2.5)
  return attend(q, a, a)`), [
    't.attn:4:27: error[AT508]: argument `tokens` of `pool` must be an int, found float',
    '4 |   let a = pool(q, tokens: 2.5)',
    '  |                           ^~~',
    '  = hint: sizes are ints',
]);

golden('computed flag', def(`
  return attend(q, k, v, mask: neighborhood(3, causal: N > 2))`), [
    't.attn:4:56: error[AT508]: argument `causal` of `neighborhood` must be `true`, `false` or a bool param, found `N > 2`',
    '4 |   return attend(q, k, v, mask: neighborhood(3, causal: N > 2))',
    '  |                                                        ^~~~~',
]);

golden('alibi of a float', def(`
  return attend(q, k, v, score: s + alibi(1.5, H))`), [
    't.attn:4:43: error[AT508]: argument `h` of `alibi` must be an int, found float',
    '4 |   return attend(q, k, v, score: s + alibi(1.5, H))',
    '  |                                           ^~~',
]);

golden('constant division by zero', def(`
  return attend(q, k, v, mask: i / 0 == j)`), [
    't.attn:4:36: error[AT306]: integer division or modulo by zero',
    '4 |   return attend(q, k, v, mask: i / 0 == j)',
    '  |                                    ^',
]);

golden('division by a param that is zero', def(`
  param z = 0
  return attend(q, k, v, mask: i % z == j % 2)`), [
    't.attn:5:36: error[AT306]: integer division or modulo by zero',
    '5 |   return attend(q, k, v, mask: i % z == j % 2)',
    '  |                                    ^',
    '  = hint: with `z` = 0',
]);

golden('block size that is zero', def(`
  return attend(q, k, v, mask: block(window - 3))`), [
    't.attn:4:38: error[AT306]: integer division or modulo by zero',
    '4 |   return attend(q, k, v, mask: block(window - 3))',
    '  |                                      ^~~~~~~~~~',
    '  = hint: `block(size)` is `i / size == j / size`; with `window` = 3',
]);

golden('constant int overflow', def(`
  return attend(q, k, v, score: s * float(window * 1000000000))`), [
    't.attn:4:43: error[AT710]: integer overflow: 3 * 1000000000 = 3000000000 does not fit in a 32-bit int',
    '4 |   return attend(q, k, v, score: s * float(window * 1000000000))',
    '  |                                           ^~~~~~~~~~~~~~~~~~~',
    '  = hint: with `window` = 3',
]);

golden('int() of a constant NaN', def(`
  return attend(q, k, v, score: s + float(int(sqrt(-1.0))))`), [
    't.attn:4:43: error[AT711]: cannot convert NaN to int',
    '4 |   return attend(q, k, v, score: s + float(int(sqrt(-1.0))))',
    '  |                                           ^~~~~~~~~~~~~~~',
]);

golden('ternary with an int condition', def(`
  return attend(q, k, v, score: i ? s : 0.0)`), [
    't.attn:4:33: error[AT301]: type mismatch: expected bool, found int',
    '4 |   return attend(q, k, v, score: i ? s : 0.0)',
    '  |                                 ^',
]);

golden('ternary branches disagree', def(`
  return attend(q, k, v, score: i < j ? s : true)`), [
    't.attn:4:33: error[AT304]: the branches of `?:` have incompatible types float and bool',
    '4 |   return attend(q, k, v, score: i < j ? s : true)',
    '  |                                 ^~~~~~~~~~~~~~~~',
]);

golden('`!` on an int', def(`
  return attend(q, k, v, mask: !i)`), [
    't.attn:4:32: error[AT303]: operator `!` cannot be applied to int',
    '4 |   return attend(q, k, v, mask: !i)',
    '  |                                ^~',
    '  = hint: `!` takes a bool',
]);

golden('bool arithmetic', def(`
  return attend(q, k, v, mask: causal + 1 > 0)`), [
    't.attn:4:39: error[AT302]: operator `+` cannot be applied to bool and int',
    '4 |   return attend(q, k, v, mask: causal + 1 > 0)',
    '  |                                       ^',
    '  = hint: arithmetic takes ints and floats',
]);

golden('duplicate name', def(`
  param N = 16
  return attend(q, k, v)`), [
    't.attn:4:9: error[AT202]: `N` is already defined in `t`',
    '4 |   param N = 16',
    '  |         ^',
]);

golden('reserved index name', def(`
  param i = 16
  return attend(q, k, v)`), [
    't.attn:4:9: error[AT205]: `i` is a reserved index name and cannot be declared',
    '4 |   param i = 16',
    '  |         ^',
]);

golden('duplicate definition', `attention a {
  input q: f32[B, H, N, D]
  return q
}
attention a {
  input q: f32[B, H, N, D]
  return q
}
`, [
    't.attn:5:11: error[AT207]: definition `a` is already defined in this file',
    '5 | attention a {',
    '  |           ^',
]);

golden('calling an input', def(`
  return attend(q, k, v, mask: q(1))`), [
    't.attn:4:32: error[AT206]: unknown function `q`',
    '4 |   return attend(q, k, v, mask: q(1))',
    '  |                                ^',
    '  = hint: `q` is an input, not a function',
]);

golden('three syntax errors', `attention t {
  input q, k v: f32[B, H, N, D]
  param w = 3 c = 2
  let a = pool(q, tokens: )
  return attend(q, a, a)
}
`, [
    't.attn:2:14: error[AT102]: expected `:` but found `v`',
    '2 |   input q, k v: f32[B, H, N, D]',
    '  |              ^',
    '',
    't.attn:3:15: error[AT102]: expected `input`, `dims`, `param`, `let`, `return` or `}` but found `c`',
    '3 |   param w = 3 c = 2',
    '  |               ^',
    '',
    't.attn:4:27: error[AT102]: expected an expression but found `)`',
    '4 |   let a = pool(q, tokens: )',
    '  |                           ^',
]);

golden('unexpected end of file', HEAD + `  return attend(q, k, v`, [
    't.attn:4:24: error[AT102]: expected `)` but found end of file',
    '4 |   return attend(q, k, v',
    '  |                        ^',
]);

golden('junk before a definition', 'junk\n' + def(`
  return q`), [
    't.attn:1:1: error[AT102]: expected `attention` but found `junk`',
    '1 | junk',
    '  | ^~~~',
]);

golden('single `&`', def(`
  return attend(q, k, v, mask: causal & window(2))`), [
    't.attn:4:39: error[AT101]: unexpected character `&`',
    '4 |   return attend(q, k, v, mask: causal & window(2))',
    '  |                                       ^',
    '  = hint: logical and is `&&`',
]);

golden('`;` after a statement', def(`
  return attend(q, k, v);`), [
    't.attn:4:25: error[AT101]: unexpected character `;`',
    '4 |   return attend(q, k, v);',
    '  |                         ^',
    '  = hint: statements need no `;`',
]);

golden('unexpected character', def(`
  return attend(q, k, v) # done`), [
    't.attn:4:26: error[AT101]: unexpected character `#`',
    '4 |   return attend(q, k, v) # done',
    '  |                          ^',
]);

golden('number glued to a name', def(`
  return attend(q, k, v, mask: window(3x))`), [
    't.attn:4:39: error[AT104]: invalid number literal `3x`',
    '4 |   return attend(q, k, v, mask: window(3x))',
    '  |                                       ^~',
]);

golden('two-digit line numbers', `attention t {
  input q, k, v: f32[B, H, N, D]
  dims B = 1,
       H = 8,
       N = 128,
       D = 64
  param sinks = 4, window = 16

  return attend(q, k, v,
                mask: sink(sinks) || sliding(window),
                score: s * temperature)
}
`, [
    't.attn:11:28: error[AT201]: unknown name `temperature`',
    '11 |                 score: s * temperature)',
    '   |                            ^~~~~~~~~~~',
]);


// ---- the formatter ----

test('format: a diagnostic without a span has no code frame', (t) => {
  const file = { path: 'x.attn', text: '' };
  t.is(format(diag('AT605', [], undefined, undefined, file)), 'x.attn: error[AT605]: the file contains no `attention` definition');
  t.is(format(diag('AT701', ['w'], undefined, 'declares `window`')), 'error[AT701]: unknown param `w`\n  = hint: declares `window`');
});

test('format: a span over several lines is squiggled to the end of its first line', (t) => {
  const text = 'ab\ncdef\ngh\n';
  const d = diag('AT706', ['boom'], { start: 4, end: 9 }, undefined, { path: 'm', text });
  t.is(format(d), ['m:2:2: error[AT706]: boom', '2 | cdef', '  |  ^~~'].join('\n'));
});

test('format: an empty span at the end of the file gets one caret', (t) => {
  const text = 'abc';
  t.is(format(diag('AT706', ['x'], { start: 3, end: 3 }, undefined, { path: 'm', text })), ['m:1:4: error[AT706]: x', '1 | abc', '  |    ^'].join('\n'));
});

test('format: CRLF line breaks count once', (t) => {
  const text = 'a\r\nbc\r\nd';
  t.deepEqual(lineCol(text, 4), { line: 2, col: 2 });
  t.deepEqual(lineCol(text, 7), { line: 3, col: 1 });
  t.is(format(diag('AT706', ['x'], { start: 4, end: 5 }, undefined, { path: 'm', text })), ['m:2:2: error[AT706]: x', '2 | bc', '  |  ^'].join('\n'));
});

test('format: colours only when asked', (t) => {
  const d = diag('AT201', ['x'], { start: 0, end: 1 }, undefined, { path: 'm', text: 'x' });
  t.false(format(d).includes('\x1b['));
  t.true(format(d, { color: true }).includes('\x1b[1;31merror[AT201]\x1b[0m'));
});

test('format: the file may be given to the formatter instead of the diagnostic', (t) => {
  const d = diag('AT201', ['x'], { start: 0, end: 1 });
  t.is(format(d, { file: { path: 'm', text: 'x' } }), ['m:1:1: error[AT201]: unknown name `x`', '1 | x', '  | ^'].join('\n'));
});

// ---- API behaviour ----

test('diagnostics come sorted by position', (t) => {
  const r = check({ path: 't.attn', text: def(`
  let a = pool(q, tokens: 2.5)
  return attend(q, k, v, mask: windw(3), score: j - i)`) });
  const starts = r.diagnostics.map((d) => d.span!.start);
  t.deepEqual(starts, [...starts].sort((a, b) => a - b));
  t.deepEqual(r.diagnostics.map((d) => d.code), ['AT508', 'AT206', 'AT308']);
});

test('parse reports syntax only; check adds names and types', (t) => {
  const text = def(`
  return attend(q, k, v, mask: windw(3))`);
  t.deepEqual(parse({ path: 't.attn', text }).diagnostics, []);
  t.deepEqual(check({ path: 't.attn', text }).diagnostics.map((d) => d.code), ['AT206']);
});

test('a definition with a syntax error is not checked, the others are', (t) => {
  const text = `attention a {
  input q: f32[B, H, N, D]
  return attend(q, q, q, mask: i < )
}
attention b {
  input q: f32[B, H, N, D]
  return attend(q, q, q, mask: nope)
}
`;
  const r = check({ path: 't.attn', text });
  t.deepEqual(r.diagnostics.map((d) => d.code), ['AT102', 'AT201']);
  t.true(r.program.attentions[0]!.recovered);
  t.falsy(r.program.attentions[1]!.recovered);
});

// ---- type annotations ----

/** Check `def(body)`, which must be clean; the text and the returned expression. */
function returned(body: string): { text: string; value: Expr } {
  const text = def(body);
  const r = check({ path: 't.attn', text });
  if (r.diagnostics.length) throw new Error(formatAll(r.diagnostics));
  return { text, value: (r.program.attentions[0]!.statements.at(-1) as ReturnStmt).values[0]!.value };
}

function arg(e: Expr, name: string): Expr {
  if (e.kind !== 'call') throw new Error('not a call');
  return e.args.find((a) => a.name?.name === name)!.value;
}

test('check annotates types: int stays int, float wins, / on ints is int', (t) => {
  const { text, value } = returned(`
  input bias: f32[H, N]
  input doc: i32[B, N]
  param cap = 50.0, flag = true
  return attend(q, k, v,
                mask: doc[b, i] == doc[b, j] && i / 2 <= j % 3 && flag,
                score: float(j - i) + bias[h, abs(i - j)] + max(i, 1.5) + (i < j ? 1 : 2.0) + cap * s + alibi(h, H),
                scale: 1 / 8)`);
  const mask = arg(value, 'mask');
  const score = arg(value, 'score');
  t.deepEqual(mask.ty, { kind: 'bool' });
  t.deepEqual(score.ty, { kind: 'float' });
  t.deepEqual(arg(value, 'scale').ty, { kind: 'int' });
  // `source text → type` for every sub-expression.
  const types = new Map<string, string>();
  const walk = (x: Expr): void => {
    types.set(text.slice(x.span.start, x.span.end), x.ty!.kind);
    if (x.kind === 'binary') { walk(x.lhs); walk(x.rhs); }
    if (x.kind === 'unary') walk(x.arg);
    if (x.kind === 'ternary') { walk(x.cond); walk(x.then); walk(x.else); }
    if (x.kind === 'call') x.args.forEach((a) => walk(a.value));
    if (x.kind === 'index') { walk(x.target); x.indices.forEach(walk); }
  };
  walk(mask);
  walk(score);
  t.like(Object.fromEntries(types), {
    'float(j - i)': 'float',
    'j - i': 'int',
    'i / 2': 'int',
    'j % 3': 'int',
    'doc[b, i]': 'int',
    'doc': 'tensor',
    'bias[h, abs(i - j)]': 'float',
    'abs(i - j)': 'int',
    'max(i, 1.5)': 'float',
    'i < j ? 1 : 2.0': 'float',
    'cap': 'float',
    'flag': 'bool',
    's': 'float',
    'alibi(h, H)': 'float',
    'H': 'int',
  });
});

test('check annotates names with what they refer to', (t) => {
  const text = def(`
  input doc: i32[B, N]
  param cap = 2.0
  let a = pool(q, tokens: window)
  return attend(q, a, a, mask: doc[b, i] > hk && causal, score: cap * s, scale: float(D), normalize: keys)`);
  const r = check({ path: 't.attn', text });
  t.deepEqual(r.diagnostics, []);
  const refs: Record<string, unknown> = {};
  const walk = (x: Expr): void => {
    if (x.kind === 'name') refs[x.name] = x.ref;
    if (x.kind === 'binary') { walk(x.lhs); walk(x.rhs); }
    if (x.kind === 'call') x.args.forEach((a) => walk(a.value));
    if (x.kind === 'index') { walk(x.target); x.indices.forEach(walk); }
  };
  for (const st of r.program.attentions[0]!.statements) if (st.kind === 'let') walk(st.value); else if (st.kind === 'return') st.values.forEach((a) => walk(a.value));
  t.deepEqual(refs, {
    q: { kind: 'input' },
    window: { kind: 'param' },
    a: { kind: 'let' },
    doc: { kind: 'input' },
    b: { kind: 'index', name: 'b' },
    i: { kind: 'index', name: 'i' },
    hk: { kind: 'index', name: 'hk' },
    causal: { kind: 'pattern' },
    cap: { kind: 'param' },
    s: { kind: 'score' },
    D: { kind: 'dim' },
    keys: { kind: 'normalize' },
  });
});

golden('a let used before it is defined', def(`
  let va = attend(a, k, v)
  let a = pool(q, tokens: 8)
  return attend(q, a, va)`), [
    't.attn:4:19: error[AT201]: unknown name `a`',
    '4 |   let va = attend(a, k, v)',
    '  |                   ^',
    '  = hint: `a` is defined by a later `let`; move that `let` up',
]);

test('dims with different names may agree at run time: not a static error', (t) => {
  const text = 'attention t {\n  input q: f32[B, H, N, 64]\n  input k: f32[B, H, M, D]\n  input v: f32[B, H, L, Dv]\n  return attend(q, k, v)\n}\n';
  t.deepEqual(check({ path: 't.attn', text }).diagnostics, []);
});
