// The one formatter for diagnostics, used by the CLI, the tests and the API:
//
//   samples/x.attn:4:32: error[AT206]: unknown function `windw`
//   4 |   return attend(q, k, v, mask: windw(3))
//     |                                ^~~~~
//     = hint: did you mean `window`?
//
// Line and column (1-based, in UTF-16 code units like the spans) are computed here and
// nowhere else: everything upstream carries only offsets.

import type { SourceFile, Span } from './ast.js';
import type { Diagnostic } from './diagnostics.js';

export interface FormatOptions {
  /** ANSI colours (for a terminal). Default false. */
  color?: boolean;
  /** The file to use when a diagnostic carries none. */
  file?: SourceFile;
}

export interface LineCol {
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

/** 1-based line and column of an offset; `\n`, `\r\n` and `\r` all end a line. */
export function lineCol(text: string, offset: number): LineCol {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < at; k++) {
    const c = text.charCodeAt(k);
    if (c === 10 || (c === 13 && text.charCodeAt(k + 1) !== 10)) {
      line++;
      lineStart = k + 1;
    }
  }
  // A byte-order mark (skipped by the lexer) is no column: editors do not show it.
  const bom = lineStart === 0 && at > 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return { line, col: at - lineStart + 1 - bom };
}

/** Start and end offsets (end excludes the line break) of the line holding `offset`. */
function lineBounds(text: string, offset: number): { start: number; end: number } {
  let start = Math.max(0, Math.min(offset, text.length));
  while (start > 0 && text[start - 1] !== '\n' && text[start - 1] !== '\r') start--;
  let end = start;
  while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
  return { start, end };
}

/** Code frames show at most this many characters of a line, from this many before the span. */
const MAX_FRAME = 120;
const FRAME_CONTEXT = 40;

const ansi = (code: string, s: string, on: boolean): string => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Format one diagnostic (no trailing newline). */
export function format(d: Diagnostic, options: FormatOptions = {}): string {
  const color = options.color ?? false;
  const file = d.file ?? options.file;
  const sev = ansi(d.severity === 'error' ? '1;31' : '1;33', `${d.severity}[${d.code}]`, color);
  const head = ansi('1', d.message, color);
  const out: string[] = [];

  if (!file || !d.span) {
    out.push(`${file ? file.path + ': ' : ''}${sev}: ${head}`);
    if (d.hint) out.push(`  = hint: ${d.hint}`);
    return out.join('\n');
  }

  const text = file.text;
  const span = clampSpan(d.span, text.length);
  const { line, col } = lineCol(text, span.start);
  out.push(`${file.path}:${line}:${col}: ${sev}: ${head}`);

  // Code frame: the first line of the span, squiggled from its start to the end of the
  // span or of the line, whichever comes first; at least one `^` (a point, e.g. at EOF).
  // A long line (a generated program) shows a window around the span, cut with `…`.
  const bounds = lineBounds(text, span.start);
  if (bounds.start === 0 && text.charCodeAt(0) === 0xfeff) bounds.start = Math.min(1, span.start);
  let [from, to, before, after] = [bounds.start, bounds.end, '', ''];
  if (to - from > MAX_FRAME) {
    from = Math.max(bounds.start, span.start - FRAME_CONTEXT);
    to = Math.min(bounds.end, from + MAX_FRAME);
    if (from > bounds.start) before = '…';
    if (to < bounds.end) after = '…';
  }
  const src = before + text.slice(from, to) + after;
  const num = String(line);
  const gutter = ' '.repeat(num.length);
  // Keep tabs in the padding so the squiggle lines up under tab-indented source.
  const pad = ' '.repeat(before.length) + text.slice(from, span.start).replace(/[^\t]/g, ' ');
  const width = Math.max(1, Math.min(span.end, to) - span.start);
  const squiggle = ansi('1;31', '^' + '~'.repeat(width - 1), color);
  out.push(`${num} | ${src}`.trimEnd());
  out.push(`${gutter} | ${pad}${squiggle}`);
  if (d.hint) out.push(`${gutter} = hint: ${d.hint}`);
  return out.join('\n');
}

function clampSpan(s: Span, len: number): Span {
  const start = Math.max(0, Math.min(s.start, len));
  return { start, end: Math.max(start, Math.min(s.end, len)) };
}

/** Format several diagnostics, separated by blank lines (no trailing newline). */
export function formatAll(diags: readonly Diagnostic[], options: FormatOptions = {}): string {
  return diags.map((d) => format(d, options)).join('\n\n');
}
