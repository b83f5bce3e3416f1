// The one evaluator of IR index and scalar expressions (`Expr`), in float64 with the
// language's exact int semantics, compiled once into a tree of JS closures and then called
// per element. The reference executor runs every mask, score and size through it; the
// simplify pass folds constants with it (compiler/scalar.ts); size expressions, dispatch
// grids and the WebGL schedule's host-side key ranges are evaluated by it (evalSize in
// compiler/kernel.ts).
//
// Semantics (spec §2–§3):
// - bools are JS booleans; ints and floats are JS numbers (float64).
// - int `add sub mul neg abs` are exact; a result outside the 32-bit range is an error
//   (AT710: programs must not rely on wrap-around). Ints never carry a negative zero.
// - int `div`/`mod` are floor division/modulo (Python: -3/2 == -2, -3%2 == 1); a zero
//   divisor is an error (AT306). Float `div` is IEEE; float `mod` is Python's floor-mod
//   (the result takes the divisor's sign; x % 0.0 is NaN).
// - `int(x)` truncates toward zero; a NaN, infinite or out-of-range x is an error (AT711).
// - `and`, `or` and `select` short-circuit.
// - `load` with an index outside the tensor is an error naming the tensor and index (AT707).
// - `alibi(h, heads)` is fairseq's get_slopes; h outside [0, heads) is an error (AT708).
// - `pattern` evaluates its expanded `body` (the expand-builtins pass must have run).
// Where an operand is `int` under a `float` operation it is promoted (exact); an IR whose
// types are otherwise inconsistent is rejected with an internal error.

import { children, type CallFn, type Expr } from './ir.js';
import type { IndexName } from '../dsl/builtins.js';
import type { Span } from '../dsl/ast.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import { roundToF16 } from '../dsl/f16.js';
import { alibiSlope, floatMod, floorDiv, floorMod } from '../dsl/semantics.js';
import { patternRule } from './pattern-rules.js';

/** A tensor as `load` reads it (runtime/tensor.ts's Tensor is one). */
export interface TensorValues {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** The index variables of one (b, h, i, j) entry, and `s` inside `score:`. */
export interface IndexEnv {
  b: number;
  h: number;
  hk: number;
  i: number;
  j: number;
  s: number;
}

export type Value = number | boolean;
export type NumFn = (env: IndexEnv) => number;
export type BoolFn = (env: IndexEnv) => boolean;
export type ValueFn = (env: IndexEnv) => Value;

export type TensorTable = ReadonlyMap<number, TensorValues> | readonly (TensorValues | undefined)[];

/** What an expression may read, and where errors should point. */
export interface ExprContext {
  /** Runtime dims (`dim` nodes). */
  dims: Readonly<Record<string, number>>;
  /** Tensor values by node id (`load` nodes). */
  tensors?: TensorTable;
  /** Display name of a tensor node id, for errors (default `%id`). */
  tensorName?: (id: number) => string;
  /**
   * Which of `b h hk i j s` are in scope: `size` none (shapes, `scale:`, sizes),
   * `mask` the index variables, `score` also `s`. Default `score`.
   */
  scope?: 'size' | 'mask' | 'score';
  /** The attend's query and key lengths (checked against NATTEN patterns). */
  lengths?: { N: number; M: number };
  /** Evaluate each pattern's spec rule beside its body and fail if they disagree. */
  checkPatterns?: boolean;
  /** Source span attached to runtime errors. */
  span?: Span;
  /**
   * Values of `var` nodes (introduced by kernel passes; absent from graph-level IR), read
   * each time the compiled closure runs.
   */
  vars?: Readonly<Record<string, Value>>;
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function internal(msg: string): never {
  throw new Error(`internal error in the reference executor: ${msg}`);
}

function show(e: Expr): string {
  return `\`${e.op}\`${e.op === 'call' ? ` ${e.fn}` : ''} (${e.ty})`;
}

function where(env: IndexEnv | undefined, scope: string): string | undefined {
  if (!env || scope === 'size') return undefined;
  return `at b = ${env.b}, h = ${env.h}, i = ${env.i}, j = ${env.j}`;
}

class Compiler {
  readonly scope: 'size' | 'mask' | 'score';
  constructor(readonly ctx: ExprContext) {
    this.scope = ctx.scope ?? 'score';
  }

