// The one table of builtins: scalar functions, pattern builtins and tensor operations,
// with their parameter names, kinds and defaults. The checker validates calls against it
// (arity, named arguments, types) and the lowering reads argument values by name from it.

import type { Arg, Span } from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';

/** What an argument must be. */
export type ArgKind =
  /** int expression over params and dims (compile-time or runtime sizes). */
  | 'size'
  /** int or [int, int] (per-axis value for neighborhood2d). */
  | 'size-pair'
  /** bool literal/param, or [bool, bool]. */
  | 'flag-pair'
  /** int or [int, int, int] (per-axis value for neighborhood3d). */
  | 'size-triple'
  /** bool literal/param, or [bool, bool, bool]. */
  | 'flag-triple'
  | 'flag'
  /** scalar expression (int or float) evaluated in the current context. */
  | 'number'
  /** a tensor value (input, let, or a nested tensor operation). */
  | 'tensor'
  /** `mask:` — bool expression over the index variables. */
  | 'mask'
  /** `score:` — float expression over the index variables and `s`. */
  | 'score'
  /** `scale:` — float expression over params and dims. */
  | 'scale'
  /** `keys` | `queries`. */
  | 'normalize'
  /** `to: [ph, pw]`. */
  | 'pair';

export interface ParamSpec {
  name: string;
  kind: ArgKind;
  /** Source text of the default; a parameter without one is required. */
  default?: string;
}

export type BuiltinKind = 'function' | 'pattern' | 'tensor';

export interface BuiltinSpec {
  name: string;
  kind: BuiltinKind;
  params: ParamSpec[];
  /** One line for hints and docs. */
  summary: string;
}

const fn = (name: string, params: string[], summary: string): BuiltinSpec => ({
  name,
  kind: 'function',
  params: params.map((p) => ({ name: p, kind: 'number' as const })),
  summary,
});

/** What attend and topk share after their tensors: the mask, the score modifier and the scale. */
const SCORING: ParamSpec[] = [
  { name: 'mask', kind: 'mask', default: 'true' },
  { name: 'score', kind: 'score', default: 's' },
  { name: 'scale', kind: 'scale', default: '1 / sqrt(float(D))' },
];

