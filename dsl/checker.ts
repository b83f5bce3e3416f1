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

import type {
  Arg,
  Attention,
  ElemType,
  Expr,
  ExprOf,
  Ident,
  NameRef,
  Program,
  ShapeDim,
  SourceFile,
  Span,
  Statement,
  Type,
} from './ast.js';
import {
  BUILTINS,
  INDEX_NAMES,
  SCORE_NAME,
  bindArgs,
  builtin,
  closest,
  signature,
  type BuiltinSpec,
  type IndexName,
  type ParamSpec,
} from './builtins.js';
import { diag, type DiagCode, type Diagnostic } from './diagnostics.js';

/** Where an expression is evaluated; decides which names and operations are allowed. */
type Where =
  /** A `let` or `return` value, or a tensor argument: tensor operations allowed. */
  | 'tensor'
  /** A size, flag or `scale:`: params and dims only. */
  | 'const'
  /** `mask:`: index names, lookups and patterns. */
  | 'mask'
  /** `score:`: index names, lookups and `s`. */
  | 'score';

type Sym =
  | { kind: 'input'; type: Type }
  | { kind: 'let'; type: Type }
  | { kind: 'dim' }
  | { kind: 'param'; type: Type; value: number | boolean };

const INT: Type = { kind: 'int' };
const FLOAT: Type = { kind: 'float' };
const BOOL: Type = { kind: 'bool' };
const ERROR: Type = { kind: 'error' };

const RESERVED = new Set<string>([...INDEX_NAMES, SCORE_NAME]);
const NORMALIZE_VALUES = ['keys', 'queries'] as const;

/** Check every definition of a parsed program; annotates the AST in place. */
export function checkProgram(program: Program, file: SourceFile): Diagnostic[] {
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
    diagnostics.push(...new DefChecker(def, file).run());
  }
  return diagnostics;
}

// ---- type helpers ----

const isNumeric = (t: Type): boolean => t.kind === 'int' || t.kind === 'float';
const isScalar = (t: Type): boolean => isNumeric(t) || t.kind === 'bool';

/** How a type is written in messages: `int`, `f32[B, H, N, D]`, `a list`. */
export function showType(t: Type): string {
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'bool':
      return t.kind;
    case 'tensor':
      return `${t.elem}[${t.shape.map((d) => d.text).join(', ')}]`;
    case 'normalize':
      return '`' + t.value + '`';
    case 'list':
      return `a list of ${t.items.length}`;
    case 'error':
      return 'an invalid value';
  }
}

/** With an article, for "`x` is …". */
function showTypeArticle(t: Type): string {
  switch (t.kind) {
    case 'int':
      return 'an int';
    case 'float':
      return 'a float';
    case 'bool':
      return 'a bool';
    case 'tensor':
      return 'a tensor ' + showType(t);
    default:
      return showType(t);
  }
}

// ---- constant folding (for AT306 and for the dims of pooled shapes) ----

type Const = number | boolean | undefined;

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}
function floorMod(a: number, b: number): number {
  return a - b * Math.floor(a / b);
}

class DefChecker {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly scope = new Map<string, Sym>();
  /** The statement being checked (for hints about lets used too early). */
  private current: Statement | undefined;
  /** Dims that got a default from `dims` (a second default is a duplicate). */
  private readonly dimDefaults = new Set<string>();

  constructor(
    private readonly def: Attention,
    private readonly file: SourceFile,
  ) {}

  private error(code: DiagCode, args: readonly (string | number)[], span: Span | undefined, hint?: string): void {
    this.diagnostics.push(diag(code, args, span, hint, this.file));
  }

  private text(span: Span): string {
    return this.file.text.slice(span.start, span.end).replace(/\s+/g, ' ');
  }

  run(): Diagnostic[] {
    this.declare();
    this.body();
    this.structure();
    return this.diagnostics;
  }

  // ---- declarations: inputs, dims, params are visible in the whole definition ----

  /** Check a new name; false when it must not be declared. */
  private canDeclare(id: Ident, allowDim = false): boolean {
    if (id.name === '') return false;
    if (RESERVED.has(id.name)) {
      this.error('AT205', [id.name], id.span);
      return false;
    }
    const prev = this.scope.get(id.name);
    if (prev && !(allowDim && prev.kind === 'dim')) {
      this.error('AT202', [id.name, this.def.name.name], id.span);
      return false;
    }
    return true;
  }