  private get span(): Span | undefined {
    return this.ctx.span;
  }

  private overflow(what: string, v: number, env?: IndexEnv): never {
    throw new AttncError([diag('AT710', [`${what} = ${v}`], this.span, where(env, this.scope))]);
  }

  /** Wrap an int-valued closure with the 32-bit range check. */
  private checked(what: string, f: NumFn): NumFn {
    return (env) => {
      const v = f(env);
      if (v > INT_MAX || v < INT_MIN) this.overflow(what, v, env);
      return v;
    };
  }

  value(e: Expr): ValueFn {
    return e.ty === 'bool' ? this.bool(e) : this.num(e);
  }

  /** An int operand: ill-typed unless its type is int. */
  private int(e: Expr, parent: Expr): NumFn {
    if (e.ty !== 'int') internal(`${show(parent)} has an operand of type ${e.ty}; expected int`);
    return this.num(e);
  }

  /** A numeric operand (int or float). */
  private numeric(e: Expr, parent: Expr): NumFn {
    if (e.ty === 'bool') internal(`${show(parent)} has a bool operand; expected int or float`);
    return this.num(e);
  }

  private operand(e: Expr, parent: Expr): NumFn {
    return parent.ty === 'int' ? this.int(e, parent) : this.numeric(e, parent);
  }

  num(e: Expr): NumFn {
    if (e.ty === 'bool') internal(`${show(e)} used where a number is expected`);
    const isInt = e.ty === 'int';
    switch (e.op) {
      case 'const': {
        const v = e.value;
        if (typeof v !== 'number') internal(`a ${e.ty} constant holds ${JSON.stringify(v)}`);
        if (isInt && (!Number.isInteger(v) || v > INT_MAX || v < INT_MIN)) internal(`int constant ${v} is not a 32-bit int`);
        const c = isInt ? v + 0 : v;
        return () => c;
      }
      case 'index': {
        if (this.scope === 'size') internal(`index variable \`${e.name}\` outside \`mask:\`/\`score:\``);
        return indexReader(e.name);
      }
      case 'dim': {
        const v = this.ctx.dims[e.name];
        if (v === undefined) throw new AttncError([diag('AT705', [e.name], this.span)]);
        return () => v;
      }
      case 'score': {
        if (this.scope !== 'score') internal('`s` outside `score:`');
        if (isInt) internal('`s` typed int');
        return (env) => env.s;
      }
      case 'neg': {
        const a = this.operand(e.a, e);
        return isInt ? this.checked('-x', (env) => 0 - a(env)) : (env) => -a(env);
      }
      case 'not':
        return internal(`${show(e)}: \`not\` must be bool`);
      case 'add': case 'sub': case 'mul': case 'div': case 'mod':
        return isInt ? this.intArith(e.op, this.int(e.a, e), this.int(e.b, e)) : this.floatArith(e.op, this.numeric(e.a, e), this.numeric(e.b, e));
      case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge': case 'and': case 'or':
        return internal(`${show(e)}: a comparison or logical operator must be bool`);
      case 'select': {
        const c = this.bool(e.c);
        const a = this.operand(e.a, e);
        const b = this.operand(e.b, e);
        return (env) => (c(env) ? a(env) : b(env));
      }
      case 'call':
        return this.call(e.fn, e.args, e);
      case 'load':
        return this.load(e);
      case 'summary':
        return this.summary(e);
      case 'var': {
        // Read when the closure runs: a caller may rebind `vars` between calls (a tile map
        // evaluates one predicate over every tile).
        const v = this.variable(e.name);
        if (typeof v !== 'number' || (isInt && !Number.isInteger(v))) internal(`variable \`${e.name}\` (${e.ty}) is bound to ${v}`);
        const vars = this.ctx.vars!;
        const name = e.name;
        return () => vars[name] as number;
      }
    }
  }

