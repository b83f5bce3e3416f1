// Index expressions (graph IR `Expr`) → the JavaScript subset gpu.js translates to GLSL.
//
// gpu.js kernels are JS functions that gpu.js parses and transpiles to a GLSL ES fragment
// shader (WebGL 1) or GLSL ES 3.00 (WebGL 2). In WebGL 1 every number is a float, so the
// language's three scalar types map as follows:
// - `int`   → a float holding an exact integer (exact up to 2^24; the runtime rejects
//   tensors whose flat indices could exceed that). `+ - *` on such floats are exact.
//   `/` and `%` are FLOOR division/modulo (spec §2): rendered through the GLSL helpers
//   `attnc_idiv`/`attnc_imod`, which correct `floor(a / b)` by the remainder, so a GPU
//   whose division is `a * (1 / b)` (off by an ulp) still gets the exact quotient.
// - `float` → float (f32). `%` on floats is floor-mod (`attnc_fmod`).
// - `bool`  → GLSL bool; `&&`, `||` and `?:` short-circuit in GLSL as in the language.
// - `int(x)` truncates toward zero (`attnc_trunc`); `float(x)` is the identity.
// - `tanh` is `attnc_tanh` (GLSL ES 1.00 has none and gpu.js's overflows for |x| > 44);
//   `log` is `attnc_log`, which gives the masked stand-in −3e38 for log(0) (GLSL: undefined).
// - `alibi(h, n)`: the slope formula on the device, with the largest power of two ≤ n
//   computed on the host when n is a size expression (always, in practice).
// - Constant subtrees are folded on the host with the language's exact semantics
//   (compiler/scalar.ts); ±inf become ±3e38, which kernels treat as masked (≤ −1e30).
// - `load` asks the kernel environment (it knows the tensor's shape and clamps indices);
//   `pattern` renders its expanded body; `var` renders its name.

import type { CallFn, Expr } from '../../compiler/ir.js';
import { foldConst, isConstTree } from '../../compiler/scalar.js';
import type { IndexName } from '../../dsl/builtins.js';

/** GLSL helper functions the rendered code may call (gpu.js "native functions"). */
export type Helper = ScalarHelper | VecHelper;

type ScalarHelper =
  | 'attnc_idiv' | 'attnc_imod' | 'attnc_fmod' | 'attnc_trunc' | 'attnc_tanh' | 'attnc_log' | 'attnc_alibi' | 'attnc_alibi_n'
  | 'attnc_index' | 'attnc_lse' | 'attnc_f16';

/** The helpers on RGBA texels of the packed attention kernels (targets/webgl/packed.ts). */
type VecHelper =
  | 'attnc_ld' | 'attnc_ldf' | 'attnc_dot' | 'attnc_max4' | 'attnc_sumexp4' | 'attnc_prob4' | 'attnc_mad4' | 'attnc_axpy' | 'attnc_div4'
  | 'attnc_lane';

/** A helper as gpu.js takes it: its GLSL and, where gpu.js cannot parse them, its types. */
export interface NativeHelper {
  name: Helper;
  source: string;
  argumentTypes?: Record<string, string>;
  returnType?: string;
}

/**
 * The GLSL of every helper for a WebGL version: GLSL ES 1.00 (WebGL 1), else 3.00. Only
 * the texel reads `attnc_ld`, `attnc_ldf` (`texelFetch` exists in 3.00 only) and
 * `attnc_lse` (−inf as a bit cast in 3.00) differ;
 * gpu.js cannot parse a sampler parameter, so they get their types given, and gpu.js passes
 * a texture argument as the sampler, its size and its dims.
 */
