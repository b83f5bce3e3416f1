// Names: declaring inputs, dims and params (visible in the whole definition), and
// resolving a name in an expression to what it refers to, with hints for the names a
// misspelling could have meant.

import type { ExprOf, Ident, Type } from './ast.js';
import { BUILTINS, INDEX_NAMES, SCORE_NAME, builtin, closest, signature, type IndexName } from './builtins.js';
import type { CheckContext } from './checker-context.js';
import { BOOL, ERROR, FLOAT, INT, NORMALIZE_VALUES, RESERVED, type Where } from './checker-types.js';

/** Check a new name; false when it must not be declared. */
export function canDeclare(cx: CheckContext, id: Ident, allowDim = false): boolean {
  if (id.name === '') return false;
  if (RESERVED.has(id.name)) {
    cx.error('AT205', [id.name], id.span);
    return false;
  }
  const prev = cx.scope.get(id.name);
  if (prev && !(allowDim && prev.kind === 'dim')) {
    cx.error('AT202', [id.name, cx.def.name.name], id.span);
    return false;
  }
  return true;
}

export function declareNames(cx: CheckContext): void {
  for (const st of cx.def.statements) {
    switch (st.kind) {
      case 'input': {
        // Every name in an input shape is a dim; the same dim may appear in many shapes.
        for (const d of st.type.dims) {
          if (d.kind !== 'name') continue;
          if (canDeclare(cx, { name: d.name, span: d.span }, true)) cx.scope.set(d.name, { kind: 'dim' });
        }
        const type: Type = {
          kind: 'tensor',
          elem: st.type.elem,
          shape: st.type.dims.map((d) => ({ text: d.kind === 'name' ? d.name : String(d.value) })),
        };
        for (const n of st.names) if (canDeclare(cx, n)) cx.scope.set(n.name, { kind: 'input', type });
        break;
      }
      case 'dims':
        for (const e of st.entries) {
          if (cx.dimDefaults.has(e.name.name)) {
            cx.error('AT202', [e.name.name, cx.def.name.name], e.name.span);
            continue;
          }
          if (canDeclare(cx, e.name, true)) {
            cx.scope.set(e.name.name, { kind: 'dim' });
            cx.dimDefaults.add(e.name.name);
          }
        }
        break;
      case 'param':
        for (const e of st.entries) {
          const type = typeof e.value === 'boolean' ? BOOL : e.isFloat ? FLOAT : INT;
          if (canDeclare(cx, e.name)) cx.scope.set(e.name.name, { kind: 'param', type, value: e.value });
        }
        break;
      default:
        break;
    }
  }
}

export function checkName(cx: CheckContext, e: ExprOf<'name'>, where: Where): Type {
  const n = e.name;
  if (n === '') return ERROR; // placeholder from error recovery
  const indexCtx = where === 'mask' || where === 'score';
  if ((INDEX_NAMES as readonly string[]).includes(n)) {
    if (!indexCtx) {
      cx.error('AT203', [n], e.span);
      return ERROR;
    }
    e.ref = { kind: 'index', name: n as IndexName };
    return INT;
  }
  if (n === SCORE_NAME) {
    if (where !== 'score') {
      cx.error('AT204', [], e.span, where === 'mask' ? 'a mask cannot depend on scores; use `score:`' : undefined);
      return ERROR;
    }
    e.ref = { kind: 'score' };
    return FLOAT;
  }
  const sym = cx.scope.get(n);
  if (sym) {
    e.ref = { kind: sym.kind };
    switch (sym.kind) {
      case 'dim':
        return INT;
      case 'param':
      case 'input':
      case 'let':
        return sym.type;
    }
  }
  const spec = builtin(n);
  if (spec) {
    if (spec.kind === 'pattern') {
      if (where !== 'mask') {
        cx.error('AT507', [n], e.span);
        return ERROR;
      }
      if (spec.params.some((p) => p.default === undefined)) {
        cx.error('AT512', [n, 'arguments: `' + signature(spec) + '`'], e.span);
        return ERROR;
      }
      e.ref = { kind: 'pattern' };
      return BOOL;
    }
    cx.error('AT512', [n, 'arguments: `' + signature(spec) + '`'], e.span);
    return ERROR;
  }
  if ((NORMALIZE_VALUES as readonly string[]).includes(n)) {
    cx.error('AT201', [n], e.span, '`' + n + '` is only a value of `normalize:`');
    return ERROR;
  }
  const later = cx.def.statements.find((st) => st.kind === 'let' && st.name.name === n);
  if (later) {
    cx.error('AT201', [n], e.span, later === cx.current
      ? 'a `let` cannot refer to itself'
      : `\`${n}\` is defined by a later \`let\`; move that \`let\` up`);
    return ERROR;
  }
  const near = closest(n, candidates(cx, where));
  cx.error('AT201', [n], e.span, near ? `did you mean \`${near}\`?` : undefined);
  return ERROR;
}

/** Names a misspelling could have meant, nearest first in case of ties. */
function candidates(cx: CheckContext, where: Where): string[] {
  const names = [...cx.scope.keys()];
  if (where === 'mask' || where === 'score') names.push(...INDEX_NAMES);
  if (where === 'score') names.push(SCORE_NAME);
  names.push(...BUILTINS.map((b) => b.name));
  return names;
}
