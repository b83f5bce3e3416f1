// The chevrotain parser for the grammar of spec §1, producing a concrete syntax tree that
// visitor.ts turns into the AST.
//
// Deviations from the EBNF, each so that errors are reported well rather than as a bare
// "expected X but found Y":
// - `cmp` accepts a chain `a < b < c`; the visitor reports AT305 for it.
// - There is no `program` rule: `parseTokens` splits the token stream at each `attention`
//   keyword (which cannot occur inside a definition) and parses each piece with the
//   `attention` rule. Recovery then stays inside one definition, and junk at the top level
//   is reported once without hiding the definitions after it.
// Error recovery is on, so one file can report several syntax errors; chevrotain's
// exceptions are mapped to AT102 with the span of the offending token.

import { CstParser, EOF, type CstNode, type IToken, type TokenType } from 'chevrotain';
import type { SourceFile, Span } from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';
import * as T from './tokens.js';

// Messages are built as JSON so the mapping to AT102 can fill both template slots.
interface ExpectedFound {
  expected: string;
  found: string;
}

function describeToken(tok: IToken): string {
  if (tok.tokenType === EOF) return 'end of file';
  return '`' + tok.image + '`';
}

function describeType(t: TokenType): string {
  if (t === EOF) return 'end of file';
  return t.LABEL ?? t.name;
}

/** "a, b or c", without duplicates. */
function alternatives(items: string[]): string {
  const uniq = [...new Set(items)];
  if (uniq.length <= 1) return uniq[0] ?? 'something else';
  return uniq.slice(0, -1).join(', ') + ' or ' + uniq[uniq.length - 1];
}

const STATEMENT_OR_CLOSE = '`input`, `dims`, `param`, `let`, `return` or `}`';

const messages = {
  buildMismatchTokenMessage(o: { expected: TokenType; actual: IToken; ruleName: string }): string {
    // The `}` of a definition is expected after its statements: a statement would do too.
    const expected =
      o.ruleName === 'attention' && o.expected === T.RBrace ? STATEMENT_OR_CLOSE : describeType(o.expected);
    return JSON.stringify({ expected, found: describeToken(o.actual) } satisfies ExpectedFound);
  },
  buildNotAllInputParsedMessage(o: { firstRedundant: IToken }): string {
    return JSON.stringify({ expected: '`attention`', found: describeToken(o.firstRedundant) } satisfies ExpectedFound);
  },
  buildNoViableAltMessage(o: { expectedPathsPerAlt: TokenType[][][]; actual: IToken[]; customUserDescription?: string }): string {
    const expected =
      o.customUserDescription ?? alternatives(o.expectedPathsPerAlt.flat().map((path) => describeType(path[0]!)));
    return JSON.stringify({ expected, found: describeToken(o.actual[0]!) } satisfies ExpectedFound);
  },
  buildEarlyExitMessage(o: { expectedIterationPaths: TokenType[][]; actual: IToken[]; customUserDescription?: string }): string {
    const expected = o.customUserDescription ?? alternatives(o.expectedIterationPaths.map((p) => describeType(p[0]!)));
    return JSON.stringify({ expected, found: describeToken(o.actual[0]!) } satisfies ExpectedFound);
  },
};

const EXPRESSION = 'an expression';

