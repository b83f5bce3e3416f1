// simplify: constant folding and algebraic identities, as a flat list of declarative
// rewrite rules applied bottom-up. After expand-builtins with constant params this turns
// e.g. NATTEN's `i % 1 == j % 1 && …` (dilation 1) into just the window test.
// Rules never drop a subexpression that could fail at run time (a tensor load, a division
// by a non-constant), so the reference still reports what the program really does.
// Constants fold with the language's exact semantics (the one evaluator): an operation
// that would fail (a zero divisor, an int overflow, `int()` of NaN, …) is left unfolded
// for the run to report, and no rule creates a constant outside the 32-bit range. The
// checker reports such failures at compile time where every operand is known
// (dsl/checker-static.ts); this covers IR built by other means.

import { AttncError } from '../../dsl/diagnostics.js';
import { foldConst, isInt32 } from '../scalar.js';
import { bin, bool, float, int, rewrite, some, type Expr } from '../ir.js';
import type { Pass } from '../pass.js';
import { mapExprs } from './util.js';

export const simplify: Pass = {
  name: 'simplify',
  summary: 'fold constants and apply algebraic identities (x + 0, x / 1, true && x, …)',
  stage: 'graph',
  run: (m) => ({ ...m, graph: mapExprs(m.graph, simplifyExpr) }),
};

type Rule = { name: string; apply: (e: Expr) => Expr | undefined };

/** A constant of type `ty` from `fold`, or undefined when the operation fails (left for the run to report). */
function folded(ty: Expr['ty'], fold: () => number | boolean): Expr | undefined {
  try {
    const value = fold();
    return { op: 'const', ty, value: ty === 'int' && typeof value === 'number' ? value + 0 : value };
  } catch (err) {
    if (err instanceof AttncError) return undefined;
    throw err;
  }
}

const isConst = (e: Expr, v?: number | boolean): boolean =>
  e.op === 'const' && (v === undefined || e.value === v);
/** Cannot fail at run time: no tensor load, and every division by a non-zero constant. */
const pure = (e: Expr) => !some(e, (x) => x.op === 'load' || ((x.op === 'div' || x.op === 'mod') && !(x.b.op === 'const' && x.b.value !== 0)));

