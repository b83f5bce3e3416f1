// The abstract syntax tree of an .attn file, as produced by the CST→AST visitor.
// Every node keeps its source span as offsets into the file text; line and column are
// computed only when a diagnostic is printed (see format.ts).
//
// The checker annotates expression nodes in place (`ty`), so the lowering to graph IR
// never re-derives a type.

export interface Span {
  /** Offset of the first character (UTF-16 code units into the source text). */
  start: number;
  /** Offset one past the last character. */
  end: number;
}

export interface SourceFile {
  /** Path shown in diagnostics (`file:line:col`). */
  path: string;
  text: string;
}

export interface Ident {
  name: string;
  span: Span;
}

export interface Program {
  kind: 'program';
  attentions: Attention[];
  span: Span;
}

export interface Attention {
  kind: 'attention';
  name: Ident;
  statements: Statement[];
  span: Span;
  /**
   * Set when the definition had a syntax error and its AST was rebuilt by error recovery
   * (it may contain placeholder names `''`); the checker does not check it.
   */
  recovered?: boolean;
}

export type Statement = InputStmt | DimsStmt | ParamStmt | LetStmt | ReturnStmt;

export type ElemType = 'f32' | 'f16' | 'i32';

export interface TensorTypeAst {
  elem: ElemType;
  dims: DimAst[];
  span: Span;
}

export type DimAst =
  | { kind: 'name'; name: string; span: Span }
  | { kind: 'int'; value: number; span: Span };

export interface InputStmt {
  kind: 'input';
  names: Ident[];
  type: TensorTypeAst;
  span: Span;
}

export interface DimsEntry {
  name: Ident;
  value: number;
  span: Span;
}

export interface DimsStmt {
  kind: 'dims';
  entries: DimsEntry[];
  span: Span;
}

export interface ParamEntry {
  name: Ident;
  /** Literal value; `isFloat` tells `2.0` (float) from `2` (int). */
  value: number | boolean;
  isFloat: boolean;
  span: Span;
}

export interface ParamStmt {
  kind: 'param';
  entries: ParamEntry[];
  span: Span;
}

export interface LetStmt {
  kind: 'let';
  name: Ident;
  value: Expr;
  span: Span;
}

/** `return a, name: b`: the program's outputs, in order, each optionally named. */
export interface ReturnStmt {
  kind: 'return';
  values: Arg[];
  span: Span;
}

export type BinaryOp =
  | '||' | '&&'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '+' | '-' | '*' | '/' | '%';

export type UnaryOp = '-' | '!';

/** A type assigned by the checker. */
export type Type =
  | { kind: 'int' }
  | { kind: 'float' }
  | { kind: 'bool' }
  | { kind: 'tensor'; elem: ElemType; shape: ShapeDim[] }
  /** `keys` / `queries`, only valid as the value of `normalize:`. */
  | { kind: 'normalize'; value: 'keys' | 'queries' }
  /** `[a, b]`, only valid where a builtin takes a pair. */
  | { kind: 'list'; items: Type[] }
  /** A bare pattern builtin used as a value (`causal`) is just a bool; errors get this. */
  | { kind: 'error' };

/**
 * A tensor dimension as the checker sees it: a named dim (`N`), a literal size, or a
 * size computed from params and dims (`pool(x, tokens: agents)` → the param's value).
 * `text` is a canonical rendering used to compare dims for equality.
 */
export interface ShapeDim {
  text: string;
}

/** What a `name` expression refers to; filled in by the checker. */
export type NameRef =
  | { kind: 'input' | 'let' | 'param' | 'dim' }
  | { kind: 'index'; name: 'b' | 'h' | 'hk' | 'i' | 'j' }
  | { kind: 'score' }
  /** A pattern builtin used bare (`causal`). */
  | { kind: 'pattern' }
  | { kind: 'normalize' };

interface ExprBase {
  span: Span;
  /** Filled in by the checker. */
  ty?: Type;
  /** Filled in by the checker on `name` nodes. */
  ref?: NameRef;
}

export type Expr =
  | (ExprBase & { kind: 'number'; value: number; isFloat: boolean })
  | (ExprBase & { kind: 'bool'; value: boolean })
  | (ExprBase & { kind: 'name'; name: string })
  | (ExprBase & { kind: 'unary'; op: UnaryOp; arg: Expr })
  | (ExprBase & { kind: 'binary'; op: BinaryOp; opSpan: Span; lhs: Expr; rhs: Expr })
  | (ExprBase & { kind: 'ternary'; cond: Expr; then: Expr; else: Expr })
  | (ExprBase & { kind: 'call'; callee: Ident; args: Arg[] })
  | (ExprBase & { kind: 'index'; target: Expr; indices: Expr[] })
  | (ExprBase & { kind: 'list'; items: Expr[] });

export interface Arg {
  /** Present for a named argument (`mask: …`). */
  name?: Ident;
  value: Expr;
  span: Span;
}

export type ExprKind = Expr['kind'];
export type ExprOf<K extends ExprKind> = Extract<Expr, { kind: K }>;