export class AttnParser extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      // Spans are computed from the tokens by the visitor (with 'onlyOffset' chevrotain
      // cannot give end offsets).
      nodeLocationTracking: 'none',
      errorMessageProvider: messages,
      maxLookahead: 3,
    });
    this.performSelfAnalysis();
  }

  attention = this.RULE('attention', () => {
    this.CONSUME(T.Attention);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  statement = this.RULE('statement', () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.inputStmt) },
        { ALT: () => this.SUBRULE(this.dimsStmt) },
        { ALT: () => this.SUBRULE(this.paramStmt) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.returnStmt) },
      ],
      ERR_MSG: STATEMENT_OR_CLOSE,
    });
  });

  inputStmt = this.RULE('inputStmt', () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.Identifier);
    });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
  });

  tensorType = this.RULE('tensorType', () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.F32, { LABEL: 'elem' }) },
        { ALT: () => this.CONSUME(T.F16, { LABEL: 'elem' }) },
        { ALT: () => this.CONSUME(T.I32, { LABEL: 'elem' }) },
      ],
      ERR_MSG: 'a tensor type (`f32`, `f16` or `i32`)',
    });
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.dim);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.dim);
    });
    this.CONSUME(T.RBracket);
  });

  dim = this.RULE('dim', () => {
    this.OR({
      DEF: [{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.Int) }],
      ERR_MSG: 'a dim (a name or an integer)',
    });
  });

  dimsStmt = this.RULE('dimsStmt', () => {
    this.CONSUME(T.Dims);
    this.SUBRULE(this.dimsEntry);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.dimsEntry);
    });
  });

  dimsEntry = this.RULE('dimsEntry', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.CONSUME(T.Int);
  });

  paramStmt = this.RULE('paramStmt', () => {
    this.CONSUME(T.Param);
    this.SUBRULE(this.paramEntry);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.paramEntry);
    });
  });

  paramEntry = this.RULE('paramEntry', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.literal);
  });

  literal = this.RULE('literal', () => {
    this.OR({
      DEF: [
        {
          ALT: () => {
            this.OPTION(() => this.CONSUME(T.Minus));
            this.OR2([{ ALT: () => this.CONSUME(T.Int) }, { ALT: () => this.CONSUME(T.Float) }]);
          },
        },
        { ALT: () => this.CONSUME(T.True) },
        { ALT: () => this.CONSUME(T.False) },
      ],
      ERR_MSG: 'a literal (a number, `true` or `false`)',
    });
  });

  letStmt = this.RULE('letStmt', () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expr);
  });

  // `return x` or several outputs, each optionally named: `return out: o, lse: lse(o)`.
  returnStmt = this.RULE('returnStmt', () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.arg);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.arg);
    });
  });

  // `or [ "?" expr ":" expr ]` with the else branch's own `?:` unrolled into a loop:
  // `a ? x : b ? y : c` is read as the operands a, b, c and the branches x, y, and the
  // visitor nests them to the right. The same language, but a long `?:` chain costs no
  // parser recursion (only a then-branch nests, and findTooDeep bounds that).
  expr = this.RULE('expr', () => {
    this.SUBRULE(this.orExpr, { LABEL: 'cond' });
    this.MANY(() => {
      this.CONSUME(T.Question);
      this.SUBRULE(this.expr, { LABEL: 'then' });
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.orExpr, { LABEL: 'cond' });
    });
  });

  orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operand' });
    this.MANY(() => {
      this.CONSUME(T.OrOr, { LABEL: 'op' });
      this.SUBRULE2(this.andExpr, { LABEL: 'operand' });
    });
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.cmpExpr, { LABEL: 'operand' });
    this.MANY(() => {
      this.CONSUME(T.AndAnd, { LABEL: 'op' });
      this.SUBRULE2(this.cmpExpr, { LABEL: 'operand' });
    });
  });

  cmpExpr = this.RULE('cmpExpr', () => {
    this.SUBRULE(this.sumExpr, { LABEL: 'operand' });
    // MANY rather than OPTION: a chain is parsed, then rejected with AT305 by the visitor.
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.EqEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.NotEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.LtEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.GtEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Lt, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Gt, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.sumExpr, { LABEL: 'operand' });
    });
  });

  sumExpr = this.RULE('sumExpr', () => {
    this.SUBRULE(this.prodExpr, { LABEL: 'operand' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.prodExpr, { LABEL: 'operand' });
    });
  });

  prodExpr = this.RULE('prodExpr', () => {
    this.SUBRULE(this.unaryExpr, { LABEL: 'operand' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Percent, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.unaryExpr, { LABEL: 'operand' });
    });
  });

  unaryExpr = this.RULE('unaryExpr', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Minus, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(T.Bang, { LABEL: 'op' }) },
      ]);
    });
    this.SUBRULE(this.postfixExpr);
  });

  postfixExpr = this.RULE('postfixExpr', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.SUBRULE(this.indexSuffix));
  });

  indexSuffix = this.RULE('indexSuffix', () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.expr);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.expr);
    });
    this.CONSUME(T.RBracket);
  });

  primary = this.RULE('primary', () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.Int) },
        { ALT: () => this.CONSUME(T.Float) },
        { ALT: () => this.CONSUME(T.True) },
        { ALT: () => this.CONSUME(T.False) },
        { ALT: () => this.SUBRULE(this.callOrName) },
        { ALT: () => this.SUBRULE(this.conversion) },
        { ALT: () => this.SUBRULE(this.list) },
        { ALT: () => this.SUBRULE(this.paren) },
      ],
      ERR_MSG: EXPRESSION,
    });
  });

  callOrName = this.RULE('callOrName', () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.callArgs));
  });

  /** `f16(x)`: the type keyword called as a function (a conversion; docs/language-extensions.md). */
  conversion = this.RULE('conversion', () => {
    this.CONSUME(T.F16);
    this.SUBRULE(this.callArgs);
  });

  callArgs = this.RULE('callArgs', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      });
    });
    this.CONSUME(T.RParen);
  });

  arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier, { LABEL: 'argName' });
      this.CONSUME(T.Colon);
    });
    this.SUBRULE(this.expr);
  });

  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.expr);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.expr);
    });
    this.CONSUME(T.RBracket);
  });

  paren = this.RULE('paren', () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expr);
    this.CONSUME(T.RParen);
  });
}

