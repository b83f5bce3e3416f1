// The float64 reference executor: runs a graph exactly as the spec (§4) writes it. It is
// the oracle every generated kernel is compared with, so it favours literalness over speed.
//
// - Inputs may be Float32Array, Float64Array or Int32Array tensors; all arithmetic is
//   float64 and intermediate tensors are float64 (clusters give Int32Array).
// - attend: mask first, score only where the mask allows; an allowed entry whose score is
//   -inf counts as masked; NaN scores propagate (a NaN in a row's support makes the whole
//   row NaN under `keys`, the whole column under `queries`); a +inf score makes its row
//   (column) NaN, as the formula exp(x)/Σexp(x) does. Softmax subtracts the row (column)
//   max. A query row with no allowed key — or none with a score above -inf — is exactly +0.
// - pool/pool2d: adaptive average pooling, bins [floor(t·N/n), ceil((t+1)·N/n)).
// - clusters: argmax of cosine similarity, ties to the lowest centroid, zero vectors and
//   zero centroids have similarity 0.
// Every node's computed shape is checked against the shape the IR declares for it.

import { contiguousInputs } from '../views.js';
import { checkMap, checkWeights } from '../validate.js';
import { roundF16Inputs } from '../f16.js';
import type { Expr, Graph, Node, NodeOf } from '../../compiler/ir.js';
import type { Span } from '../../dsl/ast.js';
import { AttncError, diag } from '../../dsl/diagnostics.js';
import { bindDims, shapeOf, type Dims } from '../shapes.js';
import type { Tensor, TensorData } from '../tensor.js';
import { compileBool, compileNumber, type ExprContext, type IndexEnv } from '../../compiler/evaluate.js';

export interface ReferenceOptions {
  /**
   * Evaluate each pattern builtin's rule from the spec beside its expanded body and raise
   * an internal error where they disagree (a check on the expand-builtins pass). Default true.
   */
  checkPatterns?: boolean;
  /** Values for dims that no input binds (default: the graph's `dims` defaults). */
  dimDefaults?: Dims;
}

export interface ReferenceResult {
  /** The returned tensor (float64, or Int32Array for a returned `clusters`): the first of `outputs`. */
  output: Tensor;
  /** Every returned tensor (Graph.outputs, in order), as `output`. */
  outputs: Tensor[];
  /** Every node's value, by node id. */
  values: Tensor[];
  /** The bound dims. */
  dims: Dims;
}

const NO_INDEX: IndexEnv = Object.freeze({ b: NaN, h: NaN, hk: NaN, i: NaN, j: NaN, s: NaN });

function internal(msg: string): never {
  throw new Error(`internal error in the reference executor: ${msg}`);
}

const nameOf = (graph: Graph, id: number): string => graph.nodes[id]?.name ?? `%${id}`;

function fail(op: string, detail: string, span?: Span): never {
  throw new AttncError([diag('AT709', [op, detail], span)]);
}

function needRank(graph: Graph, id: number, t: Tensor, rank: number, span?: Span): void {
  if (t.shape.length !== rank) throw new AttncError([diag('AT404', [nameOf(graph, id), rank, t.shape.length], span)]);
}

