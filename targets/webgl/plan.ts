// Graph IR (after the graph passes) → a WebGL plan: an ordered list of gpu.js kernels, each
// with the JavaScript function source gpu.js transpiles to GLSL, its arguments (graph
// tensors or scratch textures of this plan), its output size and its settings.
//
// gpu.js bakes argument texture sizes and `constants` into the shader, so a plan is
// specialised on all dims (the runtime caches plans per graph and dims). Each kernel
// computes one f32 per output element ("thread"); outputs are 3-D [x, y, z] with x the
// fastest axis, so a kernel's flat output is the row-major tensor its consumers index.
//
// Kernels per operation:
// - pool, pool2d: one thread per output element, averaging its adaptive bin(s)
//   [floor(t·N/n), ceil((t+1)·N/n)).
// - clusters: one thread per token: argmax of cosine similarity (ties → lowest index,
//   zero vector or zero centroid → similarity 0).
// - attend, normalize: keys — one of two strategies, picked by a cost estimate:
//   `fused`: one thread per output element (b, h, i, d): online softmax over the keys the
//     query can reach (running max and sum in f32, one division at the end);
//   `scores`: three kernels — masked scores in a banded [B·H, N, W] scratch (W = the widest
//     key range, or M), row statistics (max, Σexp) per query, then the weighted sum P·V.
//     Cheaper when Dv is large (no per-d recomputation of q·k). When the scratch would pass
//     2^24 elements it is computed a few heads at a time (`chunk`): the runtime runs the
//     three kernels per group of heads and assembles the output.
// - attend, normalize: queries — column statistics per key (max, Σexp over that (b, h)
//   head's allowed queries), then per output element Σ_j exp(x − max_j) / sum_j · v_j;
//   again `fused` (q·k recomputed in both passes) or `scores` (materialised once, then
//   column statistics and the weighted sum read it).
// In every form, a score ≤ −1e30 (or −inf) counts as masked, and a query row with no
// allowed key is exactly 0 (no division by a zero sum).
//
// Key ranges: `keyRanges(mask)` (compiler/analysis/mask.ts) gives Exprs over the query
// range `q_lo..q_hi` whose union covers every allowed key; a per-element kernel uses
// q_lo = q_hi = i and loops only over those keys (clamped to [0, M−1], keys already
// visited by an earlier range skipped). Loops whose bounds vary per thread are limited by
// gpu.js's `loopMaxIterations`, set here to the true maximum over all queries, computed on
// the host from the dims — never a silently truncated loop.

import { keyRanges } from '../../compiler/analysis/mask.js';
import { children, type Expr, type Graph, type Node, type NodeOf } from '../../compiler/ir.js';
import { evalSize } from '../../compiler/kernel.js';
import type { IndexName } from '../../dsl/builtins.js';
import { floatLiteral, HELPER_SOURCE, loadsOf, MASKED_BELOW, renderExpr, type ExprEnv, type Helper } from './expr.js';

/** A texture of the plan: a graph tensor (input or result of a node) or a scratch texture. */
export type WebGLBuffer = { kind: 'node'; node: number } | { kind: 'scratch'; id: string };

export type WebGLKernelKind = 'attend' | 'scores' | 'rowstats' | 'pv' | 'colstats' | 'colapply' | 'pool' | 'pool2d' | 'clusters';

export interface WebGLKernel {
  /** Unique in the plan, e.g. `agent_attend3_fused`. */
  name: string;
  kind: WebGLKernelKind;
  /** One line for listings and errors. */
  label: string;
  /** The graph node this kernel (partly) computes. */
  node: number;
  /** JavaScript source of the kernel function (`function (t0, t1) { … }`), for gpu.js. */
  source: string;
  /** The buffers passed as the function's parameters, in order. */
  args: WebGLBuffer[];
  /** Parameter names, parallel to `args`. */
  argNames: string[];
  result: WebGLBuffer;
  /** gpu.js output size [x, y, z] (x fastest). */
  output: [number, number, number];
  /** `this.constants` of the kernel (baked into the shader). */
  constants: Record<string, number>;
  /** gpu.js `loopMaxIterations`: the largest trip count of any loop with a per-thread bound. */
  loopMaxIterations: number;
  /** Which loop sets `loopMaxIterations` (for errors). */
  loopBoundLabel: string;
  /** GLSL helpers the source calls (gpu.js native functions). */
  helpers: Helper[];
  /** Estimated work (multiply-adds), for the strategy choice and listings. */
  cost: number;
  /** Number parameters after the buffers (uniforms), e.g. `bh0` of a chunked kernel. */
  scalars: string[];
  /**
   * Set on the kernels of an attend whose scores are computed a few heads at a time (the
   * whole scratch would exceed f32-exact addressing): the runtime runs the group of
   * consecutive kernels with this chunk once per chunk, passing `bh0 = c·heads`, and
   * assembles the last kernel's outputs (`heads` heads each) into the node's tensor.
   */
  chunk: WebGLChunk | null;
}

export interface WebGLChunk {
  /** Heads (b·H + h rows of N queries) per chunk. */
  heads: number;
  count: number;
  /** B·H. */
  total: number;
}

export type AttendStrategy = 'fused' | 'scores';

export interface WebGLPlan {
  graph: Graph;
  dims: Record<string, number>;
  kernels: WebGLKernel[];
  output: WebGLBuffer;
  /** Concrete shape of every graph node. */
  shapes: number[][];
  /** Elements of every scratch texture. */
  scratch: Record<string, number>;
  /** Strategy of each attend node with normalize: keys. */
  strategies: Record<number, AttendStrategy>;
}

export interface PlanOptions {
  /** Force an attention strategy (tests, benchmarks); default `auto` (cost estimate). */
  strategy?: 'auto' | AttendStrategy;
  /**
   * Largest scores scratch of one chunk, in elements (default and maximum `MAX_ELEMENTS`);
   * a smaller value forces chunking (tests).
   */
  maxScratch?: number;
}

/**
 * Tensors are addressed by flat f32 indices inside the shaders; f32 holds every integer up
 * to 2^24 exactly, so no texture of a plan may have more elements than this.
 */
export const MAX_ELEMENTS = 2 ** 24;
/** The largest loop trip count a kernel may need (bounded by f32-exact indices too). */
export const MAX_LOOP = 2 ** 24;

/** A size or loop bound the WebGL target cannot handle. */
export class WebGLLimitError extends Error {
  override name = 'WebGLLimitError';
}

