// The differential fuzzer: random valid programs at random small shapes, run on a device
// backend (webgpu, webgl) and on the float64 reference, compared with the GPU suites'
// tolerance (test/helpers/webgpu-check.ts `compare`: |out − ref| ≤ 1e-4 + 1e-4·|ref|, one
// f16 step more for an `f16(…)` output, and exact zeros where the reference is exactly 0 —
// fully masked rows).
//
// Programs: masks from every pattern builtin with random arguments (negative and zero
// included), index expressions over b, h, hk, i, j, dims and params with `/`, `%`,
// comparisons, `?:`, abs/min/max/clamp and i32 lookups (bounded by their values on
// WebGPU: block summaries); scores with ALiBi, soft-cap, a
// bias lookup and masks inside scores; N ≠ M, GQA (H = g·Hk), both normalisations, an
// agent stage (pool + two attends), and what follows an attention: elementwise arithmetic,
// its lse, several outputs, two attentions merged through their lse (every output is
// compared), top-k (and its lse), keys concatenated with pooled summaries, an f16(…)
// output; q, k, v f32 or f16. fast-check generates and shrinks them, so a failure is
// reported as a small program.
//
// What counts (LANGUAGE.md leaves these open, so they are not failures):
//   - a program the checker refuses for what its random constants do (a zero divisor,
//     NATTEN's argument rules, int overflow: AT306, AT708–AT711) is skipped;
//   - a program the reference refuses at run time (a lookup out of range, a division by
//     zero, AT709 sizes) is skipped on the devices too, which need not fail the same way
//     (spec §2–§3) — but a device may never answer with an internal error;
//   - elements where the reference output is NaN or ±inf are not compared (devices may
//     treat NaN as they like, spec §2; the generator keeps scores far from f32 overflow;
//     an lse's −inf rows are compared exactly in test/lse.test.ts).

import fc from 'fast-check';
import { compile } from '../../compiler/compile.js';
import { AttncError } from '../../dsl/diagnostics.js';
import { run, type Backend } from '../../runtime/run.js';
import { generateInputs, resolveDims } from '../../runtime/shapes.js';
import type { Tensor } from '../../runtime/tensor.js';
import { compare } from './webgpu-check.js';

export interface FuzzDims { B: number; Hk: number; G: number; N: number; M: number; D: number; Dv: number; T: number }

export interface FuzzProgram {
  source: string;
  /** Seed of the generated inputs. */
  seed: number;
}

// ---- generators ----

const small = fc.integer({ min: -6, max: 9 });
const lit = (n: number) => (n < 0 ? `(${n})` : String(n));

interface Ctx {
  /** Names of int values in an index expression. */
  ints: string[];
  /** A `doc: i32[B, L]` lookup is declared (L covers every i and j). */
  doc: boolean;
  /** Pattern builtins, where allowed (only in `mask:`). */
  patterns?: fc.Arbitrary<string>;
}

/** A pattern argument: a literal (any sign), a param, or a dim, sometimes combined. */
const size = fc.oneof(
  { weight: 4, arbitrary: small.map(lit) },
  { weight: 1, arbitrary: fc.constantFrom('r', 'N', 'M', '-r') },
  { weight: 1, arbitrary: fc.tuple(small, fc.constantFrom('N', 'r')).map(([a, n]) => `${n} - ${lit(a)}`) },
);
const flag = fc.constantFrom('true', 'false');

/** NATTEN's kernel and dilation: mostly valid (k ≥ 2, d ≥ 1), sometimes not (AT709). */
const kernel = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 2, max: 7 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1 }) });
const dilation = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(0) });

/** Every pattern builtin; neighborhood2d on a grid of N = height · width tokens. */
function patternOf(N: number): fc.Arbitrary<string> {
  const divisors = Array.from({ length: N }, (_, k) => k + 1).filter((h) => N % h === 0);
  return fc.oneof(
    fc.constant('causal'),
    size.map((r) => `window(${r})`),
    size.map((w) => `sliding(${w})`),
    size.map((s) => `block(${s})`),
    fc.tuple(size, size).map(([s, o]) => `halo(${s}, ${o})`),
    size.map((n) => `sink(${n})`),
    size.map((n) => `global(${n})`),
    fc.tuple(kernel, dilation, flag).map(([k, d, c]) => `neighborhood(${k}, dilation: ${d}, causal: ${c})`),
    fc.tuple(fc.constantFrom(...divisors), kernel, kernel, dilation, flag, flag)
      .map(([ht, k0, k1, d, c0, c1]) => `neighborhood2d(${ht}, ${N / ht}, [${k0}, ${k1}], dilation: [${d}, 1], causal: [${c0}, ${c1}])`),
  );
}

