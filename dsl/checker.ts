// Names, scopes, types and static shapes (spec §2–§4).
//
// The checker annotates the AST in place: every expression gets `ty`, every `name` gets
// `ref`. The lowering to graph IR trusts these annotations (and re-binds call arguments
// with the same `bindArgs`), so on a definition without errors they must be complete,
// and every construct the lowering cannot handle must be an error here.
//
// An expression that is already wrong gets type `error`, and operators over an `error`
// operand stay silent, so one mistake is reported once rather than once per enclosing
// expression.
//
// The checker is split by concern: checker-names.ts (declarations and name resolution),
// checker-expr.ts (expression typing), checker-calls.ts (calls against the builtins
// table), checker-shapes.ts (tensor operations' shapes), checker-static.ts (errors in what
// the compiler evaluates: constant zero divisors, int overflow, int() of NaN, …);
// checker-context.ts holds the state of one definition, checker-types.ts the types and
// how messages show them.

import type { Arg, Attention, Program, SourceFile, Span } from './ast.js';
import { CheckContext } from './checker-context.js';
import { checkExpr } from './checker-expr.js';
import { canDeclare, declareNames } from './checker-names.js';
import { effectiveParams, staticErrors, type StaticParams } from './checker-static.js';
import { ERROR, showType } from './checker-types.js';
import { diag, type Diagnostic } from './diagnostics.js';

export { showType } from './checker-types.js';

/** Check every definition of a parsed program; annotates the AST in place. */
export function checkProgram(program: Program, file: SourceFile, params: StaticParams = {}): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const def of program.attentions) {
    const name = def.name.name;
    if (name !== '' && seen.has(name)) {
      diagnostics.push(diag('AT207', [name], def.name.span, undefined, file));
    }
    seen.add(name);
    // A definition rebuilt by error recovery would only produce follow-on errors.
    if (def.recovered) continue;
    diagnostics.push(...checkDefinition(def, file, params));
  }
  return diagnostics;
}

/**
 * Declarations, then lets and return in order, then the definition's structure, then the
 * static errors of what the compiler can evaluate under the params (the declared values,
 * or valid overrides).
 */
function checkDefinition(def: Attention, file: SourceFile, params: StaticParams): Diagnostic[] {
  const cx = new CheckContext(def, file);
  declareNames(cx);
  checkBody(cx);
  checkStructure(cx);
  cx.diagnostics.push(...staticErrors(def, effectiveParams(def, params), file));
  return cx.diagnostics;
}

// ---- lets and return, in order ----

function checkBody(cx: CheckContext): void {
  for (const st of cx.def.statements) {
    cx.current = st;
    if (st.kind === 'let') {
      const t = checkExpr(cx, st.value, 'tensor');
      if (t.kind !== 'tensor' && t.kind !== 'error') {
        cx.error('AT604', [st.name.name, showType(t)], st.value.span);
      }
      // Declared after its value is checked: a let cannot refer to itself.
      if (canDeclare(cx, st.name)) {
        cx.scope.set(st.name.name, { kind: 'let', type: t.kind === 'tensor' ? t : ERROR });
      }
    } else if (st.kind === 'return') {
      const names = new Map<string, Span>();
      st.values.forEach((a, k) => {
        const t = checkExpr(cx, a.value, 'tensor');
        if (t.kind !== 'tensor' && t.kind !== 'error') cx.error('AT604', ['return', showType(t)], a.value.span);
        const name = outputName(a, k, st.values.length);
        const span = a.name?.span ?? a.value.span;
        const first = names.get(name);
        if (first) cx.error('AT608', [name], span, 'name the outputs apart: `return a: x, b: y`');
        else names.set(name, span);
      });
    }
  }
}

/**
 * The name of output `k` of `count`: its explicit name (`return name: x`); else `out` for
 * the only output; else, among several, the name it returns (a `let` or an input) or
 * `out<k>`.
 */
export function outputName(a: Arg, k: number, count: number): string {
  if (a.name) return a.name.name;
  if (count === 1) return 'out';
  return a.value.kind === 'name' ? a.value.name : `out${k}`;
}

/** Exactly one `return`, and it comes last. */
function checkStructure(cx: CheckContext): void {
  const sts = cx.def.statements;
  const returns = sts.filter((s) => s.kind === 'return');
  if (returns.length === 0) {
    cx.error('AT601', [cx.def.name.name], cx.def.name.span, 'end the definition with `return attend(…)`');
    return;
  }
  for (const r of returns.slice(1)) cx.error('AT602', [cx.def.name.name], r.span);
  if (sts[sts.length - 1]!.kind !== 'return') cx.error('AT603', [], returns[returns.length - 1]!.span);
}
