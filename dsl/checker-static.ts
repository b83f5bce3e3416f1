// Static errors (spec §2: "a compile error when the divisor is a constant"): every
// subexpression whose operands are all known at compile time — literals and params (the
// kernels specialise on params, and the compiler folds these) — is evaluated with the
// language's exact semantics (dsl/semantics.ts), and what the reference executor would
// fail on is a diagnostic at its position:
//   AT306 an int division or modulo by a divisor known to be 0 (at the divisor; for
//         `block(size)` and `halo(size, …)`, whose rules divide by `size`, at `size`),
//   AT708 `alibi(h, heads)` of constants outside 0 <= h < heads,
//   AT710 an int operation on constants whose result is outside the 32-bit range,
//   AT711 `int(x)` of a constant NaN, ±inf or out-of-range x,
//   AT709 NATTEN's argument rules (kernel >= 2, dilation >= 1, height and width >= 1,
//         kernel · dilation <= a constant axis length) on constant arguments.
//
// Evaluation follows the lowering's conversions (an int operand of a float operation is
// promoted) and short-circuits where the compiler drops dead code: the right side of
// `false && x` / `true || x` and the untaken branch of `?:` with a constant condition are
// never evaluated, so they report nothing. Everything else is reported even where the
// kernel might not reach it at run time: the compiler folds it, and the targets cannot
// even express the result (WGSL rejects `i / 0i` or a wrapped constant at shader creation).
//
// The checker runs this with the declared params (`attnc check`); the lowering runs it
// again with `--param` overrides.

import type { Attention, Expr, ExprOf, SourceFile, Span } from './ast.js';
import { bindArgs, builtin } from './builtins.js';
import { AttncError, diag, type DiagCode, type Diagnostic } from './diagnostics.js';
import { roundToF16 } from './f16.js';
import {
  alibiSlope, floatMod, intAbs, intArith, intNeg, isFiniteF32, nattenAxisProblem, toInt, type IntArithOp,
} from './semantics.js';

export type StaticParams = Readonly<Record<string, number | boolean>>;

/** A known value (number or bool), or undefined: not known at compile time. */
type Value = number | boolean | undefined;

/** The declared value of every param (a later declaration of the same name wins, as in the lowering). */
export function declaredParams(def: Attention): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const st of def.statements) if (st.kind === 'param') for (const e of st.entries) out[e.name.name] = e.value;
  return out;
}

/**
 * The params a definition is checked under: the declared values, with each override
 * (`--param`, CompileOptions.params) that is a valid value of a declared param; the
 * lowering reports the others (AT701, AT702).
 */
export function effectiveParams(def: Attention, overrides: StaticParams = {}): Record<string, number | boolean> {
  const out = declaredParams(def);
  const decls = new Map<string, { value: number | boolean; isFloat: boolean }>();
  for (const st of def.statements) if (st.kind === 'param') for (const e of st.entries) decls.set(e.name.name, e);
  for (const [name, v] of Object.entries(overrides)) {
    const d = decls.get(name);
    if (!d) continue;
    const valid = typeof d.value === 'boolean'
      ? typeof v === 'boolean'
      : typeof v === 'number' && (d.isFloat ? isFiniteF32(v) : Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31);
    if (valid) out[name] = v;
  }
  return out;
}

/** Static errors of a checked definition (expressions carry `ty` and `ref`) under `params`. */
export function staticErrors(def: Attention, params: StaticParams, file?: SourceFile): Diagnostic[] {
  const ev = new StaticEval(params, file);
  for (const st of def.statements) {
    if (st.kind === 'let') ev.expr(st.value);
    if (st.kind === 'return') st.values.forEach((a) => ev.expr(a.value));
  }
  return ev.diagnostics;
}

const ARITH: Partial<Record<string, IntArithOp>> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod' };

