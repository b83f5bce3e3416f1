// The front end's syntax: precedence and associativity (checked on the AST's shape),
// calls with named arguments, lists, comments, number literals, spans; the programs of the
// spec parse and check cleanly and come back fully annotated; and no input, however
// broken, makes `parse` or `check` throw.

import test from 'ava';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import type { Attention, Expr, LetStmt, ParamStmt, ReturnStmt } from '../dsl/ast.js';
import { check, formatAll, parse } from '../dsl/index.js';

const file = (text: string) => ({ path: 't.attn', text });

/** An expression as an S-expression: `(+ a (* b c))`, calls as `(f a name:b)`. */
function sx(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.isFloat ? `${e.value}f` : String(e.value);
    case 'bool':
      return String(e.value);
    case 'name':
      return e.name;
    case 'unary':
      return `(${e.op} ${sx(e.arg)})`;
    case 'binary':
      return `(${e.op} ${sx(e.lhs)} ${sx(e.rhs)})`;
    case 'ternary':
      return `(? ${sx(e.cond)} ${sx(e.then)} ${sx(e.else)})`;
    case 'call':
      return `(${e.callee.name}${e.args.map((a) => ' ' + (a.name ? a.name.name + ':' : '') + sx(a.value)).join('')})`;
    case 'index':
      return `(@ ${sx(e.target)} ${e.indices.map(sx).join(' ')})`;
    case 'list':
      return `[${e.items.map(sx).join(' ')}]`;
  }
}

/** Parse `return <src>` inside a definition; the returned expression (syntax only). */
function expr(src: string): Expr {
  const r = parse(file(`attention t {\n  return ${src}\n}\n`));
  if (r.diagnostics.length) throw new Error(formatAll(r.diagnostics));
  return (r.program.attentions[0]!.statements[0] as ReturnStmt).values[0]!.value;
}

const shapes: [string, string][] = [
  // * / % over + -, left-associative
  ['a + b * c - d', '(- (+ a (* b c)) d)'],
  ['a - b - c', '(- (- a b) c)'],
  ['a / b % c * d', '(* (% (/ a b) c) d)'],
  ['(a + b) * c', '(* (+ a b) c)'],
  // unary binds tightest: `!a == b` is `(!a) == b`
  ['-a * b', '(* (- a) b)'],
  ['!a == b', '(== (! a) b)'],
  ['- -a', '(- (- a))'],
  ['!!a', '(! (! a))'],
  ['-x[i]', '(- (@ x i))'],
  // comparisons below + -, above &&; && above ||
  ['a < b + c', '(< a (+ b c))'],
  ['a + 1 >= b * 2', '(>= (+ a 1) (* b 2))'],
  ['a || b && c', '(|| a (&& b c))'],
  ['a && b || c && d', '(|| (&& a b) (&& c d))'],
  ['a == b && c != d', '(&& (== a b) (!= c d))'],
  ['a || b || c', '(|| (|| a b) c)'],
  // ?: lowest, right-nested
  ['a || b ? x : y', '(? (|| a b) x y)'],
  ['c ? a : d ? e : f', '(? c a (? d e f))'],
  ['c ? d ? e : f : g', '(? c (? d e f) g)'],
  ['i < j ? s + 1.0 : s', '(? (< i j) (+ s 1f) s)'],
  // postfix indexing, several indices, chained
  ['x[b, h, i - j + N]', '(@ x b h (+ (- i j) N))'],
  ['x[i][j]', '(@ (@ x i) j)'],
  // calls: positional then named; lists; nested
  ['f()', '(f)'],
  ['f(a, b + 1, name: c, other: [1, 2])', '(f a (+ b 1) name:c other:[1 2])'],
  ['attend(q, k, v, mask: sliding(w) || (sink(n) && causal), score: s + alibi(h, H) * float(j - i))',
    '(attend q k v mask:(|| (sliding w) (&& (sink n) causal)) score:(+ s (* (alibi h H) (float (- j i)))))'],
  ['[a, b + 1, [c]]', '[a (+ b 1) [c]]'],
  // literals: a `.` or an exponent makes a float
  ['1 + 1.0 + 1e-3 + 2E5 + 0.25', '(+ (+ (+ (+ 1 1f) 0.001f) 200000f) 0.25f)'],
  ['true && !false', '(&& true (! false))'],
];

for (const [src, want] of shapes) {
  test(`shape: ${src}`, (t) => {
    t.is(sx(expr(src)), want);
  });
}