function intExpr(cx: Ctx, depth: number): fc.Arbitrary<string> {
  const leaf = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...cx.ints) }, { weight: 2, arbitrary: small.map(lit) });
  if (depth <= 0) return leaf;
  const sub = intExpr(cx, depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 4, arbitrary: fc.tuple(sub, fc.constantFrom('+', '-', '*', '/', '%'), sub).map(([a, op, b]) => `(${a} ${op} ${b})`) },
    { weight: 1, arbitrary: sub.map((a) => `abs(${a})`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('min', 'max'), sub, sub).map(([f, a, b]) => `${f}(${a}, ${b})`) },
    { weight: 1, arbitrary: fc.tuple(sub, sub, sub).map(([x, lo, hi]) => `clamp(${x}, ${lo}, ${hi})`) },
    { weight: 1, arbitrary: fc.tuple(boolExpr(cx, depth - 1), sub, sub).map(([c, a, b]) => `(${c} ? ${a} : ${b})`) },
  );
}

function boolExpr(cx: Ctx, depth: number): fc.Arbitrary<string> {
  const compare = (d: number) => fc.tuple(intExpr(cx, d), fc.constantFrom('<', '<=', '>', '>=', '==', '!='), intExpr(cx, d)).map(([a, op, b]) => `(${a} ${op} ${b})`);
  const leaves: fc.Arbitrary<string>[] = [compare(Math.min(depth, 1))];
  if (cx.patterns) leaves.push(cx.patterns, cx.patterns);
  // Lookups the mask analysis bounds through the tensor (block summaries, exact bounds).
  if (cx.doc) {
    leaves.push(fc.constantFrom(
      'doc[b, i] == doc[b, j]', 'doc[b, i] <= doc[b, j]', 'doc[b, i / 2] != doc[b, j]',
      'doc[b, min(i, j)] == doc[b, max(i, j)]', 'j < doc[b, 0] * 3', 'doc[b, j] + r > i',
    ));
  }
  const leaf = fc.oneof(...leaves);
  if (depth <= 0) return leaf;
  const sub = boolExpr(cx, depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 2, arbitrary: compare(depth - 1) },
    { weight: 3, arbitrary: fc.tuple(sub, fc.constantFrom('&&', '||'), sub).map(([a, op, b]) => `(${a} ${op} ${b})`) },
    { weight: 1, arbitrary: sub.map((a) => `!(${a})`) },
    { weight: 1, arbitrary: fc.tuple(sub, sub, sub).map(([c, a, b]) => `(${c} ? ${a} : ${b})`) },
  );
}

/** Scores stay far from f32 overflow: |s| ≤ sqrt(D), soft-cap and ALiBi bounded. */
function score(mask: Ctx, bias: boolean): fc.Arbitrary<string> {
  const cx = { ...mask, patterns: undefined };
  const choices: fc.Arbitrary<string>[] = [
    fc.constant('s'),
    fc.constant('s * c'),
    fc.constant('s + alibi(h, H) * float(j - i)'),
    fc.double({ min: 0.5, max: 20, noNaN: true }).map((cap) => `${cap.toFixed(2)} * tanh(s / ${cap.toFixed(2)})`),
    intExpr(cx, 1).map((e) => `s + 0.1 * float(${e})`),
    fc.tuple(boolExpr(cx, 1), fc.constantFrom('s * 0.5', 's - 1.0')).map(([m, b]) => `(${m} ? s : ${b})`),
  ];
  if (bias) choices.push(fc.constant('s + bias[h, i, j]'));
  return fc.oneof(...choices);
}

const dimsArb: fc.Arbitrary<FuzzDims> = fc.record({
  B: fc.integer({ min: 1, max: 2 }), Hk: fc.integer({ min: 1, max: 2 }), G: fc.integer({ min: 1, max: 2 }),
  N: fc.integer({ min: 1, max: 40 }), M: fc.integer({ min: 1, max: 40 }),
  D: fc.constantFrom(1, 3, 4, 8, 16), Dv: fc.constantFrom(1, 2, 4, 5, 8), T: fc.integer({ min: 1, max: 6 }),
});

