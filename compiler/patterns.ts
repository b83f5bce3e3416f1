// The defining expressions of the pattern builtins (spec §3), written once as IR. The
// expand-builtins pass fills each `pattern` node's body from here; the node keeps its
// origin so mask analysis can use an exact rule where intervals are too coarse.

import { call, E, index, int, type Expr, type Pattern } from './ir.js';

const i = index('i');
const j = index('j');
const { add, sub, mul, div, mod, and, or, le, lt, ge, eq } = E;

export function expandPattern(p: Pattern): Expr {
  switch (p.name) {
    case 'causal':
      return le(j, i);
    case 'causal_end':
      return le(j, add(i, sub(p.keyLength, p.length)));
    case 'window':
      return le(call('abs', [sub(i, j)], 'int'), p.r);
    case 'sliding':
      return and(le(j, i), lt(sub(i, j), p.w));
    case 'block':
      return eq(div(i, p.size), div(j, p.size));
    case 'halo': {
      const start = mul(div(i, p.size), p.size);
      return and(ge(j, sub(start, p.overlap)), lt(j, add(add(start, p.size), p.overlap)));
    }
    case 'halo2d': {
      // Per axis, 1-D halo's rule on the row (x / width) and column (x % width) coordinates.
      const axis = (a: Expr, b: Expr, s: Expr, o: Expr) => {
        const start = mul(div(a, s), s);
        return and(ge(b, sub(start, o)), lt(b, add(add(start, s), o)));
      };
      return and(axis(div(i, p.width), div(j, p.width), p.size[0], p.overlap[0]), axis(mod(i, p.width), mod(j, p.width), p.size[1], p.overlap[1]));
    }
    case 'sink':
      return lt(j, p.n);
    case 'global':
      return or(lt(i, p.n), lt(j, p.n));
    case 'neighborhood':
      return nattenAxis(i, j, p.length, p.kernel, p.dilation, p.causal);
    case 'neighborhood2d': {
      const rows = nattenAxis(div(i, p.width), div(j, p.width), p.height, p.kernel[0], p.dilation[0], p.causal[0]);
      const cols = nattenAxis(mod(i, p.width), mod(j, p.width), p.width, p.kernel[1], p.dilation[1], p.causal[1]);
      return and(rows, cols);
    }
    case 'neighborhood3d': {
      // Row-major volume: position x is frame x / (H·W), row (x / W) % H, column x % W.
      const plane = mul(p.height, p.width);
      const frames = nattenAxis(div(i, plane), div(j, plane), p.depth, p.kernel[0], p.dilation[0], p.causal[0]);
      const rows = nattenAxis(mod(div(i, p.width), p.height), mod(div(j, p.width), p.height), p.height, p.kernel[1], p.dilation[1], p.causal[1]);
      const cols = nattenAxis(mod(i, p.width), mod(j, p.width), p.width, p.kernel[2], p.dilation[2], p.causal[2]);
      return and(frames, and(rows, cols));
    }
  }
}

/**
 * NATTEN's rule on one axis: query coordinate `qi`, key coordinate `kj`, axis length `L`,
 * kernel `k`, dilation `d`. Keys must share the query's dilation group; within the group
 * the window of `k` keys is shifted at the borders (non-causal) or clipped (causal).
 */
function nattenAxis(qi: Expr, kj: Expr, L: Expr, k: Expr, d: Expr, causal: boolean): Expr {
  const g = mod(qi, d);
  const sameGroup = eq(mod(kj, d), g);
  const ig = div(qi, d);
  const jg = div(kj, d);
  if (causal) {
    const lo = call('max', [add(sub(ig, k), int(1)), int(0)], 'int');
    return and(sameGroup, and(le(lo, jg), le(jg, ig)));
  }
  const groupLength = div(sub(add(sub(L, g), d), int(1)), d);
  const wl = div(k, int(2));
  const wr = sub(sub(k, int(1)), wl);
  const c = call('clamp', [ig, wl, sub(sub(groupLength, int(1)), wr)], 'int');
  return and(sameGroup, and(le(sub(c, wl), jg), le(jg, add(c, wr))));
}

