// CST → AST. Spans are offsets into the file text, computed from the tokens of each CST
// node (chevrotain's own location tracking cannot give end offsets with offset-only
// lexing). After error recovery CST nodes may lack children; every accessor here
// tolerates that and builds a placeholder, because the AST of a damaged definition is
// still returned by `parse` (the checker skips such definitions, see `recovered`).

import type { CstElement, CstNode, IToken } from 'chevrotain';
import type {
  Arg,
  Attention,
  BinaryOp,
  DimAst,
  DimsEntry,
  ElemType,
  Expr,
  Ident,
  ParamEntry,
  Program,
  SourceFile,
  Span,
  Statement,
  TensorTypeAst,
  UnaryOp,
} from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';
import type { CstResult } from './parser.js';
import { numberValue, spanOf } from './tokens.js';

function isNode(el: CstElement): el is CstNode {
  return (el as CstNode).children !== undefined;
}

function nodes(n: CstNode, key: string): CstNode[] {
  return (n.children[key] ?? []).filter(isNode);
}

function toks(n: CstNode, key: string): IToken[] {
  return (n.children[key] ?? []).filter((e): e is IToken => !isNode(e) && !Number.isNaN(e.startOffset));
}

/**
 * Expression trees may be this deep (see `tooDeepAt`): every later phase recurses over
 * them, and the targets' own compilers refuse deep expressions (Tint's parser stops at a
 * recursion depth of 128, where `-(-(…))` costs two per level; ANGLE's GLSL parser runs
 * out of stack near 100 nested unary operators). With the builtins' expansions (up to
 * about 15 levels) and the kernels' own context, 32 keeps every target well inside.
 */
export const MAX_DEPTH = 32;

/**
 * `&&` and `||` chains up to this many operands nest to the left, as written; longer ones
 * are grouped as a balanced tree of such chains, so a flat chain of any length is only
 * about log2(n) levels deep. Both operators are associative, short-circuit order included
 * (`(a || b) || (c || d)` evaluates a, b, c, d in order and stops at the first true), so
 * the grouping changes nothing a program can observe.
 */
export const CHAIN_GROUP = 8;

/**
 * When the tree is deeper than `limit`: the node at depth `limit + 1` on its deepest path
 * (for a long chain, the case or operand where the chain crosses the limit). Computed
 * without recursion: the tree may be very deep.
 */
export function tooDeepAt(root: Expr, limit = MAX_DEPTH): Expr | undefined {
  const parent = new Map<Expr, Expr>();
  let deepest: [Expr, number] = [root, 1];
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length) {
    const [e, d] = stack.pop()!;
    if (d > deepest[1]) deepest = [e, d];
    const kids: Expr[] =
      e.kind === 'unary' ? [e.arg] :
      e.kind === 'binary' ? [e.lhs, e.rhs] :
      e.kind === 'ternary' ? [e.cond, e.then, e.else] :
      e.kind === 'call' ? e.args.map((a) => a.value) :
      e.kind === 'index' ? [e.target, ...e.indices] :
      e.kind === 'list' ? e.items :
      [];
    for (const k of kids) {
      parent.set(k, e);
      stack.push([k, d + 1]);
    }
  }
  let [e, d] = deepest;
  if (d <= limit) return undefined;
  for (; d > limit + 1; d--) e = parent.get(e)!;
  return e;
}

export interface BuildResult {
  program: Program;
  diagnostics: Diagnostic[];
}

export function buildProgram(file: SourceFile, parsed: CstResult): BuildResult {
  return new Builder(file, parsed).build();
}

class Builder {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly spans = new WeakMap<CstNode, Span | null>();
  /** Syntax errors found while building (AT305), so the definition counts as damaged. */
  private localErrors = 0;

  constructor(
    private readonly file: SourceFile,
    private readonly parsed: CstResult,
  ) {}

  build(): BuildResult {
    const attentions = this.parsed.attentions.map((a, k) => this.attention(a, this.parsed.damaged[k] ?? false));
    const program: Program = { kind: 'program', attentions, span: { start: 0, end: this.file.text.length } };
    return { program, diagnostics: this.diagnostics };
  }

  // ---- spans ----

