// The state of checking one definition, shared by the checker modules: its scope, the
// diagnostics so far, and constant folding over its params.

import type { Attention, Expr, SourceFile, Span, Statement } from './ast.js';
import { diag, type DiagCode, type Diagnostic } from './diagnostics.js';
import type { Sym } from './checker-types.js';

/** A folded constant (for AT306 and for the dims of pooled shapes); undefined: not constant. */
type Const = number | boolean | undefined;

export class CheckContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly scope = new Map<string, Sym>();
  /** The statement being checked (for hints about lets used too early). */
  current: Statement | undefined;
  /** Dims that got a default from `dims` (a second default is a duplicate). */
  readonly dimDefaults = new Set<string>();

  constructor(
    readonly def: Attention,
    readonly file: SourceFile,
  ) {}

  error(code: DiagCode, args: readonly (string | number)[], span: Span | undefined, hint?: string): void {
    this.diagnostics.push(diag(code, args, span, hint, this.file));
  }

  /** The source text of `span`, on one line. */
  text(span: Span): string {
    return this.file.text.slice(span.start, span.end).replace(/\s+/g, ' ');
  }

  /**
   * The value of a constant int/bool expression, or undefined. With `params`, param names
   * count as constants (kernels specialise on them); without, only literals do.
   */
  fold(e: Expr, params: boolean): Const {
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

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}
function floorMod(a: number, b: number): number {
  return a - b * Math.floor(a / b);
}