class StaticEval {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly params: StaticParams,
    private readonly file: SourceFile | undefined,
  ) {}

  private report(code: DiagCode, args: readonly (string | number)[], span: Span, about: Expr[], hint?: string): void {
    const values = this.paramValues(about);
    const full = [hint, values].filter(Boolean).join('; ');
    this.diagnostics.push(diag(code, args, span, full || undefined, this.file));
  }

  /** `with `z` = 0, …` for the params the expressions read (undefined when none). */
  private paramValues(es: Expr[]): string | undefined {
    const names = new Set<string>();
    const walk = (e: Expr): void => {
      if (e.kind === 'name' && e.ref?.kind === 'param' && e.name in this.params) names.add(e.name);
      for (const c of childrenOf(e)) walk(c);
    };
    es.forEach(walk);
    if (names.size === 0) return undefined;
    return 'with ' + [...names].map((n) => `\`${n}\` = ${this.params[n]}`).join(', ');
  }

  /** Run `f`; an AttncError becomes a diagnostic (`span` by its code) and the value unknown. */
  private attempt(f: () => number, spans: Partial<Record<DiagCode, Span>>, span: Span, about: Expr[]): Value {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof AttncError)) throw err;
      const d = err.diagnostics[0]!;
      this.diagnostics.push({ ...d, span: spans[d.code] ?? span, hint: this.paramValues(about), file: this.file });
      return undefined;
    }
  }

  /** The value of `e` when known at compile time; reports the static errors inside it. */
  expr(e: Expr): Value {
    const ty = e.ty?.kind;
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'bool':
        return e.value;
      case 'name': {
        if (e.ref?.kind !== 'param') return undefined;
        const v = this.params[e.name];
        return ty === 'int' || ty === 'float' ? (typeof v === 'number' ? v : undefined) : ty === 'bool' && typeof v === 'boolean' ? v : undefined;
      }
      case 'unary': {
        const a = this.expr(e.arg);
        if (e.op === '!') return typeof a === 'boolean' ? !a : undefined;
        if (typeof a !== 'number') return undefined;
        if (ty === 'float') return -a;
        if (ty !== 'int') return undefined;
        return this.attempt(() => intNeg(a), {}, e.span, [e]);
      }
      case 'binary':
        return this.binary(e);
      case 'ternary': {
        const c = this.expr(e.cond);
        if (c === true) return this.expr(e.then);
        if (c === false) return this.expr(e.else);
        this.expr(e.then);
        this.expr(e.else);
        return undefined;
      }
      case 'call':
        return this.call(e);
      case 'index':
        this.expr(e.target);
        e.indices.forEach((x) => this.expr(x));
        return undefined;
      case 'list':
        e.items.forEach((x) => this.expr(x));
        return undefined;
    }
  }

  private binary(e: ExprOf<'binary'>): Value {
    if (e.op === '&&' || e.op === '||') {
      const a = this.expr(e.lhs);
      const short = e.op === '&&' ? false : true;
      if (a === short) return short; // the right side is dead code: the compiler drops it
      const b = this.expr(e.rhs);
      return a === !short ? b : undefined;
    }
    const a = this.expr(e.lhs);
    const b = this.expr(e.rhs);
    const [ta, tb] = [e.lhs.ty?.kind, e.rhs.ty?.kind];
    const isNum = (t: string | undefined) => t === 'int' || t === 'float';
    if (!isNum(ta) || !isNum(tb)) {
      // bool == bool, bool != bool
      if (typeof a === 'boolean' && typeof b === 'boolean') return e.op === '==' ? a === b : e.op === '!=' ? a !== b : undefined;
      return undefined;
    }
    const ints = ta === 'int' && tb === 'int';
    const op = ARITH[e.op];
    if (op && ints && (op === 'div' || op === 'mod') && b === 0) {
      // A zero divisor is an error whatever the dividend (WGSL rejects `x / 0i` outright).
      this.report('AT306', [], e.rhs.span, [e.rhs]);
      return undefined;
    }
    if (typeof a !== 'number' || typeof b !== 'number') return undefined;
    switch (e.op) {
      case '==': return a === b;
      case '!=': return a !== b;
      case '<': return a < b;
      case '<=': return a <= b;
      case '>': return a > b;
      case '>=': return a >= b;
      default: break;
    }
    if (!op) return undefined;
    if (ints) return this.attempt(() => intArith(op, a, b), { AT306: e.rhs.span }, e.span, [e]);
    switch (op) {
      case 'add': return a + b;
      case 'sub': return a - b;
      case 'mul': return a * b;
      case 'div': return a / b;
      case 'mod': return floatMod(a, b);
    }
  }

  private call(e: ExprOf<'call'>): Value {
    const spec = builtin(e.callee.name);
    const values = e.args.map((a) => this.expr(a.value));
    if (!spec) return undefined;
    const { args } = bindArgs(e, spec);
    const valueOf = (name: string): Value => {
      const a = args.get(name);
      return a ? values[e.args.indexOf(a)] : undefined;
    };
    if (spec.kind === 'pattern') {
      this.patternArgs(spec.name, args, valueOf);
      return undefined;
    }
    if (spec.kind !== 'function') return undefined;
    const xs = spec.params.map((p) => valueOf(p.name));
    if (!xs.every((x): x is number => typeof x === 'number')) return undefined;
    const [x = NaN, y = NaN, z = NaN] = xs;
    const intArgs = spec.params.every((p) => args.get(p.name)?.value.ty?.kind === 'int');
    switch (spec.name) {
      case 'abs': return intArgs ? this.attempt(() => intAbs(x), {}, e.span, [e]) : Math.abs(x);
      case 'min': return Math.min(x, y);
      case 'max': return Math.max(x, y);
      case 'clamp': return Math.min(Math.max(x, y), z);
      case 'exp': return Math.exp(x);
      case 'log': return Math.log(x);
      case 'tanh': return Math.tanh(x);
      case 'sqrt': return Math.sqrt(x);
      case 'floor': return Math.floor(x);
      case 'ceil': return Math.ceil(x);
      case 'float': return x;
      case 'f16': return roundToF16(x);
      case 'int': return intArgs ? x : this.attempt(() => toInt(x), {}, e.span, [e]);
      case 'alibi': return this.attempt(() => alibiSlope(x, y), {}, e.span, [e]);
      default: return undefined;
    }
  }

  /** The pattern builtins' own rules on constant arguments. */
  private patternArgs(name: string, args: Map<string, { value: Expr }>, valueOf: (name: string) => Value): void {
    const arg = (n: string) => args.get(n)?.value;
    switch (name) {
      case 'block':
      case 'halo': {
        const size = arg('size');
        if (size && valueOf('size') === 0) {
          const rule = name === 'block' ? '`block(size)` is `i / size == j / size`' : '`halo(size, overlap)` divides `i` by `size`';
          this.report('AT306', [], size.span, [size], rule);
        }
        return;
      }
      case 'halo2d': {
        // 1-D halo's rule per axis: a zero block size divides by zero (AT306), at the item.
        const size = arg('size');
        const items = size?.kind === 'list' ? size.items : size ? [size] : [];
        const zero = items.find((x) => (size?.kind === 'list' ? num(this.constant(x)) : num(valueOf('size'))) === 0);
        if (zero) this.report('AT306', [], zero.span, [zero], '`halo2d` divides the row and column by `size`');
        const [H, W] = [num(valueOf('height')), num(valueOf('width'))];
        const at = H !== undefined && H < 1 ? arg('height') : W !== undefined && W < 1 ? arg('width') : undefined;
        if (!zero && at) this.report('AT709', ['halo2d', `height and width must be at least 1, found ${H} and ${W}`], at.span, [at]);
        return;
      }
      case 'neighborhood': {
        const k = valueOf('kernel');
        const d = args.has('dilation') ? valueOf('dilation') : 1;
        const p = nattenAxisProblem('', undefined, num(k), num(d));
        const at = p && arg(p.arg);
        if (p && at) this.report('AT709', ['neighborhood', p.detail], at.span, [at]);
        return;
      }
      case 'neighborhood2d':
        this.gridChecks(name, ['height', 'width'], [' (row axis)', ' (column axis)'], arg, valueOf);
        return;
      case 'neighborhood3d':
        this.gridChecks(name, ['depth', 'height', 'width'], [' (depth axis)', ' (row axis)', ' (column axis)'], arg, valueOf);
        return;
      default:
        return;
    }
  }

  /**
   * NATTEN's rules per axis of a grid pattern (neighborhood2d, neighborhood3d) with
   * arguments known at compile time: every extent ≥ 1, then each axis's kernel, dilation
   * and kernel · dilation ≤ extent; the first problem is reported at its argument.
   */
  private gridChecks(
    name: string, extents: string[], labels: string[], arg: (n: string) => Expr | undefined, valueOf: (n: string) => Value,
  ): void {
    const sizes = extents.map((e) => num(valueOf(e)));
    if (sizes.every((v) => v !== undefined) && sizes.some((v) => v! < 1)) {
      const at = arg(extents[sizes.findIndex((v) => v! < 1)]!);
      const words = extents.length === 2 ? 'height and width' : 'depth, height and width';
      const found = sizes.length === 2 ? `${sizes[0]} and ${sizes[1]}` : `${sizes[0]}, ${sizes[1]} and ${sizes[2]}`;
      if (at) this.report('AT709', [name, `${words} must be at least 1, found ${found}`], at.span, [at]);
      return;
    }
    const perAxis = (n: string, dflt: number | undefined): { at: (k: number) => Expr | undefined; v: (k: number) => number | undefined } => {
      const a = arg(n);
      if (a?.kind === 'list') return { at: (k) => a.items[k], v: (k) => num(this.constant(a.items[k])) };
      const v = a ? num(valueOf(n)) : dflt;
      return { at: () => a, v: () => v };
    };
    const kernel = perAxis('kernel', undefined);
    const dilation = perAxis('dilation', 1);
    for (let k = 0; k < extents.length; k++) {
      const p = nattenAxisProblem(labels[k]!, sizes[k], kernel.v(k), dilation.v(k));
      if (!p) continue;
      const at = p.arg === 'dilation' ? dilation.at(k) : p.arg === 'kernel' ? kernel.at(k) : arg(extents[k]!);
      if (at) this.report('AT709', [name, p.detail], at.span, [at]);
      return;
    }
  }

  /** The value of an item already evaluated (a list item): evaluate quietly, without reporting twice. */
  private constant(e: Expr | undefined): Value {
    if (!e) return undefined;
    const quiet = new StaticEval(this.params, this.file);
    return quiet.expr(e);
  }
}

const num = (v: Value): number | undefined => (typeof v === 'number' ? v : undefined);

function childrenOf(e: Expr): Expr[] {
  switch (e.kind) {
    case 'unary': return [e.arg];
    case 'binary': return [e.lhs, e.rhs];
    case 'ternary': return [e.cond, e.then, e.else];
    case 'call': return e.args.map((a) => a.value);
    case 'index': return [e.target, ...e.indices];
    case 'list': return e.items;
    default: return [];
  }
}
