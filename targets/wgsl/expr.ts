// Index expressions (graph IR `Expr`) → WGSL.
//
// - ints are i32, floats f32, bools bool; every operator application is parenthesised
//   (WGSL forbids mixing `&&` and `||` without parentheses, and it keeps the output plain).
// - `/` and `%` on ints are floor division/modulo in the language; WGSL truncates. When
//   both operands are provably non-negative (index vars, dims, non-negative constants and
//   sums/products/quotients of those) truncation is floor and the plain operator is used;
//   otherwise the helpers `floor_div_i32`/`floor_mod_i32` are emitted and called.
// - `%` on floats is floor-mod (`floor_mod_f32`); `int()` truncates (WGSL `i32(f32)` does).
// - `tanh` is evaluated on a clamped argument (some drivers return NaN for large |x|).
// - Constant subtrees are folded here with the language's exact semantics (compiler/scalar),
//   so WGSL never const-evaluates something like `log(0.0)` (a shader-creation error);
//   ±inf become ±3e38, which the kernels treat like masked scores (≤ −1e30).
// - `load` asks the environment (the kernel renderer knows the bindings); `pattern`
//   renders its expanded body.

import type { Expr } from '../../compiler/ir.js';
import { foldConst, isConstTree } from '../../compiler/scalar.js';
import type { IndexName } from '../../dsl/builtins.js';

export type Helper = 'floor_div_i32' | 'floor_mod_i32' | 'floor_mod_f32' | 'alibi_slope' | 'nan_f32' | 'round_f16';

export const HELPER_SOURCE: Record<Helper, string> = {
  floor_div_i32: [
    '// Floor division of i32 (the language\'s `/` on ints; WGSL truncates).',
    'fn floor_div_i32(a: i32, b: i32) -> i32 {',
    '  let q = a / b;',
    '  if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; }',
    '  return q;',
    '}',
  ].join('\n'),
  floor_mod_i32: [
    '// Floor modulo of i32 (the result has the sign of the divisor, as in Python).',
    'fn floor_mod_i32(a: i32, b: i32) -> i32 {',
    '  let r = a % b;',
    '  if ((r != 0) && ((r < 0) != (b < 0))) { return r + b; }',
    '  return r;',
    '}',
  ].join('\n'),
  floor_mod_f32: [
    '// Floor modulo of f32.',
    'fn floor_mod_f32(a: f32, b: f32) -> f32 {',
    '  return a - b * floor(a / b);',
    '}',
  ].join('\n'),
  nan_f32: [
    '// A quiet NaN at run time. WGSL has no NaN constant (a NaN const-expression is a',
    '// shader-creation error); a `let` is not a const-expression, so z / z is evaluated.',
    'fn nan_f32() -> f32 {',
    '  let z = 0.0f;',
    '  return z / z;',
    '}',
  ].join('\n'),
  round_f16: [
    '// f16(x): the nearest f16 value, as an f32 (ties to even; from 65520 up ±inf; NaN as it',
    '// is), on the bits, so every device rounds alike (no shader-f16 needed). Normal f16',
    '// (|x| ≥ 2^-14): the 13 dropped mantissa bits round to nearest even; subnormal f16:',
    '// multiples of 2^-24, by round() (ties to even) of the exactly scaled magnitude.',
    'fn round_f16(x: f32) -> f32 {',
    '  let b = bitcast<u32>(x);',
    '  let a = b & 0x7fffffffu;',
    '  let s = b & 0x80000000u;',
    '  if (a >= 0x7f800000u) { return x; }',
    '  if (a >= 0x477ff000u) { return bitcast<f32>(s | 0x7f800000u); }',
    '  if (a >= 0x38800000u) { return bitcast<f32>(s | ((a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u)); }',
    '  return bitcast<f32>(s | bitcast<u32>(round(bitcast<f32>(a) * 16777216.0f) * 5.9604644775390625e-8f));',
    '}',
  ].join('\n'),
  alibi_slope: [
    '// ALiBi slope of head h out of n heads (fairseq get_slopes): with m the largest power',
    '// of two <= n, heads below m get 2^(-8(h+1)/m), the rest the even-indexed slopes of the',
    '// 2m-head set, 2^(-4(2(h-m)+1)/m).',
    'fn alibi_slope(h: i32, n: i32) -> f32 {',
    '  let m = 1 << firstLeadingBit(u32(max(n, 1)));',
    '  if (h < m) { return exp2(-8.0 * f32(h + 1) / f32(m)); }',
    '  return exp2(-4.0 * f32(2 * (h - m) + 1) / f32(m));',
    '}',
  ].join('\n'),
};

