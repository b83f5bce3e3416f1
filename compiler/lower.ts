// AST → graph IR. Runs only on a definition the checker accepted, so it reads the
// checker's annotations (`ty` on every expression, `ref` on names) instead of re-deriving
// them. Params are substituted as constants here (kernels specialise on them); dims stay
// symbolic. Pattern builtins become `pattern` nodes that keep their origin; their bodies
// are filled in by the expand-builtins pass.

import type * as ast from '../dsl/ast.js';
import { bindArgs, builtin, closest, type BuiltinSpec } from '../dsl/builtins.js';
import { outputName } from '../dsl/checker.js';
import { diag, type Diagnostic } from '../dsl/diagnostics.js';
import { evalSizeExpr } from './evaluate.js';
import { F32_MAX, INT_MAX, INT_MIN, isFiniteF32, isInt32 } from '../dsl/semantics.js';
import {
  bin, bool, call, dim, float, int, mapCoord, rewrite, type CallFn, type Expr, type Graph, type Node, type NodeInit, type Pattern,
  type Scalar, type Shape,
} from './ir.js';

export type ParamValues = Record<string, number | boolean>;

/** Thrown inside the lowering for user errors it detects (e.g. a bad param override). */
class LowerError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('\n'));
  }
}

export function lowerAttention(
  def: ast.Attention,
  overrides: ParamValues = {},
): { graph: Graph | null; diagnostics: Diagnostic[] } {
  try {
    return { graph: new Lowering(def, overrides).run(), diagnostics: [] };
  } catch (e) {
    if (e instanceof LowerError) return { graph: null, diagnostics: e.diagnostics };
    throw e;
  }
}

/** The attend whose `mask:`/`score:` is being lowered: patterns need its lengths. */
interface AttendContext {
  queryLength: Expr;
  keyLength: Expr;
}

class Lowering {
  private readonly nodes: Node[] = [];
  private readonly inputs: number[] = [];
  private readonly tensors = new Map<string, number>();
  private readonly params: ParamValues = {};
  private readonly dimDefaults: Record<string, number> = {};

  constructor(
    private readonly def: ast.Attention,
    private readonly overrides: ParamValues,
  ) {}

  run(): Graph {
    // (The checker found the static errors under these params: compile() checks with the
    // overrides.)
    this.collectParams();
    let outputs: Graph['outputs'] = [];
    for (const st of this.def.statements) {
      switch (st.kind) {
        case 'input':
          for (const name of st.names) {
            const shape = st.type.dims.map((d) => (d.kind === 'int' ? int(d.value) : dim(d.name)));
            const id = this.add({ op: 'input', name: name.name, elem: st.type.elem, shape, span: name.span });
            this.inputs.push(id);
            this.tensors.set(name.name, id);
          }
          break;
        case 'dims':
          for (const e of st.entries) this.dimDefaults[e.name.name] = e.value;
          break;
        case 'param':
          break;
        case 'let': {
          const id = this.tensor(st.value);
          this.nodes[id]!.name ??= st.name.name;
          this.tensors.set(st.name.name, id);
          break;
        }
        case 'return':
          outputs = st.values.map((a, k) => ({ name: outputName(a, k, st.values.length), node: this.tensor(a.value) }));
          break;
      }
    }
    return {
      name: this.def.name.name,
      inputs: this.inputs,
      nodes: this.nodes,
      output: outputs[0]?.node ?? -1,
      outputs,
      dimDefaults: this.dimDefaults,
      params: this.params,
    };
  }