export const BUILTINS: readonly BuiltinSpec[] = [
  fn('abs', ['x'], 'absolute value (int stays int)'),
  fn('min', ['a', 'b'], 'smaller of two values'),
  fn('max', ['a', 'b'], 'larger of two values'),
  fn('clamp', ['x', 'lo', 'hi'], 'min(max(x, lo), hi)'),
  fn('exp', ['x'], 'e^x (float)'),
  fn('log', ['x'], 'natural logarithm (float); log(0.0) is -inf'),
  fn('tanh', ['x'], 'hyperbolic tangent (float)'),
  fn('sqrt', ['x'], 'square root (float)'),
  fn('floor', ['x'], 'round down (float)'),
  fn('ceil', ['x'], 'round up (float)'),
  fn('float', ['x'], 'convert to float'),
  fn('int', ['x'], 'convert to int, truncating toward zero'),
  fn('f16', ['x'], 'the nearest f16 value (ties to even; from 65520 up ±inf); of a tensor, an f16 tensor'),
  fn('alibi', ['h', 'heads'], 'ALiBi slope of head h out of heads (fairseq get_slopes)'),

  { name: 'causal', kind: 'pattern', params: [], summary: 'j <= i' },
  {
    name: 'causal_end', kind: 'pattern', params: [],
    summary: 'j <= i + (M - N): causal aligned to the end of the keys (N queries decoding at the end of an M-key cache)',
  },
  { name: 'window', kind: 'pattern', params: [{ name: 'r', kind: 'size' }], summary: 'abs(i - j) <= r' },
  { name: 'sliding', kind: 'pattern', params: [{ name: 'w', kind: 'size' }], summary: 'j <= i && i - j < w' },
  { name: 'block', kind: 'pattern', params: [{ name: 'size', kind: 'size' }], summary: 'i / size == j / size' },
  {
    name: 'halo',
    kind: 'pattern',
    params: [{ name: 'size', kind: 'size' }, { name: 'overlap', kind: 'size' }],
    summary: 'blocks of `size` keys widened by `overlap` on each side',
  },
  {
    name: 'halo2d',
    kind: 'pattern',
    params: [
      { name: 'height', kind: 'size' },
      { name: 'width', kind: 'size' },
      { name: 'size', kind: 'size-pair' },
      { name: 'overlap', kind: 'size-pair' },
    ],
    summary: 'HaloNet blocks of a row-major height × width grid, widened by `overlap` rows and columns',
  },
  { name: 'sink', kind: 'pattern', params: [{ name: 'n', kind: 'size' }], summary: 'j < n' },
  { name: 'global', kind: 'pattern', params: [{ name: 'n', kind: 'size' }], summary: 'i < n || j < n' },
  {
    name: 'neighborhood',
    kind: 'pattern',
    params: [
      { name: 'kernel', kind: 'size' },
      { name: 'dilation', kind: 'size', default: '1' },
      { name: 'causal', kind: 'flag', default: 'false' },
    ],
    summary: 'NATTEN 1-D neighborhood (window shifted at the borders)',
  },
  {
    name: 'neighborhood2d',
    kind: 'pattern',
    params: [
      { name: 'height', kind: 'size' },
      { name: 'width', kind: 'size' },
      { name: 'kernel', kind: 'size-pair' },
      { name: 'dilation', kind: 'size-pair', default: '1' },
      { name: 'causal', kind: 'flag-pair', default: 'false' },
    ],
    summary: 'NATTEN 2-D neighborhood on a row-major height × width grid',
  },
  {
    name: 'neighborhood3d',
    kind: 'pattern',
    params: [
      { name: 'depth', kind: 'size' },
      { name: 'height', kind: 'size' },
      { name: 'width', kind: 'size' },
      { name: 'kernel', kind: 'size-triple' },
      { name: 'dilation', kind: 'size-triple', default: '1' },
      { name: 'causal', kind: 'flag-triple', default: 'false' },
    ],
    summary: 'NATTEN 3-D neighborhood on a row-major depth × height × width volume (video: frames × rows × columns)',
  },

  {
    name: 'attend',
    kind: 'tensor',
    params: [
      { name: 'q', kind: 'tensor' },
      { name: 'k', kind: 'tensor' },
      { name: 'v', kind: 'tensor' },
      ...SCORING,
      { name: 'normalize', kind: 'normalize', default: 'keys' },
      { name: 'topk', kind: 'size', default: 'none' },
    ],
    summary: 'attention of q over k, v: [B, H, N, D] × [B, Hk, M, D] × [B, Hk, M, Dv] → [B, H, N, Dv]',
  },
  {
    name: 'topk',
    kind: 'tensor',
    params: [
      { name: 'q', kind: 'tensor' },
      { name: 'k', kind: 'tensor' },
      { name: 'n', kind: 'size' },
      ...SCORING,
    ],
    summary: 'the n allowed keys of largest score per query (ties to the lower key), as 1 (kept) or 0: [B, H, N, D] × [B, Hk, M, D] → [B, H, N, M]',
  },
  {
    name: 'pool',
    kind: 'tensor',
    params: [{ name: 'x', kind: 'tensor' }, { name: 'tokens', kind: 'size' }, { name: 'weights', kind: 'tensor', default: 'none' }],
    summary: 'adaptive (weighted) average pooling along the sequence axis: [B, H, N, D] (weights [B, H, N]) → [B, H, tokens, D]',
  },
  {
    name: 'pool2d',
    kind: 'tensor',
    params: [
      { name: 'x', kind: 'tensor' },
      { name: 'height', kind: 'size' },
      { name: 'width', kind: 'size' },
      { name: 'to', kind: 'pair' },
    ],
    summary: 'adaptive average pooling of a row-major height × width grid of tokens to [ph, pw]',
  },
  {
    name: 'clusters',
    kind: 'tensor',
    params: [{ name: 'x', kind: 'tensor' }, { name: 'centroids', kind: 'tensor' }],
    summary: 'routing cluster of each token (cosine similarity, ties to the lowest): → i32[B, Hx, N]',
  },
  {
    name: 'concat',
    kind: 'tensor',
    params: [{ name: 'x', kind: 'tensor' }, { name: 'y', kind: 'tensor' }],
    summary: 'x then y along the sequence axis: [B, H, N1, D] and [B, H, N2, D] → [B, H, N1 + N2, D]',
  },
  {
    name: 'lse',
    kind: 'tensor',
    params: [{ name: 'x', kind: 'tensor' }],
    summary: 'log-sum-exp of an attention\'s allowed scores per query (−inf where none): attend(…) [B, H, N, Dv] → [B, H, N]',
  },
];