  private intArith(op: 'add' | 'sub' | 'mul' | 'div' | 'mod', a: NumFn, b: NumFn): NumFn {
    const span = this.span;
    const scope = this.scope;
    switch (op) {
      case 'add':
        return this.checked('a + b', (env) => a(env) + b(env));
      case 'sub':
        return this.checked('a - b', (env) => a(env) - b(env));
      case 'mul':
        return this.checked('a * b', (env) => a(env) * b(env) + 0);
      case 'div':
        return this.checked('a / b', (env) => {
          const x = a(env);
          const y = b(env);
          if (y === 0) throw new AttncError([diag('AT306', [], span, where(env, scope))]);
          return floorDiv(x, y);
        });
      case 'mod':
        return (env) => {
          const x = a(env);
          const y = b(env);
          if (y === 0) throw new AttncError([diag('AT306', [], span, where(env, scope))]);
          return floorMod(x, y);
        };
    }
  }

  private floatArith(op: 'add' | 'sub' | 'mul' | 'div' | 'mod', a: NumFn, b: NumFn): NumFn {
    switch (op) {
      case 'add':
        return (env) => a(env) + b(env);
      case 'sub':
        return (env) => a(env) - b(env);
      case 'mul':
        return (env) => a(env) * b(env);
      case 'div':
        return (env) => a(env) / b(env);
      case 'mod':
        return (env) => floatMod(a(env), b(env));
    }
  }

  private call(fn: CallFn, args: Expr[], e: Expr): NumFn {
    const arity: Record<CallFn, number> = {
      abs: 1, min: 2, max: 2, clamp: 3, exp: 1, log: 1, tanh: 1, sqrt: 1, floor: 1, ceil: 1, float: 1, int: 1, f16: 1, alibi: 2,
    };
    if (args.length !== arity[fn]) internal(`\`${fn}\` called with ${args.length} arguments; expected ${arity[fn]}`);
    const isInt = e.ty === 'int';
    switch (fn) {
      case 'abs': {
        const x = this.operand(args[0]!, e);
        return isInt ? this.checked('abs(x)', (env) => Math.abs(x(env))) : (env) => Math.abs(x(env));
      }
      case 'min': {
        const [a, b] = [this.operand(args[0]!, e), this.operand(args[1]!, e)];
        return (env) => Math.min(a(env), b(env));
      }
      case 'max': {
        const [a, b] = [this.operand(args[0]!, e), this.operand(args[1]!, e)];
        return (env) => Math.max(a(env), b(env));
      }
      case 'clamp': {
        const [x, lo, hi] = [this.operand(args[0]!, e), this.operand(args[1]!, e), this.operand(args[2]!, e)];
        return (env) => Math.min(Math.max(x(env), lo(env)), hi(env));
      }
      case 'exp': case 'log': case 'tanh': case 'sqrt': case 'floor': case 'ceil': {
        if (isInt) internal(`\`${fn}\` typed int; it returns float`);
        const x = this.numeric(args[0]!, e);
        const f = Math[fn];
        return (env) => f(x(env));
      }
      case 'float': {
        if (isInt) internal('`float` typed int');
        return this.numeric(args[0]!, e);
      }
      case 'f16': {
        if (isInt) internal('`f16` typed int');
        const x = this.numeric(args[0]!, e);
        return (env) => roundToF16(x(env));
      }
      case 'int': {
        if (!isInt) internal('`int` typed float');
        const a = args[0]!;
        const x = this.numeric(a, e);
        if (a.ty === 'int') return x;
        const span = this.span;
        const scope = this.scope;
        return (env) => {
          const v = x(env);
          const t = Math.trunc(v);
          if (!Number.isFinite(t) || t > INT_MAX || t < INT_MIN) throw new AttncError([diag('AT711', [v], span, where(env, scope))]);
          return t + 0;
        };
      }
      case 'alibi': {
        if (isInt) internal('`alibi` typed int');
        const h = this.int(args[0]!, e);
        const n = this.int(args[1]!, e);
        const span = this.span;
        return (env) => alibiSlope(h(env), n(env), span);
      }
    }
  }