  private collectParams(): void {
    const declared = new Map<string, ast.ParamEntry>();
    for (const st of this.def.statements) {
      if (st.kind !== 'param') continue;
      for (const e of st.entries) {
        declared.set(e.name.name, e);
        this.params[e.name.name] = e.value;
      }
    }
    for (const [name, value] of Object.entries(this.overrides)) {
      const decl = declared.get(name);
      if (!decl) {
        const near = closest(name, declared.keys());
        const declares = declared.size ? `declares ${[...declared.keys()].map((n) => `\`${n}\``).join(', ')}` : 'declares no params';
        throw new LowerError([diag('AT701', [name], undefined,
          near ? `did you mean \`${near}\`?` : `\`${this.def.name.name}\` ${declares}`)]);
      }
      const want = paramType(decl.value, decl.isFloat);
      const got = typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int' : 'float';
      if (want !== got && !(want === 'float' && got === 'int')) {
        throw new LowerError([diag('AT702', [name, want, String(value)], decl.span)]);
      }
      // An int param is a 32-bit int, like every int of the language; a float param a
      // finite f32, like every float literal (AT104): devices compute in f32.
      if (want === 'int' && !isInt32(value as number)) {
        throw new LowerError([diag('AT702', [name, `int (i32: ${INT_MIN}..${INT_MAX})`, String(value)], decl.span)]);
      }
      if (want === 'float' && !isFiniteF32(value as number)) {
        throw new LowerError([diag('AT702', [name, `float (a finite f32: at most ${F32_MAX} in magnitude)`, String(value)], decl.span)]);
      }
      this.params[name] = value;
    }
  }

  private add(node: NodeInit): number {
    const id = this.nodes.length;
    this.nodes.push({ ...node, id } as Node);
    return id;
  }

  // ---- tensors ----

  /** Lower a tensor-valued expression (a name or a tensor operation) to a node id. */
  private tensor(e: ast.Expr): number {
    if (e.kind === 'name') {
      const id = this.tensors.get(e.name);
      if (id === undefined) throw new Error(`internal: unresolved tensor ${e.name}`);
      return id;
    }
    if (e.kind === 'binary' || e.kind === 'unary' || (e.kind === 'call' && builtin(e.callee.name)?.kind === 'function')) return this.map(e);
    if (e.kind !== 'call') throw new Error(`internal: ${e.kind} is not a tensor expression`);
    const spec = builtin(e.callee.name)!;
    const args = this.args(e, spec);
    switch (spec.name) {
      case 'attend': case 'topk': return this.attend(e, args);
      case 'pool': {
        const x = this.tensor(args.get('x')!);
        const xs = this.nodes[x]!.shape;
        const tokens = this.size(args.get('tokens')!);
        const w = args.get('weights');
        const weights = w ? { weights: this.tensor(w) } : {};
        return this.add({ op: 'pool', x, tokens, ...weights, elem: 'f32', shape: [xs[0]!, xs[1]!, tokens, xs[3]!], span: e.span });
      }
      case 'pool2d': {
        const x = this.tensor(args.get('x')!);
        const xs = this.nodes[x]!.shape;
        const to = args.get('to')!;
        if (to.kind !== 'list' || to.items.length !== 2) throw new Error('internal: pool2d to: is not a pair');
        const pair: [Expr, Expr] = [this.size(to.items[0]!), this.size(to.items[1]!)];
        return this.add({
          op: 'pool2d', x, height: this.size(args.get('height')!), width: this.size(args.get('width')!), to: pair,
          elem: 'f32', shape: [xs[0]!, xs[1]!, bin('mul', pair[0], pair[1]), xs[3]!], span: e.span,
        });
      }
      case 'clusters': {
        const x = this.tensor(args.get('x')!);
        const centroids = this.tensor(args.get('centroids')!);
        const xs = this.nodes[x]!.shape;
        return this.add({ op: 'clusters', x, centroids, elem: 'i32', shape: [xs[0]!, xs[1]!, xs[2]!], span: e.span });
      }
      case 'concat': {
        // x then y along the sequence axis: an elementwise map that reads x below x's
        // length and y (shifted) from there; loads are only evaluated on their side.
        const x = this.tensor(args.get('x')!);
        const y = this.tensor(args.get('y')!);
        const [xs, ys] = [this.nodes[x]!.shape, this.nodes[y]!.shape];
        const at = [0, 1, 2, 3].map((a) => mapCoord(a));
        const shifted = [at[0]!, at[1]!, bin('sub', at[2]!, xs[2]!), at[3]!];
        const expr: Expr = {
          op: 'select', ty: 'float', c: bin('lt', at[2]!, xs[2]!),
          a: { op: 'load', ty: 'float', tensor: x, idx: at }, b: { op: 'load', ty: 'float', tensor: y, idx: shifted },
        };
        const shape = [xs[0]!, xs[1]!, bin('add', xs[2]!, ys[2]!), xs[3]!];
        return this.add({ op: 'map', args: [x, y], expr, elem: 'f32', shape, concat: true, span: e.span });
      }
      case 'lse': {
        const attend = this.tensor(args.get('x')!);
        const as = this.nodes[attend]!;
        if (as.op !== 'attend') throw new Error('internal: lse of a node that is not an attend');
        return this.add({ op: 'lse', attend, elem: 'f32', shape: as.shape.slice(0, 3), span: e.span });
      }
      default:
        throw new Error(`internal: ${spec.name} is not a tensor operation`);
    }
  }

  /**
   * Elementwise tensor arithmetic: the whole expression is one `map` node whose `load`s
   * read its tensor operands (names or tensor operations, lowered first) at the element's
   * coordinates — all of them for an operand of the result's rank, all but the last for
   * one of a rank less; scalar operands are float expressions over params and dims.
   */
  private map(e: ast.Expr): number {
    const args: number[] = [];
    const build = (x: ast.Expr): Expr => {
      if (x.ty?.kind !== 'tensor') return this.convert(this.expr(x), 'float');
      switch (x.kind) {
        case 'binary':
          return bin(BINOPS[x.op as '+' | '-' | '*' | '/' | '%'], build(x.lhs), build(x.rhs));
        case 'unary':
          return { op: 'neg', ty: 'float', a: build(x.arg) };
        case 'call': {
          const spec = builtin(x.callee.name)!;
          if (spec.kind !== 'function') break;
          const given = this.args(x, spec);
          return call(spec.name as CallFn, spec.params.map((p) => build(given.get(p.name)!)), 'float');
        }
        default:
          break;
      }
      const id = this.tensor(x);
      if (!args.includes(id)) args.push(id);
      return { op: 'load', ty: 'float', tensor: id, idx: [] };
    };
    const body = build(e);
    const widest = args.reduce((a, id) => (this.nodes[id]!.shape.length > this.nodes[a]!.shape.length ? id : a));
    const shape = this.nodes[widest]!.shape;
    const expr = rewrite(body, (x) =>
      x.op === 'load' && x.idx.length === 0 ? { ...x, idx: this.nodes[x.tensor]!.shape.map((_, k) => mapCoord(k)) } : x);
    // `f16(…)` outermost: an f16 tensor (its values are f16 values; stored as f16 where it can).
    const elem = expr.op === 'call' && expr.fn === 'f16' ? 'f16' : 'f32';
    return this.add({ op: 'map', args, expr, elem, shape, span: e.span });
  }

  private attend(e: ast.ExprOf<'call'>, args: Map<string, ast.Expr>): number {
    // topk(q, k, n, …): the selection of attend(q, k, v, …, topk: n), as an attend node
    // whose value is which keys each query keeps (v unread: k).
    const kept = e.callee.name === 'topk';
    const q = this.tensor(args.get('q')!);
    const k = this.tensor(args.get('k')!);
    const v = kept ? k : this.tensor(args.get('v')!);
    const qs = this.nodes[q]!.shape;
    const ks = this.nodes[k]!.shape;
    const vs = this.nodes[v]!.shape;
    const ctx: AttendContext = { queryLength: qs[2]!, keyLength: this.nodes[k]!.shape[2]! };
    const maskAst = args.get('mask');
    const scoreAst = args.get('score');
    const scaleAst = args.get('scale');
    const normalize = args.get('normalize');
    const topkParam = kept ? 'n' : 'topk';
    const topkAst = args.get(topkParam);
    // (A constant: the checker saw to it; its static errors were reported with the others.)
    const topk = topkAst ? evalSizeExpr(this.expr(topkAst), {}, topkAst.span) : undefined;
    if (topk !== undefined && topk < 1) {
      throw new LowerError([diag('AT709', [e.callee.name, `${topkParam} must be at least 1, found ${topk}`], topkAst!.span)]);
    }
    return this.add({
      ...(topk !== undefined ? { topk } : {}),
      ...(kept ? { kept: true as const } : {}),
      op: 'attend', q, k, v,
      mask: maskAst ? this.expr(maskAst, ctx) : bool(true),
      score: scoreAst ? this.expr(scoreAst, ctx) : { op: 'score', ty: 'float' },
      scale: scaleAst
        ? this.convert(this.expr(scaleAst), 'float')
        : bin('div', float(1), call('sqrt', [this.convert(qs[3]!, 'float')], 'float')),
      normalize: normalize?.kind === 'name' && normalize.name === 'queries' ? 'queries' : 'keys',
      elem: 'f32',
      shape: [qs[0]!, qs[1]!, qs[2]!, kept ? ks[2]! : vs[3]!] as Shape,
      span: e.span,
    });
  }

  /** Arguments by parameter name (the checker has already reported any problem). */
  private args(e: ast.ExprOf<'call'>, spec: BuiltinSpec): Map<string, ast.Expr> {
    const { args } = bindArgs(e, spec);
    return new Map([...args].map(([name, a]) => [name, a.value]));
  }

  // ---- scalar expressions ----

  /** A size argument: an int expression over params and dims. */
  private size(e: ast.Expr): Expr {
    return this.expr(e);
  }

  private expr(e: ast.Expr, ctx?: AttendContext): Expr {
    switch (e.kind) {
      case 'number':
        return { op: 'const', ty: e.isFloat ? 'float' : 'int', value: e.value };
      case 'bool':
        return bool(e.value);
      case 'name':
        return this.name(e, ctx);
      case 'unary': {
        const a = this.expr(e.arg, ctx);
        return e.op === '!' ? { op: 'not', ty: 'bool', a } : { op: 'neg', ty: a.ty, a };
      }
      case 'binary':
        return this.binary(e, ctx);
      case 'ternary': {
        const ty = scalarOf(e);
        return {
          op: 'select', ty,
          c: this.expr(e.cond, ctx),
          a: this.convert(this.expr(e.then, ctx), ty),
          b: this.convert(this.expr(e.else, ctx), ty),
        };
      }
      case 'call':
        return this.call(e, ctx);
      case 'index': {
        if (e.target.kind !== 'name') throw new Error('internal: lookup of a non-name');
        const tensor = this.tensors.get(e.target.name)!;
        const elem = this.nodes[tensor]!.elem;
        return { op: 'load', ty: elem === 'i32' ? 'int' : 'float', tensor, idx: e.indices.map((x) => this.expr(x, ctx)) };
      }
      case 'list':
        throw new Error('internal: a list outside a pair argument');
    }
  }

  private name(e: ast.ExprOf<'name'>, ctx?: AttendContext): Expr {
    const ref = e.ref;
    switch (ref?.kind) {
      case 'param': {
        const v = this.params[e.name]!;
        return typeof v === 'boolean' ? bool(v) : { op: 'const', ty: scalarOf(e), value: v };
      }
      case 'dim':
        return dim(e.name);
      case 'index':
        return { op: 'index', ty: 'int', name: ref.name };
      case 'score':
        return { op: 'score', ty: 'float' };
      case 'pattern':
        // A pattern without arguments, written bare (`causal`, `causal_end`).
        return this.pattern(this.origin(builtin(e.name)!, new Map(), ctx), ctx);
      default:
        throw new Error(`internal: name \`${e.name}\` (${ref?.kind ?? 'unresolved'}) in a scalar expression`);
    }
  }

  private binary(e: ast.ExprOf<'binary'>, ctx?: AttendContext): Expr {
    const a = this.expr(e.lhs, ctx);
    const b = this.expr(e.rhs, ctx);
    if (e.op === '&&') return bin('and', a, b);
    if (e.op === '||') return bin('or', a, b);
    // Arithmetic and comparisons: promote an int side to float when the other is float.
    const ty: Scalar = a.ty === 'float' || b.ty === 'float' ? 'float' : a.ty;
    return bin(BINOPS[e.op], this.convert(a, ty), this.convert(b, ty));
  }

  private call(e: ast.ExprOf<'call'>, ctx?: AttendContext): Expr {
    const spec = builtin(e.callee.name)!;
    const args = this.args(e, spec);
    if (spec.kind === 'pattern') return this.pattern(this.origin(spec, args, ctx), ctx);
    const xs = spec.params.map((p) => this.expr(args.get(p.name)!, ctx));
    const fn = spec.name as CallFn;
    switch (fn) {
      case 'float': return this.convert(xs[0]!, 'float');
      case 'int': return xs[0]!.ty === 'int' ? xs[0]! : call('int', xs, 'int');
      case 'alibi': return call('alibi', xs.map((x) => this.convert(x, 'int')), 'float');
      case 'abs': case 'min': case 'max': case 'clamp': {
        const ty: Scalar = xs.some((x) => x.ty === 'float') ? 'float' : 'int';
        return call(fn, xs.map((x) => this.convert(x, ty)), ty);
      }
      default:
        return call(fn, xs.map((x) => this.convert(x, 'float')), 'float');
    }
  }

  private origin(spec: BuiltinSpec, args: Map<string, ast.Expr>, ctx?: AttendContext): Pattern {
    if (!ctx) throw new Error(`internal: pattern ${spec.name} outside mask`);
    const size = (name: string, dflt = 1): Expr => {
      const a = args.get(name);
      return a ? this.size(a) : int(dflt);
    };
    const flag = (a: ast.Expr | undefined): boolean => {
      if (!a) return false;
      const v = this.expr(a);
      if (v.op !== 'const' || typeof v.value !== 'boolean') throw new Error('internal: causal: is not a constant bool');
      return v.value;
    };
    const pair = <T>(name: string, one: (a: ast.Expr | undefined) => T): [T, T] => {
      const a = args.get(name);
      if (a?.kind === 'list') return [one(a.items[0]), one(a.items[1])];
      const v = one(a);
      return [v, v];
    };
    const triple = <T>(name: string, one: (a: ast.Expr | undefined) => T): [T, T, T] => {
      const a = args.get(name);
      if (a?.kind === 'list') return [one(a.items[0]), one(a.items[1]), one(a.items[2])];
      const v = one(a);
      return [v, v, v];
    };
    const lengths = { length: ctx.queryLength, keyLength: ctx.keyLength };
    switch (spec.name) {
      case 'causal': return { name: 'causal' };
      case 'causal_end': return { name: 'causal_end', ...lengths };
      case 'window': return { name: 'window', r: size('r') };
      case 'sliding': return { name: 'sliding', w: size('w') };
      case 'block': return { name: 'block', size: size('size') };
      case 'halo': return { name: 'halo', size: size('size'), overlap: size('overlap') };
      case 'halo2d': {
        const sizeOf = (a: ast.Expr | undefined): Expr => (a ? this.size(a) : int(1));
        return {
          name: 'halo2d', height: size('height'), width: size('width'), size: pair('size', sizeOf), overlap: pair('overlap', sizeOf), ...lengths,
        };
      }
      case 'sink': return { name: 'sink', n: size('n') };
      case 'global': return { name: 'global', n: size('n') };
      case 'neighborhood':
        return { name: 'neighborhood', kernel: size('kernel'), dilation: size('dilation'), causal: flag(args.get('causal')), ...lengths };
      case 'neighborhood2d': {
        const sizeOf = (a: ast.Expr | undefined): Expr => (a ? this.size(a) : int(1));
        return {
          name: 'neighborhood2d', height: size('height'), width: size('width'),
          kernel: pair('kernel', sizeOf), dilation: pair('dilation', sizeOf), causal: pair('causal', flag), ...lengths,
        };
      }
      case 'neighborhood3d': {
        const sizeOf = (a: ast.Expr | undefined): Expr => (a ? this.size(a) : int(1));
        return {
          name: 'neighborhood3d', depth: size('depth'), height: size('height'), width: size('width'),
          kernel: triple('kernel', sizeOf), dilation: triple('dilation', sizeOf), causal: triple('causal', flag), ...lengths,
        };
      }
      default:
        throw new Error(`internal: unknown pattern ${spec.name}`);
    }
  }

  private pattern(origin: Pattern, ctx?: AttendContext): Expr {
    if (!ctx) throw new Error('internal: pattern outside mask');
    return { op: 'pattern', ty: 'bool', origin, body: null };
  }

  /** Insert an explicit conversion when `e` is not already of type `ty`. */
  private convert(e: Expr, ty: Scalar): Expr {
    if (e.ty === ty) return e;
    if (e.op === 'const' && typeof e.value === 'number') return { op: 'const', ty, value: ty === 'int' ? Math.trunc(e.value) : e.value };
    return call(ty === 'float' ? 'float' : 'int', [e], ty);
  }
}

const BINOPS = {
  '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod',
  '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge',
} as const;

function scalarOf(e: ast.Expr): Scalar {
  const k = e.ty?.kind;
  if (k === 'int' || k === 'float' || k === 'bool') return k;
  throw new Error(`internal: expression of type ${k ?? 'unknown'} where a scalar is needed`);
}

function paramType(value: number | boolean, isFloat: boolean): Scalar {
  return typeof value === 'boolean' ? 'bool' : isFloat ? 'float' : 'int';
}