// Building the parser runs chevrotain's grammar analysis; do it once, lazily.
let instance: AttnParser | undefined;
function parser(): AttnParser {
  return (instance ??= new AttnParser());
}

export interface CstResult {
  /** One CST per `attention` keyword, in file order. */
  attentions: CstNode[];
  /** Per definition: whether the parser had to recover from a syntax error in it. */
  damaged: boolean[];
  diagnostics: Diagnostic[];
}

/**
 * Brackets, and the then-branch of `?:` (between `?` and its `:`), may nest this deep: far
 * beyond any real program, far below stack overflow (the parser recurses about ten rules
 * deep per bracket).
 */
export const MAX_NESTING = 64;

/**
 * A definition may have this many tokens (realistic ones have a few hundred). Every
 * phase of attnc is linear in the program, but a program this long is absurd (a
 * generated 100 000-term `||` chain): it is refused before it is parsed rather than
 * costing seconds in every phase — and the device's own shader compiler is not linear
 * (on lavapipe a mask of 500 `j == i + c` terms took 10 s to compile, of 2 000 terms 160 s).
 */
export const MAX_TOKENS = 5000;

const OPENERS = new Set<TokenType>([T.LParen, T.LBracket, T.LBrace]);
const CLOSERS = new Map<TokenType, TokenType>([[T.RParen, T.LParen], [T.RBracket, T.LBracket], [T.RBrace, T.LBrace]]);
const STATEMENT_STARTS = new Set<TokenType>([T.Input, T.Dims, T.Param, T.Let, T.Return]);

/**
 * The first token that opens past `MAX_NESTING` levels, if any. A `?` opens a level that
 * the end of its expression closes (a `,`, a closing bracket, a statement keyword): every
 * `?:` nests in the expression tree, a then-branch in the parser too, and a chain longer
 * than the tree's own depth limit cannot be valid — so a 2 000-case chain is AT105 here,
 * before the length limit (AT106) or the parser sees it.
 */
function findTooDeep(tokens: IToken[]): IToken | undefined {
  const open: TokenType[] = [];
  const dropQuestions = (): void => {
    while (open.length && open[open.length - 1] === T.Question) open.pop();
  };
  for (const t of tokens) {
    const type = t.tokenType;
    if (OPENERS.has(type) || type === T.Question) {
      open.push(type);
      if (open.length > MAX_NESTING) return t;
    } else if (type === T.Comma || STATEMENT_STARTS.has(type)) {
      dropQuestions();
    } else if (CLOSERS.has(type)) {
      dropQuestions();
      const at = open.lastIndexOf(CLOSERS.get(type)!);
      if (at >= 0) open.length = at;
    }
  }
  return undefined;
}

function tokenEnd(tok: IToken): number {
  return tok.startOffset + tok.image.length;
}

/** What the lexer found, so parse errors that merely follow from it are not reported. */
export interface LexNotes {
  /** Offsets of characters the lexer dropped. */
  dropped: number[];
  /** An unterminated comment swallowed the end of the file. */
  unterminatedComment: boolean;
}

