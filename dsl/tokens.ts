// Lexical structure of .attn files: chevrotain token types and the lexer.
//
// `lex()` never throws: lexer problems become diagnostics (AT101 unexpected character,
// AT103 unterminated block comment, AT104 malformed number) and the token stream carries
// on, so the parser can still report syntax errors in the rest of the file.

import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';
import type { SourceFile, Span } from './ast.js';
import { diag, type Diagnostic } from './diagnostics.js';
import { F32_MAX, isFiniteF32 } from './semantics.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });
export const LineComment = createToken({ name: 'LineComment', pattern: /\/\/[^\n\r]*/, group: Lexer.SKIPPED });
export const BlockComment = createToken({ name: 'BlockComment', pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED });
// Tried only after BlockComment failed (chevrotain takes the first pattern that matches),
// so it matches exactly an unterminated `/*`: it swallows the rest of the file and is put
// in its own group, where `lex()` turns it into AT103.
export const UnterminatedComment = createToken({
  name: 'UnterminatedComment',
  pattern: /\/\*[\s\S]*/,
  group: 'unterminated',
});

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'a name' });

// Keywords use `longer_alt` so that `inputs` or `f32x` lex as identifiers.
const kw = (word: string): TokenType =>
  createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    label: '`' + word + '`',
  });
export const Attention = kw('attention');
export const Input = kw('input');
export const Dims = kw('dims');
export const Param = kw('param');
export const Let = kw('let');
export const Return = kw('return');
export const True = kw('true');
export const False = kw('false');
export const F32 = kw('f32');
export const F16 = kw('f16');
export const I32 = kw('i32');

// A literal with `.` or an exponent is a float; Float must come before Int so that `0.5`
// is not lexed as `0` followed by an unexpected `.`.
export const Float = createToken({
  name: 'Float',
  pattern: /\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/,
  label: 'a number',
});
export const Int = createToken({ name: 'Int', pattern: /\d+/, label: 'a number' });

const punct = (name: string, text: string): TokenType =>
  createToken({ name, pattern: text, label: '`' + text + '`' });
// Two-character operators before their one-character prefixes.
export const OrOr = punct('OrOr', '||');
export const AndAnd = punct('AndAnd', '&&');
// A single `&` or `|` is an error (AT101), but almost surely meant `&&`/`||`: the token is
// in that operator's category, so the parser accepts it in its place and goes on without
// follow-on errors. Likewise `;` is reported and then kept from the parser.
export const Amp = createToken({ name: 'Amp', pattern: '&', categories: [AndAnd], label: '`&`' });
export const Pipe = createToken({ name: 'Pipe', pattern: '|', categories: [OrOr], label: '`|`' });
export const Semicolon = createToken({ name: 'Semicolon', pattern: ';', group: 'semicolons' });
export const EqEq = punct('EqEq', '==');
export const NotEq = punct('NotEq', '!=');
export const LtEq = punct('LtEq', '<=');
export const GtEq = punct('GtEq', '>=');
export const Lt = punct('Lt', '<');
export const Gt = punct('Gt', '>');
export const Assign = punct('Assign', '=');
export const Bang = punct('Bang', '!');
export const Plus = punct('Plus', '+');
export const Minus = punct('Minus', '-');
export const Star = punct('Star', '*');
export const Slash = punct('Slash', '/');
export const Percent = punct('Percent', '%');
export const Question = punct('Question', '?');
export const Colon = punct('Colon', ':');
export const Comma = punct('Comma', ',');
export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LBracket = punct('LBracket', '[');
export const RBracket = punct('RBracket', ']');
export const LBrace = punct('LBrace', '{');
export const RBrace = punct('RBrace', '}');

/** Every token type, in the order the lexer tries them. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedComment,
  Attention, Input, Dims, Param, Let, Return, True, False, F32, F16, I32,
  Identifier,
  Float,
  Int,
  OrOr, AndAnd, Amp, Pipe, Semicolon, EqEq, NotEq, LtEq, GtEq, Lt, Gt, Assign, Bang,
  Plus, Minus, Star, Slash, Percent, Question, Colon, Comma,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace,
];

// `positionTracking: 'onlyOffset'`: spans are offsets; line/column belong to format.ts.
const lexer = new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false });

export interface LexResult {
  tokens: IToken[];
  diagnostics: Diagnostic[];
  /** Offsets where the lexer dropped characters it could not read. */
  dropped: number[];
  /** The file ends inside a block comment. */
  unterminatedComment: boolean;
}