/** A random valid program (text) and the seed of its inputs. */
export const programArb: fc.Arbitrary<FuzzProgram> = dimsArb.chain((d) => {
  const agent = fc.boolean();
  const cx: Ctx = { ints: ['i', 'j', 'b', 'h', 'hk', 'N', 'M', 'r'], doc: true, patterns: patternOf(d.N) };
  return fc.record({
    agent,
    sameLength: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    mask: boolExpr(cx, 2),
    inner: boolExpr({ ...cx, doc: false, patterns: patternOf(Math.min(d.T, d.N)) }, 1),
    score: score(cx, true),
    agentScore: score({ ...cx, doc: false }, false),
    queries: fc.boolean(),
    // What the program does with the attention: return it, arithmetic on it, its lse
    // (normalize: keys), both, or the attention merged through lse with its complement.
    epilogue: fc.constantFrom('none', 'none', 'map', 'lse', 'both', 'merge', 'topk', 'topk-lse', 'select', 'concat', 'f16'),
    // (past 8 the fused top-k keeps its set in groups: 9 and 13 end in a short group)
    k: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constantFrom(9, 13, 20)),
    // q, k and v as f16 inputs (stored as f16 where the device grants shader-f16)
    half: fc.boolean(),
    r: small,
    c: fc.double({ min: -3, max: 3, noNaN: true }),
    seed: fc.integer({ min: 0, max: 1000 }),
  }).map((x) => {
    const M = x.sameLength ? d.N : d.M;
    const L = Math.max(d.N, M);
    const norm = x.queries ? ', normalize: queries' : '';
    const head = [
      'attention fuzz {',
      `  input q: ${x.half ? 'f16' : 'f32'}[B, H, N, D]`,
      `  input k: ${x.half ? 'f16' : 'f32'}[B, Hk, M, D]`,
      `  input v: ${x.half ? 'f16' : 'f32'}[B, Hk, M, Dv]`,
      '  input bias: f32[H, N, M]',
      '  input doc: i32[B, L]',
      `  dims B = ${d.B}, H = ${d.G * d.Hk}, Hk = ${d.Hk}, N = ${d.N}, M = ${M}, D = ${d.D}, Dv = ${d.Dv}, L = ${L}`,
      `  param r = ${x.r}, c = ${x.c.toFixed(3)}`,
    ];
    // The agent stage: T pooled query tokens attend to the keys, then every query to them
    // (lookups of bias and doc would be out of range over the agent tokens: not there).
    const body = x.agent
      ? [
          `  let a = pool(q, tokens: ${Math.min(d.T, d.N)})`,
          `  let va = attend(a, k, v, mask: ${x.inner})`,
          `  return attend(q, a, va, score: ${x.agentScore}${norm})`,
        ]
      : epilogue(x.epilogue, `attend(q, k, v, mask: ${x.mask}, score: ${x.score}${norm})`, x.queries,
        `attend(q, k, v, mask: !(${x.mask}), score: ${x.score})`, x.k);
    return { source: [...head, ...body, '}', ''].join('\n'), seed: x.seed };
  });
});

