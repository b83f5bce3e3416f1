// Evaluating index expressions on the host, to size loops and key ranges from the dims.

import type { Expr } from '../../compiler/ir.js';

/**
 * Evaluate an int expression over dims and vars on the host, in float64 with floor
 * division (no 32-bit wrap: key-range bounds use 2^31 − 1 as "no limit").
 */
export function hostNumber(e: Expr, dims: Record<string, number>, vars: Record<string, number> = {}): number {
  const v = hostValue(e, dims, vars);
  if (typeof v !== 'number') throw new Error('expected a number');
  return v;
}

function hostValue(e: Expr, dims: Record<string, number>, vars: Record<string, number>): number | boolean {
  const n = (x: Expr) => hostNumber(x, dims, vars);
  const b = (x: Expr) => Boolean(hostValue(x, dims, vars));
  switch (e.op) {
    case 'const': return e.value;
    case 'dim': {
      const v = dims[e.name];
      if (v === undefined) throw new Error(`dim ${e.name} is not bound`);
      return v;
    }
    case 'var': {
      const v = vars[e.name];
      if (v === undefined) throw new Error(`variable ${e.name} is not bound`);
      return v;
    }
    case 'neg': return -n(e.a);
    case 'not': return !b(e.a);
    case 'add': return n(e.a) + n(e.b);
    case 'sub': return n(e.a) - n(e.b);
    case 'mul': return n(e.a) * n(e.b);
    case 'div': {
      const d = n(e.b);
      if (d === 0) throw new Error('division by zero');
      return e.ty === 'int' ? Math.floor(n(e.a) / d) : n(e.a) / d;
    }
    case 'mod': {
      const a = n(e.a);
      const d = n(e.b);
      if (d === 0 && e.ty === 'int') throw new Error('modulo by zero');
      return a - d * Math.floor(a / d);
    }
    case 'eq': return hostValue(e.a, dims, vars) === hostValue(e.b, dims, vars);
    case 'ne': return hostValue(e.a, dims, vars) !== hostValue(e.b, dims, vars);
    case 'lt': return n(e.a) < n(e.b);
    case 'le': return n(e.a) <= n(e.b);
    case 'gt': return n(e.a) > n(e.b);
    case 'ge': return n(e.a) >= n(e.b);
    case 'and': return b(e.a) && b(e.b);
    case 'or': return b(e.a) || b(e.b);
    case 'select': return b(e.c) ? hostValue(e.a, dims, vars) : hostValue(e.b, dims, vars);
    case 'call': {
      const a = e.args.map(n);
      switch (e.fn) {
        case 'min': return Math.min(a[0]!, a[1]!);
        case 'max': return Math.max(a[0]!, a[1]!);
        case 'clamp': return Math.min(Math.max(a[0]!, a[1]!), a[2]!);
        case 'abs': return Math.abs(a[0]!);
        case 'float': return a[0]!;
        case 'int': return Math.trunc(a[0]!);
        default: throw new Error(`cannot evaluate ${e.fn}() on the host`);
      }
    }
    default:
      throw new Error(`cannot evaluate ${e.op} on the host`);
  }
}