  private tensor(id: number): TensorValues {
    const tensors = this.ctx.tensors;
    const t = tensors === undefined ? undefined : tensors instanceof Map ? tensors.get(id) : (tensors as readonly (TensorValues | undefined)[])[id];
    if (!t) internal(`load of tensor %${id}, which has no value here`);
    return t;
  }

  /**
   * A block-summary bound (ir.ts `summary`) as the device computes it: the min or max over
   * every position of the blocks that meet the clamped range, the other indices clamped.
   */
  private summary(e: Extract<Expr, { op: 'summary' }>): NumFn {
    const t = this.tensor(e.tensor);
    const { shape, data } = t;
    if (e.idx.length !== shape.length || e.axis >= shape.length) internal(`summary of %${e.tensor} with ${e.idx.length} indices`);
    const idx = e.idx.map((x, a) => (a === e.axis ? () => 0 : this.int(x, e)));
    const [lo, hi] = [this.int(e.lo, e), this.int(e.hi, e)];
    const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, x) => p * x, 1));
    const n = shape[e.axis]!;
    const S = e.block;
    const clamp = (v: number, len: number) => Math.min(Math.max(v, 0), len - 1);
    const pick = e.fn === 'min' ? Math.min : Math.max;
    return (env) => {
      let base = 0;
      idx.forEach((f, a) => { if (a !== e.axis) base += clamp(f(env), shape[a]!) * strides[a]!; });
      const a0 = clamp(lo(env), n);
      const first = Math.floor(a0 / S) * S;
      const last = Math.min((Math.floor(Math.max(clamp(hi(env), n), a0) / S) + 1) * S, n) - 1;
      let v = data[base + first * strides[e.axis]!]!;
      for (let p = first + 1; p <= last; p++) v = pick(v, data[base + p * strides[e.axis]!]!);
      return v;
    };
  }

  private load(e: Extract<Expr, { op: 'load' }>): NumFn {
    const t = this.tensor(e.tensor);
    const name = this.ctx.tensorName?.(e.tensor) ?? `%${e.tensor}`;
    const shape = t.shape;
    const rank = shape.length;
    if (e.idx.length !== rank) throw new AttncError([diag('AT401', [name, e.idx.length, rank], this.span)]);
    const idx = e.idx.map((x) => this.int(x, e));
    const st = new Array<number>(rank);
    for (let k = rank - 1, s = 1; k >= 0; k--) {
      st[k] = s;
      s *= shape[k]!;
    }
    const data = t.data;
    const span = this.span;
    const scope = this.scope;
    const isIntData = data instanceof Int32Array;
    if (e.ty === 'bool') internal('a load typed bool');
    const wantInt = e.ty === 'int';
    const outOfRange = (env: IndexEnv): never => {
      const vals = idx.map((f) => f(env));
      throw new AttncError([diag('AT707', [name, vals.join(', '), shape.join(', ')], span, where(env, scope))]);
    };
    const finish = (v: number): number => {
      if (wantInt && !isIntData) {
        if (!Number.isInteger(v)) internal(`int load of \`${name}\` found the non-integer ${v}`);
        return v + 0;
      }
      return v;
    };
    if (rank === 1) {
      const [f0] = idx as [NumFn];
      const [d0] = shape as [number];
      return (env) => {
        const a = f0(env);
        if (a < 0 || a >= d0) outOfRange(env);
        return finish(data[a]!);
      };
    }
    if (rank === 2) {
      const [f0, f1] = idx as [NumFn, NumFn];
      const [d0, d1] = shape as [number, number];
      return (env) => {
        const a = f0(env);
        const b = f1(env);
        if (a < 0 || a >= d0 || b < 0 || b >= d1) outOfRange(env);
        return finish(data[a * d1 + b]!);
      };
    }
    if (rank === 3) {
      const [f0, f1, f2] = idx as [NumFn, NumFn, NumFn];
      const [d0, d1, d2] = shape as [number, number, number];
      return (env) => {
        const a = f0(env);
        const b = f1(env);
        const c = f2(env);
        if (a < 0 || a >= d0 || b < 0 || b >= d1 || c < 0 || c >= d2) outOfRange(env);
        return finish(data[(a * d1 + b) * d2 + c]!);
      };
    }
    return (env) => {
      let off = 0;
      for (let k = 0; k < rank; k++) {
        const v = idx[k]!(env);
        if (v < 0 || v >= shape[k]!) outOfRange(env);
        off += v * st[k]!;
      }
      return finish(data[off]!);
    };
  }

  bool(e: Expr): BoolFn {
    if (e.ty !== 'bool') internal(`${show(e)} used where a bool is expected`);
    switch (e.op) {
      case 'const': {
        const v = e.value;
        if (typeof v !== 'boolean') internal(`a bool constant holds ${JSON.stringify(v)}`);
        return () => v;
      }
      case 'not': {
        const a = this.bool(e.a);
        return (env) => !a(env);
      }
      case 'and': {
        const [a, b] = [this.bool(e.a), this.bool(e.b)];
        return (env) => a(env) && b(env);
      }
      case 'or': {
        const [a, b] = [this.bool(e.a), this.bool(e.b)];
        return (env) => a(env) || b(env);
      }
      case 'eq': case 'ne': {
        if (e.a.ty === 'bool' || e.b.ty === 'bool') {
          if (e.a.ty !== e.b.ty) internal(`\`${e.op}\` compares ${e.a.ty} with ${e.b.ty}`);
          const [a, b] = [this.bool(e.a), this.bool(e.b)];
          return e.op === 'eq' ? (env) => a(env) === b(env) : (env) => a(env) !== b(env);
        }
        const [a, b] = [this.numeric(e.a, e), this.numeric(e.b, e)];
        return e.op === 'eq' ? (env) => a(env) === b(env) : (env) => a(env) !== b(env);
      }
      case 'lt': case 'le': case 'gt': case 'ge':
        return compare(e.op, this.numeric(e.a, e), this.numeric(e.b, e));
      case 'select': {
        const c = this.bool(e.c);
        const a = this.bool(e.a);
        const b = this.bool(e.b);
        return (env) => (c(env) ? a(env) : b(env));
      }
      case 'var': {
        const v = this.variable(e.name);
        if (typeof v !== 'boolean') internal(`variable \`${e.name}\` (bool) is bound to ${v}`);
        return () => v;
      }
      case 'pattern': {
        if (!e.body) {
          throw new Error(
            `internal error in the reference executor: pattern \`${e.origin.name}\` has no body; the expand-builtins pass must run before the reference executor`,
          );
        }
        if (this.scope === 'size') internal(`pattern \`${e.origin.name}\` outside \`mask:\``);
        const body = this.bool(e.body);
        // Check the arguments (NATTEN's constraints) even when not cross-checking.
        const rule = patternRule(e.origin, (x) => this.size(x), this.ctx.lengths, this.span);
        if (!this.ctx.checkPatterns) return body;
        const name = e.origin.name;
        return (env) => {
          const v = body(env);
          if (v !== rule(env.i, env.j)) {
            internal(`the body of pattern \`${name}\` gives ${v} at i = ${env.i}, j = ${env.j} but the spec's rule gives ${!v}`);
          }
          return v;
        };
      }
      default:
        return internal(`${show(e)} typed bool`);
    }
  }

  private variable(name: string): Value {
    const v = this.ctx.vars?.[name];
    if (v === undefined) internal(`variable \`${name}\` (introduced by a kernel pass) has no value here`);
    return v;
  }

  /** Evaluate a size expression (no index variables) now. */
  size(e: Expr): number {
    if (e.ty !== 'int') internal(`size expression typed ${e.ty}`);
    const f = new Compiler({ ...this.ctx, scope: 'size' }).num(e);
    return f(NO_INDEX);
  }
}

