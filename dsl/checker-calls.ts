// Calls against the builtins table (dsl/builtins.ts): where each kind of builtin may be
// called, binding arguments to parameters, checking each argument by its parameter kind,
// and the result type (tensor operations: checker-shapes.ts).

import type { Arg, Expr, ExprOf, Type } from './ast.js';
import { BUILTINS, bindArgs, builtin, closest, type BuiltinSpec, type ParamSpec } from './builtins.js';
import type { CheckContext } from './checker-context.js';
import { checkExpr } from './checker-expr.js';
import { ELEMENTWISE_FUNCTIONS, ELEMENTWISE_HINT, badElementwiseOperand, elementwiseResult } from './checker-elementwise.js';
import { tensorResult } from './checker-shapes.js';
import { BOOL, ERROR, FLOAT, INT, NORMALIZE_VALUES, isNumeric, showType, type Where } from './checker-types.js';

export function checkCall(cx: CheckContext, e: ExprOf<'call'>, where: Where): Type {
  const name = e.callee.name;
  const spec = builtin(name);
  if (!spec) {
    const sym = cx.scope.get(name);
    const hint = sym
      ? `\`${name}\` is ${sym.kind === 'dim' ? 'a dim' : sym.kind === 'input' ? 'an input' : 'a ' + sym.kind}, not a function`
      : (() => {
          const near = closest(name, BUILTINS.map((b) => b.name));
          return near ? `did you mean \`${near}\`?` : undefined;
        })();
    cx.error('AT206', [name], e.callee.span, hint);
    for (const a of e.args) if (a.value.kind !== 'list') checkExpr(cx, a.value, where);
    return ERROR;
  }
  if (spec.kind === 'pattern' && spec.params.length === 0) {
    cx.error('AT509', [name], e.span);
    return where === 'mask' ? BOOL : ERROR;
  }
  if (spec.kind === 'tensor' && where !== 'tensor') {
    cx.error('AT506', [name], e.callee.span);
    return ERROR;
  }
  if (spec.kind === 'pattern' && where !== 'mask') {
    cx.error('AT507', [name], e.callee.span, where === 'score' ? 'combine patterns in `mask:`' : undefined);
    return ERROR;
  }

  const bound = bindArgs(e, spec);
  let ok = bound.problems.length === 0;
  for (const p of bound.problems) cx.diagnostics.push({ ...p, file: cx.file });
  // Arguments that bind to no parameter (already reported) are not checked: without a
  // parameter there is no context to check them in, and guessing would add noise.

  const types = new Map<string, Type>();
  for (const p of spec.params) {
    const a = bound.args.get(p.name);
    if (!a) continue;
    const t = checkArgument(cx, spec, p, a, where);
    types.set(p.name, t);
    if (t.kind === 'error') ok = false;
  }
  if (!ok) return ERROR;

  switch (spec.kind) {
    case 'pattern':
      return BOOL;
    case 'function': {
      const operands = spec.params.filter((p) => types.has(p.name)).map((p) => ({ expr: bound.args.get(p.name)!.value, type: types.get(p.name)! }));
      if (operands.some((o) => o.type.kind === 'tensor')) {
        const t = elementwiseResult(cx, operands);
        return spec.name === 'f16' && t.kind === 'tensor' ? { ...t, elem: 'f16' } : t;
      }
      return functionResult(spec, [...types.values()]);
    }
    case 'tensor':
      return tensorResult(cx, spec, bound.args, types);
  }
}

