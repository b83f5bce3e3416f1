// The checker's vocabulary: where an expression is evaluated, what a name in scope is,
// the scalar types, and how types are written in messages.

import type { Type } from './ast.js';
import { INDEX_NAMES, SCORE_NAME } from './builtins.js';

/** Where an expression is evaluated; decides which names and operations are allowed. */
export type Where =
  /** A `let` or `return` value, or a tensor argument: tensor operations allowed. */
  | 'tensor'
  /** A size, flag or `scale:`: params and dims only. */
  | 'const'
  /** `mask:`: index names, lookups and patterns. */
  | 'mask'
  /** `score:`: index names, lookups and `s`. */
  | 'score';

export type Sym =
  | { kind: 'input'; type: Type }
  | { kind: 'let'; type: Type }
  | { kind: 'dim' }
  | { kind: 'param'; type: Type; value: number | boolean };

export const INT: Type = { kind: 'int' };
export const FLOAT: Type = { kind: 'float' };
export const BOOL: Type = { kind: 'bool' };
export const ERROR: Type = { kind: 'error' };

/** Names the language binds itself (index names and `s`): never declarable. */
export const RESERVED = new Set<string>([...INDEX_NAMES, SCORE_NAME]);
export const NORMALIZE_VALUES = ['keys', 'queries'] as const;

export const isNumeric = (t: Type): boolean => t.kind === 'int' || t.kind === 'float';
export const isScalar = (t: Type): boolean => isNumeric(t) || t.kind === 'bool';

/** How a type is written in messages: `int`, `f32[B, H, N, D]`, `a list`. */
export function showType(t: Type): string {
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'bool':
      return t.kind;
    case 'tensor':
      return `${t.elem}[${t.shape.map((d) => d.text).join(', ')}]`;
    case 'normalize':
      return '`' + t.value + '`';
    case 'list':
      return `a list of ${t.items.length}`;
    case 'error':
      return 'an invalid value';
  }
}

/** With an article, for "`x` is …". */
export function showTypeArticle(t: Type): string {
  switch (t.kind) {
    case 'int':
      return 'an int';
    case 'float':
      return 'a float';
    case 'bool':
      return 'a bool';
    case 'tensor':
      return 'a tensor ' + showType(t);
    default:
      return showType(t);
  }
}