const INT_MAX = 2 ** 31 - 1;

export function spanOf(tok: IToken): Span {
  return { start: tok.startOffset, end: tok.startOffset + tok.image.length };
}

export function lex(file: SourceFile): LexResult {
  // A UTF-8 byte-order mark (U+FEFF, which editors may write first) is skipped: lexed as
  // one column of white space, so every offset (and span) still counts it; format.ts does
  // not count it as a column.
  const text = file.text.charCodeAt(0) === 0xfeff ? ' ' + file.text.slice(1) : file.text;
  const result = lexer.tokenize(text);
  const diagnostics: Diagnostic[] = [];

  for (const err of result.errors) {
    // Chevrotain reports one error per run of unlexable characters; report the run once,
    // naming its first character.
    const ch = text.slice(err.offset, err.offset + 1);
    const shown = ch === '`' ? "'`'" : '`' + ch + '`';
    const hint = ch === '.' ? 'floats need a digit on both sides of `.`: write `0.5`' : undefined;
    diagnostics.push(diag('AT101', [shown], { start: err.offset, end: err.offset + Math.max(1, err.length) }, hint, file));
  }
  for (const tok of result.tokens) {
    if (tok.tokenType === Amp) diagnostics.push(diag('AT101', ['`&`'], spanOf(tok), 'logical and is `&&`', file));
    if (tok.tokenType === Pipe) diagnostics.push(diag('AT101', ['`|`'], spanOf(tok), 'logical or is `||`', file));
  }
  for (const tok of result.groups['semicolons'] ?? []) {
    diagnostics.push(diag('AT101', ['`;`'], spanOf(tok), 'statements need no `;`', file));
  }
  for (const tok of result.groups['unterminated'] ?? []) {
    diagnostics.push(diag('AT103', [], { start: tok.startOffset, end: tok.startOffset + 2 }, 'close it with `*/`', file));
  }

  // A number glued to a name (`3x`, `1e`, `2.5f`) is a malformed number, not two tokens:
  // merge the pair into one number token so the parser does not report a second error.
  const tokens: IToken[] = [];
  for (let k = 0; k < result.tokens.length; k++) {
    const tok = result.tokens[k]!;
    const isNum = tok.tokenType === Int || tok.tokenType === Float;
    if (isNum) {
      const next = result.tokens[k + 1];
      const end = tok.startOffset + tok.image.length;
      if (next && next.startOffset === end && /^[A-Za-z_]/.test(next.image)) {
        const image = text.slice(tok.startOffset, next.startOffset + next.image.length);
        diagnostics.push(diag('AT104', ['`' + image + '`'], { start: tok.startOffset, end: tok.startOffset + image.length }, undefined, file));
        tokens.push({ ...tok, image, endOffset: tok.startOffset + image.length - 1 });
        k++;
        continue;
      }
      if (tok.tokenType === Int && Number(tok.image) > INT_MAX) {
        diagnostics.push(diag('AT104', ['`' + tok.image + '`'], spanOf(tok), `integers are 32-bit: at most ${INT_MAX}`, file));
      }
      // Floats are f32 on devices: a literal beyond the f32 range (`1e400`, `1e39`) would
      // be ±inf there but finite (or inf) in the float64 reference. Underflow (`1e-50`)
      // is not an error: it rounds toward 0 as in any float arithmetic.
      if (tok.tokenType === Float && !isFiniteF32(Number(tok.image))) {
        diagnostics.push(diag('AT104', ['`' + tok.image + '`'], spanOf(tok), `floats are 32-bit: at most ${F32_MAX} in magnitude`, file));
      }
    }
    tokens.push(tok);
  }
  return {
    tokens,
    diagnostics,
    dropped: result.errors.map((e) => e.offset),
    unterminatedComment: (result.groups['unterminated'] ?? []).length > 0,
  };
}

/** Value of a number token (`Int` or `Float`); NaN for a malformed one. */
export function numberValue(tok: IToken): number {
  return /^[0-9.eE+-]+$/.test(tok.image) ? Number(tok.image) : NaN;
}