/** Run a graph on the given inputs (by input name); returns every node's value. */
export function runReference(graph: Graph, given: Readonly<Record<string, Tensor>>, options: ReferenceOptions = {}): ReferenceResult {
  const dims = bindDims(graph, given, options.dimDefaults ?? graph.dimDefaults);
  // Strided views (runtime/views.ts) are gathered into C order: the executor reads flat arrays.
  // An f16 input holds f16 values: rounded here as every device rounds them (runtime/f16.ts).
  const inputs = roundF16Inputs(graph, contiguousInputs(given));
  const values: Tensor[] = [];
  // The log-sum-exp of each attention normalized over keys, by node id (for `lse` nodes).
  const lses = new Map<number, Tensor>();
  const checkPatterns = options.checkPatterns ?? true;
  graph.nodes.forEach((node, id) => {
    if (node.id !== id) internal(`node at position ${id} has id ${node.id}`);
    const arg = (x: number): Tensor => {
      if (!(x < id) || !values[x]) internal(`node %${id} uses %${x}, which is not computed before it`);
      return values[x]!;
    };
    let out: Tensor;
    switch (node.op) {
      case 'input': {
        const t = inputs[node.name ?? `%${id}`];
        if (!t) internal(`input node %${id} (${node.name}) is not one of the graph's inputs`);
        out = t;
        break;
      }
      case 'pool':
        out = pool(graph, node, arg(node.x), node.weights === undefined ? null : arg(node.weights), dims);
        break;
      case 'pool2d':
        out = pool2d(graph, node, arg(node.x), dims);
        break;
      case 'clusters':
        out = clusters(graph, node, arg(node.x), arg(node.centroids));
        break;
      case 'attend': {
        const r = attend(graph, node, arg(node.q), arg(node.k), arg(node.v), dims, values, checkPatterns);
        if (r.lse) lses.set(id, r.lse);
        out = r.out;
        break;
      }
      case 'lse':
        arg(node.attend);
        out = lses.get(node.attend) ?? internal(`lse %${id} of %${node.attend}, which is not an attention normalized over keys`);
        break;
      case 'map':
        out = map(graph, node, node.args.map(arg), dims, values);
        break;
    }
    const want = shapeOf(node, dims);
    if (want.length !== out.shape.length || want.some((d, k) => d !== out.shape[k])) {
      internal(`node %${id} (${node.op}${node.name ? ` \`${node.name}\`` : ''}) has shape [${out.shape.join(', ')}] but the IR declares [${want.join(', ')}]`);
    }
    values.push(out);
  });
  const outputs = graph.outputs.map(({ node }) => {
    const res = values[node];
    if (!res) internal(`graph output %${node} does not exist`);
    const float64 = res.data instanceof Float64Array || graph.nodes[node]!.elem === 'i32';
    return float64 ? res : { data: Float64Array.from(res.data), shape: [...res.shape] };
  });
  if (graph.outputs[0]?.node !== graph.output) internal(`graph output %${graph.output} is not the first of its outputs`);
  return { output: outputs[0]!, outputs, values, dims };
}

/** Run a graph on the given inputs; returns the output tensor (float64). */
export function executeReference(graph: Graph, inputs: Readonly<Record<string, Tensor>>, options: ReferenceOptions = {}): Tensor {
  return runReference(graph, inputs, options).output;
}

// ---- map ----

/**
 * Elementwise arithmetic: the expression at every element, in float64 (IEEE: x / 0 is ±inf
 * or NaN, log of a negative NaN), its coordinates bound to `x0`, `x1`, … Every operand has
 * the result's shape, or it without the last axis (AT408).
 */
function map(graph: Graph, node: NodeOf<'map'>, args: Tensor[], dims: Dims, values: Tensor[]): Tensor {
  const shape = shapeOf(node, dims);
  checkMap(graph, node, shape, args.map((t) => t.shape));
  const vars: Record<string, number> = {};
  shape.forEach((_, k) => (vars[`x${k}`] = 0));
  const f = compileNumber(node.expr, { dims, tensors: values, tensorName: (id) => nameOf(graph, id), scope: 'mask', span: node.span, vars });
  const size = shape.reduce((a, d) => a * d, 1);
  const out = new Float64Array(size);
  for (let e = 0; e < size; e++) {
    let r = e;
    for (let k = shape.length - 1; k >= 0; k--) {
      vars[`x${k}`] = r % shape[k]!;
      r = Math.floor(r / shape[k]!);
    }
    out[e] = f(NO_INDEX);
  }
  return { data: out, shape };
}

/**
 * Keep the `k` entries of the largest score among the first `cnt` of `xs` (positions in
 * `idx`, ascending), ties to the lower position; compacted in position order. Returns k.
 */
function keepTopK(xs: Float64Array, idx: Int32Array, cnt: number, k: number): number {
  const order = Array.from({ length: cnt }, (_, c) => c).sort((a, b) => xs[b]! - xs[a]! || idx[a]! - idx[b]!);
  const kept = order.slice(0, k).sort((a, b) => a - b);
  kept.forEach((c, n) => {
    xs[n] = xs[c]!;
    idx[n] = idx[c]!;
  });
  return k;
}

// ---- pool, pool2d ----

/** The adaptive-pooling bin of output t of n over length L: [floor(t·L/n), ceil((t+1)·L/n)). */
export function poolBin(t: number, n: number, L: number): [number, number] {
  return [Math.floor((t * L) / n), Math.ceil(((t + 1) * L) / n)];
}

function size(node: Node, e: Expr, dims: Dims): number {
  return compileNumber(e, { dims, scope: 'size', span: node.span })(NO_INDEX);
}

/**
 * Adaptive average pooling; with `weights` the weighted average Σ w_p·x_p / Σ w_p over each
 * bin, exactly 0 for a bin whose weights sum to 0.
 */
function pool(graph: Graph, node: NodeOf<'pool'>, x: Tensor, weights: Tensor | null, dims: Dims): Tensor {
  needRank(graph, node.x, x, 4, node.span);
  const [B, H, N, D] = x.shape as [number, number, number, number];
  const n = size(node, node.tokens, dims);
  if (n < 1 || n > N) fail('pool', `tokens must be between 1 and the sequence length N = ${N}, found ${n}`, node.span);
  if (weights) checkWeights(graph, node, x.shape, weights.shape);
  const out = new Float64Array(B * H * n * D);
  const xd = x.data;
  const wd = weights?.data;
  for (let bh = 0; bh < B * H; bh++) {
    for (let t = 0; t < n; t++) {
      const [s, e] = poolBin(t, n, N);
      const o = (bh * n + t) * D;
      let total = 0;
      for (let p = s; p < e; p++) {
        const w = wd ? wd[bh * N + p]! : 1;
        total += w;
        const xo = (bh * N + p) * D;
        for (let d = 0; d < D; d++) out[o + d]! += w * xd[xo + d]!;
      }
      for (let d = 0; d < D; d++) out[o + d] = total === 0 ? 0 : out[o + d]! / total;
    }
  }
  return { data: out, shape: [B, H, n, D] };
}

function pool2d(graph: Graph, node: NodeOf<'pool2d'>, x: Tensor, dims: Dims): Tensor {
  needRank(graph, node.x, x, 4, node.span);
  const [B, H, N, D] = x.shape as [number, number, number, number];
  const ht = size(node, node.height, dims);
  const wd = size(node, node.width, dims);
  const ph = size(node, node.to[0], dims);
  const pw = size(node, node.to[1], dims);
  if (ht < 1 || wd < 1 || ht * wd !== N) {
    fail('pool2d', `the sequence length N = ${N} must equal height·width = ${ht}·${wd} = ${ht * wd}`, node.span);
  }
  if (ph < 1 || ph > ht) fail('pool2d', `to[0] must be between 1 and height = ${ht}, found ${ph}`, node.span);
  if (pw < 1 || pw > wd) fail('pool2d', `to[1] must be between 1 and width = ${wd}, found ${pw}`, node.span);
  const n = ph * pw;
  const out = new Float64Array(B * H * n * D);
  const xd = x.data;
  for (let bh = 0; bh < B * H; bh++) {
    for (let r = 0; r < ph; r++) {
      const [rs, re] = poolBin(r, ph, ht);
      for (let c = 0; c < pw; c++) {
        const [cs, ce] = poolBin(c, pw, wd);
        const o = (bh * n + r * pw + c) * D;
        for (let y = rs; y < re; y++) {
          for (let z = cs; z < ce; z++) {
            const xo = (bh * N + y * wd + z) * D;
            for (let d = 0; d < D; d++) out[o + d]! += xd[xo + d]!;
          }
        }
        const count = (re - rs) * (ce - cs);
        for (let d = 0; d < D; d++) out[o + d]! /= count;
      }
    }
  }
  return { data: out, shape: [B, H, n, D] };
}

// ---- clusters ----

function clusters(graph: Graph, node: NodeOf<'clusters'>, x: Tensor, cent: Tensor): Tensor {
  needRank(graph, node.x, x, 4, node.span);
  needRank(graph, node.centroids, cent, 3, node.span);
  const [B, Hx, N, D] = x.shape as [number, number, number, number];
  const [Hc, C, Dc] = cent.shape as [number, number, number];
  const xn = nameOf(graph, node.x);
  const cn = nameOf(graph, node.centroids);
  if (Hc !== Hx) throw new AttncError([diag('AT405', [`heads of \`${xn}\` and centroid sets of \`${cn}\``, Hx, Hc], node.span)]);
  if (Dc !== D) throw new AttncError([diag('AT402', [xn, D, cn, Dc], node.span)]);
  if (C < 1) fail('clusters', `\`${cn}\` has no centroids (C = 0)`, node.span);
  // Unit centroids; a zero centroid stays zero (similarity 0).
  const unit = new Float64Array(Hx * C * D);
  for (let hc = 0; hc < Hx * C; hc++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += cent.data[hc * D + d]! * cent.data[hc * D + d]!;
    const nrm = Math.sqrt(ss);
    if (nrm === 0) continue;
    for (let d = 0; d < D; d++) unit[hc * D + d] = cent.data[hc * D + d]! / nrm;
  }
  const out = new Int32Array(B * Hx * N);
  const xv = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hx; h++) {
      for (let i = 0; i < N; i++) {
        const xo = ((b * Hx + h) * N + i) * D;
        let ss = 0;
        for (let d = 0; d < D; d++) ss += x.data[xo + d]! * x.data[xo + d]!;
        const nrm = Math.sqrt(ss);
        if (nrm === 0) continue; // every similarity is 0: cluster 0
        for (let d = 0; d < D; d++) xv[d] = x.data[xo + d]! / nrm;
        let best = 0;
        let bestSim = -Infinity;
        for (let c = 0; c < C; c++) {
          const uo = (h * C + c) * D;
          let sim = 0;
          for (let d = 0; d < D; d++) sim += xv[d]! * unit[uo + d]!;
          if (sim > bestSim) {
            bestSim = sim;
            best = c;
          }
        }
        out[(b * Hx + h) * N + i] = best;
      }
    }
  }
  return { data: out, shape: [B, Hx, N] };
}

