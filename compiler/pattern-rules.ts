// The pattern builtins' rules, written directly from the spec's table (§3), independent of
// the expand-builtins pass. The reference executor evaluates a pattern's expanded `body`;
// these rules check the arguments (NATTEN's k ≥ 2, d ≥ 1, k·d ≤ L, N == M) and, when asked,
// cross-check the body against the spec entry by entry.

import type { Expr, Pattern } from './ir.js';
import type { Span } from '../dsl/ast.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import { floorDiv, nattenAxisProblem } from '../dsl/semantics.js';

const fail = (what: string, detail: string, span?: Span): never => {
  throw new AttncError([diag('AT709', [what, detail], span)]);
};

/** NATTEN's rule on one axis (spec §3): is key position `j` in the neighborhood of `i`? */
export function nattenAllows(i: number, j: number, L: number, k: number, d: number, causal: boolean): boolean {
  const g = i % d;
  if (j % d !== g) return false;
  const ip = Math.floor(i / d);
  const jp = Math.floor(j / d);
  if (causal) return Math.max(ip - k + 1, 0) <= jp && jp <= ip;
  const Lg = Math.floor((L - g + d - 1) / d);
  const wl = Math.floor(k / 2);
  const wr = k - 1 - wl;
  const c = Math.min(Math.max(ip, wl), Lg - 1 - wr);
  return c - wl <= jp && jp <= c + wr;
}

function checkAxis(what: string, axis: string, L: number, k: number, d: number, span?: Span): void {
  // The same rule (and words) as the checker's, which reports constant arguments at compile time.
  const problem = nattenAxisProblem(axis, L, k, d);
  if (problem) fail(what, problem.detail, span);
}

/**
 * Check a pattern's arguments at run time and return its rule as a predicate over (i, j).
 * `size` evaluates an int argument; `lengths` are the attend's query and key lengths.
 */
export function patternRule(
  p: Pattern,
  size: (e: Expr) => number,
  lengths: { N: number; M: number } | undefined,
  span?: Span,
): (i: number, j: number) => boolean {
  switch (p.name) {
    case 'causal':
      return (i, j) => j <= i;
    case 'causal_end': {
      const N = size(p.length);
      const M = size(p.keyLength);
      checkLengths('causal_end', N, M, lengths);
      return (i, j) => j <= i + (M - N);
    }
    case 'window': {
      const r = size(p.r);
      return (i, j) => Math.abs(i - j) <= r;
    }
    case 'sliding': {
      const w = size(p.w);
      return (i, j) => j <= i && i - j < w;
    }
    case 'block': {
      const s = size(p.size);
      return (i, j) => floorDiv(i, s, span) === floorDiv(j, s, span);
    }
    case 'halo': {
      const s = size(p.size);
      const o = size(p.overlap);
      return (i, j) => j >= floorDiv(i, s, span) * s - o && j < (floorDiv(i, s, span) + 1) * s + o;
    }
    case 'halo2d': {
      const N = size(p.length);
      const M = size(p.keyLength);
      checkLengths('halo2d', N, M, lengths);
      const [H, W] = [size(p.height), size(p.width)];
      if (H < 1 || W < 1) fail('halo2d', `height and width must be at least 1, found ${H} and ${W}`, span);
      if (N !== H * W || M !== H * W) fail('halo2d', `needs N == M == height·width = ${H}·${W} = ${H * W}, found N = ${N} and M = ${M}`, span);
      const [sr, sc] = [size(p.size[0]), size(p.size[1])];
      const [or, oc] = [size(p.overlap[0]), size(p.overlap[1])];
      // 1-D halo's rule on each coordinate (row x / W, column x % W).
      const axis = (a: number, b: number, s: number, o: number) => b >= floorDiv(a, s, span) * s - o && b < (floorDiv(a, s, span) + 1) * s + o;
      return (i, j) => axis(Math.floor(i / W), Math.floor(j / W), sr, or) && axis(i % W, j % W, sc, oc);
    }
    case 'sink': {
      const n = size(p.n);
      return (_i, j) => j < n;
    }
    case 'global': {
      const n = size(p.n);
      return (i, j) => i < n || j < n;
    }
    case 'neighborhood': {
      const N = size(p.length);
      const M = size(p.keyLength);
      checkLengths('neighborhood', N, M, lengths);
      if (N !== M) fail('neighborhood', `needs as many keys as queries (N == M), found N = ${N} and M = ${M}`, span);
      const k = size(p.kernel);
      const d = size(p.dilation);
      checkAxis('neighborhood', '', N, k, d, span);
      const causal = p.causal;
      return (i, j) => nattenAllows(i, j, N, k, d, causal);
    }
    case 'neighborhood2d': {
      const N = size(p.length);
      const M = size(p.keyLength);
      checkLengths('neighborhood2d', N, M, lengths);
      const H = size(p.height);
      const W = size(p.width);
      if (H < 1 || W < 1) fail('neighborhood2d', `height and width must be at least 1, found ${H} and ${W}`, span);
      if (N !== H * W || M !== H * W) {
        fail('neighborhood2d', `needs N == M == height·width = ${H}·${W} = ${H * W}, found N = ${N} and M = ${M}`, span);
      }
      const [kr, kc] = [size(p.kernel[0]), size(p.kernel[1])];
      const [dr, dc] = [size(p.dilation[0]), size(p.dilation[1])];
      const [cr, cc] = p.causal;
      checkAxis('neighborhood2d', ' (row axis)', H, kr, dr, span);
      checkAxis('neighborhood2d', ' (column axis)', W, kc, dc, span);
      return (i, j) =>
        nattenAllows(Math.floor(i / W), Math.floor(j / W), H, kr, dr, cr) && nattenAllows(i % W, j % W, W, kc, dc, cc);
    }
    case 'neighborhood3d': {
      const N = size(p.length);
      const M = size(p.keyLength);
      checkLengths('neighborhood3d', N, M, lengths);
      const [T, H, W] = [size(p.depth), size(p.height), size(p.width)];
      if (T < 1 || H < 1 || W < 1) fail('neighborhood3d', `depth, height and width must be at least 1, found ${T}, ${H} and ${W}`, span);
      if (N !== T * H * W || M !== T * H * W) {
        fail('neighborhood3d', `needs N == M == depth·height·width = ${T}·${H}·${W} = ${T * H * W}, found N = ${N} and M = ${M}`, span);
      }
      const k = p.kernel.map(size) as [number, number, number];
      const d = p.dilation.map(size) as [number, number, number];
      const c = p.causal;
      const lengthsOf = [T, H, W];
      (['depth', 'row', 'column'] as const).forEach((axis, a) => checkAxis('neighborhood3d', ` (${axis} axis)`, lengthsOf[a]!, k[a]!, d[a]!, span));
      // Row-major volume: position x is frame x / (H·W), row (x / W) % H, column x % W.
      const coords = (x: number) => [Math.floor(x / (H * W)), Math.floor(x / W) % H, x % W];
      return (i, j) => {
        const [a, b] = [coords(i), coords(j)];
        return [0, 1, 2].every((x) => nattenAllows(a[x]!, b[x]!, lengthsOf[x]!, k[x]!, d[x]!, c[x]!));
      };
    }
  }
}

function checkLengths(name: string, N: number, M: number, lengths: { N: number; M: number } | undefined): void {
  if (lengths && (lengths.N !== N || lengths.M !== M)) {
    throw new Error(
      `internal error: \`${name}\` records lengths N = ${N}, M = ${M} but its attend has N = ${lengths.N}, M = ${lengths.M}`,
    );
  }
}