/** Check one bound argument against its parameter kind; returns its type or error. */
function checkArgument(cx: CheckContext, spec: BuiltinSpec, p: ParamSpec, a: Arg, where: Where): Type {
  const v = a.value;
  const mustBe = (what: string, t: Type, hint?: string): Type => {
    if (t.kind !== 'error') cx.error('AT508', [spec.name, p.name, what, showType(t)], v.span, hint);
    return ERROR;
  };
  const size = (x: Expr): Type => {
    const t = checkExpr(cx, x, 'const');
    return t.kind === 'int' ? t : mustBe('an int', t, t.kind === 'float' ? 'sizes are ints' : undefined);
  };
  const flag = (x: Expr): Type => {
    const t = checkExpr(cx, x, 'const');
    if (t.kind === 'error') return ERROR;
    // The lowering reads flags as constants: a literal or a bool param, nothing computed.
    const constant = x.kind === 'bool' || (x.kind === 'name' && x.ref?.kind === 'param');
    if (t.kind !== 'bool' || !constant) {
      const found = t.kind === 'bool' ? '`' + cx.text(x.span) + '`' : showType(t);
      cx.error('AT508', [spec.name, p.name, '`true`, `false` or a bool param', found], x.span);
      return ERROR;
    }
    return t;
  };
  const pairOf = (one: (x: Expr) => Type, what: string, arity = 2): Type => {
    if (v.kind !== 'list') return one(v);
    const items = v.items.map(one);
    if (v.items.length !== arity) {
      cx.error('AT508', [spec.name, p.name, what, `a list of ${v.items.length}`], v.span);
      v.ty = ERROR;
      return ERROR;
    }
    const t: Type = items.some((x) => x.kind === 'error') ? ERROR : { kind: 'list', items };
    v.ty = t;
    return t;
  };

  switch (p.kind) {
    case 'number': {
      const t = checkExpr(cx, v, where);
      if (spec.name === 'alibi') return t.kind === 'int' ? t : mustBe('an int', t);
      if (isNumeric(t)) return t;
      // In a `let` or `return` value, some functions apply elementwise to f32 tensors.
      if (where === 'tensor' && t.kind === 'tensor') {
        if (!ELEMENTWISE_FUNCTIONS.has(spec.name)) {
          return mustBe('an int or a float', t, `only ${[...ELEMENTWISE_FUNCTIONS].map((f) => `\`${f}\``).join(', ')} apply to tensors`);
        }
        return badElementwiseOperand(t) ? mustBe('an f32 tensor, an int or a float', t, ELEMENTWISE_HINT) : t;
      }
      return mustBe('an int or a float', t);
    }
    case 'size':
      return size(v);
    case 'size-pair':
      return pairOf(size, 'an int or a pair `[a, b]`');
    case 'flag':
      return flag(v);
    case 'flag-pair':
      return pairOf(flag, 'a bool or a pair `[a, b]`');
    case 'size-triple':
      return pairOf(size, 'an int or a triple `[a, b, c]`', 3);
    case 'flag-triple':
      return pairOf(flag, 'a bool or a triple `[a, b, c]`', 3);
    case 'pair': {
      if (v.kind !== 'list') {
        // Check the value for its own errors first, then say what was wanted.
        const t = checkExpr(cx, v, 'const');
        return mustBe('a pair `[a, b]`', t);
      }
      return pairOf(size, 'a pair `[a, b]`');
    }
    case 'tensor': {
      const t = checkExpr(cx, v, 'tensor');
      return t.kind === 'tensor' ? t : mustBe('a tensor', t);
    }
    case 'scale': {
      const t = checkExpr(cx, v, 'const');
      return isNumeric(t) ? t : mustBe('a float', t);
    }
    case 'mask': {
      const t = checkExpr(cx, v, 'mask');
      if (t.kind === 'bool' || t.kind === 'error') return t;
      cx.error('AT307', [showType(t)], v.span, isNumeric(t) ? 'compare it, e.g. `x != 0`' : undefined);
      return ERROR;
    }
    case 'score': {
      const t = checkExpr(cx, v, 'score');
      if (t.kind === 'float' || t.kind === 'error') return t;
      cx.error('AT308', [showType(t)], v.span, t.kind === 'int' ? 'use `float(...)`' : undefined);
      return ERROR;
    }
    case 'normalize': {
      if (v.kind === 'name' && (NORMALIZE_VALUES as readonly string[]).includes(v.name)) {
        const t: Type = { kind: 'normalize', value: v.name as 'keys' | 'queries' };
        v.ref = { kind: 'normalize' };
        v.ty = t;
        return t;
      }
      const near = v.kind === 'name' ? closest(v.name, NORMALIZE_VALUES) : undefined;
      cx.error('AT510', [], v.span, near ? `did you mean \`${near}\`?` : undefined);
      v.ty = ERROR;
      return ERROR;
    }
  }
}

function functionResult(spec: BuiltinSpec, args: Type[]): Type {
  switch (spec.name) {
    case 'abs':
    case 'min':
    case 'max':
    case 'clamp':
      return args.every((t) => t.kind === 'int') ? INT : FLOAT;
    case 'int':
      return INT;
    default:
      // exp log tanh sqrt floor ceil float f16 alibi
      return FLOAT;
  }
}
