// The front end's API: source text → AST and diagnostics.
//
// Neither function throws on any user input. A crash inside the front end is a bug, but
// it is still reported as a diagnostic (AT706 "internal error: …") rather than thrown, so
// a caller such as the CLI always gets something it can print.

import type { Program, SourceFile } from './ast.js';
import { checkProgram } from './checker.js';
import { diag, type Diagnostic } from './diagnostics.js';
import { parseTokens } from './parser.js';
import { lex } from './tokens.js';
import { buildProgram } from './visitor.js';

export type { Program, SourceFile } from './ast.js';
export type { Diagnostic } from './diagnostics.js';
export { format, formatAll, lineCol, type FormatOptions } from './format.js';
export { showType } from './checker.js';

export interface FrontEndResult {
  program: Program;
  diagnostics: Diagnostic[];
}

/** Lex and parse: syntax errors only (AT1xx, and AT305 for chained comparisons). */
export function parse(file: SourceFile): FrontEndResult {
  return guard(file, () => parseOnly(file));
}

/**
 * Parse and check: names, types, calls, shapes, program structure, and the static errors
 * (AT306, AT710, AT711, …) under the declared params or the valid `params` overrides. On a result without
 * errors every expression carries `ty` and every name `ref`. Definitions with syntax
 * errors are returned (as recovered) but not checked.
 */
export function check(file: SourceFile, options: { params?: Readonly<Record<string, number | boolean>> } = {}): FrontEndResult {
  return guard(file, () => {
    const parsed = parseOnly(file);
    const checked = checkProgram(parsed.program, file, options.params);
    return { program: parsed.program, diagnostics: sortDiagnostics([...parsed.diagnostics, ...checked]) };
  });
}

function parseOnly(file: SourceFile): FrontEndResult {
  const lexed = lex(file);
  const cst = parseTokens(file, lexed.tokens, lexed);
  const built = buildProgram(file, cst);
  return {
    program: built.program,
    diagnostics: sortDiagnostics([...lexed.diagnostics, ...cst.diagnostics, ...built.diagnostics]),
  };
}

/** By position (stable for equal positions); diagnostics without a span go last. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic): number => d.span?.start ?? Infinity;
  return diags
    .map((d, k) => ({ d, k }))
    .sort((a, b) => key(a.d) - key(b.d) || a.k - b.k)
    .map((x) => x.d);
}

function guard(file: SourceFile, run: () => FrontEndResult): FrontEndResult {
  try {
    return run();
  } catch (e) {
    const what = e instanceof Error ? e.message : String(e);
    return {
      program: { kind: 'program', attentions: [], span: { start: 0, end: file.text.length } },
      diagnostics: [diag('AT706', [`internal error in the front end: ${what}`], undefined, undefined, file)],
    };
  }
}