  /** Span of all the tokens under a CST node; null when recovery left it empty. */
  private cstSpan(n: CstNode): Span | null {
    const cached = this.spans.get(n);
    if (cached !== undefined) return cached;
    let start = Infinity;
    let end = -Infinity;
    for (const els of Object.values(n.children)) {
      for (const el of els ?? []) {
        const s = isNode(el) ? this.cstSpan(el) : Number.isNaN(el.startOffset) ? null : spanOf(el);
        if (s) {
          start = Math.min(start, s.start);
          end = Math.max(end, s.end);
        }
      }
    }
    const span = start === Infinity ? null : { start, end };
    this.spans.set(n, span);
    return span;
  }

  private spanOr(n: CstNode | undefined, fallback: Span): Span {
    return (n && this.cstSpan(n)) ?? fallback;
  }

  private ident(tok: IToken | undefined, fallback: Span): Ident {
    return tok ? { name: tok.image, span: spanOf(tok) } : { name: '', span: fallback };
  }

  /**
   * The value of a number token. A malformed one (`3x`, already AT104) reads as 0 and
   * makes its definition damaged, so the checker does not reason about a made-up value.
   */
  private num(tok: IToken): number {
    const v = numberValue(tok);
    if (Number.isNaN(v)) {
      this.localErrors++;
      return 0;
    }
    return v;
  }

  // ---- definitions and statements ----

  private attention(n: CstNode, parseErrors: boolean): Attention {
    this.localErrors = 0;
    const span = this.spanOr(n, { start: 0, end: 0 });
    const name = this.ident(toks(n, 'Identifier')[0], { start: span.start, end: span.start });
    const statements: Statement[] = [];
    for (const st of nodes(n, 'statement')) {
      const s = this.statement(st);
      if (s) statements.push(s);
    }
    for (const st of statements) {
      if (st.kind !== 'let' && st.kind !== 'return') continue;
      // Long operator chains build deep trees without deep brackets; every later phase
      // recurses over the tree, so bound its depth here.
      // (At the first node past the limit: where the chain or nesting crosses it.)
      const values = st.kind === 'let' ? [st.value] : st.values.map((a) => a.value);
      const deep = values.map((v) => tooDeepAt(v)).find((d) => d);
      if (deep) {
        this.localErrors++;
        this.diagnostics.push(diag('AT105', [MAX_DEPTH], deep.span,
          'every operator, call, lookup and `?:` is a level: a long chain of `+` or of `?:` cases nests ' +
          '(a chain of `&&` or `||` does not); a lookup table (an input read as `t[i]`) replaces a long chain of cases',
          this.file));
      }
    }
    const damaged = parseErrors || this.localErrors > 0;
    const att: Attention = { kind: 'attention', name, statements, span };
    if (damaged) att.recovered = true;
    return att;
  }

  private statement(n: CstNode): Statement | undefined {
    const [inner] = Object.values(n.children).flat().filter(isNode);
    if (!inner) return undefined;
    const span = this.spanOr(inner, { start: 0, end: 0 });
    const at = { start: span.start, end: span.start };
    switch (inner.name) {
      case 'inputStmt': {
        const names = toks(inner, 'Identifier').map((t) => this.ident(t, at));
        return { kind: 'input', names, type: this.tensorType(nodes(inner, 'tensorType')[0], span), span };
      }
      case 'dimsStmt':
        return { kind: 'dims', entries: nodes(inner, 'dimsEntry').map((e) => this.dimsEntry(e, at)), span };
      case 'paramStmt':
        return { kind: 'param', entries: nodes(inner, 'paramEntry').map((e) => this.paramEntry(e, at)), span };
      case 'letStmt':
        return {
          kind: 'let',
          name: this.ident(toks(inner, 'Identifier')[0], at),
          value: this.expr(nodes(inner, 'expr')[0], span),
          span,
        };
      case 'returnStmt':
        return { kind: 'return', values: nodes(inner, 'arg').map((a) => this.arg(a, span)), span };
      default:
        return undefined;
    }
  }

