// Constants of the IR: which subtrees are constant, and their values — by the one
// evaluator (compiler/evaluate.ts), so a folded constant (the simplify pass, the targets'
// literals) is always what the reference computes, or the reference's error.

import { alibiSlope } from '../dsl/semantics.js';
import { evalExpr } from './evaluate.js';
import type { Expr } from './ir.js';

// The value-level semantics live in dsl/semantics.ts (the checker folds with them too).
export { alibiSlope, floatMod, floorDiv, floorMod, INT_MAX, INT_MIN, isInt32 } from '../dsl/semantics.js';

/** All slopes of `heads` heads (convenience for tests and docs). */
export function alibiSlopes(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => alibiSlope(h, heads));
}

/** True when the subtree reads nothing that varies (folded at render time). */
export function isConstTree(e: Expr): boolean {
  switch (e.op) {
    case 'const': return true;
    case 'index': case 'dim': case 'score': case 'load': case 'summary': case 'var': return false;
    case 'pattern': return !!e.body && isConstTree(e.body);
    case 'neg': case 'not': return isConstTree(e.a);
    case 'select': return isConstTree(e.c) && isConstTree(e.a) && isConstTree(e.b);
    case 'call': return e.args.every(isConstTree);
    default: return isConstTree(e.a) && isConstTree(e.b);
  }
}

/**
 * The value of a constant subtree (isConstTree), by the one evaluator (compiler/evaluate.ts):
 * what the reference computes, or its error (an AttncError: AT306, AT710, AT711, AT708).
 */
export function foldConst(e: Expr): number | boolean {
  return evalExpr(e);
}