/** What an expression may refer to, provided by the kernel being rendered. */
export interface ExprEnv {
  /** WGSL expression of an index variable (b, h, hk, i, j). */
  index(name: IndexName): string;
  /** WGSL expression of `s` (score only). */
  score(): string;
  /** WGSL expression of a runtime dim (a uniform field, or a specialised constant). */
  dim(name: string): string;
  /** WGSL expression of a pass-introduced variable (tile bounds `q_lo`, `k_hi`, …). */
  variable?(name: string): string;
  /** A tensor element; `idx` are rendered i32 indices (clamp them). */
  load(tensor: number, idx: string[]): string;
  /** A block-summary bound (ir.ts `summary`); `idx` rendered (the axis's entry unused), `lo`/`hi` too. */
  summary?(e: Extract<Expr, { op: 'summary' }>, idx: string[], lo: string, hi: string): string;
  /** Collects the helper functions the rendered code calls. */
  helpers: Set<string>;
}

/** Tile bounds introduced by the mask analysis: indices, hence non-negative. */
const TILE_BOUNDS = new Set(['q_lo', 'q_hi', 'k_lo', 'k_hi']);

/** Finite stand-in for ±inf in f32 source (treated as masked when ≤ −1e30). */
export const F32_BIG = 3.0e38;

/**
 * A finite f32 literal (±inf as ±3e38). A NaN has no literal in WGSL (a NaN
 * const-expression, even `bitcast<f32>(0x7fc00000u)`, is a shader-creation error):
 * `floatConst` renders it as a call of the `nan_f32` helper.
 */
export function floatLiteral(v: number): string {
  if (Number.isNaN(v)) throw new Error('internal: a NaN has no WGSL literal (render it with floatConst)');
  if (!Number.isFinite(v) || Math.abs(v) > 3.4e38) return v > 0 ? '3.0e38f' : '(-3.0e38f)';
  if (Math.abs(v) < 1e-37) return '0.0f';
  let s = String(v);
  if (!/[.e]/.test(s)) s += '.0';
  return v < 0 ? `(${s}f)` : `${s}f`;
}

/** A float constant in an expression: its literal, or `nan_f32()` for a NaN (never a number). */
function floatConst(v: number, env: ExprEnv): string {
  if (!Number.isNaN(v)) return floatLiteral(v);
  env.helpers.add('nan_f32');
  return 'nan_f32()';
}

export function intLiteral(v: number): string {
  const x = v | 0;
  if (x === -2147483648) return 'i32(-2147483647 - 1)';
  return x < 0 ? `(${x}i)` : `${x}i`;
}


/**
 * Constant-sign reasoning: true when `e` is certainly ≥ 0 (index variables, dims and
 * non-negative constants are; sums, products, quotients and remainders of non-negatives
 * stay so).
 */
export function nonNegative(e: Expr): boolean {
  switch (e.op) {
    case 'const': return typeof e.value === 'number' && e.value >= 0;
    case 'index': case 'dim': return true;
    case 'var': return TILE_BOUNDS.has(e.name);
    case 'add': case 'mul': case 'div': case 'mod': return nonNegative(e.a) && nonNegative(e.b);
    case 'select': return nonNegative(e.a) && nonNegative(e.b);
    case 'pattern': return false;
    case 'call':
      switch (e.fn) {
        case 'abs': case 'exp': case 'sqrt': case 'alibi': return true;
        case 'min': return e.args.every(nonNegative);
        case 'max': return e.args.some(nonNegative);
        case 'clamp': return nonNegative(e.args[1]!) && nonNegative(e.args[2]!);
        case 'float': case 'int': case 'floor': case 'ceil': return nonNegative(e.args[0]!);
        default: return false;
      }
    default: return false;
  }
}

const BINARY: Record<string, string> = {
  add: '+', sub: '-', mul: '*', eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', and: '&&', or: '||',
};