test('comparisons do not chain (AT305), with the second operator underlined', (t) => {
  const r = parse(file('attention t {\n  return a < b < c\n}\n'));
  t.deepEqual(r.diagnostics.map((d) => d.code), ['AT305']);
  t.deepEqual(r.diagnostics[0]!.span, { start: 29, end: 30 });
});

test('number literals keep int vs float', (t) => {
  const e = expr('[7, 7.0, 1e3, 0.5, 12]');
  t.is(e.kind, 'list');
  if (e.kind !== 'list') return;
  t.deepEqual(
    e.items.map((x) => (x.kind === 'number' ? [x.value, x.isFloat] : null)),
    [[7, false], [7, true], [1000, true], [0.5, true], [12, false]],
  );
});

test('spans are offsets into the text; binary nodes record the operator span', (t) => {
  const text = 'attention t {\n  return (a + b) * c\n}\n';
  const e = (parse(file(text)).program.attentions[0]!.statements[0] as ReturnStmt).values[0]!.value;
  t.is(e.kind, 'binary');
  if (e.kind !== 'binary') return;
  t.is(text.slice(e.span.start, e.span.end), '(a + b) * c');
  t.is(text.slice(e.opSpan.start, e.opSpan.end), '*');
  t.is(text.slice(e.lhs.span.start, e.lhs.span.end), 'a + b');
  if (e.lhs.kind === 'binary') t.is(text.slice(e.lhs.opSpan.start, e.lhs.opSpan.end), '+');
});

test('statements: inputs, dims, params (typed literals), lets, return', (t) => {
  const text = `attention t {
  input q, k, v: f32[B, H, N, 64]
  input doc: i32[B, N]
  dims  B = 1, N = 128
  param a = 2, b = 2.0, c = -1, d = true, e = -1e-3, f = false
  let x = pool(q, tokens: a)
  return attend(q, x, x)
}`;
  const r = parse(file(text));
  t.deepEqual(r.diagnostics, []);
  const def = r.program.attentions[0]!;
  t.is(def.name.name, 't');
  t.deepEqual(def.statements.map((s) => s.kind), ['input', 'input', 'dims', 'param', 'let', 'return']);
  const input = def.statements[0]!;
  if (input.kind === 'input') {
    t.deepEqual(input.names.map((n) => n.name), ['q', 'k', 'v']);
    t.is(input.type.elem, 'f32');
    t.deepEqual(input.type.dims.map((d) => (d.kind === 'name' ? d.name : d.value)), ['B', 'H', 'N', 64]);
  }
  const dims = def.statements[2]!;
  if (dims.kind === 'dims') t.deepEqual(dims.entries.map((e) => [e.name.name, e.value]), [['B', 1], ['N', 128]]);
  const params = def.statements[3] as ParamStmt;
  t.deepEqual(
    params.entries.map((e) => [e.name.name, e.value, e.isFloat]),
    [['a', 2, false], ['b', 2, true], ['c', -1, false], ['d', true, false], ['e', -0.001, true], ['f', false, false]],
  );
  t.is((def.statements[4] as LetStmt).name.name, 'x');
});

test('comments: line and block, anywhere whitespace goes', (t) => {
  const text = `// leading
/* block
   over lines // with a line comment inside */
attention t { // trailing
  input q, k, v: /* inline */ f32[B, H, N, D]
  return attend(q, k, v, /* mask */ mask: causal) // done
}
// end`;
  const r = check(file(text));
  t.deepEqual(r.diagnostics, []);
  t.is(r.program.attentions.length, 1);
});

test('keywords need a word boundary: `inputs`, `f32x`, `lets` are names', (t) => {
  t.is(sx(expr('inputs + f32x + lets + returned')), '(+ (+ (+ inputs f32x) lets) returned)');
});

test('several definitions in one file', (t) => {
  const text = `attention a { input q: f32[B, H, N, D]  return attend(q, q, q) }
attention b { input q: f32[B, H, N, D]  return attend(q, q, q, mask: causal) }`;
  const r = check(file(text));
  t.deepEqual(r.diagnostics, []);
  t.deepEqual(r.program.attentions.map((a) => a.name.name), ['a', 'b']);
});

// ---- the programs of the spec ----