  private declare(): void {
    for (const st of this.def.statements) {
      switch (st.kind) {
        case 'input': {
          // Every name in an input shape is a dim; the same dim may appear in many shapes.
          for (const d of st.type.dims) {
            if (d.kind !== 'name') continue;
            if (this.canDeclare({ name: d.name, span: d.span }, true)) this.scope.set(d.name, { kind: 'dim' });
          }
          const type: Type = {
            kind: 'tensor',
            elem: st.type.elem,
            shape: st.type.dims.map((d) => ({ text: d.kind === 'name' ? d.name : String(d.value) })),
          };
          for (const n of st.names) if (this.canDeclare(n)) this.scope.set(n.name, { kind: 'input', type });
          break;
        }
        case 'dims':
          for (const e of st.entries) {
            if (this.dimDefaults.has(e.name.name)) {
              this.error('AT202', [e.name.name, this.def.name.name], e.name.span);
              continue;
            }
            if (this.canDeclare(e.name, true)) {
              this.scope.set(e.name.name, { kind: 'dim' });
              this.dimDefaults.add(e.name.name);
            }
          }
          break;
        case 'param':
          for (const e of st.entries) {
            const type = typeof e.value === 'boolean' ? BOOL : e.isFloat ? FLOAT : INT;
            if (this.canDeclare(e.name)) this.scope.set(e.name.name, { kind: 'param', type, value: e.value });
          }
          break;
        default:
          break;
      }
    }
  }

  // ---- lets and return, in order ----

  private body(): void {
    for (const st of this.def.statements) {
      this.current = st;
      if (st.kind === 'let') {
        const t = this.expr(st.value, 'tensor');
        if (t.kind !== 'tensor' && t.kind !== 'error') {
          this.error('AT604', [st.name.name, showType(t)], st.value.span);
        }
        // Declared after its value is checked: a let cannot refer to itself.
        if (this.canDeclare(st.name)) {
          this.scope.set(st.name.name, { kind: 'let', type: t.kind === 'tensor' ? t : ERROR });
        }
      } else if (st.kind === 'return') {
        const t = this.expr(st.value, 'tensor');
        if (t.kind !== 'tensor' && t.kind !== 'error') this.error('AT604', ['return', showType(t)], st.value.span);
      }
    }
  }

  /** Exactly one `return`, and it comes last. */
  private structure(): void {
    const sts = this.def.statements;
    const returns = sts.filter((s) => s.kind === 'return');
    if (returns.length === 0) {
      this.error('AT601', [this.def.name.name], this.def.name.span, 'end the definition with `return attend(…)`');
      return;
    }
    for (const r of returns.slice(1)) this.error('AT602', [this.def.name.name], r.span);
    if (sts[sts.length - 1]!.kind !== 'return') this.error('AT603', [], returns[returns.length - 1]!.span);
  }

  // ---- expressions ----

  private expr(e: Expr, where: Where): Type {
    const t = this.infer(e, where);
    e.ty = t;
    return t;
  }

  private infer(e: Expr, where: Where): Type {
    switch (e.kind) {
      case 'number':
        return e.isFloat ? FLOAT : INT;
      case 'bool':
        return BOOL;
      case 'name':
        return this.name(e, where);
      case 'unary': {
        const t = this.expr(e.arg, where);
        if (t.kind === 'error') return ERROR;
        if (e.op === '-' && isNumeric(t)) return t;
        if (e.op === '!' && t.kind === 'bool') return BOOL;
        this.error('AT303', [e.op, showType(t)], e.span, e.op === '!' ? '`!` takes a bool' : '`-` takes an int or a float');
        return ERROR;
      }
      case 'binary':
        return this.binary(e, where);
      case 'ternary': {
        const c = this.expr(e.cond, where);
        const a = this.expr(e.then, where);
        const b = this.expr(e.else, where);
        if (c.kind !== 'bool' && c.kind !== 'error') this.error('AT301', ['bool', showType(c)], e.cond.span);
        if (a.kind === 'error' || b.kind === 'error') return ERROR;
        if (!isScalar(a) || !isScalar(b) || (a.kind === 'bool') !== (b.kind === 'bool')) {
          this.error('AT304', [showType(a), showType(b)], e.span,
            isScalar(a) && isScalar(b) ? undefined : '`?:` chooses between scalars (int, float or bool)');
          return ERROR;
        }
        if (c.kind !== 'bool') return ERROR;
        return a.kind === b.kind ? a : FLOAT;
      }
      case 'call':
        return this.call(e, where);
      case 'index':
        return this.lookup(e, where);
      case 'list':
        for (const item of e.items) this.expr(item, where);
        this.error('AT511', [], e.span);
        return ERROR;
    }
  }