export function helperSource(h: Helper, version: 1 | 2): NativeHelper {
  if (h === 'attnc_lse' && version === 2) {
    // GLSL ES 3.00 spells −inf exactly; 1.00 has no bit casts (HELPER_SOURCE divides by +0).
    return { name: h, source: 'float attnc_lse(float m, float l) { return l > 0.0 ? m + log(l) : uintBitsToFloat(0xff800000u); }' };
  }
  if (h !== 'attnc_ld' && h !== 'attnc_ldf') return { name: h, source: HELPER_SOURCE[h] };
  const fetch = version === 2 ? '  return texelFetch(t, ivec2(int(x), int(y)), 0);' : '  return texture2D(t, (vec2(x, y) + 0.5) / vec2(size));';
  const texel = h === 'attnc_ld'
    // Row `row`, texel `c` of a packed texture of one row per texel row (PackedLayout).
    ? ['vec4 attnc_ld(sampler2D t, ivec2 size, ivec3 dim, float y, float x) {', fetch, '}']
    // The same with `f` rows (a power of two: the division is exact) of `w` texels side
    // by side per texel row.
    : [
        'vec4 attnc_ldf(sampler2D t, ivec2 size, ivec3 dim, float row, float c, float w, float f) {',
        '  float y = floor(row / f);',
        '  float x = (row - y * f) * w + c;',
        fetch,
        '}',
      ];
  const argumentTypes: Record<string, string> = h === 'attnc_ld'
    ? { t: 'ArrayTexture(4)', y: 'Float', x: 'Float' }
    : { t: 'ArrayTexture(4)', row: 'Float', c: 'Float', w: 'Float', f: 'Float' };
  return { name: h, source: texel.join('\n'), argumentTypes, returnType: 'Array(4)' };
}

