// Typing expressions: literals, names, operators, `?:` and tensor lookups `t[e, …]`.
// Calls are checked in checker-calls.ts.

import type { Expr, ExprOf, Type } from './ast.js';
import { checkCall } from './checker-calls.js';
import type { CheckContext } from './checker-context.js';
import { ELEMENTWISE_HINT, ELEMENTWISE_OPERATORS, badElementwiseOperand, elementwiseResult } from './checker-elementwise.js';
import { checkName } from './checker-names.js';
import { BOOL, ERROR, FLOAT, INT, isNumeric, isScalar, showType, showTypeArticle, type Where } from './checker-types.js';

export function checkExpr(cx: CheckContext, e: Expr, where: Where): Type {
  const t = infer(cx, e, where);
  e.ty = t;
  return t;
}

function infer(cx: CheckContext, e: Expr, where: Where): Type {
  switch (e.kind) {
    case 'number':
      return e.isFloat ? FLOAT : INT;
    case 'bool':
      return BOOL;
    case 'name':
      return checkName(cx, e, where);
    case 'unary': {
      const t = checkExpr(cx, e.arg, where);
      if (t.kind === 'error') return ERROR;
      if (e.op === '-' && isNumeric(t)) return t;
      if (e.op === '-' && where === 'tensor' && t.kind === 'tensor' && !badElementwiseOperand(t)) return { ...t, elem: 'f32' };
      if (e.op === '!' && t.kind === 'bool') return BOOL;
      cx.error('AT303', [e.op, showType(t)], e.span, e.op === '!' ? '`!` takes a bool' : '`-` takes an int or a float');
      return ERROR;
    }
    case 'binary':
      return checkBinary(cx, e, where);
    case 'ternary': {
      const c = checkExpr(cx, e.cond, where);
      const a = checkExpr(cx, e.then, where);
      const b = checkExpr(cx, e.else, where);
      if (c.kind !== 'bool' && c.kind !== 'error') cx.error('AT301', ['bool', showType(c)], e.cond.span);
      if (a.kind === 'error' || b.kind === 'error') return ERROR;
      if (!isScalar(a) || !isScalar(b) || (a.kind === 'bool') !== (b.kind === 'bool')) {
        cx.error('AT304', [showType(a), showType(b)], e.span,
          isScalar(a) && isScalar(b) ? undefined : '`?:` chooses between scalars (int, float or bool)');
        return ERROR;
      }
      if (c.kind !== 'bool') return ERROR;
      return a.kind === b.kind ? a : FLOAT;
    }
    case 'call':
      return checkCall(cx, e, where);
    case 'index':
      return checkLookup(cx, e, where);
    case 'list':
      for (const item of e.items) checkExpr(cx, item, where);
      cx.error('AT511', [], e.span);
      return ERROR;
  }
}

function checkBinary(cx: CheckContext, e: ExprOf<'binary'>, where: Where): Type {
  const a = checkExpr(cx, e.lhs, where);
  const b = checkExpr(cx, e.rhs, where);
  if (a.kind === 'error' || b.kind === 'error') return ERROR;
  const bad = (hint?: string): Type => {
    cx.error('AT302', [e.op, showType(a), showType(b)], e.opSpan, hint);
    return ERROR;
  };
  if (where === 'tensor' && (a.kind === 'tensor' || b.kind === 'tensor')) {
    if (!ELEMENTWISE_OPERATORS.has(e.op)) return bad('tensors combine with `+ - * / %`; comparisons and logic are for `mask:`/`score:`');
    if (badElementwiseOperand(a) || badElementwiseOperand(b)) return bad(ELEMENTWISE_HINT);
    return elementwiseResult(cx, [{ expr: e.lhs, type: a }, { expr: e.rhs, type: b }]);
  }
  switch (e.op) {
    case '&&':
    case '||':
      return a.kind === 'bool' && b.kind === 'bool' ? BOOL : bad(`\`${e.op}\` takes two bools`);
    case '==':
    case '!=':
      if ((isNumeric(a) && isNumeric(b)) || (a.kind === 'bool' && b.kind === 'bool')) return BOOL;
      return bad();
    case '<':
    case '<=':
    case '>':
    case '>=':
      return isNumeric(a) && isNumeric(b) ? BOOL : bad();
    case '+':
    case '-':
    case '*':
    case '/':
    case '%': {
      if (!isNumeric(a) || !isNumeric(b)) {
        return bad(a.kind === 'bool' || b.kind === 'bool' ? 'arithmetic takes ints and floats' : undefined);
      }
      // A constant zero divisor (AT306) is found with the other static errors (checker-static.ts).
      return a.kind === 'int' && b.kind === 'int' ? INT : FLOAT;
    }
  }
}

/** `t[e, …]`: an element of an input or `let` tensor, inside `mask:`/`score:`. */
function checkLookup(cx: CheckContext, e: ExprOf<'index'>, where: Where): Type {
  const t = checkExpr(cx, e.target, where);
  if (t.kind === 'error') return ERROR;
  if (t.kind !== 'tensor') {
    cx.error('AT406', [cx.text(e.target.span), showTypeArticle(t)], e.target.span);
    return ERROR;
  }
  if (where !== 'mask' && where !== 'score') {
    // The indices are not checked: outside an index expression they would only add
    // follow-on errors (`i` is not in scope there).
    cx.error('AT407', [], e.span,
      where === 'tensor' ? 'a `let` or `return` takes a whole tensor' : 'sizes and `scale:` are over params and dims only');
    return ERROR;
  }
  const idx = e.indices.map((x) => checkExpr(cx, x, where));
  // The lowering reads lookups from named tensors only (an inner tensor operation would
  // already be AT506 here).
  if (e.target.kind !== 'name') {
    cx.error('AT406', [cx.text(e.target.span), showTypeArticle(t)], e.target.span);
    return ERROR;
  }
  let ok = true;
  e.indices.forEach((x, k) => {
    const it = idx[k]!;
    if (it.kind !== 'int' && it.kind !== 'error') {
      cx.error('AT301', ['int', showType(it)], x.span, it.kind === 'float' ? 'convert it with `int(...)`' : undefined);
      ok = false;
    }
  });
  if (e.indices.length !== t.shape.length) {
    cx.error('AT401', [cx.text(e.target.span), e.indices.length, t.shape.length], e.span,
      `\`${cx.text(e.target.span)}\` is ${showType(t)}`);
    return ERROR;
  }
  if (!ok || idx.some((x) => x.kind === 'error')) return ERROR;
  return t.elem === 'i32' ? INT : FLOAT;
}