  private setRef(e: ExprOf<'name'>, ref: NameRef): void {
    e.ref = ref;
  }

  private name(e: ExprOf<'name'>, where: Where): Type {
    const n = e.name;
    if (n === '') return ERROR; // placeholder from error recovery
    const indexCtx = where === 'mask' || where === 'score';
    if ((INDEX_NAMES as readonly string[]).includes(n)) {
      if (!indexCtx) {
        this.error('AT203', [n], e.span);
        return ERROR;
      }
      this.setRef(e, { kind: 'index', name: n as IndexName });
      return INT;
    }
    if (n === SCORE_NAME) {
      if (where !== 'score') {
        this.error('AT204', [], e.span, where === 'mask' ? 'a mask cannot depend on scores; use `score:`' : undefined);
        return ERROR;
      }
      this.setRef(e, { kind: 'score' });
      return FLOAT;
    }
    const sym = this.scope.get(n);
    if (sym) {
      this.setRef(e, { kind: sym.kind });
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
          this.error('AT507', [n], e.span);
          return ERROR;
        }
        if (spec.params.some((p) => p.default === undefined)) {
          this.error('AT512', [n, 'arguments: `' + signature(spec) + '`'], e.span);
          return ERROR;
        }
        this.setRef(e, { kind: 'pattern' });
        return BOOL;
      }
      this.error('AT512', [n, 'arguments: `' + signature(spec) + '`'], e.span);
      return ERROR;
    }
    if ((NORMALIZE_VALUES as readonly string[]).includes(n)) {
      this.error('AT201', [n], e.span, '`' + n + '` is only a value of `normalize:`');
      return ERROR;
    }
    const later = this.def.statements.find((st) => st.kind === 'let' && st.name.name === n);
    if (later) {
      this.error('AT201', [n], e.span, later === this.current
        ? 'a `let` cannot refer to itself'
        : `\`${n}\` is defined by a later \`let\`; move that \`let\` up`);
      return ERROR;
    }
    const near = closest(n, this.candidates(where));
    this.error('AT201', [n], e.span, near ? `did you mean \`${near}\`?` : undefined);
    return ERROR;
  }

  /** Names a misspelling could have meant, nearest first in case of ties. */
  private candidates(where: Where): string[] {
    const names = [...this.scope.keys()];
    if (where === 'mask' || where === 'score') names.push(...INDEX_NAMES);
    if (where === 'score') names.push(SCORE_NAME);
    names.push(...BUILTINS.map((b) => b.name));
    return names;
  }

  private binary(e: ExprOf<'binary'>, where: Where): Type {
    const a = this.expr(e.lhs, where);
    const b = this.expr(e.rhs, where);
    if (a.kind === 'error' || b.kind === 'error') return ERROR;
    const bad = (hint?: string): Type => {
      this.error('AT302', [e.op, showType(a), showType(b)], e.opSpan, hint);
      return ERROR;
    };
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
        if (a.kind === 'int' && b.kind === 'int') {
          if ((e.op === '/' || e.op === '%') && this.fold(e.rhs, false) === 0) this.error('AT306', [], e.rhs.span);
          return INT;
        }
        return FLOAT;
      }
    }
  }

  /** `t[e, …]`: an element of an input or `let` tensor, inside `mask:`/`score:`. */
  private lookup(e: ExprOf<'index'>, where: Where): Type {
    const t = this.expr(e.target, where);
    if (t.kind === 'error') return ERROR;
    if (t.kind !== 'tensor') {
      this.error('AT406', [this.text(e.target.span), showTypeArticle(t)], e.target.span);
      return ERROR;
    }
    if (where !== 'mask' && where !== 'score') {
      // The indices are not checked: outside an index expression they would only add
      // follow-on errors (`i` is not in scope there).
      this.error('AT407', [], e.span,
        where === 'tensor' ? 'a `let` or `return` takes a whole tensor' : 'sizes and `scale:` are over params and dims only');
      return ERROR;
    }
    const idx = e.indices.map((x) => this.expr(x, where));
    // The lowering reads lookups from named tensors only (an inner tensor operation would
    // already be AT506 here).
    if (e.target.kind !== 'name') {
      this.error('AT406', [this.text(e.target.span), showTypeArticle(t)], e.target.span);
      return ERROR;
    }
    let ok = true;
    e.indices.forEach((x, k) => {
      const it = idx[k]!;
      if (it.kind !== 'int' && it.kind !== 'error') {
        this.error('AT301', ['int', showType(it)], x.span, it.kind === 'float' ? 'convert it with `int(...)`' : undefined);
        ok = false;
      }
    });
    if (e.indices.length !== t.shape.length) {
      this.error('AT401', [this.text(e.target.span), e.indices.length, t.shape.length], e.span,
        `\`${this.text(e.target.span)}\` is ${showType(t)}`);
      return ERROR;
    }
    if (!ok || idx.some((x) => x.kind === 'error')) return ERROR;
    return t.elem === 'i32' ? INT : FLOAT;
  }

  // ---- calls ----

  private call(e: ExprOf<'call'>, where: Where): Type {
    const name = e.callee.name;
    const spec = builtin(name);
    if (!spec) {
      const sym = this.scope.get(name);
      const hint = sym
        ? `\`${name}\` is ${sym.kind === 'dim' ? 'a dim' : sym.kind === 'input' ? 'an input' : 'a ' + sym.kind}, not a function`
        : (() => {
            const near = closest(name, BUILTINS.map((b) => b.name));
            return near ? `did you mean \`${near}\`?` : undefined;
          })();
      this.error('AT206', [name], e.callee.span, hint);
      for (const a of e.args) if (a.value.kind !== 'list') this.expr(a.value, where);
      return ERROR;
    }
    if (spec.kind === 'pattern' && spec.params.length === 0) {
      this.error('AT509', [name], e.span);
      return where === 'mask' ? BOOL : ERROR;
    }
    if (spec.kind === 'tensor' && where !== 'tensor') {
      this.error('AT506', [name], e.callee.span);
      return ERROR;
    }
    if (spec.kind === 'pattern' && where !== 'mask') {
      this.error('AT507', [name], e.callee.span, where === 'score' ? 'combine patterns in `mask:`' : undefined);
      return ERROR;
    }

    const bound = bindArgs(e, spec);
    let ok = bound.problems.length === 0;
    for (const p of bound.problems) this.diagnostics.push({ ...p, file: this.file });
    // Arguments that bind to no parameter (already reported) are not checked: without a
    // parameter there is no context to check them in, and guessing would add noise.

    const types = new Map<string, Type>();
    for (const p of spec.params) {
      const a = bound.args.get(p.name);
      if (!a) continue;
      const t = this.argument(spec, p, a, where);
      types.set(p.name, t);
      if (t.kind === 'error') ok = false;
    }
    if (!ok) return ERROR;

    switch (spec.kind) {
      case 'pattern':
        return BOOL;
      case 'function':
        return this.functionResult(spec, [...types.values()]);
      case 'tensor':
        return this.tensorResult(spec, bound.args, types);
    }
  }

  /** Check one bound argument against its parameter kind; returns its type or error. */
  private argument(spec: BuiltinSpec, p: ParamSpec, a: Arg, where: Where): Type {
    const v = a.value;
    const mustBe = (what: string, t: Type, hint?: string): Type => {
      if (t.kind !== 'error') this.error('AT508', [spec.name, p.name, what, showType(t)], v.span, hint);
      return ERROR;
    };
    const size = (x: Expr): Type => {
      const t = this.expr(x, 'const');
      return t.kind === 'int' ? t : mustBe('an int', t, t.kind === 'float' ? 'sizes are ints' : undefined);
    };
    const flag = (x: Expr): Type => {
      const t = this.expr(x, 'const');
      if (t.kind === 'error') return ERROR;
      // The lowering reads flags as constants: a literal or a bool param, nothing computed.
      const constant = x.kind === 'bool' || (x.kind === 'name' && x.ref?.kind === 'param');
      if (t.kind !== 'bool' || !constant) {
        const found = t.kind === 'bool' ? '`' + this.text(x.span) + '`' : showType(t);
        this.error('AT508', [spec.name, p.name, '`true`, `false` or a bool param', found], x.span);
        return ERROR;
      }
      return t;
    };
    const pairOf = (one: (x: Expr) => Type, what: string): Type => {
      if (v.kind !== 'list') return one(v);
      const items = v.items.map(one);
      if (v.items.length !== 2) {
        this.error('AT508', [spec.name, p.name, what, `a list of ${v.items.length}`], v.span);
        v.ty = ERROR;
        return ERROR;
      }
      const t: Type = items.some((x) => x.kind === 'error') ? ERROR : { kind: 'list', items };
      v.ty = t;
      return t;
    };

    switch (p.kind) {
      case 'number': {
        const t = this.expr(v, where);
        if (spec.name === 'alibi') return t.kind === 'int' ? t : mustBe('an int', t);
        return isNumeric(t) ? t : mustBe('an int or a float', t);
      }
      case 'size':
        return size(v);
      case 'size-pair':
        return pairOf(size, 'an int or a pair `[a, b]`');
      case 'flag':
        return flag(v);
      case 'flag-pair':
        return pairOf(flag, 'a bool or a pair `[a, b]`');
      case 'pair': {
        if (v.kind !== 'list') {
          // Check the value for its own errors first, then say what was wanted.
          const t = this.expr(v, 'const');
          return mustBe('a pair `[a, b]`', t);
        }
        return pairOf(size, 'a pair `[a, b]`');
      }
      case 'tensor': {
        const t = this.expr(v, 'tensor');
        return t.kind === 'tensor' ? t : mustBe('a tensor', t);
      }
      case 'scale': {
        const t = this.expr(v, 'const');
        return isNumeric(t) ? t : mustBe('a float', t);
      }
      case 'mask': {
        const t = this.expr(v, 'mask');
        if (t.kind === 'bool' || t.kind === 'error') return t;
        this.error('AT307', [showType(t)], v.span, isNumeric(t) ? 'compare it, e.g. `x != 0`' : undefined);
        return ERROR;
      }
      case 'score': {
        const t = this.expr(v, 'score');
        if (t.kind === 'float' || t.kind === 'error') return t;
        this.error('AT308', [showType(t)], v.span, t.kind === 'int' ? 'use `float(...)`' : undefined);
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
        this.error('AT510', [], v.span, near ? `did you mean \`${near}\`?` : undefined);
        v.ty = ERROR;
        return ERROR;
      }
    }
  }

  private functionResult(spec: BuiltinSpec, args: Type[]): Type {
    switch (spec.name) {
      case 'abs':
      case 'min':
      case 'max':
      case 'clamp':
        return args.every((t) => t.kind === 'int') ? INT : FLOAT;
      case 'int':
        return INT;
      default:
        // exp log tanh sqrt floor ceil float alibi
        return FLOAT;
    }
  }

  // ---- tensor operations: ranks and static shapes ----

  /** The text of a tensor argument for messages: its name, else the parameter's name. */
  private argLabel(a: Arg | undefined, param: string): string {
    return a && a.value.kind === 'name' ? a.value.name : param;
  }

  private tensorResult(spec: BuiltinSpec, args: Map<string, Arg>, types: Map<string, Type>): Type {
    const tensor = (p: string, rank: number): Extract<Type, { kind: 'tensor' }> | undefined => {
      const t = types.get(p);
      if (!t || t.kind !== 'tensor') return undefined;
      if (t.shape.length !== rank) {
        const a = args.get(p)!;
        this.error('AT404', [this.text(a.value.span), rank, t.shape.length], a.value.span,
          `\`${spec.name}\` takes ${p}: ${rank === 3 ? '[Hx, C, D]' : '[B, H, N, D]'}`);
        return undefined;
      }
      return t;
    };
    const sizeDim = (p: string): ShapeDim => ({ text: this.dimText(args.get(p)!.value) });
    let ok = true;
    const same = (code: 'AT402' | 'AT405', what: string, pa: string, ia: number, pb: string, ib: number,
      ta: Extract<Type, { kind: 'tensor' }>, tb: Extract<Type, { kind: 'tensor' }>): void => {
      const da = ta.shape[ia]!.text;
      const db = tb.shape[ib]!.text;
      if (da === db) return;
      ok = false;
      const la = this.argLabel(args.get(pa), pa);
      const lb = this.argLabel(args.get(pb), pb);
      const span = args.get(pb)!.value.span;
      if (code === 'AT402') this.error('AT402', [la, da, lb, db], span);
      else this.error('AT405', [`the ${what} of \`${la}\` and \`${lb}\``, da, db], span);
    };

    switch (spec.name) {
      case 'attend': {
        const q = tensor('q', 4);
        const k = tensor('k', 4);
        const v = tensor('v', 4);
        if (!q || !k || !v) return ERROR;
        for (const [p, t] of [['q', q], ['k', k], ['v', v]] as const) {
          if (t.elem === 'i32') {
            this.error('AT508', ['attend', p, 'a float tensor', showType(t)], args.get(p)!.value.span);
            ok = false;
          }
        }
        same('AT405', 'batch', 'q', 0, 'k', 0, q, k);
        same('AT402', '', 'q', 3, 'k', 3, q, k);
        same('AT405', 'batch', 'k', 0, 'v', 0, k, v);
        same('AT405', 'heads', 'k', 1, 'v', 1, k, v);
        same('AT405', 'key length', 'k', 2, 'v', 2, k, v);
        const h = Number(q.shape[1]!.text);
        const hk = Number(k.shape[1]!.text);
        if (Number.isInteger(h) && Number.isInteger(hk) && hk > 0 && h % hk !== 0) {
          ok = false;
          this.error('AT405', [`the heads of \`${this.argLabel(args.get('q'), 'q')}\` and \`${this.argLabel(args.get('k'), 'k')}\``,
            String(h), String(hk)], args.get('k')!.value.span, 'the query heads must be a multiple of the key/value heads');
        }
        if (!ok) return ERROR;
        return { kind: 'tensor', elem: 'f32', shape: [q.shape[0]!, q.shape[1]!, q.shape[2]!, v.shape[3]!] };
      }
      case 'pool': {
        const x = tensor('x', 4);
        if (!x) return ERROR;
        return { kind: 'tensor', elem: 'f32', shape: [x.shape[0]!, x.shape[1]!, sizeDim('tokens'), x.shape[3]!] };
      }
      case 'pool2d': {
        const x = tensor('x', 4);
        if (!x) return ERROR;
        const to = args.get('to')!.value;
        if (to.kind !== 'list') return ERROR;
        const [ph, pw] = to.items as [Expr, Expr];
        const a = this.fold(ph, true);
        const b = this.fold(pw, true);
        const text = typeof a === 'number' && typeof b === 'number' ? String(a * b) : `${this.dimText(ph)} * ${this.dimText(pw)}`;
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
      default:
        return ERROR;
    }
  }

  /** Canonical text of a size used as a dim: its constant value, a dim name, or its source. */
  private dimText(e: Expr): string {
    const v = this.fold(e, true);
    if (typeof v === 'number') return String(v);
    return this.text(e.span);
  }

  /**
   * The value of a constant int/bool expression, or undefined. With `params`, param names
   * count as constants (kernels specialise on them); without, only literals do.
   */
  private fold(e: Expr, params: boolean): Const {
    switch (e.kind) {
      case 'number':
        return e.isFloat ? undefined : e.value;
      case 'bool':
        return e.value;
      case 'name': {
        if (!params) return undefined;
        const sym = this.scope.get(e.name);
        return sym?.kind === 'param' && !(typeof sym.value === 'number' && sym.type.kind === 'float') ? sym.value : undefined;
      }
      case 'unary': {
        const a = this.fold(e.arg, params);
        if (e.op === '-' && typeof a === 'number') return -a;
        if (e.op === '!' && typeof a === 'boolean') return !a;
        return undefined;
      }
      case 'binary': {
        const a = this.fold(e.lhs, params);
        const b = this.fold(e.rhs, params);
        if (typeof a !== 'number' || typeof b !== 'number') return undefined;
        switch (e.op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': return b === 0 ? undefined : floorDiv(a, b);
          case '%': return b === 0 ? undefined : floorMod(a, b);
          default: return undefined;
        }
      }
      default:
        return undefined;
    }
  }
}