const NO_INDEX: IndexEnv = Object.freeze({ b: NaN, h: NaN, hk: NaN, i: NaN, j: NaN, s: NaN });

function compare(op: 'lt' | 'le' | 'gt' | 'ge', a: NumFn, b: NumFn): BoolFn {
  switch (op) {
    case 'lt': return (env) => a(env) < b(env);
    case 'le': return (env) => a(env) <= b(env);
    case 'gt': return (env) => a(env) > b(env);
    case 'ge': return (env) => a(env) >= b(env);
  }
}

function indexReader(name: IndexName): NumFn {
  switch (name) {
    case 'b': return (env) => env.b;
    case 'h': return (env) => env.h;
    case 'hk': return (env) => env.hk;
    case 'i': return (env) => env.i;
    case 'j': return (env) => env.j;
  }
}

/** Compile an expression of any type into a closure over the index variables. */
export function compileExpr(e: Expr, ctx: ExprContext): ValueFn {
  return new Compiler(ctx).value(e);
}

/** Compile an int or float expression. */
export function compileNumber(e: Expr, ctx: ExprContext): NumFn {
  return new Compiler(ctx).num(e);
}

/** Compile a bool expression. */
export function compileBool(e: Expr, ctx: ExprContext): BoolFn {
  return new Compiler(ctx).bool(e);
}