const byName = new Map(BUILTINS.map((b) => [b.name, b]));

export function builtin(name: string): BuiltinSpec | undefined {
  return byName.get(name);
}

/** Index variables of `mask:` and `score:` (and `s`, in `score:` only). */
export const INDEX_NAMES = ['b', 'h', 'hk', 'i', 'j'] as const;
export type IndexName = (typeof INDEX_NAMES)[number];
export const SCORE_NAME = 's';

/**
 * Match a call's arguments to a builtin's parameters by position, then by name. Used by
 * the checker (which reports the problems) and by the lowering (which reads arguments by
 * name from a call the checker accepted). Missing parameters with defaults are absent
 * from the map: the caller applies the default.
 */
export function bindArgs(
  call: { callee: { name: string; span: Span }; args: Arg[]; span: Span },
  spec: BuiltinSpec,
): { args: Map<string, Arg>; problems: Diagnostic[] } {
  const args = new Map<string, Arg>();
  const problems: Diagnostic[] = [];
  let sawNamed = false;
  call.args.forEach((arg, k) => {
    if (!arg.name) {
      if (sawNamed) {
        problems.push(diag('AT505', [], arg.span));
        return;
      }
      const p = spec.params[k];
      if (!p) {
        problems.push(diag('AT501', [spec.name, arityText(spec), call.args.length], arg.span,
          `signature: ${signature(spec)}`));
        return;
      }
      args.set(p.name, arg);
      return;
    }
    sawNamed = true;
    const name = arg.name.name;
    if (!spec.params.some((p) => p.name === name)) {
      const near = closest(name, spec.params.map((p) => p.name));
      problems.push(diag('AT502', [spec.name, name], arg.name.span,
        near ? `did you mean \`${near}\`?` : `signature: ${signature(spec)}`));
      return;
    }
    if (args.has(name)) {
      problems.push(diag('AT503', [spec.name, name], arg.name.span));
      return;
    }
    args.set(name, arg);
  });
  for (const p of spec.params) {
    if (p.default === undefined && !args.has(p.name)) {
      problems.push(diag('AT504', [spec.name, p.name], call.span, `signature: ${signature(spec)}`));
    }
  }
  return { args, problems };
}

/** `1 argument`, `3 arguments`, `1 to 3 arguments` (AT501 takes the noun with the count). */
function arityText(spec: BuiltinSpec): string {
  const required = spec.params.filter((p) => p.default === undefined).length;
  const total = spec.params.length;
  if (required === total) return `${total} argument${total === 1 ? '' : 's'}`;
  return `${required} to ${total} arguments`;
}

/** `neighborhood(kernel, dilation: 1, causal: false)` */
export function signature(spec: BuiltinSpec): string {
  const ps = spec.params.map((p) => (p.default === undefined ? p.name : `${p.name}: ${p.default}`));
  return `${spec.name}(${ps.join(', ')})`;
}

/** The candidate closest to `name` by edit distance, if it is close enough to be a typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best !== undefined && bestDist <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let x = 1; x <= a.length; x++) {
    let diagPrev = row[0]!;
    row[0] = x;
    for (let y = 1; y <= b.length; y++) {
      const tmp = row[y]!;
      row[y] = Math.min(row[y]! + 1, row[y - 1]! + 1, diagPrev + (a[x - 1] === b[y - 1] ? 0 : 1));
      diagPrev = tmp;
    }
  }
  return row[b.length]!;
}
