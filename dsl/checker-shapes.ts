// Tensor operations (attend, pool, pool2d, clusters): operand ranks, the dims operands
// must share, and the static shape of the result.

import type { Arg, ElemType, Expr, ShapeDim, Type } from './ast.js';
import { bindArgs, builtin, type BuiltinSpec } from './builtins.js';
import type { CheckContext } from './checker-context.js';
import { ERROR, showType } from './checker-types.js';

/** The text of a tensor argument for messages: its name, else the parameter's name. */
function argLabel(a: Arg | undefined, param: string): string {
  return a && a.value.kind === 'name' ? a.value.name : param;
}

export function tensorResult(cx: CheckContext, spec: BuiltinSpec, args: Map<string, Arg>, types: Map<string, Type>): Type {
  const tensor = (p: string, rank: number): Extract<Type, { kind: 'tensor' }> | undefined => {
    const t = types.get(p);
    if (!t || t.kind !== 'tensor') return undefined;
    if (t.shape.length !== rank) {
      const a = args.get(p)!;
      cx.error('AT404', [cx.text(a.value.span), rank, t.shape.length], a.value.span,
        `\`${spec.name}\` takes ${p}: ${p === 'centroids' ? '[Hx, C, D]' : p === 'weights' ? '[B, H, N]' : '[B, H, N, D]'}`);
      return undefined;
    }
    return t;
  };
  const sizeDim = (p: string): ShapeDim => ({ text: dimText(cx, args.get(p)!.value) });
  let ok = true;
  const same = (code: 'AT402' | 'AT405', what: string, pa: string, ia: number, pb: string, ib: number,
    ta: Extract<Type, { kind: 'tensor' }>, tb: Extract<Type, { kind: 'tensor' }>): void => {
    const da = ta.shape[ia]!.text;
    const db = tb.shape[ib]!.text;
    // Only a mismatch that is visible statically is a compile error: two different sizes.
    // Different names (`D` and `E`, `64` and `D`) may agree at run time, where the shapes
    // are checked before any kernel runs.
    if (da === db || !(/^\d+$/.test(da) && /^\d+$/.test(db))) return;
    ok = false;
    const la = argLabel(args.get(pa), pa);
    const lb = argLabel(args.get(pb), pb);
    const span = args.get(pb)!.value.span;
    if (code === 'AT402') cx.error('AT402', [la, da, lb, db], span);
    else cx.error('AT405', [`the ${what} of \`${la}\` and \`${lb}\``, da, db], span);
  };

  switch (spec.name) {
    case 'attend':
    case 'topk': {
      // topk(q, k, n, …) selects as attend(q, k, v, …, topk: n) does, without values.
      const selects = spec.name === 'topk';
      const q = tensor('q', 4);
      const k = tensor('k', 4);
      const v = selects ? k : tensor('v', 4);
      if (!q || !k || !v) return ERROR;
      for (const [p, t] of [['q', q], ['k', k], ['v', v]] as const) {
        if (t.elem === 'i32' && !(selects && p === 'v')) {
          cx.error('AT508', [spec.name, p, 'a float tensor', showType(t)], args.get(p)!.value.span);
          ok = false;
        }
      }
      same('AT405', 'batch', 'q', 0, 'k', 0, q, k);
      same('AT402', '', 'q', 3, 'k', 3, q, k);
      if (!selects) {
        same('AT405', 'batch', 'k', 0, 'v', 0, k, v);
        same('AT405', 'heads', 'k', 1, 'v', 1, k, v);
        same('AT405', 'key length', 'k', 2, 'v', 2, k, v);
      }
      const h = Number(q.shape[1]!.text);
      const hk = Number(k.shape[1]!.text);
      if (Number.isInteger(h) && Number.isInteger(hk) && hk > 0 && h % hk !== 0) {
        ok = false;
        cx.error('AT405', [`the heads of \`${argLabel(args.get('q'), 'q')}\` and \`${argLabel(args.get('k'), 'k')}\``,
          String(h), String(hk)], args.get('k')!.value.span, 'the query heads must be a multiple of the key/value heads');
      }
      const topkParam = selects ? 'n' : 'topk';
      const topk = args.get(topkParam)?.value;
      if (topk && cx.fold(topk, true) === undefined) {
        ok = false;
        cx.error('AT508', [spec.name, topkParam, 'a constant int (a literal or an int param)', `\`${cx.text(topk.span)}\``], topk.span,
          'the kernels specialise on how many keys a query keeps');
      }
      const norm = args.get('normalize')?.value;
      if (topk && norm?.kind === 'name' && norm.name === 'queries') {
        ok = false;
        cx.error('AT508', ['attend', 'topk', 'used with `normalize: keys`', '`normalize: queries`'], topk.span,
          'top-k keeps each query\'s largest scores; under `normalize: queries` each key is normalized instead');
      }
      if (!ok) return ERROR;
      return { kind: 'tensor', elem: 'f32', shape: [q.shape[0]!, q.shape[1]!, q.shape[2]!, selects ? k.shape[2]! : v.shape[3]!] };
    }
    case 'pool': {
      const x = tensor('x', 4);
      if (!x) return ERROR;
      if (args.has('weights')) {
        const w = tensor('weights', 3);
        if (!w) return ERROR;
        if (w.elem === 'i32') {
          cx.error('AT508', ['pool', 'weights', 'a float tensor', showType(w)], args.get('weights')!.value.span);
          return ERROR;
        }
        for (const [axis, what] of [[0, 'batch'], [1, 'heads'], [2, 'length']] as const) same('AT405', what, 'x', axis, 'weights', axis, x, w);
        if (!ok) return ERROR;
      }
      return { kind: 'tensor', elem: 'f32', shape: [x.shape[0]!, x.shape[1]!, sizeDim('tokens'), x.shape[3]!] };
    }
    case 'pool2d': {
      const x = tensor('x', 4);
      if (!x) return ERROR;
      const to = args.get('to')!.value;
      if (to.kind !== 'list') return ERROR;
      const [ph, pw] = to.items as [Expr, Expr];
      const a = cx.fold(ph, true);
      const b = cx.fold(pw, true);
      const text = typeof a === 'number' && typeof b === 'number' ? String(a * b) : `${dimText(cx, ph)} * ${dimText(cx, pw)}`;
      return { kind: 'tensor', elem: 'f32', shape: [x.shape[0]!, x.shape[1]!, { text }, x.shape[3]!] };
    }
    case 'clusters': {
      const x = tensor('x', 4);
      const c = tensor('centroids', 3);
      if (!x || !c) return ERROR;
      same('AT405', 'heads', 'x', 1, 'centroids', 0, x, c);
      same('AT402', '', 'x', 3, 'centroids', 2, x, c);
      if (!ok) return ERROR;
      const elem: ElemType = 'i32';
      return { kind: 'tensor', elem, shape: [x.shape[0]!, x.shape[1]!, x.shape[2]!] };
    }
    case 'concat': {
      const x = tensor('x', 4);
      const y = tensor('y', 4);
      if (!x || !y) return ERROR;
      for (const t of [x, y]) {
        if (t.elem === 'i32') {
          const p = t === x ? 'x' : 'y';
          cx.error('AT508', ['concat', p, 'a float tensor', showType(t)], args.get(p)!.value.span);
          return ERROR;
        }
      }
      same('AT405', 'batch', 'x', 0, 'y', 0, x, y);
      same('AT405', 'heads', 'x', 1, 'y', 1, x, y);
      same('AT402', '', 'x', 3, 'y', 3, x, y);
      if (!ok) return ERROR;
      const [n1, n2] = [x.shape[2]!.text, y.shape[2]!.text];
      const text = /^\d+$/.test(n1) && /^\d+$/.test(n2) ? String(Number(n1) + Number(n2)) : `${n1} + ${n2}`;
      return { kind: 'tensor', elem: 'f32', shape: [x.shape[0]!, x.shape[1]!, { text }, x.shape[3]!] };
    }
    case 'lse': {
      const x = tensor('x', 4);
      if (!x) return ERROR;
      const a = args.get('x')!.value;
      const att = attendOf(cx, a);
      if (!att || att.normalize === 'queries') {
        cx.error('AT508', ['lse', 'x', 'an attention normalized over keys (`attend(…)` or a `let` bound to one)',
          att ? '`normalize: queries`' : `\`${cx.text(a.span)}\``], a.span,
          att ? 'the log-sum-exp is per query over its keys; under `normalize: queries` each key is normalized instead' : undefined);
        return ERROR;
      }
      return { kind: 'tensor', elem: 'f32', shape: [x.shape[0]!, x.shape[1]!, x.shape[2]!] };
    }
    default:
      return ERROR;
  }
}

/**
 * The `attend(…)` call an expression stands for — itself, or the value of the `let` it
 * names (following `let` chains) — with its normalization; undefined for anything else.
 */
function attendOf(cx: CheckContext, e: Expr): { normalize: string } | undefined {
  for (let seen = 0; seen <= cx.def.statements.length; seen++) {
    if (e.kind === 'call' && e.callee.name === 'attend') {
      const bound = bindArgs(e, builtin('attend')!);
      const n = bound.args.get('normalize')?.value;
      return { normalize: n?.kind === 'name' ? n.name : 'keys' };
    }
    if (e.kind !== 'name') return undefined;
    const name = e.name;
    const def = cx.def.statements.find((st): st is Extract<typeof st, { kind: 'let' }> => st.kind === 'let' && st.name.name === name);
    if (!def) return undefined;
    e = def.value;
  }
  return undefined;
}

/** Canonical text of a size used as a dim: its constant value, a dim name, or its source. */
export function dimText(cx: CheckContext, e: Expr): string {
  const v = cx.fold(e, true);
  if (typeof v === 'number') return String(v);
  return cx.text(e.span);
}