/** The lines returning what the program does with `attend` (lse only under normalize: keys). */
function epilogue(kind: string, attend: string, queries: boolean, complement: string, k: number): string[] {
  const lse = !queries;
  switch (kind) {
    // top-k of the attention's allowed keys (normalize: keys; its mask and score), alone or
    // with its lse; keys and
    // values concatenated with themselves pooled (arithmetic inside and on a concat), attended
    // unmasked (no lookup can pass M)
    case 'topk': return [`  return ${lse ? attend.replace(/\)$/, `, topk: ${k})`) : attend}`];
    case 'topk-lse': return lse ? [`  let o = ${attend.replace(/\)$/, `, topk: ${k})`)}`, '  return o, l: lse(o)'] : [`  return ${attend}`];
    // the selection itself (topk(…) over the attention's mask and score), and an attention
    // whose mask reads it
    case 'select': return lse ? [
      `  let sel = ${attend.replace(/^attend\(q, k, v,/, `topk(q, k, ${k},`)}`,
      '  return sel, attend(q, k, v, mask: sel[b, h, i, j] > 0.5)',
    ] : [`  return ${attend}`];
    case 'concat': return [
      `  let kk = concat(k * c, pool(k, tokens: ${k}))`, `  let vv = concat(v, pool(v, tokens: ${k})) * c`,
      '  return attend(q, kk, vv)',
    ];
    case 'map': return [`  let o = ${attend}`, '  return (o - c) * o + abs(o) / 2.0'];
    // (f16 rounding outermost: an inner one could round the device's f32 value and the
    // reference's float64 one to neighbouring f16 values, and the difference then grows)
    case 'f16': return [`  let o = ${attend}`, '  return f16(o * c), o'];
    case 'lse': return lse ? [`  let o = ${attend}`, '  return lse(o)'] : [`  return ${attend}`];
    case 'both': return lse ? [`  let o = ${attend}`, '  return o, l: lse(o), o * c'] : [`  let o = ${attend}`, '  return o, o * c'];
    case 'merge':
      if (!lse) return [`  return ${attend}`];
      return [
        `  let o1 = ${attend}`, `  let o2 = ${complement}`, '  let l1 = lse(o1)', '  let l2 = lse(o2)', '  let m = max(l1, l2)',
        '  return (o1 * exp(l1 - m) + o2 * exp(l2 - m)) / (exp(l1 - m) + exp(l2 - m))',
      ];
    default: return [`  return ${attend}`];
  }
}

// ---- running one program ----

/** Static errors a random program may have for what its constants do: not the generator's fault. */
const STATIC = new Set(['AT306', 'AT708', 'AT709', 'AT710', 'AT711']);

/**
 * Run `p` on `backend` and on the reference; a failure's description, or null (agreed, or
 * skipped by the rules above).
 */
export async function differ(p: FuzzProgram, backend: Backend): Promise<string | null> {
  const program = compile(p.source);
  if (!program.ok) {
    const codes = program.diagnostics.map((d) => d.code);
    if (codes.every((c) => STATIC.has(c))) return null;
    return `the generator wrote an invalid program: ${codes.join(', ')}: ${program.diagnostics[0]!.message}`;
  }
  const graph = program.graph!;
  const inputs = generateInputs(graph, resolveDims(graph), p.seed);
  let refs: Record<string, Tensor>;
  try {
    refs = (await run(program, inputs, { backend: 'reference' })).outputs;
  } catch (e) {
    if (!(e instanceof AttncError)) return `the reference threw ${String(e)}`;
    // Undefined on devices; they may fail, but by name.
    const r = await run(program, inputs, { backend }).catch((err: unknown) => err as Error);
    return r instanceof Error && /internal error|compiler bug/.test(r.message) ? `${backend}: ${r.message}` : null;
  }
  let outs: Record<string, Tensor>;
  try {
    outs = (await run(program, inputs, { backend })).outputs;
  } catch (e) {
    return `${backend} threw where the reference answered: ${(e as Error).message}`;
  }
  for (const [name, ref] of Object.entries(refs)) {
    // Compared only where the reference is finite (see the header).
    const finite = (t: Tensor, k: number) => Number.isFinite(ref.data[k]!) ? t.data[k]! : 0;
    const pick = (t: Tensor): Tensor => ({ shape: t.shape, data: Float64Array.from(t.data, (_, k) => finite(t, k)) });
    const f16 = graph.nodes[graph.outputs.find((o) => o.name === name)!.node]!.elem === 'f16';
    const { bad } = compare(pick(outs[name]!), pick(ref), { f16 });
    if (bad.length) return `${backend} differs from the reference in output ${name}: ${bad.slice(0, 3).join('; ')}`;
  }
  return null;
}

/** A failure as a reproduction: the program, its inputs' seed, the backend and the command. */
export function reproduction(p: FuzzProgram, backend: Backend, why: string): string {
  return [
    `backend ${backend}, input seed ${p.seed}: ${why}`,
    '--- program (save as fuzz.attn; its dims are the shapes) ---',
    p.source.trimEnd(),
    '--- reproduce ---',
    `attnc run fuzz.attn --backend ${backend} --seed ${p.seed} --json   # and --backend reference`,
  ].join('\n');
}