/** Parse a token stream (from `lex`) into CSTs. Never throws on user input. */
export function parseTokens(
  file: SourceFile,
  tokens: IToken[],
  notes: LexNotes = { dropped: [], unterminatedComment: false },
): CstResult {
  const p = parser();
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<number>();
  const attentions: CstNode[] = [];
  const damaged: boolean[] = [];
  // The first token after a dropped character: an error there is the dropped character's.
  const afterDropped = new Set<number>();
  // (Both lists are in file order: one pass, so a file of many bad characters stays linear.)
  let cursor = 0;
  for (const at of notes.dropped) {
    while (cursor < tokens.length && tokens[cursor]!.startOffset <= at) cursor++;
    if (cursor < tokens.length) afterDropped.add(tokens[cursor]!.startOffset);
  }
  const report = (expected: string, found: string, span: Span): void => {
    if (seen.has(span.start)) return; // recovery can report one position twice
    seen.add(span.start);
    if (afterDropped.has(span.start)) return;
    diagnostics.push(diag('AT102', [expected, found], span, undefined, file));
  };

  let k = 0;
  if (tokens.length > 0 && tokens[0]!.tokenType !== T.Attention) {
    const first = tokens[0]!;
    report('`attention`', describeToken(first), T.spanOf(first));
  }
  while (k < tokens.length && tokens[k]!.tokenType !== T.Attention) k++;

  while (k < tokens.length) {
    let end = k + 1;
    while (end < tokens.length && tokens[end]!.tokenType !== T.Attention) end++;
    const chunk = tokens.slice(k, end);
    const next = tokens[end];
    k = end;
    // The parser recurses about ten rules deep per bracket; refuse absurd nesting (and
    // absurd length) rather than overflow the stack or take seconds. The definition keeps
    // its name, is marked damaged, and is not parsed further.
    const tooDeep = findTooDeep(chunk);
    const tooLong = !tooDeep && chunk.length > MAX_TOKENS ? chunk[MAX_TOKENS] : undefined;
    if (tooLong || tooDeep) {
      const defName = chunk[1]?.tokenType === T.Identifier ? chunk[1].image : '';
      diagnostics.push(tooLong
        ? diag('AT106', [defName, MAX_TOKENS], T.spanOf(tooLong), 'a lookup table (an input read as `t[i, j]`) replaces a long chain of cases', file)
        : diag('AT105', [MAX_NESTING], T.spanOf(tooDeep!),
          tooDeep!.tokenType === T.Question ? 'each `?:` case is a level; a lookup table (an input read as `t[i]`) replaces a long chain of cases' : undefined, file));
      const name = chunk[1]?.tokenType === T.Identifier ? [chunk[1]] : [];
      // (Its last token too, so the definition's span covers it: a diagnostic inside is its.)
      attentions.push({ name: 'attention', children: { Attention: [chunk[0]!], Identifier: name, end: [chunk[chunk.length - 1]!] } });
      damaged.push(true);
      continue;
    }
    p.input = chunk;
    const cst = p.attention();
    attentions.push(cst);
    damaged.push(p.errors.some((e) => e.name !== 'NotAllInputParsedException'));
    for (const e of p.errors) {
      let ef: ExpectedFound;
      try {
        ef = JSON.parse(e.message) as ExpectedFound;
      } catch {
        ef = { expected: 'something else', found: describeToken(e.token) };
      }
      let span: Span;
      if (e.token.tokenType === EOF || Number.isNaN(e.token.startOffset)) {
        if (next) {
          // The piece ended because the next definition starts: say so.
          ef.found = describeToken(next);
          span = T.spanOf(next);
        } else {
          // The comment's own error (AT103) says why the file ended early.
          if (notes.unterminatedComment) continue;
          // At the end of the file point just past the last token.
          const at = tokenEnd(chunk[chunk.length - 1]!);
          span = { start: at, end: at };
        }
      } else {
        span = T.spanOf(e.token);
      }
      // Tokens after the closing `}` of a definition.
      if (e.name === 'NotAllInputParsedException') ef.expected = '`attention`';
      report(ef.expected, ef.found, span);
    }
  }
  return { attentions, damaged, diagnostics };
}
