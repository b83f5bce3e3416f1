// Elementwise tensor arithmetic (docs/language-extensions.md, "Elementwise tensor
// arithmetic"): in a `let` or `return` value, `+ - * / %`, unary `-` and the functions of
// ELEMENTWISE_FUNCTIONS over f32 tensors and scalars. The result is an f32 tensor of the
// widest operand's shape (`f16(x)`: an f16 tensor); an operand of one rank less is one
// value per row of the others (broadcast along their last axis).

import type { Expr, Type } from './ast.js';
import type { CheckContext } from './checker-context.js';
import { ERROR, showType } from './checker-types.js';

/** Functions that apply elementwise to tensors (every other function takes scalars only). */
export const ELEMENTWISE_FUNCTIONS: ReadonlySet<string> = new Set([
  'abs', 'min', 'max', 'clamp', 'exp', 'log', 'tanh', 'sqrt', 'floor', 'ceil', 'f16',
]);

export const ELEMENTWISE_OPERATORS: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%']);

type TensorType = Extract<Type, { kind: 'tensor' }>;

/** An operand elementwise arithmetic cannot take: an i32 tensor, a bool, a list. */
export const badElementwiseOperand = (t: Type): boolean =>
  (t.kind === 'tensor' && t.elem === 'i32') || t.kind === 'bool' || t.kind === 'list' || t.kind === 'normalize';

export const ELEMENTWISE_HINT = 'tensor arithmetic takes f32 (or f16) tensors, ints and floats; an i32 tensor is read by lookups in `mask:`/`score:`';

/**
 * The type of an elementwise operation over `operands` (at least one an f32 tensor, none
 * an error or a bad operand): an f32 tensor of the widest operand's shape; or ERROR after
 * reporting operands whose shapes cannot agree (AT408).
 */
export function elementwiseResult(cx: CheckContext, operands: { expr: Expr; type: Type }[]): Type {
  const tensors = operands.filter((o): o is { expr: Expr; type: TensorType } => o.type.kind === 'tensor');
  // The widest operand gives the shape; the others have it, or it without its last axis.
  const widest = tensors.reduce((a, o) => (o.type.shape.length > a.type.shape.length ? o : a));
  const rank = widest.type.shape.length;
  for (const o of tensors) {
    const r = o.type.shape.length;
    const axes = r === rank ? rank : r === rank - 1 ? r : -1;
    const clash = axes < 0 ? -1 : o.type.shape.slice(0, axes).findIndex((d, k) => staticClash(d.text, widest.type.shape[k]!.text));
    if (axes < 0 || clash >= 0) {
      cx.error('AT408', [cx.text(widest.expr.span), showType(widest.type), cx.text(o.expr.span), showType(o.type)], o.expr.span,
        'elementwise operands have the same shape, or one has the shape of the others without its last axis (one value per row)');
      return ERROR;
    }
  }
  return { kind: 'tensor', elem: 'f32', shape: widest.type.shape };
}

/** Two dims that cannot be equal at run time: two different literal sizes. */
const staticClash = (a: string, b: string): boolean => a !== b && /^\d+$/.test(a) && /^\d+$/.test(b);