// ---- attend ----

function attend(
  graph: Graph,
  node: NodeOf<'attend'>,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  dims: Dims,
  values: readonly Tensor[],
  checkPatterns: boolean,
): { out: Tensor; lse: Tensor | null } {
  const span = node.span;
  needRank(graph, node.q, q, 4, span);
  needRank(graph, node.k, k, 4, span);
  needRank(graph, node.v, v, 4, span);
  const [qn, kn, vn] = [nameOf(graph, node.q), nameOf(graph, node.k), nameOf(graph, node.v)];
  const [B, H, N, D] = q.shape as [number, number, number, number];
  const [Bk, Hk, M, Dk] = k.shape as [number, number, number, number];
  const [Bv, Hv, Mv, Dv] = v.shape as [number, number, number, number];
  const disagree = (what: string, a: number, b: number) => {
    throw new AttncError([diag('AT405', [what, a, b], span)]);
  };
  if (Bk !== B) disagree(`the batch of \`${qn}\` and \`${kn}\``, B, Bk);
  if (Bv !== B) disagree(`the batch of \`${qn}\` and \`${vn}\``, B, Bv);
  if (Dk !== D) throw new AttncError([diag('AT402', [qn, D, kn, Dk], span)]);
  if (Hv !== Hk) disagree(`the heads of \`${kn}\` and \`${vn}\``, Hk, Hv);
  if (Mv !== M) disagree(`the length of \`${kn}\` and \`${vn}\``, M, Mv);
  if (Hk === 0 ? H !== 0 : H % Hk !== 0) {
    fail(node.kept ? 'topk' : 'attend', `the query heads H = ${H} must be a multiple of the key/value heads Hk = ${Hk}`, span);
  }
  const group = Hk === 0 ? 1 : H / Hk;

  const ctx: ExprContext = {
    dims,
    tensors: values,
    tensorName: (id) => nameOf(graph, id),
    span,
    lengths: { N, M },
    checkPatterns,
  };
  const scale = compileNumber(node.scale, { ...ctx, scope: 'size' })(NO_INDEX);
  const maskTrue = node.mask.op === 'const' && node.mask.value === true;
  const mask = compileBool(node.mask, { ...ctx, scope: 'mask' });
  const scoreIsS = node.score.op === 'score';
  if (node.score.ty === 'bool') internal('`score:` typed bool');
  const score = compileNumber(node.score, { ...ctx, scope: 'score' });

  // (topk(…): the kept keys' indicator, one value per key.)
  const width = node.kept ? M : Dv;
  const out = new Float64Array(B * H * N * width);
  // normalize: keys — per query, log Σ exp(x) over its allowed scores as the softmax
  // computes it, mx + log Σ exp(x − mx); −inf for a query with no allowed key.
  const lse = node.normalize === 'keys' ? new Float64Array(B * H * N).fill(-Infinity) : null;
  const qd = q.data;
  const kd = k.data;
  const vd: TensorData = v.data;
  const env: IndexEnv = { b: 0, h: 0, hk: 0, i: 0, j: 0, s: 0 };
  const L = node.normalize === 'keys' ? M : N;
  const xs = new Float64Array(L); // exp'd scores of the current row/column's support
  const idx = new Int32Array(L); // their positions

  /** x(i, j) for an allowed entry, or undefined when masked. */
  const entry = (qo: number, ko: number): number | undefined => {
    if (!maskTrue && !mask(env)) return undefined;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += qd[qo + d]! * kd[ko + d]!;
    env.s = scale * dot;
    return scoreIsS ? env.s : score(env);
  };

  for (let b = 0; b < B; b++) {
    env.b = b;
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / group);
      env.h = h;
      env.hk = hk;
      const qBase = (b * H + h) * N;
      const kBase = (b * Hk + hk) * M;
      if (node.normalize === 'keys') {
        for (let i = 0; i < N; i++) {
          env.i = i;
          let cnt = 0;
          let mx = -Infinity;
          for (let j = 0; j < M; j++) {
            env.j = j;
            const x = entry((qBase + i) * D, (kBase + j) * D);
            if (x === undefined || x === -Infinity) continue;
            xs[cnt] = x;
            idx[cnt++] = j;
            mx = Math.max(mx, x);
          }
          if (cnt === 0) continue; // no allowed key: the row stays exactly +0 (and its lse −inf)
          // topk: keep the `topk` largest scores, ties to the lower key (a NaN makes the row NaN as it is).
          if (node.topk !== undefined && cnt > node.topk && !Number.isNaN(mx)) cnt = keepTopK(xs, idx, cnt, node.topk);
          if (node.kept) {
            const o = (qBase + i) * M;
            if (Number.isNaN(mx)) out.fill(NaN, o, o + M);
            else for (let c = 0; c < cnt; c++) out[o + idx[c]!] = 1;
            continue;
          }
          let sum = 0;
          for (let c = 0; c < cnt; c++) sum += xs[c] = Math.exp(xs[c]! - mx);
          lse![qBase + i] = mx + Math.log(sum);
          const o = (qBase + i) * Dv;
          for (let c = 0; c < cnt; c++) {
            const p = xs[c]! / sum;
            const vo = (kBase + idx[c]!) * Dv;
            for (let d = 0; d < Dv; d++) out[o + d]! += p * vd[vo + d]!;
          }
        }
      } else {
        for (let j = 0; j < M; j++) {
          env.j = j;
          let cnt = 0;
          let mx = -Infinity;
          for (let i = 0; i < N; i++) {
            env.i = i;
            const x = entry((qBase + i) * D, (kBase + j) * D);
            if (x === undefined || x === -Infinity) continue;
            xs[cnt] = x;
            idx[cnt++] = i;
            mx = Math.max(mx, x);
          }
          if (cnt === 0) continue; // no allowed query: the key contributes nothing
          let sum = 0;
          for (let c = 0; c < cnt; c++) sum += xs[c] = Math.exp(xs[c]! - mx);
          const vo = (kBase + j) * Dv;
          for (let c = 0; c < cnt; c++) {
            const p = xs[c]! / sum;
            const o = (qBase + idx[c]!) * Dv;
            for (let d = 0; d < Dv; d++) out[o + d]! += p * vd[vo + d]!;
          }
        }
      }
    }
  }
  return { out: { data: out, shape: [B, H, N, width] }, lse: lse && { data: lse, shape: [B, H, N] } };
}