const SPEC_SEEDS = `
attention local_window {              // NATTEN neighborhood attention
  input q, k, v: f32[B, H, N, D]
  param kernel = 7, dilation = 2
  return attend(q, k, v, mask: neighborhood(kernel, dilation: dilation))
}

attention routing {                   // Routing Transformer: attend within your cluster
  input q, k, v: f32[B, H, N, D]
  input centroids: f32[H, C, D]
  let cq = clusters(q, centroids)
  let ck = clusters(k, centroids)
  return attend(q, k, v, mask: cq[b, h, i] == ck[b, hk, j] && causal)
}

attention blocked {                   // block-local attention with a halo
  input q, k, v: f32[B, H, N, D]
  param size = 64, overlap = 16
  return attend(q, k, v, mask: halo(size, overlap))
}

attention agent {                     // Agent Attention: pooled agent tokens broker context
  input q, k, v: f32[B, H, N, D]
  param agents = 49
  let a  = pool(q, tokens: agents)
  let va = attend(a, k, v)
  return attend(q, a, va)
}

attention reversed {                  // DependencyViT: normalise over the receivers
  input q, k, v: f32[B, H, N, D]
  return attend(q, k, v, normalize: queries)
}
`;

const SPEC_STREAMING = `
// Mistral-style causal sliding window with ALiBi and attention sinks.
attention streaming {
  input q, k, v: f32[B, H, N, D]
  dims  B = 1, H = 8, N = 4096, D = 64      // defaults for the CLI; runtime shapes win
  param window = 512, sinks = 4

  return attend(q, k, v,
                mask:  sliding(window) || (sink(sinks) && causal),
                score: s + alibi(h, H) * float(j - i))
}
`;

/** Every expression has `ty`; every name has `ref`; no `error` types. */
function unannotated(def: Attention): string[] {
  const missing: string[] = [];
  const walk = (e: Expr): void => {
    if (!e.ty || e.ty.kind === 'error') missing.push(`${e.kind} at ${e.span.start}: ty`);
    if (e.kind === 'name' && !e.ref) missing.push(`name ${e.name}: ref`);
    switch (e.kind) {
      case 'unary': walk(e.arg); break;
      case 'binary': walk(e.lhs); walk(e.rhs); break;
      case 'ternary': walk(e.cond); walk(e.then); walk(e.else); break;
      case 'call': e.args.forEach((a) => walk(a.value)); break;
      case 'index': walk(e.target); e.indices.forEach(walk); break;
      case 'list': e.items.forEach(walk); break;
      default: break;
    }
  };
  for (const s of def.statements) if (s.kind === 'let') walk(s.value); else if (s.kind === 'return') s.values.forEach((a) => walk(a.value));
  return missing;
}

test('the five seed programs of spec §5 check without diagnostics, fully annotated', (t) => {
  const r = check(file(SPEC_SEEDS));
  t.is(formatAll(r.diagnostics), '');
  t.deepEqual(r.program.attentions.map((a) => a.name.name), ['local_window', 'routing', 'blocked', 'agent', 'reversed']);
  for (const def of r.program.attentions) t.deepEqual(unannotated(def), [], def.name.name);
});

test('the streaming example of spec §1 checks without diagnostics, fully annotated', (t) => {
  const r = check(file(SPEC_STREAMING));
  t.is(formatAll(r.diagnostics), '');
  t.deepEqual(unannotated(r.program.attentions[0]!), []);
});

test('every sample checks without diagnostics, fully annotated', (t) => {
  const dir = new URL('../samples/', import.meta.url);
  const names = readdirSync(dir).filter((n) => n.endsWith('.attn'));
  t.true(names.length > 0);
  for (const n of names) {
    const r = check({ path: `samples/${n}`, text: readFileSync(new URL(n, dir), 'utf8') });
    t.is(formatAll(r.diagnostics), '', n);
    for (const def of r.program.attentions) t.deepEqual(unannotated(def), [], n);
  }
});

test('annotations: refs and shapes of lets', (t) => {
  const r = check(file(SPEC_SEEDS));
  const routing = r.program.attentions[1]!;
  const cq = routing.statements[2] as LetStmt;
  t.deepEqual(cq.value.ty, { kind: 'tensor', elem: 'i32', shape: [{ text: 'B' }, { text: 'H' }, { text: 'N' }] });
  const agent = r.program.attentions[3]!;
  const a = agent.statements[2] as LetStmt;
  t.deepEqual(a.value.ty, { kind: 'tensor', elem: 'f32', shape: [{ text: 'B' }, { text: 'H' }, { text: '49' }, { text: 'D' }] });
  const ret = agent.statements[4] as ReturnStmt;
  t.deepEqual(ret.values[0]!.value.ty, { kind: 'tensor', elem: 'f32', shape: [{ text: 'B' }, { text: 'H' }, { text: 'N' }, { text: 'D' }] });
  const rev = (r.program.attentions[4]!.statements[1] as ReturnStmt).values[0]!.value;
  if (rev.kind === 'call') {
    const norm = rev.args[3]!.value;
    t.deepEqual(norm.ref, { kind: 'normalize' });
    t.deepEqual(norm.ty, { kind: 'normalize', value: 'queries' });
  }
});