export function renderExpr(e: Expr, env: ExprEnv): string {
  if (e.op !== 'const' && isConstTree(e)) {
    const v = foldConst(e);
    return typeof v === 'boolean' ? String(v) : e.ty === 'int' ? intLiteral(v) : floatConst(v, env);
  }
  const r = (x: Expr) => renderExpr(x, env);
  switch (e.op) {
    case 'const':
      if (typeof e.value === 'boolean') return String(e.value);
      return e.ty === 'int' ? intLiteral(e.value) : floatConst(e.value, env);
    case 'index': return env.index(e.name);
    case 'dim': return env.dim(e.name);
    case 'var':
      if (!env.variable) throw new Error(`internal: variable ${e.name} outside a tiled kernel`);
      return env.variable(e.name);
    case 'score': return env.score();
    case 'neg': return `(-${r(e.a)})`;
    case 'not': return `(!${r(e.a)})`;
    case 'select': return `select(${r(e.b)}, ${r(e.a)}, ${r(e.c)})`;
    case 'load': return env.load(e.tensor, e.idx.map(r));
    case 'summary':
      if (!env.summary) throw new Error('internal: a block-summary bound outside an attention kernel');
      return env.summary(e, e.idx.map(r), r(e.lo), r(e.hi));
    case 'pattern':
      if (!e.body) throw new Error(`internal: pattern ${e.origin.name} reached the WGSL renderer unexpanded (run expand-builtins)`);
      return r(e.body);
    case 'call': return renderCall(e, env);
    case 'div':
      if (e.ty === 'float') return `(${r(e.a)} / ${r(e.b)})`;
      if (nonNegative(e.a) && nonNegative(e.b)) return `(${r(e.a)} / ${r(e.b)})`;
      env.helpers.add('floor_div_i32');
      return `floor_div_i32(${r(e.a)}, ${r(e.b)})`;
    case 'mod':
      if (e.ty === 'float') {
        env.helpers.add('floor_mod_f32');
        return `floor_mod_f32(${r(e.a)}, ${r(e.b)})`;
      }
      if (nonNegative(e.a) && nonNegative(e.b)) return `(${r(e.a)} % ${r(e.b)})`;
      env.helpers.add('floor_mod_i32');
      return `floor_mod_i32(${r(e.a)}, ${r(e.b)})`;
    default: {
      const sym = BINARY[e.op];
      if (!sym) throw new Error(`internal: no WGSL operator for ${e.op}`);
      return `(${r(e.a)} ${sym} ${r(e.b)})`;
    }
  }
}

function renderCall(e: Extract<Expr, { op: 'call' }>, env: ExprEnv): string {
  const a = e.args.map((x) => renderExpr(x, env));
  switch (e.fn) {
    case 'clamp': {
      // The language's clamp(x, lo, hi) is min(max(x, lo), hi), lo > hi included. WGSL's
      // clamp with constant lo > hi is a shader-creation error, and for floats with lo > hi
      // at run time it may give the median instead: spelled out there.
      const [lo, hi] = [e.args[1]!, e.args[2]!];
      const inverted = isConstTree(lo) && isConstTree(hi) && (foldConst(lo) as number) > (foldConst(hi) as number);
      if (e.ty === 'float' || inverted) return `min(max(${a[0]}, ${a[1]}), ${a[2]})`;
      return `clamp(${a.join(', ')})`;
    }
    case 'abs': case 'min': case 'max':
    case 'exp': case 'log': case 'sqrt': case 'floor': case 'ceil':
      return `${e.fn}(${a.join(', ')})`;
    case 'tanh':
      return `tanh(clamp(${a[0]}, -15.0f, 15.0f))`;
    case 'float':
      return e.args[0]!.ty === 'float' ? a[0]! : `f32(${a[0]})`;
    case 'int':
      return e.args[0]!.ty === 'int' ? a[0]! : `i32(${a[0]})`;
    case 'alibi':
      env.helpers.add('alibi_slope');
      return `alibi_slope(${a[0]}, ${a[1]})`;
    case 'f16':
      env.helpers.add('round_f16');
      return `round_f16(${a[0]})`;
  }
}

/**
 * Row-major linear index of a clamped multi-index: each index is clamped into
 * `[0, extent − 1]` (the spec lets kernels clamp out-of-range lookups).
 */
export function clampedLinearIndex(idx: string[], extents: string[]): string {
  let out = '';
  idx.forEach((x, k) => {
    const ext = extents[k]!;
    const hi = /^\d+i$/.test(ext) ? `${Number(ext.slice(0, -1)) - 1}i` : `(${ext} - 1i)`;
    const c = `clamp(${x}, 0i, ${hi})`;
    out = k === 0 ? c : `(${out} * ${ext} + ${c})`;
  });
  return out || '0i';
}