export const RULES: Rule[] = [
  {
    name: 'fold-constants',
    apply: (e) => {
      if (e.op === 'const' || e.op === 'pattern' || e.op === 'and' || e.op === 'or' || e.op === 'select') return undefined;
      if (e.op === 'not') return e.a.op === 'const' ? { op: 'const', ty: e.ty, value: !e.a.value } : undefined;
      const operands = e.op === 'neg' ? [e.a] : e.op === 'call' ? e.args : 'a' in e && 'b' in e ? [e.a, e.b] : null;
      return operands?.every((x) => x.op === 'const') ? folded(e.ty, () => foldConst(e)) : undefined;
    },
  },
  { name: 'add-zero', apply: (e) => (e.op === 'add' ? (isConst(e.b, 0) ? e.a : isConst(e.a, 0) ? e.b : undefined) : undefined) },
  { name: 'sub-zero', apply: (e) => (e.op === 'sub' && isConst(e.b, 0) ? e.a : undefined) },
  { name: 'mul-one', apply: (e) => (e.op === 'mul' ? (isConst(e.b, 1) ? e.a : isConst(e.a, 1) ? e.b : undefined) : undefined) },
  { name: 'div-one', apply: (e) => (e.op === 'div' && e.ty === 'int' && isConst(e.b, 1) ? e.a : undefined) },
  { name: 'mod-one', apply: (e) => (e.op === 'mod' && e.ty === 'int' && isConst(e.b, 1) && pure(e.a) ? { op: 'const', ty: 'int', value: 0 } : undefined) },
  { name: 'and-true', apply: (e) => (e.op === 'and' ? (isConst(e.a, true) ? e.b : isConst(e.b, true) ? e.a : undefined) : undefined) },
  { name: 'and-false', apply: (e) => (e.op === 'and' && isConst(e.a, false) ? bool(false) : undefined) },
  { name: 'or-false', apply: (e) => (e.op === 'or' ? (isConst(e.a, false) ? e.b : isConst(e.b, false) ? e.a : undefined) : undefined) },
  { name: 'or-true', apply: (e) => (e.op === 'or' && isConst(e.a, true) ? bool(true) : undefined) },
  { name: 'select-const', apply: (e) => (e.op === 'select' && e.c.op === 'const' ? (e.c.value ? e.a : e.b) : undefined) },
  {
    // Integer constants gather across + and −: (x + 2) − 1 → x + 1, (32 − x) + 1 → 33 − x.
    // Not for floats: reassociation would change rounding.
    name: 'reassociate-int-constants',
    apply: (e) => {
      if ((e.op !== 'add' && e.op !== 'sub') || e.ty !== 'int' || e.b.op !== 'const') return undefined;
      const inner = e.a;
      if ((inner.op !== 'add' && inner.op !== 'sub') || inner.ty !== 'int') return undefined;
      const c2 = (e.op === 'add' ? 1 : -1) * (e.b.value as number);
      // Only when the gathered constant is a 32-bit int (it and its negation).
      if (inner.b.op === 'const') {
        const c = (inner.op === 'add' ? 1 : -1) * (inner.b.value as number) + c2;
        if (!isInt32(c) || !isInt32(-c)) return undefined;
        return c >= 0 ? bin('add', inner.a, int(c)) : bin('sub', inner.a, int(-c));
      }
      if (inner.op === 'sub' && inner.a.op === 'const') {
        const c = (inner.a.value as number) + c2;
        return isInt32(c) ? bin('sub', int(c), inner.b) : undefined;
      }
      return undefined;
    },
  },
  {
    // x == x (and <=, >=) is true, x != x (and <, >) false, for a pure int x: a per-query
    // kernel binds q_lo and q_hi to the same query, and its ranges collapse to one case.
    name: 'compare-self',
    apply: (e) => {
      if (!(e.op === 'eq' || e.op === 'ne' || e.op === 'lt' || e.op === 'le' || e.op === 'gt' || e.op === 'ge')) return undefined;
      if (e.a.ty !== 'int' || !pure(e.a) || JSON.stringify(e.a) !== JSON.stringify(e.b)) return undefined;
      return bool(e.op === 'eq' || e.op === 'le' || e.op === 'ge');
    },
  },
  { name: 'not-not', apply: (e) => (e.op === 'not' && e.a.op === 'not' ? e.a.a : undefined) },
  {
    // A float NaN constant decides an operation whatever its other (pure) operands are, as
    // in IEEE arithmetic and the reference: NaN for arithmetic and min/max/clamp, false for
    // a comparison (true for !=). So a mask comparing with a folded NaN is a constant in
    // every target (a WGSL module cannot even hold a NaN constant).
    name: 'nan-absorbs',
    apply: (e) => {
      if (e.op === 'call') {
        const nanArg = (e.fn === 'min' || e.fn === 'max' || e.fn === 'clamp') && e.ty === 'float' && e.args.some(isNaNConst);
        return nanArg && e.args.every(pure) ? float(NaN) : undefined;
      }
      if (!(e.op in ARITH_OR_COMPARE) || !('b' in e) || e.a.ty !== 'float') return undefined;
      const [a, b] = [e.a, e.b];
      if (!(isNaNConst(a) || isNaNConst(b)) || !pure(a) || !pure(b)) return undefined;
      return e.ty === 'bool' ? bool(e.op === 'ne') : float(NaN);
    },
  },
];

const ARITH_OR_COMPARE = { add: 1, sub: 1, mul: 1, div: 1, mod: 1, eq: 1, ne: 1, lt: 1, le: 1, gt: 1, ge: 1 };
const isNaNConst = (e: Expr): boolean => e.op === 'const' && typeof e.value === 'number' && Number.isNaN(e.value);

export function simplifyExpr(e: Expr): Expr {
  return rewrite(e, function step(x: Expr): Expr {
    for (const rule of RULES) {
      const y = rule.apply(x);
      if (y) return y === x ? x : step(y);
    }
    return x;
  });
}