// ---- robustness: no input makes the front end throw ----

const VALID = SPEC_STREAMING + SPEC_SEEDS;

function assertSane(t: { true(v: boolean, m?: string): void; false(v: boolean, m?: string): void }, text: string) {
  const r = check(file(text));
  t.false(r.diagnostics.some((d) => d.code === 'AT706'), `internal error on ${JSON.stringify(text)}`);
  for (const d of r.diagnostics) {
    t.true(d.span !== undefined && d.span.start >= 0 && d.span.end <= text.length && d.span.start <= d.span.end,
      `span of ${d.code} on ${JSON.stringify(text)}`);
  }
  formatAll(r.diagnostics); // formatting must not throw either
  return r;
}

test('fuzz: every prefix of a valid file inside a definition gives diagnostics, never an exception', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: VALID.length }), (cut) => {
      const text = VALID.slice(0, cut);
      const r = assertSane(t, text);
      // A cut after the start of a definition's header and before its `}` leaves it unclosed
      // (the only `}` in these programs close definitions).
      const tail = text.slice(text.lastIndexOf('}') + 1);
      if (/^attention/m.test(tail)) t.true(r.diagnostics.length > 0, `no diagnostic for prefix ${cut}`);
    }),
    { numRuns: 300 },
  );
});

const PIECES = [
  'attention', 'input', 'dims', 'param', 'let', 'return', 'true', 'false', 'f32', 'f16', 'i32',
  'attend', 'pool', 'pool2d', 'clusters', 'causal', 'window', 'neighborhood2d', 'float', 'keys', 'queries',
  'q', 'k', 'v', 'b', 'h', 'hk', 'i', 'j', 's', 'N', 'H', 'x',
  '0', '1', '64', '0.5', '1e-3', '3x', '99999999999',
  '{', '}', '(', ')', '[', ']', ',', ':', '=', '?', '+', '-', '*', '/', '%', '!', '<', '<=', '==', '!=', '&&', '||',
  '&', '|', ';', '#', '@', '.', '/*', '*/', '//', '\n', ' ', '\t', 'mask:', 'score:', 'normalize:',
];

test('fuzz: random token soup never throws', (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }), fc.array(fc.constantFrom(' ', ''), { maxLength: 60 }), (toks, gaps) => {
      assertSane(t, toks.map((p, k) => p + (gaps[k] ?? ' ')).join(''));
    }),
    { numRuns: 400 },
  );
});

test('fuzz: random characters never throw', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => {
      assertSane(t, text);
    }),
    { numRuns: 300 },
  );
});

test('fuzz: mutating a valid program (delete, duplicate, swap a span) never throws', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: VALID.length }),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 0, max: VALID.length }),
      fc.constantFrom('delete', 'duplicate', 'move'),
      (at, len, to, how) => {
        const piece = VALID.slice(at, at + len);
        const rest = VALID.slice(0, at) + VALID.slice(at + len);
        const text =
          how === 'delete' ? rest :
          how === 'duplicate' ? VALID.slice(0, at) + piece + piece + VALID.slice(at + len) :
          rest.slice(0, to) + piece + rest.slice(to);
        assertSane(t, text);
      },
    ),
    { numRuns: 500 },
  );
});

test('absurd nesting is an error (AT105), not a stack overflow', (t) => {
  const deep = (n: number) => `attention t {\n  input q: f32[B, H, N, D]\n  return attend(q, q, q, mask: ${'('.repeat(n)}true${')'.repeat(n)})\n}\n`;
  t.deepEqual(check(file(deep(60))).diagnostics, []);
  t.deepEqual(check(file(deep(5000))).diagnostics.map((d) => d.code), ['AT105']);
  // A flat `&&` chain is not nesting (it is grouped into a shallow tree); a chain too long
  // for the token limit is AT106, and the definition keeps its name.
  const chain = (n: number) => `attention t {\n  input q: f32[B, H, N, D]\n  return attend(q, q, q, mask: ${Array(n).fill('i < j').join(' && ')})\n}\n`;
  t.deepEqual(check(file(chain(1000))).diagnostics, []);
  const r = check(file(chain(5000)));
  t.deepEqual(r.diagnostics.map((d) => d.code), ['AT106']);
  t.is(r.program.attentions[0]!.name.name, 't');
});