const MASKED = '(-3.0e38)';

export function planWebGL(graph: Graph, dims: Record<string, number>, options: PlanOptions = {}): WebGLPlan {
  return new Planner(graph, dims, options).plan();
}

/** Concrete shapes of every node under `dims`. */
export function nodeShapes(graph: Graph, dims: Record<string, number>): number[][] {
  return graph.nodes.map((n) => n.shape.map((e) => evalSize(e, dims)));
}

class Planner {
  private readonly shapes: number[][];
  private readonly kernels: WebGLKernel[] = [];
  private readonly scratch: Record<string, number> = {};
  private readonly strategies: Record<number, AttendStrategy> = {};

  constructor(
    private readonly graph: Graph,
    private readonly dims: Record<string, number>,
    private readonly options: PlanOptions,
  ) {
    this.shapes = nodeShapes(graph, dims);
  }

  plan(): WebGLPlan {
    const live = this.liveNodes();
    for (const node of this.graph.nodes) {
      if (!live.has(node.id)) continue;
      this.checkElements(this.nodeLabel(node.id), prod(this.shapes[node.id]!));
      switch (node.op) {
        case 'input': break;
        case 'pool': this.pool(node); break;
        case 'pool2d': this.pool2d(node); break;
        case 'clusters': this.clusters(node); break;
        case 'attend':
          if (node.normalize === 'keys') this.attendKeys(node);
          else this.attendQueries(node);
          break;
      }
    }
    return {
      graph: this.graph,
      dims: { ...this.dims },
      kernels: this.kernels,
      output: { kind: 'node', node: this.graph.output },
      shapes: this.shapes,
      scratch: this.scratch,
      strategies: this.strategies,
    };
  }

  /** Nodes the output depends on (operands and tensors read by `load`). */
  private liveNodes(): Set<number> {
    const live = new Set<number>();
    const visit = (id: number): void => {
      if (live.has(id)) return;
      live.add(id);
      const n = this.graph.nodes[id]!;
      switch (n.op) {
        case 'input': break;
        case 'pool': case 'pool2d': visit(n.x); break;
        case 'clusters': visit(n.x); visit(n.centroids); break;
        case 'attend':
          visit(n.q); visit(n.k); visit(n.v);
          for (const t of [...loadsOf(n.mask), ...loadsOf(n.score)]) visit(t);
          break;
      }
    };
    visit(this.graph.output);
    return live;
  }

  private nodeLabel(id: number): string {
    const n = this.graph.nodes[id]!;
    return n.name ? `\`${n.name}\` (%${id})` : `%${id}`;
  }

  private checkElements(what: string, elems: number): void {
    if (elems > MAX_ELEMENTS) {
      throw new WebGLLimitError(
        `${what} has ${elems} elements; the WebGL target addresses tensors with f32 indices, exact only up to ` +
          `2^24 = ${MAX_ELEMENTS} elements per tensor. Use smaller shapes or another backend (--backend webgpu or reference).`,
      );
    }
  }

  private kernelName(node: Node, suffix: string): string {
    const base = `${this.graph.name}_${node.op}${node.id}`;
    return `${base}_${suffix}`.replace(/[^A-Za-z0-9_]/g, '_');
  }

  private add(k: Omit<WebGLKernel, 'argNames' | 'scalars' | 'chunk'> & { argNames?: string[]; scalars?: string[]; chunk?: WebGLChunk | null }): void {
    if (k.loopMaxIterations > MAX_LOOP) {
      throw new WebGLLimitError(
        `kernel ${k.name} (${k.label}) needs ${k.loopMaxIterations} iterations of its ${k.loopBoundLabel}, over the ` +
          `supported ${MAX_LOOP} (f32-exact loop counters). Use smaller shapes or another backend.`,
      );
    }
    const argNames = k.argNames ?? k.args.map(bufferParam);
    this.kernels.push({
      ...k,
      argNames,
      scalars: k.scalars ?? [],
      chunk: k.chunk ?? null,
      loopMaxIterations: Math.max(1, k.loopMaxIterations),
      helpers: [...new Set(k.helpers)].sort(),
    });
  }

  // ---- pool, pool2d ----