  private tensorType(n: CstNode | undefined, fallback: Span): TensorTypeAst {
    if (!n) return { elem: 'f32', dims: [], span: fallback };
    const span = this.spanOr(n, fallback);
    const elem = (toks(n, 'elem')[0]?.image ?? 'f32') as ElemType;
    const dims: DimAst[] = [];
    for (const d of nodes(n, 'dim')) {
      const id = toks(d, 'Identifier')[0];
      const int = toks(d, 'Int')[0];
      if (id) dims.push({ kind: 'name', name: id.image, span: spanOf(id) });
      else if (int) dims.push({ kind: 'int', value: this.num(int), span: spanOf(int) });
    }
    return { elem, dims, span };
  }

  private dimsEntry(n: CstNode, at: Span): DimsEntry {
    const span = this.spanOr(n, at);
    const int = toks(n, 'Int')[0];
    return { name: this.ident(toks(n, 'Identifier')[0], at), value: int ? this.num(int) : 0, span };
  }

  private paramEntry(n: CstNode, at: Span): ParamEntry {
    const span = this.spanOr(n, at);
    const name = this.ident(toks(n, 'Identifier')[0], at);
    const lit = nodes(n, 'literal')[0];
    let value: number | boolean = 0;
    let isFloat = false;
    if (lit) {
      if (toks(lit, 'True').length) value = true;
      else if (toks(lit, 'False').length) value = false;
      else {
        const f = toks(lit, 'Float')[0];
        const i = toks(lit, 'Int')[0];
        const v = f ? this.num(f) : i ? this.num(i) : 0;
        isFloat = f !== undefined;
        value = (toks(lit, 'Minus').length ? -v : v) || 0;
        if (Object.is(value, -0) && !isFloat) value = 0;
      }
    }
    return { name, value, isFloat, span };
  }

  // ---- expressions ----

  /** A stand-in for an expression the parser could not read (only in damaged definitions). */
  private missing(at: Span): Expr {
    return { kind: 'name', name: '', span: { start: at.end, end: at.end } };
  }

  private expr(n: CstNode | undefined, fallback: Span): Expr {
    if (!n) return this.missing(fallback);
    const span = this.spanOr(n, fallback);
    switch (n.name) {
      case 'expr': {
        // `c0 ? t0 : c1 ? t1 : … : last` (see the parser's `expr`): nest to the right.
        const conds = nodes(n, 'cond');
        const thens = nodes(n, 'then');
        const cases = toks(n, 'Question').length;
        let e = this.expr(conds[cases], span);
        for (let k = cases - 1; k >= 0; k--) {
          const cond = this.expr(conds[k], span);
          const start = this.spanOr(conds[k], cond.span).start;
          e = { kind: 'ternary', cond, then: this.expr(thens[k], span), else: e, span: { start, end: span.end } };
        }
        return e;
      }
      case 'orExpr':
      case 'andExpr':
      case 'cmpExpr':
      case 'sumExpr':
      case 'prodExpr':
        return this.binaryChain(n, span);
      case 'unaryExpr': {
        const argNode = nodes(n, 'postfixExpr')[0];
        let e = this.expr(argNode, span);
        // The CST span of the operand includes its parentheses; the AST node's does not.
        const end = this.spanOr(argNode, e.span).end;
        const ops = toks(n, 'op');
        for (let k = ops.length - 1; k >= 0; k--) {
          const op = ops[k]!;
          e = { kind: 'unary', op: op.image as UnaryOp, arg: e, span: { start: op.startOffset, end } };
        }
        return e;
      }
      case 'postfixExpr': {
        const primaryNode = nodes(n, 'primary')[0];
        let e = this.expr(primaryNode, span);
        const start = this.spanOr(primaryNode, e.span).start;
        for (const suffix of nodes(n, 'indexSuffix')) {
          const s = this.spanOr(suffix, span);
          const indices = nodes(suffix, 'expr').map((x) => this.expr(x, s));
          e = { kind: 'index', target: e, indices, span: { start, end: s.end } };
        }
        return e;
      }
      case 'primary':
        return this.primary(n, span);
      default:
        return this.missing(span);
    }
  }

