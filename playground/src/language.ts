// The .attn language for CodeMirror 6: a stream tokenizer for highlighting (the token
// classes of dsl/tokens.ts, with builtins from the one table dsl/builtins.ts), and
// completion of builtins — with their signatures and summaries — and, at an argument
// position inside a call, of that builtin's named arguments. A stream tokenizer rather than
// a Lezer grammar: highlighting needs tokens only; the real parser (chevrotain, with error
// recovery) runs on every edit and reports through the diagnostics, so the two can never
// disagree about what is an error.

import { snippetCompletion, type Completion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { HighlightStyle, StreamLanguage, type StringStream } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import { BUILTINS, builtin, INDEX_NAMES, signature, type BuiltinSpec } from '../../dsl/builtins.js';

const KEYWORDS = new Set(['attention', 'input', 'dims', 'param', 'let', 'return']);
const TYPES = new Set(['f32', 'f16', 'i32']);
const NAMES = new Set(BUILTINS.map((b) => b.name));
const INDEX = new Set<string>([...INDEX_NAMES, 's']);

interface State {
  /** Inside a `/* … *\/` comment that spans lines. */
  comment: boolean;
  /** Open parentheses: a `name:` inside them is a named argument (outside, `input v: f32`). */
  depth: number;
}

function token(stream: StringStream, state: State): string | null {
  if (state.comment) {
    if (stream.skipTo('*/')) {
      stream.pos += 2;
      state.comment = false;
    } else stream.skipToEnd();
    return 'comment';
  }
  if (stream.eatSpace()) return null;
  if (stream.match('//')) {
    stream.skipToEnd();
    return 'comment';
  }
  if (stream.match('/*')) {
    state.comment = true;
    return token(stream, state) ?? 'comment';
  }
  if (stream.match(/^(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/)) return 'number';
  const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
  if (word) {
    const w = word[0];
    if (KEYWORDS.has(w)) return 'keyword';
    if (TYPES.has(w)) return 'typeName';
    if (w === 'true' || w === 'false') return 'bool';
    // `mask:` — a named argument: inside a call, after `(`, `,` or at the start of a line,
    // before `:` (not the middle operand of `c ? a : b`).
    if (state.depth > 0 && stream.match(/^\s*:/, false) && /(^|[(,])\s*$/.test(stream.string.slice(0, stream.start))) return 'propertyName';
    if (NAMES.has(w)) return 'variableName.standard';
    if (INDEX.has(w)) return 'atom';
    return 'variableName';
  }
  if (stream.match(/^(\|\||&&|==|!=|<=|>=|[-+*/%<>=!?:|&])/)) return 'operator';
  const c = stream.next();
  if (c === '(') state.depth++;
  else if (c === ')') state.depth = Math.max(0, state.depth - 1);
  else if (c === '{' || c === '}') state.depth = 0; // a definition starts or ends: recover from unbalanced text
  return 'punctuation';
}

export const attnLanguage = StreamLanguage.define<State>({
  name: 'attn',
  startState: () => ({ comment: false, depth: 0 }),
  token,
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } }, autocomplete: complete },
});

export const attnHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: '#7b2cbf', fontWeight: '600' },
  { tag: tags.typeName, color: '#0b7285' },
  { tag: tags.bool, color: '#c2255c' },
  { tag: tags.number, color: '#c2255c' },
  { tag: tags.comment, color: '#6b7280', fontStyle: 'italic' },
  { tag: tags.propertyName, color: '#b45309' },
  { tag: tags.standard(tags.variableName), color: '#1f4e9c', fontWeight: '600' },
  { tag: tags.atom, color: '#2b8a3e' },
  { tag: tags.operator, color: '#495057' },
]);

const INDEX_INFO: Record<string, string> = {
  b: 'batch index', h: 'query head', hk: 'key/value head (h / (H / Hk))', i: 'query position', j: 'key position',
  s: 'the scaled dot product (score: only)',
};

/** A builtin as a completion: a snippet with placeholders for its required arguments. */
function builtinCompletion(b: BuiltinSpec): Completion {
  const required = b.params.filter((p) => p.default === undefined);
  const base = { label: b.name, detail: signature(b), info: b.summary, type: b.kind === 'pattern' ? 'constant' : 'function' };
  if (b.kind === 'pattern' && b.params.length === 0) return base;
  return snippetCompletion(`${b.name}(${required.map((p) => `#{${p.name}}`).join(', ')})`, base);
}

const GENERAL: readonly Completion[] = [
  ...BUILTINS.map(builtinCompletion),
  ...[...KEYWORDS, ...TYPES].map((k) => ({ label: k, type: 'keyword' })),
  ...Object.entries(INDEX_INFO).map(([name, info]) => ({ label: name, type: 'variable', info, boost: -1 })),
];

/**
 * The builtin whose argument list holds `offset`, if the text before it is inside one:
 * scans back over balanced brackets to an unclosed `(` and reads the name before it.
 */
export function enclosingCall(text: string, offset: number): string | undefined {
  let depth = 0;
  for (let k = offset - 1; k >= 0; k--) {
    const c = text[k]!;
    if (c === ')' || c === ']') depth++;
    else if (c === '[') {
      if (depth === 0) return undefined;
      depth--;
    } else if (c === '(') {
      if (depth > 0) {
        depth--;
        continue;
      }
      const name = /([A-Za-z_]\w*)\s*$/.exec(text.slice(0, k));
      return name?.[1];
    } else if ((c === '{' || c === '}' || c === ';') && depth === 0) return undefined;
  }
  return undefined;
}

/** Names the program declares (inputs, dims, params, lets), for completion. */
function declaredNames(text: string): Completion[] {
  const out = new Map<string, Completion>();
  const add = (name: string, detail: string) => out.set(name, { label: name, type: 'variable', detail });
  for (const m of text.matchAll(/\binput\s+([\w\s,]+):/g)) for (const n of m[1]!.split(',')) if (n.trim()) add(n.trim(), 'input');
  for (const m of text.matchAll(/\b(dims|param)\s+((?:[A-Za-z_]\w*\s*=\s*[^,\n]+,?\s*)+)/g)) {
    for (const e of m[2]!.matchAll(/([A-Za-z_]\w*)\s*=/g)) add(e[1]!, m[1] === 'dims' ? 'dim' : 'param');
  }
  for (const m of text.matchAll(/\blet\s+([A-Za-z_]\w*)/g)) add(m[1]!, 'let');
  return [...out.values()];
}

/** Completion source: named arguments at an argument position of a builtin call, then everything else. */
export function complete(ctx: CompletionContext): CompletionResult | null {
  const word = ctx.matchBefore(/[A-Za-z_]\w*/);
  if (!word && !ctx.explicit) return null;
  const from = word ? word.from : ctx.pos;
  const text = ctx.state.doc.toString();
  const options: Completion[] = [];
  const callee = enclosingCall(text, from);
  const spec = callee ? builtin(callee) : undefined;
  const atArgument = /[(,]\s*$/.test(text.slice(0, from));
  if (spec && atArgument) {
    for (const p of spec.params) {
      options.push({
        label: `${p.name}:`, apply: `${p.name}: `, type: 'property', boost: 2,
        detail: p.default === undefined ? 'required' : `default ${p.default}`, info: signature(spec),
      });
    }
  }
  options.push(...GENERAL, ...declaredNames(text));
  return { from, options, validFor: /^\w*$/ };
}