  private pool(node: NodeOf<'pool'>): void {
    const [B, H, N, D] = this.shapes[node.x]! as [number, number, number, number];
    const n = this.shapes[node.id]![2]!;
    let widest = 0;
    for (let t = 0; t < n; t++) widest = Math.max(widest, binOf(t, n, N)[1] - binOf(t, n, N)[0]);
    const x = `t${node.x}`;
    const src = [
      `function (${x}) {`,
      '  const c = this.thread.x;',
      '  const t = this.thread.y;',
      '  const bh = this.thread.z;',
      '  const lo = attnc_idiv(t * this.constants.N, this.constants.n);',
      '  const hi = attnc_idiv(t * this.constants.N + this.constants.N + this.constants.n - 1, this.constants.n);',
      '  let sum = 0.0;',
      '  for (let p = lo; p < hi; p++) {',
      `    sum += ${x}[(bh * this.constants.N + p) * this.constants.D + c];`,
      '  }',
      '  return sum / (hi - lo);',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'pool'),
      kind: 'pool',
      label: `pool ${this.nodeLabel(node.id)}: adaptive average of ${N} → ${n} tokens`,
      node: node.id,
      source: src.join('\n'),
      args: [{ kind: 'node', node: node.x }],
      result: { kind: 'node', node: node.id },
      output: [D, n, B * H],
      constants: { N, n, D },
      loopMaxIterations: widest,
      loopBoundLabel: 'pooling bin loop',
      helpers: ['attnc_idiv'],
      cost: B * H * n * D * widest,
    });
  }

  private pool2d(node: NodeOf<'pool2d'>): void {
    const [B, H, N, D] = this.shapes[node.x]! as [number, number, number, number];
    const ht = evalSize(node.height, this.dims);
    const wd = evalSize(node.width, this.dims);
    const ph = evalSize(node.to[0], this.dims);
    const pw = evalSize(node.to[1], this.dims);
    let widest = 0;
    for (let t = 0; t < ph; t++) widest = Math.max(widest, binOf(t, ph, ht)[1] - binOf(t, ph, ht)[0]);
    for (let t = 0; t < pw; t++) widest = Math.max(widest, binOf(t, pw, wd)[1] - binOf(t, pw, wd)[0]);
    const x = `t${node.x}`;
    const src = [
      `function (${x}) {`,
      '  const c = this.thread.x;',
      '  const t = this.thread.y;',
      '  const bh = this.thread.z;',
      '  const tr = attnc_idiv(t, this.constants.pw);',
      '  const tc = t - tr * this.constants.pw;',
      '  const rlo = attnc_idiv(tr * this.constants.ht, this.constants.ph);',
      '  const rhi = attnc_idiv(tr * this.constants.ht + this.constants.ht + this.constants.ph - 1, this.constants.ph);',
      '  const clo = attnc_idiv(tc * this.constants.wd, this.constants.pw);',
      '  const chi = attnc_idiv(tc * this.constants.wd + this.constants.wd + this.constants.pw - 1, this.constants.pw);',
      '  let sum = 0.0;',
      '  for (let y = rlo; y < rhi; y++) {',
      '    for (let z = clo; z < chi; z++) {',
      `      sum += ${x}[(bh * this.constants.N + y * this.constants.wd + z) * this.constants.D + c];`,
      '    }',
      '  }',
      '  return sum / ((rhi - rlo) * (chi - clo));',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'pool2d'),
      kind: 'pool2d',
      label: `pool2d ${this.nodeLabel(node.id)}: adaptive average of a ${ht}×${wd} grid → ${ph}×${pw}`,
      node: node.id,
      source: src.join('\n'),
      args: [{ kind: 'node', node: node.x }],
      result: { kind: 'node', node: node.id },
      output: [D, ph * pw, B * H],
      constants: { N, D, ht, wd, ph, pw },
      loopMaxIterations: widest,
      loopBoundLabel: 'pooling bin loops',
      helpers: ['attnc_idiv'],
      cost: B * H * ph * pw * D * widest * widest,
    });
  }

  // ---- clusters ----

  private clusters(node: NodeOf<'clusters'>): void {
    const [B, Hx, N, D] = this.shapes[node.x]! as [number, number, number, number];
    const C = this.shapes[node.centroids]![1]!;
    const x = `t${node.x}`;
    const cen = `t${node.centroids}`;
    const args: WebGLBuffer[] = [{ kind: 'node', node: node.x }];
    const names = [x];
    if (node.centroids !== node.x) {
      args.push({ kind: 'node', node: node.centroids });
      names.push(cen);
    }
    const src = [
      `function (${names.join(', ')}) {`,
      '  const ii = this.thread.x;',
      '  const ih = this.thread.y;',
      '  const ib = this.thread.z;',
      '  const xo = ((ib * this.constants.Hx + ih) * this.constants.N + ii) * this.constants.D;',
      '  let xn = 0.0;',
      '  for (let c = 0; c < this.constants.D; c++) {',
      `    const xv = ${x}[xo + c];`,
      '    xn += xv * xv;',
      '  }',
      '  let best = 0.0;',
      '  let bestSim = -3.0e38;',
      '  for (let cc = 0; cc < this.constants.C; cc++) {',
      '    const co = (ih * this.constants.C + cc) * this.constants.D;',
      '    let dot = 0.0;',
      '    let cn = 0.0;',
      '    for (let c = 0; c < this.constants.D; c++) {',
      `      const u = ${cen}[co + c];`,
      `      dot += ${x}[xo + c] * u;`,
      '      cn += u * u;',
      '    }',
      '    const sim = (xn > 0.0 && cn > 0.0) ? dot / (Math.sqrt(xn) * Math.sqrt(cn)) : 0.0;',
      '    if (sim > bestSim) {',
      '      bestSim = sim;',
      '      best = cc;',
      '    }',
      '  }',
      '  return best;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'clusters'),
      kind: 'clusters',
      label: `clusters ${this.nodeLabel(node.id)}: cosine argmax over ${C} centroids`,
      node: node.id,
      source: src.join('\n'),
      args,
      argNames: names,
      result: { kind: 'node', node: node.id },
      output: [N, Hx, B],
      constants: { Hx, N, D, C },
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [],
      cost: B * Hx * N * C * D * 2,
    });
  }

  // ---- attend ----

  private geometry(node: NodeOf<'attend'>) {
    const [B, H, N, D] = this.shapes[node.q]! as [number, number, number, number];
    const [, Hk, M] = this.shapes[node.k]! as [number, number, number, number];
    const Dv = this.shapes[node.v]![3]!;
    const G = Hk === 0 ? 1 : H / Hk;
    return { B, H, Hk, N, M, D, Dv, G };
  }

  /**
   * The key ranges of a per-query kernel, evaluated on the host for every query: each
   * range's widest trip count. null: no analysis (every key).
   */
  private ranges(node: NodeOf<'attend'>, N: number, M: number): { ranges: { lo: Expr; hi: Expr; width: number }[] | null } {
    let rs: { lo: Expr; hi: Expr }[] | null;
    try {
      rs = keyRanges(node.mask);
    } catch {
      rs = null;
    }
    if (!rs) return { ranges: null };
    const usable = (e: Expr): boolean => {
      if (e.op === 'index' || e.op === 'score' || e.op === 'load' || e.op === 'pattern') return false;
      if (e.op === 'var' && e.name !== 'q_lo' && e.name !== 'q_hi') return false;
      return children(e).every(usable);
    };
    if (!rs.every((r) => usable(r.lo) && usable(r.hi))) return { ranges: null };
    const out: { lo: Expr; hi: Expr; width: number }[] = [];
    try {
      for (const r of rs) {
        let width = 0;
        for (let i = 0; i < N; i++) {
          const vars = { q_lo: i, q_hi: i };
          const lo = Math.max(hostNumber(r.lo, this.dims, vars), 0);
          const hi = Math.min(hostNumber(r.hi, this.dims, vars), M - 1);
          width = Math.max(width, hi - lo + 1);
        }
        out.push({ ...r, width });
      }
    } catch {
      return { ranges: null };
    }
    // A range that no query reaches costs nothing: drop it.
    return { ranges: out.filter((r) => r.width > 0) };
  }

  private attendKeys(node: NodeOf<'attend'>): void {
    const g = this.geometry(node);
    const { ranges } = this.ranges(node, g.N, g.M);
    const slots = ranges ? ranges.reduce((a, r) => a + r.width, 0) : g.M;
    const BH = g.B * g.H;
    const fusedCost = BH * g.N * g.Dv * slots * (g.D + 12);
    const scoresCost = BH * g.N * slots * (g.D + 12) + BH * g.N * 2 * 2 * slots + BH * g.N * g.Dv * slots * 4 + 2 * 65536;
    const scoresFit = this.chunking(BH, g.N * Math.max(slots, 1)) !== null;
    let strategy: AttendStrategy;
    const forced = this.options.strategy ?? 'auto';
    if (forced === 'auto') strategy = scoresFit && scoresCost < fusedCost ? 'scores' : 'fused';
    else strategy = forced;
    this.strategies[node.id] = strategy;
    if (strategy === 'fused') this.attendFused(node, g, ranges, fusedCost);
    else this.attendScores(node, g, ranges, slots);
  }

  /**
   * How to split B·H heads so each chunk's scores (perHead elements per head) stay within
   * f32-exact addressing; null when one head alone is too large.
   */
  private chunking(BH: number, perHead: number): WebGLChunk | null {
    const limit = Math.min(this.options.maxScratch ?? MAX_ELEMENTS, MAX_ELEMENTS);
    if (perHead > limit) return null;
    const heads = Math.max(1, Math.min(BH, Math.floor(limit / Math.max(perHead, 1))));
    return { heads, count: Math.ceil(BH / heads), total: BH };
  }

  /** `bz`: the head row in this kernel's output; `bh`: the global b·H + h. */
  private zLines(chunk: WebGLChunk | null): string[] {
    return chunk && chunk.count > 1
      ? ['  const bz = this.thread.z;', '  const bh = bz + bh0;']
      : ['  const bz = this.thread.z;', '  const bh = bz;'];
  }

  /** Shared pieces of the attention kernels' sources. */
  private attendEnv(node: NodeOf<'attend'>, g: ReturnType<Planner['geometry']>) {
    const helpers = new Set<Helper>(['attnc_idiv']);
    const constants: Record<string, number> = { B: g.B, H: g.H, Hk: g.Hk, G: g.G, N: g.N, M: g.M, D: g.D, Dv: g.Dv };
    const tensors = new Map<number, string>();
    const tensor = (id: number): string => {
      let name = tensors.get(id);
      if (!name) tensors.set(id, (name = `t${id}`));
      return name;
    };
    const q = tensor(node.q);
    const k = tensor(node.k);
    const v = tensor(node.v);
    const idx: Record<IndexName, string> = { b: 'ib', h: 'ih', hk: 'ihk', i: 'ii', j: 'ij' };
    const env: ExprEnv = {
      helpers,
      index: (name) => idx[name],
      score: () => 'sc',
      dim: (name) => {
        const v = this.dims[name];
        if (v === undefined) throw new Error(`internal: dim ${name} is not bound`);
        const key = `dim_${name}`;
        constants[key] = v;
        return `this.constants.${key}`;
      },
      variable: (name) => {
        if (name === 'q_lo' || name === 'q_hi') return 'ii';
        throw new Error(`internal: variable \`${name}\` reached the WebGL renderer`);
      },
      load: (id, rendered, raw) => {
        const shape = this.shapes[id]!;
        const name = tensor(id);
        let flat = '';
        rendered.forEach((r, a) => {
          const n = shape[a]!;
          const e = raw[a]!;
          const inRange = e.op === 'const' && typeof e.value === 'number' && e.value >= 0 && e.value < n;
          const clamped = inRange ? r : `Math.min(Math.max(${r}, 0), ${n - 1})`;
          flat = a === 0 ? clamped : `(${flat}) * ${n} + ${clamped}`;
        });
        return `${name}[${flat || '0'}]`;
      },
      hostSize: (e) => {
        try {
          return evalSize(e, this.dims);
        } catch {
          return undefined;
        }
      },
    };
    const scale = evalSize(node.scale, this.dims);
    const scaleLit = floatLiteral(scale);
    const maskTrue = node.mask.op === 'const' && node.mask.value === true;
    const mask = maskTrue ? 'true' : renderExpr(node.mask, env);
    const score = renderExpr(node.score, env);
    const head = [
      '  const ib = attnc_idiv(bh, this.constants.H);',
      '  const ih = bh - ib * this.constants.H;',
      '  const ihk = attnc_idiv(ih, this.constants.G);',
      '  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;',
    ];
    /** Lines computing `x`, the score of (ii, ij) — assumes the mask allows it. */
    const scoreLines = (ind: string, target: string, declare: boolean): string[] => [
      `${ind}let dot = 0.0;`,
      `${ind}for (let c = 0; c < this.constants.D; c++) {`,
      `${ind}  dot += ${q}[(bh * this.constants.N + ii) * this.constants.D + c] * ${k}[(kvb + ij) * this.constants.D + c];`,
      `${ind}}`,
      `${ind}const sc = dot * ${scaleLit};`,
      `${ind}${declare ? 'const ' : ''}${target} = ${score};`,
    ];
    return { helpers, constants, tensors, q, k, v, mask, maskTrue, head, scoreLines, env, scale };
  }

  /** Lines opening the loops over a query's key ranges (per-element: q_lo = q_hi = ii). */
  private keyLoops(
    ranges: { lo: Expr; hi: Expr; width: number }[] | null,
    env: ExprEnv,
    body: (ind: string) => string[],
  ): string[] {
    if (!ranges) {
      return [
        '  for (let kj = 0; kj < this.constants.M; kj++) {',
        '    const ij = kj;',
        ...body('    '),
        '  }',
      ];
    }
    const lines: string[] = [];
    ranges.forEach((r, n) => {
      lines.push(`  const lo${n} = Math.max(${renderExpr(r.lo, env)}, 0);`);
      lines.push(`  const hi${n} = Math.min(${renderExpr(r.hi, env)}, this.constants.M - 1);`);
    });
    ranges.forEach((_r, n) => {
      const skip = Array.from({ length: n }, (_, s) => `(ij < lo${s} || ij > hi${s})`);
      lines.push(`  for (let kj${n} = lo${n}; kj${n} <= hi${n}; kj${n}++) {`);
      lines.push(`    const ij = kj${n};`);
      if (skip.length) {
        lines.push(`    if (${skip.join(' && ')}) {`);
        lines.push(...body('      '));
        lines.push('    }');
      } else {
        lines.push(...body('    '));
      }
      lines.push('  }');
    });
    return lines;
  }

  private attendFused(
    node: NodeOf<'attend'>,
    g: ReturnType<Planner['geometry']>,
    ranges: { lo: Expr; hi: Expr; width: number }[] | null,
    cost: number,
  ): void {
    const e = this.attendEnv(node, g);
    const body = (ind: string): string[] => {
      const inner = (i2: string): string[] => [
        ...e.scoreLines(i2, 'x', true),
        `${i2}if (x > ${MASKED_BELOW.toExponential()}) {`,
        `${i2}  const vv = ${e.v}[(kvb + ij) * this.constants.Dv + od];`,
        `${i2}  if (x > mx) {`,
        `${i2}    const r = Math.exp(mx - x);`,
        `${i2}    l = l * r + 1.0;`,
        `${i2}    acc = acc * r + vv;`,
        `${i2}    mx = x;`,
        `${i2}  } else {`,
        `${i2}    const p = Math.exp(x - mx);`,
        `${i2}    l += p;`,
        `${i2}    acc += p * vv;`,
        `${i2}  }`,
        `${i2}}`,
      ];
      if (e.maskTrue) return inner(ind);
      return [`${ind}if (${e.mask}) {`, ...inner(ind + '  '), `${ind}}`];
    };
    const loops = this.keyLoops(ranges, e.env, body);
    const args = [...e.tensors.keys()].map((id): WebGLBuffer => ({ kind: 'node', node: id }));
    const src = [
      `function (${[...e.tensors.values()].join(', ')}) {`,
      '  const od = this.thread.x;',
      '  const ii = this.thread.y;',
      '  const bh = this.thread.z;',
      ...e.head,
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      '  let acc = 0.0;',
      ...loops,
      '  return l > 0.0 ? acc / l : 0.0;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'fused'),
      kind: 'attend',
      label: `attend ${this.nodeLabel(node.id)} (normalize: keys), fused online softmax per output element`,
      node: node.id,
      source: src.join('\n'),
      args,
      result: { kind: 'node', node: node.id },
      output: [g.Dv, g.N, g.B * g.H],
      constants: e.constants,
      loopMaxIterations: ranges ? Math.max(0, ...ranges.map((r) => r.width)) : 1,
      loopBoundLabel: 'key-range loop',
      helpers: [...e.helpers],
      cost,
    });
  }

  /**
   * The masked scores of an attend in a banded scratch [B·H, N, W]: slot t of query i holds
   * x(i, j) for the key j it stands for (slots [O_r, O_r + width_r) belong to range r,
   * j = lo_r(i) + t − O_r), or −3e38 where the key is out of range, masked, or scored −inf.
   */
  private scoresKernel(
    node: NodeOf<'attend'>,
    g: ReturnType<Planner['geometry']>,
    ranges: { lo: Expr; hi: Expr; width: number }[] | null,
    slots: number,
    pass: string,
  ): { sId: string; W: number; chunk: WebGLChunk | null; Hc: number; scalars: string[] } {
    const W = Math.max(slots, 1);
    const BH = g.B * g.H;
    const sId = `attend${node.id}_scores`;
    const found = this.chunking(BH, g.N * W);
    if (!found) {
      throw new WebGLLimitError(
        `the scores of one head of ${this.nodeLabel(node.id)} (${g.N}·${W} elements) exceed the ${MAX_ELEMENTS} elements ` +
          'a WebGL texture can address exactly; use the fused strategy, smaller shapes or another backend.',
      );
    }
    const chunk = found.count > 1 ? found : null;
    const Hc = chunk ? chunk.heads : BH;
    const scalars = chunk ? ['bh0'] : [];
    this.scratch[sId] = Hc * g.N * W;
    const e = this.attendEnv(node, g);
    const scoreBody = (ind: string, guard: string): string[] => {
      const cond = [guard, e.maskTrue ? '' : e.mask].filter(Boolean).join(' && ');
      const inner = [
        ...e.scoreLines(ind + (cond ? '  ' : ''), 'y', true),
        `${ind}${cond ? '  ' : ''}x = y > ${MASKED_BELOW.toExponential()} ? y : ${MASKED};`,
      ];
      return cond ? [`${ind}if (${cond}) {`, ...inner, `${ind}}`] : inner;
    };
    const lines: string[] = [];
    if (!ranges) {
      lines.push('  const ij = tt;', ...scoreBody('  ', ''));
    } else {
      ranges.forEach((r, n) => {
        lines.push(`  const lo${n} = Math.max(${renderExpr(r.lo, e.env)}, 0);`);
        lines.push(`  const hi${n} = Math.min(${renderExpr(r.hi, e.env)}, this.constants.M - 1);`);
      });
      let offset = 0;
      ranges.forEach((r, n) => {
        const skip = Array.from({ length: n }, (_, s) => `(ij < lo${s} || ij > hi${s})`);
        lines.push(`  if (tt >= ${offset} && tt < ${offset + r.width}) {`);
        lines.push(`    const ij = lo${n} + (tt - ${offset});`);
        lines.push(...scoreBody('    ', [`ij <= hi${n}`, ...skip].join(' && ')));
        lines.push('  }');
        offset += r.width;
      });
    }
    const args = [...e.tensors.keys()].filter((id) => id !== node.v || this.readsV(node));
    const names = args.map((id) => e.tensors.get(id)!);
    const src = [
      `function (${[...names, ...scalars].join(', ')}) {`,
      '  const tt = this.thread.x;',
      '  const ii = this.thread.y;',
      ...this.zLines(chunk),
      ...e.head,
      `  let x = ${MASKED};`,
      ...lines,
      '  return x;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'scores'),
      kind: 'scores',
      label: `attend ${this.nodeLabel(node.id)} (normalize: ${node.normalize}), ${pass}: masked scores, ${W} key slots per query`,
      node: node.id,
      source: src.join('\n'),
      args: args.map((id): WebGLBuffer => ({ kind: 'node', node: id })),
      argNames: names,
      result: { kind: 'scratch', id: sId },
      output: [W, g.N, Hc],
      constants: e.constants,
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [...e.helpers],
      cost: BH * g.N * W * (g.D + 12),
      scalars,
      chunk,
    });
    return { sId, W, chunk, Hc, scalars };
  }

  /** Lines declaring `lo<r>` (and `hi<r>` when asked) for the query `ii`. */
  private rangeBounds(ranges: { lo: Expr; hi: Expr }[], env: ExprEnv, ind: string, withHi: boolean): string[] {
    const out: string[] = [];
    ranges.forEach((r, n) => {
      out.push(`${ind}const lo${n} = Math.max(${renderExpr(r.lo, env)}, 0);`);
      if (withHi) out.push(`${ind}const hi${n} = Math.min(${renderExpr(r.hi, env)}, this.constants.M - 1);`);
    });
    return out;
  }

  private attendScores(
    node: NodeOf<'attend'>,
    g: ReturnType<Planner['geometry']>,
    ranges: { lo: Expr; hi: Expr; width: number }[] | null,
    slots: number,
  ): void {
    const BH = g.B * g.H;
    const { sId, W, chunk, Hc, scalars } = this.scoresKernel(node, g, ranges, slots, 'pass 1/3');
    const stId = `attend${node.id}_rowstats`;
    this.scratch[stId] = Hc * g.N * 2;
    const e = this.attendEnv(node, g);

    // 2. row statistics: [B·H, N, 2] = (max, Σ exp(x − max)).
    const srcStats = [
      'function (s) {',
      '  const which = this.thread.x;',
      '  const ii = this.thread.y;',
      '  const bz = this.thread.z;',
      '  const base = (bz * this.constants.N + ii) * this.constants.W;',
      `  let mx = ${MASKED};`,
      '  for (let t = 0; t < this.constants.W; t++) {',
      '    const x = s[base + t];',
      '    if (x > mx) {',
      '      mx = x;',
      '    }',
      '  }',
      '  let l = 0.0;',
      '  if (which === 1) {',
      '    for (let t = 0; t < this.constants.W; t++) {',
      '      const x = s[base + t];',
      `      if (x > ${MASKED_BELOW.toExponential()}) {`,
      '        l += Math.exp(x - mx);',
      '      }',
      '    }',
      '  }',
      '  return which === 0 ? mx : l;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'rowstats'),
      kind: 'rowstats',
      label: `attend ${this.nodeLabel(node.id)} (normalize: keys), pass 2/3: row max and Σexp per query`,
      node: node.id,
      source: srcStats.join('\n'),
      args: [{ kind: 'scratch', id: sId }],
      argNames: ['s'],
      result: { kind: 'scratch', id: stId },
      output: [2, g.N, Hc],
      constants: { N: g.N, W },
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [],
      cost: BH * g.N * 3 * W,
      chunk,
    });

    // 3. P·V: Σ_slots exp(x − max) · v[j], divided once by the row sum.
    const pvLines: string[] = [];
    const accumulate = (ind: string, slot: string, key: string): string[] => [
      `${ind}const x = s[base + ${slot}];`,
      `${ind}if (x > ${MASKED_BELOW.toExponential()}) {`,
      `${ind}  const ij = ${key};`,
      `${ind}  acc += Math.exp(x - mx) * ${e.v}[(kvb + ij) * this.constants.Dv + od];`,
      `${ind}}`,
    ];
    const pvHelpers = new Set<Helper>(['attnc_idiv']);
    if (!ranges) {
      pvLines.push('  for (let t = 0; t < this.constants.M; t++) {', ...accumulate('    ', 't', 't'), '  }');
    } else {
      const lenv: ExprEnv = { ...e.env, helpers: pvHelpers };
      ranges.forEach((r, n) => pvLines.push(`  const lo${n} = Math.max(${renderExpr(r.lo, lenv)}, 0);`));
      let offset = 0;
      ranges.forEach((r, n) => {
        pvLines.push(`  for (let t = 0; t < ${r.width}; t++) {`, ...accumulate('    ', `${offset} + t`, `lo${n} + t`), '  }');
        offset += r.width;
      });
    }
    const pvConstants: Record<string, number> = { ...e.constants, W };
    const srcPV = [
      `function (${['s', 'st', e.v, ...scalars].join(', ')}) {`,
      '  const od = this.thread.x;',
      '  const ii = this.thread.y;',
      ...this.zLines(chunk),
      ...e.head,
      '  const so = (bz * this.constants.N + ii) * 2;',
      '  const mx = st[so];',
      '  const l = st[so + 1];',
      '  const base = (bz * this.constants.N + ii) * this.constants.W;',
      '  let acc = 0.0;',
      ...pvLines,
      '  return l > 0.0 ? acc / l : 0.0;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'pv'),
      kind: 'pv',
      label: `attend ${this.nodeLabel(node.id)} (normalize: keys), pass 3/3: P·V`,
      node: node.id,
      source: srcPV.join('\n'),
      args: [{ kind: 'scratch', id: sId }, { kind: 'scratch', id: stId }, { kind: 'node', node: node.v }],
      argNames: ['s', 'st', e.v],
      result: { kind: 'node', node: node.id },
      output: [g.Dv, g.N, Hc],
      constants: pvConstants,
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [...pvHelpers],
      cost: BH * g.N * g.Dv * W * 4,
      scalars,
      chunk,
    });
  }

  /** Whether the scores kernel reads `v` (only through a lookup in mask/score). */
  private readsV(node: NodeOf<'attend'>): boolean {
    return [...loadsOf(node.mask), ...loadsOf(node.score)].includes(node.v) || node.v === node.q || node.v === node.k;
  }

  private attendQueries(node: NodeOf<'attend'>): void {
    const g = this.geometry(node);
    const BH = g.B * g.H;
    const { ranges } = this.ranges(node, g.N, g.M);
    const slots = ranges ? ranges.reduce((acc, r) => acc + r.width, 0) : g.M;
    const nr = ranges ? ranges.length : 0;
    const fusedCost = BH * g.M * 2 * g.N * (g.D + 12) + BH * g.N * g.Dv * slots * (g.D + 12);
    const scoresCost =
      BH * g.N * slots * (g.D + 12) + BH * g.M * 2 * g.N * (8 + 6 * nr) + BH * g.N * g.Dv * slots * 6 + 2 * 65536;
    const scoresFit = this.chunking(BH, g.N * Math.max(slots, 1)) !== null;
    const forced = this.options.strategy ?? 'auto';
    const strategy: AttendStrategy = forced === 'auto' ? (scoresFit && scoresCost < fusedCost ? 'scores' : 'fused') : forced;
    this.strategies[node.id] = strategy;
    const stId = `attend${node.id}_colstats`;
    this.scratch[stId] = BH * g.M * 2;
    this.checkElements(`the column statistics of ${this.nodeLabel(node.id)}`, BH * g.M * 2);
    if (strategy === 'scores') this.attendQueriesScores(node, g, ranges, slots, stId);
    else this.attendQueriesFused(node, g, ranges, slots, stId);
  }

  /** normalize: queries from materialised scores: scores, column statistics, P·V. */
  private attendQueriesScores(
    node: NodeOf<'attend'>,
    g: ReturnType<Planner['geometry']>,
    ranges: { lo: Expr; hi: Expr; width: number }[] | null,
    slots: number,
    stId: string,
  ): void {
    const BH = g.B * g.H;
    const { sId, W, chunk, Hc, scalars } = this.scoresKernel(node, g, ranges, slots, 'pass 1/3');
    this.scratch[stId] = Hc * g.M * 2;

    // 2. column statistics of key ij over the queries: find ij's slot in each query's row.
    const helpers = new Set<Helper>();
    const e = this.attendEnv(node, g);
    const env: ExprEnv = { ...e.env, helpers };
    const find: string[] = [];
    if (!ranges) {
      find.push('    const slot = ij;');
    } else {
      find.push(...this.rangeBounds(ranges, env, '    ', true));
      find.push('    let slot = -1.0;');
      let offset = 0;
      ranges.forEach((r, n) => {
        const first = n === 0 ? '' : 'slot < 0.0 && ';
        find.push(`    if (${first}ij >= lo${n} && ij <= hi${n}) {`, `      slot = ${offset} + ij - lo${n};`, '    }');
        offset += r.width;
      });
    }
    const srcStats = [
      'function (s) {',
      '  const which = this.thread.x;',
      '  const ij = this.thread.y;',
      '  const bz = this.thread.z;',
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      '  for (let ii = 0; ii < this.constants.N; ii++) {',
      ...find,
      `    if (slot >= 0.0) {`,
      '      const x = s[(bz * this.constants.N + ii) * this.constants.W + slot];',
      `      if (x > ${MASKED_BELOW.toExponential()}) {`,
      '        if (x > mx) {',
      '          l = l * Math.exp(mx - x) + 1.0;',
      '          mx = x;',
      '        } else {',
      '          l += Math.exp(x - mx);',
      '        }',
      '      }',
      '    }',
      '  }',
      '  return which === 0 ? mx : l;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'colstats'),
      kind: 'colstats',
      label: `attend ${this.nodeLabel(node.id)} (normalize: queries), pass 2/3: column max and Σexp per key`,
      node: node.id,
      source: srcStats.join('\n'),
      args: [{ kind: 'scratch', id: sId }],
      argNames: ['s'],
      result: { kind: 'scratch', id: stId },
      output: [2, g.M, Hc],
      constants: { ...e.constants, W },
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [...helpers],
      cost: BH * g.M * 2 * g.N * 8,
      chunk,
    });

    // 3. per output element: Σ_slots exp(x − max_j) / sum_j · v_j.
    const e3 = this.attendEnv(node, g);
    const h3 = new Set<Helper>(['attnc_idiv']);
    const env3: ExprEnv = { ...e3.env, helpers: h3 };
    const accumulate = (ind: string, slot: string, key: string): string[] => [
      `${ind}const x = s[base + ${slot}];`,
      `${ind}if (x > ${MASKED_BELOW.toExponential()}) {`,
      `${ind}  const ij = ${key};`,
      `${ind}  const so = (bz * this.constants.M + ij) * 2;`,
      `${ind}  const lj = cs[so + 1];`,
      `${ind}  if (lj > 0.0) {`,
      `${ind}    acc += Math.exp(x - cs[so]) / lj * ${e3.v}[(kvb + ij) * this.constants.Dv + od];`,
      `${ind}  }`,
      `${ind}}`,
    ];
    const loops: string[] = [];
    if (!ranges) {
      loops.push('  for (let t = 0; t < this.constants.M; t++) {', ...accumulate('    ', 't', 't'), '  }');
    } else {
      loops.push(...this.rangeBounds(ranges, env3, '  ', false));
      let offset = 0;
      ranges.forEach((r, n) => {
        loops.push(`  for (let t = 0; t < ${r.width}; t++) {`, ...accumulate('    ', `${offset} + t`, `lo${n} + t`), '  }');
        offset += r.width;
      });
    }
    const src = [
      `function (${['s', 'cs', e3.v, ...scalars].join(', ')}) {`,
      '  const od = this.thread.x;',
      '  const ii = this.thread.y;',
      ...this.zLines(chunk),
      ...e3.head,
      '  const base = (bz * this.constants.N + ii) * this.constants.W;',
      '  let acc = 0.0;',
      ...loops,
      '  return acc;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'colapply'),
      kind: 'colapply',
      label: `attend ${this.nodeLabel(node.id)} (normalize: queries), pass 3/3: column-normalised P·V`,
      node: node.id,
      source: src.join('\n'),
      args: [{ kind: 'scratch', id: sId }, { kind: 'scratch', id: stId }, { kind: 'node', node: node.v }],
      argNames: ['s', 'cs', e3.v],
      result: { kind: 'node', node: node.id },
      output: [g.Dv, g.N, Hc],
      constants: { ...e3.constants, W },
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [...h3],
      cost: BH * g.N * g.Dv * W * 6,
      scalars,
      chunk,
    });
  }

  /** normalize: queries recomputing q·k: column statistics, then the weighted sum. */
  private attendQueriesFused(
    node: NodeOf<'attend'>,
    g: ReturnType<Planner['geometry']>,
    ranges: { lo: Expr; hi: Expr; width: number }[] | null,
    slots: number,
    stId: string,
  ): void {
    const BH = g.B * g.H;
    // 1. column statistics per key: online max and Σexp over the (b, h) head's queries.
    const e1 = this.attendEnv(node, g);
    const stat = (ind: string): string[] => [
      ...e1.scoreLines(ind, 'x', true),
      `${ind}if (x > ${MASKED_BELOW.toExponential()}) {`,
      `${ind}  if (x > mx) {`,
      `${ind}    l = l * Math.exp(mx - x) + 1.0;`,
      `${ind}    mx = x;`,
      `${ind}  } else {`,
      `${ind}    l += Math.exp(x - mx);`,
      `${ind}  }`,
      `${ind}}`,
    ];
    const colArgs = [...e1.tensors.keys()].filter((id) => id !== node.v || this.readsV(node));
    const srcStats = [
      `function (${colArgs.map((id) => e1.tensors.get(id)!).join(', ')}) {`,
      '  const which = this.thread.x;',
      '  const ij = this.thread.y;',
      '  const bh = this.thread.z;',
      ...e1.head,
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      '  for (let ii = 0; ii < this.constants.N; ii++) {',
      ...(e1.maskTrue ? stat('    ') : [`    if (${e1.mask}) {`, ...stat('      '), '    }']),
      '  }',
      '  return which === 0 ? mx : l;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'colstats'),
      kind: 'colstats',
      label: `attend ${this.nodeLabel(node.id)} (normalize: queries), pass 1/2: column max and Σexp per key`,
      node: node.id,
      source: srcStats.join('\n'),
      args: colArgs.map((id): WebGLBuffer => ({ kind: 'node', node: id })),
      argNames: colArgs.map((id) => e1.tensors.get(id)!),
      result: { kind: 'scratch', id: stId },
      output: [2, g.M, BH],
      constants: e1.constants,
      loopMaxIterations: 1,
      loopBoundLabel: 'loops',
      helpers: [...e1.helpers],
      cost: BH * g.M * 2 * g.N * (g.D + 12),
    });

    // 2. per output element: Σ_j exp(x − max_j) / sum_j · v_j over the query's keys.
    const e2 = this.attendEnv(node, g);
    const body = (ind: string): string[] => {
      const inner = (i2: string): string[] => [
        ...e2.scoreLines(i2, 'x', true),
        `${i2}if (x > ${MASKED_BELOW.toExponential()}) {`,
        `${i2}  const so = (bh * this.constants.M + ij) * 2;`,
        `${i2}  const lj = cs[so + 1];`,
        `${i2}  if (lj > 0.0) {`,
        `${i2}    acc += Math.exp(x - cs[so]) / lj * ${e2.v}[(kvb + ij) * this.constants.Dv + od];`,
        `${i2}  }`,
        `${i2}}`,
      ];
      if (e2.maskTrue) return inner(ind);
      return [`${ind}if (${e2.mask}) {`, ...inner(ind + '  '), `${ind}}`];
    };
    const loops = this.keyLoops(ranges, e2.env, body);
    const names = [...e2.tensors.values()];
    const src = [
      `function (cs, ${names.join(', ')}) {`,
      '  const od = this.thread.x;',
      '  const ii = this.thread.y;',
      '  const bh = this.thread.z;',
      ...e2.head,
      '  let acc = 0.0;',
      ...loops,
      '  return acc;',
      '}',
    ];
    this.add({
      name: this.kernelName(node, 'colapply'),
      kind: 'colapply',
      label: `attend ${this.nodeLabel(node.id)} (normalize: queries), pass 2/2: column-normalised P·V`,
      node: node.id,
      source: src.join('\n'),
      args: [{ kind: 'scratch', id: stId }, ...[...e2.tensors.keys()].map((id): WebGLBuffer => ({ kind: 'node', node: id }))],
      argNames: ['cs', ...names],
      result: { kind: 'node', node: node.id },
      output: [g.Dv, g.N, BH],
      constants: e2.constants,
      loopMaxIterations: ranges ? Math.max(0, ...ranges.map((r) => r.width)) : 1,
      loopBoundLabel: 'key-range loop',
      helpers: [...e2.helpers],
      cost: BH * g.N * g.Dv * slots * (g.D + 12),
    });
  }
}