  /** `a op b op c …`: folded to the left, or for long `&&`/`||` chains grouped (see CHAIN_GROUP). */
  private binaryChain(n: CstNode, span: Span): Expr {
    const operandNodes = nodes(n, 'operand');
    const ops = toks(n, 'op');
    if (n.name === 'cmpExpr' && ops.length > 1) {
      this.localErrors++;
      this.diagnostics.push(diag('AT305', [], spanOf(ops[1]!), undefined, this.file));
    }
    // Each operand with the extent of its CST node (which includes its parentheses).
    const operands: { e: Expr; start: number; end: number }[] = [];
    const first = this.expr(operandNodes[0], span);
    operands.push({ e: first, ...this.spanOr(operandNodes[0], first.span) });
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k]!;
      const opEnd = op.startOffset + op.image.length;
      const rhs = this.expr(operandNodes[k + 1], { start: op.startOffset, end: opEnd });
      const s = this.spanOr(operandNodes[k + 1], rhs.span);
      operands.push({ e: rhs, start: s.start, end: Math.max(s.end, opEnd) });
    }
    // `lhs ops[k] rhs`; a lone `&` or `|` stood in for `&&`/`||` (already reported by the lexer).
    const node = (lhs: Expr, k: number, rhs: Expr, start: number, end: number): Expr => {
      const op = ops[k]!;
      const name = (op.image === '&' ? '&&' : op.image === '|' ? '||' : op.image) as BinaryOp;
      return { kind: 'binary', op: name, opSpan: spanOf(op), lhs, rhs, span: { start, end } };
    };
    const associative = n.name === 'orExpr' || n.name === 'andExpr';
    // operands[lo..hi] joined by ops[lo..hi-1]; recursion only over log2(n / CHAIN_GROUP) halvings.
    const group = (lo: number, hi: number): Expr => {
      const start = operands[lo]!.start;
      if (!associative || hi - lo < CHAIN_GROUP) {
        let e = operands[lo]!.e;
        for (let k = lo; k < hi; k++) e = node(e, k, operands[k + 1]!.e, start, operands[k + 1]!.end);
        return e;
      }
      const mid = lo + Math.ceil((hi - lo + 1) / 2) - 1;
      return node(group(lo, mid), mid, group(mid + 1, hi), start, operands[hi]!.end);
    };
    return group(0, ops.length);
  }

  private primary(n: CstNode, span: Span): Expr {
    const int = toks(n, 'Int')[0];
    if (int) return { kind: 'number', value: this.num(int), isFloat: false, span };
    const float = toks(n, 'Float')[0];
    if (float) return { kind: 'number', value: this.num(float), isFloat: true, span };
    if (toks(n, 'True').length) return { kind: 'bool', value: true, span };
    if (toks(n, 'False').length) return { kind: 'bool', value: false, span };
    const paren = nodes(n, 'paren')[0];
    if (paren) return this.expr(nodes(paren, 'expr')[0], span);
    const list = nodes(n, 'list')[0];
    if (list) return { kind: 'list', items: nodes(list, 'expr').map((x) => this.expr(x, span)), span };
    const con = nodes(n, 'callOrName')[0];
    if (con) {
      const callee = this.ident(toks(con, 'Identifier')[0], span);
      const argsNode = nodes(con, 'callArgs')[0];
      if (!argsNode) return { kind: 'name', name: callee.name, span };
      const args = nodes(argsNode, 'arg').map((a) => this.arg(a, span));
      return { kind: 'call', callee, args, span };
    }
    // `f16(x)`: a call of the builtin named like the type keyword.
    const conv = nodes(n, 'conversion')[0];
    if (conv) {
      const kw = toks(conv, 'F16')[0]!;
      const args = nodes(nodes(conv, 'callArgs')[0], 'arg').map((a) => this.arg(a, span));
      return { kind: 'call', callee: { name: kw.image, span: spanOf(kw) }, args, span };
    }
    return this.missing(span);
  }

  private arg(n: CstNode, fallback: Span): Arg {
    const span = this.spanOr(n, fallback);
    const nameTok = toks(n, 'argName')[0];
    const value = this.expr(nodes(n, 'expr')[0], span);
    return nameTok ? { name: { name: nameTok.image, span: spanOf(nameTok) }, value, span } : { value, span };
  }
}
