// The .attn editor: CodeMirror 6 (basicSetup: line numbers, history, bracket matching,
// search, the completion popup), the attn language and highlighting, and diagnostics pushed
// from outside: the page compiles on every edit and hands compile()'s diagnostics here —
// the same table and spans `attnc check` prints — as underlines with code, message and hint.

import { EditorView, basicSetup } from 'codemirror';
import { syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic as CmDiagnostic } from '@codemirror/lint';
import type { Diagnostic } from '../../dsl/diagnostics.js';
import { attnHighlight, attnLanguage } from './language.js';

export interface Editor {
  view: EditorView;
  text(): string;
  /** Replace the whole text (a sample, a shared link), as one undoable change. */
  setText(text: string): void;
  showDiagnostics(diags: readonly Diagnostic[]): void;
  /** Select a span and scroll to it (a click in the diagnostics list). */
  reveal(start: number, end: number): void;
}

/** A diagnostic's tooltip: `error[AT206]: unknown function …`, then its hint. */
function render(d: Diagnostic): () => Node {
  return () => {
    const box = document.createElement('div');
    box.className = 'cm-attn-diag';
    const head = box.appendChild(document.createElement('div'));
    head.append(Object.assign(document.createElement('b'), { textContent: `${d.severity}[${d.code}]` }), `: ${d.message}`);
    if (d.hint) box.appendChild(Object.assign(document.createElement('div'), { className: 'hint', textContent: `hint: ${d.hint}` }));
    return box;
  };
}

export function createEditor(parent: HTMLElement, doc: string, onChange: (text: string) => void): Editor {
  const view = new EditorView({
    parent,
    doc,
    extensions: [
      basicSetup,
      attnLanguage,
      syntaxHighlighting(attnHighlight),
      lintGutter(),
      EditorView.lineWrapping,
      EditorView.updateListener.of((u) => {
        if (u.docChanged) onChange(u.state.doc.toString());
      }),
    ],
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    showDiagnostics(diags) {
      const len = view.state.doc.length;
      const out: CmDiagnostic[] = diags.map((d) => {
        const from = Math.min(d.span?.start ?? 0, len);
        return {
          from,
          to: Math.max(from, Math.min(d.span?.end ?? from, len)),
          severity: d.severity,
          source: d.code,
          message: `${d.message}${d.hint ? ` (hint: ${d.hint})` : ''}`,
          renderMessage: render(d),
        };
      });
      view.dispatch(setDiagnostics(view.state, out));
    },
    reveal(start, end) {
      const len = view.state.doc.length;
      view.dispatch({ selection: { anchor: Math.min(start, len), head: Math.min(end, len) }, scrollIntoView: true });
      view.focus();
    },
  };
}