/** The environment of a one-off evaluation: index variables present are in scope. */
export interface EvalEnv extends Partial<IndexEnv> {
  dims?: Readonly<Record<string, number>>;
  tensors?: TensorTable;
  tensorName?: (id: number) => string;
  checkPatterns?: boolean;
  vars?: Readonly<Record<string, Value>>;
}

/**
 * Evaluate an expression once (convenient for tests and sizes; compile with
 * `compileExpr` for per-element use). Scope: `score` when `s` is given, else `mask` when
 * any index variable is given, else `size`.
 */
export function evalExpr(e: Expr, env: EvalEnv = {}): Value {
  const hasIndex = env.b !== undefined || env.h !== undefined || env.hk !== undefined || env.i !== undefined || env.j !== undefined;
  const scope = env.s !== undefined ? 'score' : hasIndex ? 'mask' : 'size';
  const missing = new Set<string>();
  (function walk(x: Expr): void {
    if (x.op === 'index' && env[x.name] === undefined) missing.add(x.name);
    if (x.op === 'score' && env.s === undefined) missing.add('s');
    for (const c of children(x)) walk(c);
  })(e);
  if (missing.size > 0 && scope !== 'size') {
    throw new Error(`evalExpr: the expression reads ${[...missing].map((m) => `\`${m}\``).join(', ')}, which the environment does not give`);
  }
  const f = compileExpr(e, {
    dims: env.dims ?? {},
    tensors: env.tensors,
    tensorName: env.tensorName,
    checkPatterns: env.checkPatterns,
    vars: env.vars,
    scope,
  });
  return f({ b: env.b ?? NaN, h: env.h ?? NaN, hk: env.hk ?? NaN, i: env.i ?? NaN, j: env.j ?? NaN, s: env.s ?? NaN });
}

/** Evaluate an int size expression over dims (and pass-introduced variables such as `q_lo`). */
export function evalSizeExpr(e: Expr, dims: Readonly<Record<string, number>>, span?: Span, vars?: Readonly<Record<string, Value>>): number {
  return new Compiler({ dims, scope: 'size', span, vars }).size(e);
}
