// A small builder for WGSL source: indented lines and blocks, and a module assembler that
// orders the parts (header comment, enables, helpers, declarations, entry point) and emits
// each helper function once, only when some expression needs it.

/** Indented lines of code. */
export class Code {
  private readonly out: string[] = [];
  private depth = 0;

  line(s = ''): this {
    this.out.push(s ? '  '.repeat(this.depth) + s : '');
    return this;
  }

  lines(ss: readonly string[]): this {
    for (const s of ss) this.line(s);
    return this;
  }

  /** `head {` … `}` with the body indented one level (a bare `{` scope when head is empty). */
  block(head: string, body: () => void): this {
    this.line(head ? `${head} {` : '{');
    this.depth++;
    body();
    this.depth--;
    this.line('}');
    return this;
  }

  /** Append another Code's lines at the current depth. */
  append(c: Code): this {
    for (const l of c.out) this.out.push(l ? '  '.repeat(this.depth) + l : '');
    return this;
  }

  toString(): string {
    return this.out.join('\n');
  }
}

/** The parts of one WGSL module, assembled in a fixed order by `toString`. */
export class WgslModule {
  readonly header: string[] = [];
  readonly enables = new Set<string>();
  readonly helpers = new Set<string>();
  readonly decls: string[] = [];
  readonly functions: string[] = [];
  entry = '';

  constructor(private readonly helperSource: (name: string) => string) {}

  toString(): string {
    const parts: string[] = [];
    parts.push(this.header.map((l) => (l ? `// ${l}` : '//')).join('\n'));
    if (this.enables.size) parts.push([...this.enables].sort().map((e) => `enable ${e};`).join('\n'));
    if (this.decls.length) parts.push(this.decls.join('\n'));
    const helpers = [...this.helpers].sort().map((h) => this.helperSource(h));
    if (helpers.length) parts.push(helpers.join('\n\n'));
    for (const f of this.functions) parts.push(f);
    parts.push(this.entry);
    return parts.join('\n\n') + '\n';
  }
}