/** The helpers a kernel's source calls. */
export function helpersIn(source: string): Helper[] {
  return [...new Set([...source.matchAll(/\b(attnc_\w+)\(/g)].map((m) => m[1]!))].filter((h): h is Helper => h in HELPER_SOURCE);
}

/**
 * GLSL ES 1.00 source of each helper (valid GLSL ES 3.00 too; the texel reads are
 * `helperSource`'s). Every helper is self-contained: gpu.js pastes native functions in an
 * order it chooses.
 */
export const HELPER_SOURCE: Record<Helper, string> = {
  attnc_ld: '',
  attnc_ldf: '',
  attnc_dot: 'float attnc_dot(vec4 a, vec4 b) { return dot(a, b); }',
  attnc_max4: 'float attnc_max4(vec4 s) { return max(max(s.x, s.y), max(s.z, s.w)); }',
  // Σ exp(s − m) over the allowed lanes (a masked score is −3e38: step gives 0, even
  // when m is −3e38 too, in a row with no allowed score).
  attnc_sumexp4: 'float attnc_sumexp4(vec4 s, float m) { return dot(exp(s - m) * step(-1.0e30, s), vec4(1.0)); }',
  // The softmax weights of four scores from their row's max and 1 / Σexp (0: no allowed score).
  attnc_prob4: 'vec4 attnc_prob4(vec4 s, float m, float inv) { return exp(s - m) * step(-1.0e30, s) * inv; }',
  // acc + Σ_t p[t] · v_t: four keys' weights times their value texels.
  attnc_mad4: 'vec4 attnc_mad4(vec4 acc, vec4 p, vec4 a, vec4 b, vec4 c, vec4 d) { return acc + p.x * a + p.y * b + p.z * c + p.w * d; }',
  attnc_axpy: 'vec4 attnc_axpy(vec4 acc, float r, vec4 v, float p) { return acc * r + v * p; }',
  attnc_div4: 'vec4 attnc_div4(vec4 acc, float l) { return l > 0.0 ? acc / l : vec4(0.0); }',
  // Lane k (0 … 3, a float) of a texel: GLSL ES 1.00 indexes vectors by constants only.
  attnc_lane: 'float attnc_lane(vec4 v, float k) { return k < 0.5 ? v.x : (k < 1.5 ? v.y : (k < 2.5 ? v.z : v.w)); }',
  // A lookup index clamped into [0, n − 1], in float: gpu.js types `Math.max(x, 0)` of a
  // float x with an int literal, which GLSL ES 1.00 has no overload for.
  attnc_index: 'float attnc_index(float x, float n) { return min(max(x, 0.0), n - 1.0); }',
  // The log-sum-exp of a row from its max m and Σ exp(x − m) = l; −inf (−1 / +0: GLSL ES
  // 1.00 has no literal for it) for a row with no allowed score.
  attnc_lse: 'float attnc_lse(float m, float l) { float z = abs(l) * 0.0; return l > 0.0 ? m + log(l) : -1.0 / z; }',
  // f16(x): the nearest f16 value (ties to even; from 65520 up ±inf, by overflowing f32;
  // NaN as it is), in arithmetic (GLSL ES 1.00 has no bit casts): the f16 quantum of |x| is
  // 2^(e − 10) for its exponent e (log2, corrected by exp2 of whole numbers, which are
  // exact), at least 2^-24 (subnormals); |x| / quantum is exact and rounds half to even.
  attnc_f16: [
    'float attnc_f16(float x) {',
    '  float a = abs(x);',
    '  if (!(a < 65520.0)) { return x * 1.0e30 * 1.0e30; }',
    '  if (a == 0.0) { return x * 0.0; } // f32 subnormals may compare equal to 0: ±0 (the sign of −0 may be folded away)',
    '  float e = max(floor(log2(a)), -14.0);',
    '  if (exp2(e) > a) { e -= 1.0; } else if (exp2(e + 1.0) <= a) { e += 1.0; }',
    '  float q = exp2(max(e, -14.0) - 10.0);',
    '  float m = a / q;',
    '  float r = floor(m);',
    '  float d = m - r;',
    '  if (d > 0.5 || (d == 0.5 && mod(r, 2.0) == 1.0)) { r += 1.0; }',
    '  return x < 0.0 ? -(r * q) : r * q;',
    '}',
  ].join('\n'),
  attnc_idiv: [
    'float attnc_idiv(float a, float b) {',
    '  if (b < 0.0) { a = -a; b = -b; }',
    '  float q = floor(a / b);',
    '  float r = a - q * b;',
    '  if (r < 0.0) { q -= 1.0; } else if (r >= b) { q += 1.0; }',
    '  return q;',
    '}',
  ].join('\n'),
  attnc_imod: [
    'float attnc_imod(float a, float b) {',
    '  float x = a;',
    '  float y = b;',
    '  if (y < 0.0) { x = -x; y = -y; }',
    '  float q = floor(x / y);',
    '  float r = x - q * y;',
    '  if (r < 0.0) { q -= 1.0; } else if (r >= y) { q += 1.0; }',
    '  return a - b * q;',
    '}',
  ].join('\n'),
  // Floor-mod of floats: the remainder has the divisor's sign. A quotient off by one (an
  // inexact a / b) is corrected, so e.g. -5.0 % 2.5 is exactly 0 everywhere.
  attnc_fmod: [
    'float attnc_fmod(float a, float b) {',
    '  float r = a - b * floor(a / b);',
    '  if (b > 0.0) {',
    '    if (r >= b) { r -= b; } else if (r < 0.0) { r += b; }',
    '  } else if (b < 0.0) {',
    '    if (r <= b) { r -= b; } else if (r > 0.0) { r += b; }',
    '  }',
    '  return r;',
    '}',
  ].join('\n'),
  attnc_trunc: [
    'float attnc_trunc(float x) {',
    '  return x < 0.0 ? ceil(x) : floor(x);',
    '}',
  ].join('\n'),
  // log(0) is -inf in the language (an allowed entry scored -inf counts as masked); GLSL
  // leaves it undefined, so return the masked stand-in -3e38 explicitly.
  attnc_log: [
    'float attnc_log(float x) {',
    '  return x == 0.0 ? -3.0e38 : log(x);',
    '}',
  ].join('\n'),
  attnc_tanh: [
    'float attnc_tanh(float x) {',
    '  float t = exp(-2.0 * abs(x));',
    '  float r = (1.0 - t) / (1.0 + t);',
    '  return x < 0.0 ? -r : r;',
    '}',
  ].join('\n'),
  // ALiBi slope of head h, with m the largest power of two <= the head count (fairseq
  // get_slopes): heads below m get 2^(-8(h+1)/m), the rest the even-indexed slopes of the
  // 2m-head set, 2^(-4(2(h-m)+1)/m).
  attnc_alibi: [
    'float attnc_alibi(float h, float m) {',
    '  if (h < m) { return exp2(-8.0 * (h + 1.0) / m); }',
    '  return exp2(-4.0 * (2.0 * (h - m) + 1.0) / m);',
    '}',
  ].join('\n'),
  // The same when the head count is only known on the device.
  attnc_alibi_n: [
    'float attnc_alibi_n(float h, float n) {',
    '  float m = exp2(floor(log2(max(n, 1.0)) + 0.0001));',
    '  if (m > n) { m = m * 0.5; }',
    '  if (m * 2.0 <= n) { m = m * 2.0; }',
    '  if (h < m) { return exp2(-8.0 * (h + 1.0) / m); }',
    '  return exp2(-4.0 * (2.0 * (h - m) + 1.0) / m);',
    '}',
  ].join('\n'),
};

/** What an expression may refer to, provided by the kernel being rendered. */
export interface ExprEnv {
  /** JS expression of an index variable (b, h, hk, i, j). */
  index(name: IndexName): string;
  /** JS expression of `s` (score only). */
  score(): string;
  /** JS expression of a runtime dim (e.g. `this.constants.dim_N`). */
  dim(name: string): string;
  /** A tensor element; `idx` are rendered int indices (the environment clamps them). */
  load(tensor: number, idx: string[], raw: Expr[]): string;
  /** A variable introduced by a pass (default: its name). */
  variable?(name: string): string;
  /** Host value of a size expression (dims and constants), or undefined if not evaluable. */
  hostSize?(e: Expr): number | undefined;
  /** Collects the helper functions the rendered code calls. */
  helpers: Set<Helper>;
}

/** Finite stand-in for ±inf in f32 source (kernels treat ≤ −1e30 as masked). */
export const F32_BIG = 3.0e38;
/** Scores at or below this count as masked (spec §2: kernels may treat ≤ −1e30 as −inf). */
export const MASKED_BELOW = -1.0e30;

/** A float literal gpu.js parses as a number (always finite). */
export function floatLiteral(v: number): string {
  if (Number.isNaN(v)) return '(0.0 / 0.0)';
  if (!Number.isFinite(v) || Math.abs(v) > 3.4e38) return v > 0 ? '3.0e38' : '(-3.0e38)';
  const f = Math.fround(v);
  if (f === 0) return '0.0';
  let s = String(f);
  if (!/[.e]/.test(s)) s += '.0';
  return f < 0 ? `(${s})` : s;
}

export function intLiteral(v: number): string {
  const s = String(Math.trunc(v));
  return v < 0 ? `(${s})` : s;
}


const BINARY: Partial<Record<Expr['op'], string>> = {
  add: '+', sub: '-', mul: '*', eq: '===', ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=', and: '&&', or: '||',
};

/** Render an expression as gpu.js kernel JavaScript. */
export function renderExpr(e: Expr, env: ExprEnv): string {
  if (e.op !== 'const' && isConstTree(e)) {
    let v: number | boolean | undefined;
    try {
      v = foldConst(e);
    } catch {
      v = undefined; // e.g. a constant division by zero: leave it to the device
    }
    if (v !== undefined) return typeof v === 'boolean' ? String(v) : e.ty === 'int' ? intLiteral(v) : floatLiteral(v);
  }
  const r = (x: Expr) => renderExpr(x, env);
  switch (e.op) {
    case 'const':
      if (typeof e.value === 'boolean') return String(e.value);
      return e.ty === 'int' ? intLiteral(e.value) : floatLiteral(e.value);
    case 'index': return env.index(e.name);
    case 'dim': return env.dim(e.name);
    case 'var': return env.variable ? env.variable(e.name) : e.name;
    case 'score': return env.score();
    case 'neg': return `(-${r(e.a)})`;
    case 'not': return `(!${r(e.a)})`;
    case 'select': return `(${r(e.c)} ? ${r(e.a)} : ${r(e.b)})`;
    case 'load': return env.load(e.tensor, e.idx.map(r), e.idx);
    case 'summary': throw new Error('internal: a block-summary bound reached the WebGL renderer (the mask analysis makes them for WGSL only)');
    case 'pattern':
      if (!e.body) {
        throw new Error(`internal: pattern \`${e.origin.name}\` reached the WebGL renderer unexpanded (run the expand-builtins pass)`);
      }
      return r(e.body);
    case 'call': return renderCall(e, env);
    case 'div':
      if (e.ty === 'float') return `(${r(e.a)} / ${r(e.b)})`;
      env.helpers.add('attnc_idiv');
      return `attnc_idiv(${r(e.a)}, ${r(e.b)})`;
    case 'mod':
      if (e.ty === 'float') {
        env.helpers.add('attnc_fmod');
        return `attnc_fmod(${r(e.a)}, ${r(e.b)})`;
      }
      env.helpers.add('attnc_imod');
      return `attnc_imod(${r(e.a)}, ${r(e.b)})`;
    default: {
      const sym = BINARY[e.op];
      if (!sym) throw new Error(`internal: no WebGL operator for ${e.op}`);
      return `(${r(e.a)} ${sym} ${r(e.b)})`;
    }
  }
}

const MATH: Partial<Record<CallFn, string>> = {
  abs: 'Math.abs', min: 'Math.min', max: 'Math.max', exp: 'Math.exp',
  sqrt: 'Math.sqrt', floor: 'Math.floor', ceil: 'Math.ceil',
};

function renderCall(e: Extract<Expr, { op: 'call' }>, env: ExprEnv): string {
  const a = e.args.map((x) => renderExpr(x, env));
  switch (e.fn) {
    case 'float':
      return a[0]!;
    case 'int':
      if (e.args[0]!.ty === 'int') return a[0]!;
      env.helpers.add('attnc_trunc');
      return `attnc_trunc(${a[0]})`;
    case 'clamp':
      return `Math.min(Math.max(${a[0]}, ${a[1]}), ${a[2]})`;
    case 'log':
      env.helpers.add('attnc_log');
      return `attnc_log(${a[0]})`;
    case 'tanh':
      env.helpers.add('attnc_tanh');
      return `attnc_tanh(${a[0]})`;
    case 'f16':
      env.helpers.add('attnc_f16');
      return `attnc_f16(${a[0]})`;
    case 'alibi': {
      const n = env.hostSize?.(e.args[1]!);
      if (n !== undefined) {
        if (!(Number.isInteger(n) && n >= 1)) throw new Error(`alibi(h, heads): heads must be a positive int, found ${n}`);
        const m = 2 ** Math.floor(Math.log2(n));
        const pow2 = m * 2 <= n ? m * 2 : m > n ? m / 2 : m; // guard log2 rounding
        env.helpers.add('attnc_alibi');
        return `attnc_alibi(${a[0]}, ${floatLiteral(pow2)})`;
      }
      env.helpers.add('attnc_alibi_n');
      return `attnc_alibi_n(${a[0]}, ${a[1]})`;
    }
    default: {
      const f = MATH[e.fn];
      if (!f) throw new Error(`internal: no WebGL rendering for ${e.fn}()`);
      return `${f}(${a.join(', ')})`;
    }
  }
}

/** Every tensor (node id) an expression loads from, in first-use order. */
export function loadsOf(e: Expr, out: number[] = []): number[] {
  if (e.op === 'load' && !out.includes(e.tensor)) out.push(e.tensor);
  switch (e.op) {
    case 'const': case 'index': case 'dim': case 'score': case 'var': return out;
    case 'neg': case 'not': loadsOf(e.a, out); return out;
    case 'select': loadsOf(e.c, out); loadsOf(e.a, out); loadsOf(e.b, out); return out;
    case 'call': e.args.forEach((x) => loadsOf(x, out)); return out;
    case 'load': e.idx.forEach((x) => loadsOf(x, out)); return out;
    case 'summary': return out;
    case 'pattern': if (e.body) loadsOf(e.body, out); return out;
    default: loadsOf(e.a, out); loadsOf(e.b, out); return out;
  }
}
