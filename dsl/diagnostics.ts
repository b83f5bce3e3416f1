// Diagnostics are data: a stable code, a message, a span and an optional hint. Every
// phase (lexer, parser, checker, lowering, runtime shape binding) produces them through
// `diag()`, from the one table of messages below; `format.ts` prints them.

import type { Span, SourceFile } from './ast.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  code: DiagCode;
  severity: Severity;
  message: string;
  /** Absent only for errors that belong to no source position (e.g. a bad --param). */
  span?: Span;
  file?: SourceFile;
  hint?: string;
}

/**
 * The table of diagnostics. Codes are stable: tests, docs and users refer to them.
 * AT1xx lexical/syntax, AT2xx names and scopes, AT3xx types, AT4xx shapes and dims,
 * AT5xx builtins and calls, AT6xx program structure, AT7xx compile options and runtime
 * binding (params, dims, inputs).
 * Each template uses {0}, {1}, … for its arguments.
 */
export const MESSAGES = {
  AT101: 'unexpected character {0}',
  AT102: 'expected {0} but found {1}',
  AT103: 'unterminated block comment',
  AT104: 'invalid number literal {0}',
  AT105: 'expression nested too deeply (more than {0} levels)',
  AT106: 'definition `{0}` is too long (more than {1} tokens)',

  AT201: 'unknown name `{0}`',
  AT202: '`{0}` is already defined in `{1}`',
  AT203: '`{0}` is only available inside `mask:` and `score:`',
  AT204: '`s` is only available inside `score:`',
  AT205: '`{0}` is a reserved index name and cannot be declared',
  AT206: 'unknown function `{0}`',
  AT207: 'definition `{0}` is already defined in this file',

  AT301: 'type mismatch: expected {0}, found {1}',
  AT302: 'operator `{0}` cannot be applied to {1} and {2}',
  AT303: 'operator `{0}` cannot be applied to {1}',
  AT304: 'the branches of `?:` have incompatible types {0} and {1}',
  AT305: 'comparisons do not chain: write `a < b && b < c`',
  AT306: 'integer division or modulo by zero',
  AT307: '`mask:` must be a bool expression, found {0}',
  AT308: '`score:` must be a float expression, found {0}',

  AT401: '`{0}` is indexed with {1} indices but has rank {2}',
  AT402: 'head dims disagree: `{0}` has {1} but `{2}` has {3}',
  AT403: 'dim `{0}` is bound to both {1} and {2}',
  AT404: '`{0}` must have rank {1}, found rank {2}',
  AT405: 'shapes disagree on {0}: {1} vs {2}',
  AT406: 'only tensors can be indexed; `{0}` is {1}',
  AT407: 'tensor lookups are only allowed inside `mask:` and `score:`',
  AT408: 'elementwise operands disagree in shape: `{0}` is {1} but `{2}` is {3}',

  /** {1} carries its noun (`1 argument`, `1 to 3 arguments`), see `bindArgs`. */
  AT501: '`{0}` takes {1}, found {2}',
  AT502: '`{0}` has no parameter named `{1}`',
  AT503: 'argument `{1}` of `{0}` is given twice',
  AT504: 'missing argument `{1}` of `{0}`',
  AT505: 'positional arguments must come before named ones',
  AT506: '`{0}` is a tensor operation and cannot be used inside an index expression',
  AT507: '`{0}` is a pattern and can only be used inside `mask:`',
  AT508: 'argument `{1}` of `{0}` must be {2}, found {3}',
  AT509: '`{0}` is not a function; write `{0}` without parentheses',
  AT510: '`normalize:` takes `keys` or `queries`',
  AT511: 'a list `[a, b]` is only allowed where a builtin takes a pair or a triple',
  AT512: '`{0}` needs {1}',

  AT601: 'definition `{0}` has no `return`',
  AT602: 'definition `{0}` has more than one `return`',
  AT603: '`return` must be the last statement',
  AT604: '`{0}` must be a tensor, found {1}',
  AT605: 'the file contains no `attention` definition',
  AT606: 'no definition named `{0}`; the file defines {1}',
  AT607: 'the file defines several definitions ({0}); pick one with --entry',
  AT608: 'two outputs are named `{0}`',

  AT701: 'unknown param `{0}`',
  AT702: 'param `{0}` is {1}; cannot set it to {2}',
  AT703: 'input `{0}`: {1}',
  AT704: 'dim `{0}` is {1} from `{2}` but {3} from `{4}`',
  AT705: 'dim `{0}` has no size: no input binds it and no default is given',
  AT706: '{0}',
  AT707: 'index [{1}] is out of range for `{0}` of shape [{2}]',
  AT708: '`alibi(h, heads)` needs 0 <= h < heads, found h = {0} and heads = {1}',
  AT709: '`{0}`: {1}',
  AT710: 'integer overflow: {0} does not fit in a 32-bit int',
  AT711: 'cannot convert {0} to int',
  AT712: 'head dim `{0}` has no size: kernels are specialised on head dims',
  AT713: '`{0}` of shape [{1}] is too large: {2}',
  AT714: '`{0}` has no dim `{1}`; its dims are {2}',
} as const;

export type DiagCode = keyof typeof MESSAGES;

export function message(code: DiagCode, args: readonly (string | number)[]): string {
  return MESSAGES[code].replace(/\{(\d+)\}/g, (_, n: string) => String(args[Number(n)]));
}

export function diag(
  code: DiagCode,
  args: readonly (string | number)[],
  span?: Span,
  hint?: string,
  file?: SourceFile,
): Diagnostic {
  return { code, severity: 'error', message: message(code, args), span, hint, file };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Thrown by the API where a caller asked for a value that errors prevent (e.g. `run`). */
export class AttncError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n'));
    this.name = 'AttncError';
  }
}
