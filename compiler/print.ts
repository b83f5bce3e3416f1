// The textual form of the graph IR, for `attnc compile --emit ir|<pass>` and golden tests.
// Expressions print in the language's own infix syntax; a pattern prints as its origin
// (`neighborhood(7, dilation: 2)`), and with `bodies: true` also its expansion.

import type { Expr, Graph, Node, Pattern } from './ir.js';

export interface PrintOptions {
  /** Print each pattern's expanded body after its origin. */
  bodies?: boolean;
}

export function printGraph(g: Graph, opts: PrintOptions = {}): string {
  const p = new Printer(g, opts);
  const lines: string[] = [];
  const params = Object.entries(g.params).map(([k, v]) => `${k} = ${v}`);
  lines.push(`attention ${g.name}${params.length ? ` [${params.join(', ')}]` : ''} {`);
  for (const n of g.nodes) lines.push(...p.node(n).map((l) => `  ${l}`));
  // One output prints as before; several with their names.
  lines.push(`  return ${g.outputs.length > 1 ? g.outputs.map((o) => `${o.name}: %${o.node}`).join(', ') : `%${g.output}`}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function printExpr(e: Expr, g?: Graph, opts: PrintOptions = {}): string {
  return new Printer(g, opts).expr(e, 0);
}

// Binding strength of each printed operator, as in the language (C precedence).
const PREC: Record<string, [string, number]> = {
  or: ['||', 1], and: ['&&', 2],
  eq: ['==', 3], ne: ['!=', 3], lt: ['<', 3], le: ['<=', 3], gt: ['>', 3], ge: ['>=', 3],
  add: ['+', 4], sub: ['-', 4], mul: ['*', 5], div: ['/', 5], mod: ['%', 5],
};

class Printer {
  constructor(
    private readonly g: Graph | undefined,
    private readonly opts: PrintOptions,
  ) {}

  node(n: Node): string[] {
    const ty = `${n.elem}[${n.shape.map((d) => this.expr(d, 0)).join(', ')}]`;
    const lhs = `%${n.id}${n.name ? ` ${n.name}` : ''}`;
    switch (n.op) {
      case 'input':
        return [`${lhs} = input : ${ty}`];
      case 'pool':
        return [`${lhs} = pool(%${n.x}, tokens: ${this.expr(n.tokens, 0)}${n.weights === undefined ? '' : `, weights: %${n.weights}`}) : ${ty}`];
      case 'pool2d':
        return [`${lhs} = pool2d(%${n.x}, height: ${this.expr(n.height, 0)}, width: ${this.expr(n.width, 0)}, to: [${n.to.map((t) => this.expr(t, 0)).join(', ')}]) : ${ty}`];
      case 'clusters':
        return [`${lhs} = clusters(%${n.x}, %${n.centroids}) : ${ty}`];
      case 'attend':
        return [
          n.kept
            ? `${lhs} = topk(%${n.q}, %${n.k}, ${n.topk}) : ${ty}`
            : `${lhs} = attend(%${n.q}, %${n.k}, %${n.v}, normalize: ${n.normalize}${n.topk === undefined ? '' : `, topk: ${n.topk}`}) : ${ty}`,
          `    mask:  ${this.expr(n.mask, 0)}`,
          `    score: ${this.expr(n.score, 0)}`,
          `    scale: ${this.expr(n.scale, 0)}`,
        ];
      case 'lse':
        return [`${lhs} = lse(%${n.attend}) : ${ty}`];
      case 'map':
        return [`${lhs} = map(${n.args.map((a) => `%${a}`).join(', ')}) : ${ty}`, `    ${this.expr(n.expr, 0)}`];
    }
  }

  expr(e: Expr, outer: number): string {
    switch (e.op) {
      case 'const':
        if (typeof e.value === 'boolean') return String(e.value);
        if (e.ty === 'float') {
          if (e.value === -Infinity) return '-inf';
          const s = String(e.value);
          return /[.eEn]/.test(s) ? s : `${s}.0`;
        }
        return e.value < 0 ? this.paren(String(e.value), 6, outer) : String(e.value);
      case 'index':
        return e.name;
      case 'dim': case 'var':
        return e.name;
      case 'score':
        return 's';
      case 'neg':
        return `-${this.expr(e.a, 6)}`;
      case 'not':
        return `!${this.expr(e.a, 6)}`;
      case 'select':
        return this.paren(`${this.expr(e.c, 1)} ? ${this.expr(e.a, 0)} : ${this.expr(e.b, 0)}`, 0, outer === 0 ? -1 : outer);
      case 'call':
        return `${e.fn}(${e.args.map((a) => this.expr(a, 0)).join(', ')})`;
      case 'load': {
        const t = this.g?.nodes[e.tensor];
        return `${t?.name ?? `%${e.tensor}`}[${e.idx.map((x) => this.expr(x, 0)).join(', ')}]`;
      }
      case 'summary': {
        // `min16(doc[b, lo..hi])`: the bound from the blocks of 16 that meet [lo, hi].
        const t = this.g?.nodes[e.tensor];
        const idx = e.idx.map((x, a) => (a === e.axis ? `${this.expr(e.lo, 0)}..${this.expr(e.hi, 0)}` : this.expr(x, 0)));
        return `${e.fn}${e.block}(${t?.name ?? `%${e.tensor}`}[${idx.join(', ')}])`;
      }
      case 'pattern': {
        const origin = this.origin(e.origin);
        return this.opts.bodies && e.body ? `(${origin} := ${this.expr(e.body, 0)})` : origin;
      }
      default: {
        const [sym, prec] = PREC[e.op]!;
        // Left-associative, except comparisons, which do not chain at all.
        const left = prec === 3 ? prec + 1 : prec;
        return this.paren(`${this.expr(e.a, left)} ${sym} ${this.expr(e.b, prec + 1)}`, prec, outer);
      }
    }
  }

  private origin(p: Pattern): string {
    const x = (e: Expr) => this.expr(e, 0);
    const pairOf = (a: [Expr, Expr]) => (x(a[0]) === x(a[1]) ? x(a[0]) : `[${x(a[0])}, ${x(a[1])}]`);
    switch (p.name) {
      case 'causal': return 'causal';
      case 'causal_end': return 'causal_end';
      case 'window': return `window(${x(p.r)})`;
      case 'sliding': return `sliding(${x(p.w)})`;
      case 'block': return `block(${x(p.size)})`;
      case 'halo': return `halo(${x(p.size)}, ${x(p.overlap)})`;
      case 'halo2d': return `halo2d(${x(p.height)}, ${x(p.width)}, ${pairOf(p.size)}, ${pairOf(p.overlap)})`;
      case 'sink': return `sink(${x(p.n)})`;
      case 'global': return `global(${x(p.n)})`;
      case 'neighborhood': {
        const extra = [x(p.dilation) !== '1' ? `dilation: ${x(p.dilation)}` : '', p.causal ? 'causal: true' : ''];
        return `neighborhood(${[x(p.kernel), ...extra].filter(Boolean).join(', ')})`;
      }
      case 'neighborhood2d': {
        const d = pairOf(p.dilation);
        const c = p.causal[0] === p.causal[1] ? String(p.causal[0]) : `[${p.causal[0]}, ${p.causal[1]}]`;
        const extra = [d !== '1' ? `dilation: ${d}` : '', c !== 'false' ? `causal: ${c}` : ''];
        return `neighborhood2d(${[x(p.height), x(p.width), pairOf(p.kernel), ...extra].filter(Boolean).join(', ')})`;
      }
      case 'neighborhood3d': {
        const list = (a: readonly (Expr | boolean)[]) => {
          const s = a.map((v) => (typeof v === 'boolean' ? String(v) : x(v)));
          return s.every((v) => v === s[0]) ? s[0]! : `[${s.join(', ')}]`;
        };
        const [d, c] = [list(p.dilation), list(p.causal)];
        const extra = [d !== '1' ? `dilation: ${d}` : '', c !== 'false' ? `causal: ${c}` : ''];
        return `neighborhood3d(${[x(p.depth), x(p.height), x(p.width), list(p.kernel), ...extra].filter(Boolean).join(', ')})`;
      }
    }
  }

  private paren(s: string, prec: number, outer: number): string {
    return prec < outer ? `(${s})` : s;
  }
}