/** The parameter name of a buffer in kernel sources. */
function bufferParam(b: WebGLBuffer): string {
  return b.kind === 'node' ? `t${b.node}` : b.id.replace(/[^A-Za-z0-9_]/g, '_');
}

function prod(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** The adaptive-pooling bin [floor(t·L/n), ceil((t+1)·L/n)) of output t of n over L. */
function binOf(t: number, n: number, L: number): [number, number] {
  return [Math.floor((t * L) / n), Math.ceil(((t + 1) * L) / n)];
}

/**
 * Evaluate an int expression over dims and vars on the host, in float64 with floor
 * division (no 32-bit wrap: key-range bounds use 2^31 − 1 as "no limit").
 */
export function hostNumber(e: Expr, dims: Record<string, number>, vars: Record<string, number> = {}): number {
  const v = hostValue(e, dims, vars);
  if (typeof v !== 'number') throw new Error('expected a number');
  return v;
}

function hostValue(e: Expr, dims: Record<string, number>, vars: Record<string, number>): number | boolean {
  const n = (x: Expr) => hostNumber(x, dims, vars);
  const b = (x: Expr) => Boolean(hostValue(x, dims, vars));
  switch (e.op) {
    case 'const': return e.value;
    case 'dim': {
      const v = dims[e.name];
      if (v === undefined) throw new Error(`dim ${e.name} is not bound`);
      return v;
    }
    case 'var': {
      const v = vars[e.name];
      if (v === undefined) throw new Error(`variable ${e.name} is not bound`);
      return v;
    }
    case 'neg': return -n(e.a);
    case 'not': return !b(e.a);
    case 'add': return n(e.a) + n(e.b);
    case 'sub': return n(e.a) - n(e.b);
    case 'mul': return n(e.a) * n(e.b);
    case 'div': {
      const d = n(e.b);
      if (d === 0) throw new Error('division by zero');
      return e.ty === 'int' ? Math.floor(n(e.a) / d) : n(e.a) / d;
    }
    case 'mod': {
      const a = n(e.a);
      const d = n(e.b);
      if (d === 0 && e.ty === 'int') throw new Error('modulo by zero');
      return a - d * Math.floor(a / d);
    }
    case 'eq': return hostValue(e.a, dims, vars) === hostValue(e.b, dims, vars);
    case 'ne': return hostValue(e.a, dims, vars) !== hostValue(e.b, dims, vars);
    case 'lt': return n(e.a) < n(e.b);
    case 'le': return n(e.a) <= n(e.b);
    case 'gt': return n(e.a) > n(e.b);
    case 'ge': return n(e.a) >= n(e.b);
    case 'and': return b(e.a) && b(e.b);
    case 'or': return b(e.a) || b(e.b);
    case 'select': return b(e.c) ? hostValue(e.a, dims, vars) : hostValue(e.b, dims, vars);
    case 'call': {
      const a = e.args.map(n);
      switch (e.fn) {
        case 'min': return Math.min(a[0]!, a[1]!);
        case 'max': return Math.max(a[0]!, a[1]!);
        case 'clamp': return Math.min(Math.max(a[0]!, a[1]!), a[2]!);
        case 'abs': return Math.abs(a[0]!);
        case 'float': return a[0]!;
        case 'int': return Math.trunc(a[0]!);
        default: throw new Error(`cannot evaluate ${e.fn}() on the host`);
      }
    }
    default:
      throw new Error(`cannot evaluate ${e.op} on the host`);
  }
}

/** GLSL source of the helpers a kernel uses, as gpu.js native functions. */
export function nativeFunctions(k: WebGLKernel): { name: string; source: string }[] {
  return k.helpers.map((h) => ({ name: h, source: HELPER_SOURCE[h] }));
}
