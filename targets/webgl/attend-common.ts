// What the attention kernels (attend-keys.ts, attend-queries.ts, attend-scores.ts) share:
// head geometry, the key ranges a query can reach, the environment that renders mask,
// score and lookups into a kernel, and the loops and softmax steps several kernels repeat.
//
// Key ranges: `keyRanges(mask)` (compiler/analysis/mask.ts) gives Exprs over the query
// range `q_lo..q_hi` whose union covers every allowed key; a per-element kernel uses
// q_lo = q_hi = i and loops only over those keys (clamped to [0, M−1], keys already
// visited by an earlier range skipped). Loops whose bounds vary per thread are limited by
// gpu.js's `loopMaxIterations`, set to the true maximum over all queries, computed on the
// host from the dims — never a silently truncated loop.

import type { Expr, Graph } from '../../compiler/ir.js';
import { evalExpr } from '../../compiler/evaluate.js';
import { evalSize, type AttendKernel, type HostKeyRange } from '../../compiler/kernel.js';
import type { IndexName } from '../../dsl/builtins.js';
import { nodeBuffer, type PlanBuilder } from './builder.js';
import { floatLiteral, loadsOf, MASKED_BELOW, renderExpr, type ExprEnv, type Helper } from './expr.js';
import type { WebGLBuffer, WebGLChunk } from './types.js';

/** The value a kernel gives a masked score: below MASKED_BELOW, and finite in f32. */
export const MASKED = '(-3.0e38)';
/** The condition that the score `x` is not masked. */
export const ALLOWED = `x > ${MASKED_BELOW.toExponential()}`;

export interface AttendGeometry {
  B: number;
  H: number;
  Hk: number;
  N: number;
  M: number;
  D: number;
  Dv: number;
  /** Query heads per key/value head. */
  G: number;
}

/** What the emitters read of an attention kernel of the kernel IR (`op` names its kernels). */
export interface AttendView {
  op: 'attend';
  id: number;
  q: number;
  k: number;
  v: number;
  mask: Expr;
  score: Expr;
  scale: Expr;
  normalize: 'keys' | 'queries';
}

/** The view of kernel `k`: its operands are its graph node's, mask, score and scale its own (specialised). */
export function attendView(k: AttendKernel, graph: Graph): AttendView {
  const n = graph.nodes[k.node];
  if (n?.op !== 'attend') throw new Error(`internal: kernel ${k.name} does not compute an attend node`);
  return {
    op: 'attend', id: k.node, q: n.q, k: n.k, v: n.v, mask: k.mask, score: k.score, scale: k.scale,
    normalize: k.kind === 'attend' ? 'keys' : 'queries',
  };
}

export function attendGeometry(b: PlanBuilder, node: AttendView): AttendGeometry {
  const [B, H, N, D] = b.shapes[node.q]! as [number, number, number, number];
  const [, Hk, M] = b.shapes[node.k]! as [number, number, number, number];
  const Dv = b.shapes[node.v]![3]!;
  const G = Hk === 0 ? 1 : H / Hk;
  return { B, H, Hk, N, M, D, Dv, G };
}

/** A key range of a query, with its widest trip count over all queries (the schedule's). */
export type KeyRange = HostKeyRange;

/** The source pieces of one attention kernel, rendered against its own constants and helpers. */
export interface AttendEnv {
  helpers: Set<Helper>;
  constants: Record<string, number>;
  /** Parameter name of every graph tensor the kernel reads, q, k and v first. */
  tensors: Map<number, string>;
  q: string;
  k: string;
  v: string;
  env: ExprEnv;
  /** Lines splitting `bh` into `ib`, `ih`, `ihk` and the key/value row base `kvb`. */
  head: string[];
  /** Lines declaring `target`, the score of (ii, ij) — assumes the mask allows it. */
  scoreLines: (ind: string, target: string) => string[];
  /** The mask's condition; null when it is `true`. */
  mask: string | null;
  /** `inner` under the mask's condition (as is when the mask is `true`). */
  masked: (ind: string, inner: (ind: string) => string[]) => string[];
}

/**
 * A fresh environment per kernel: `constants` and `helpers` collect what its rendered
 * expressions use (mask and score are rendered here, so they always count).
 */
export function attendEnv(b: PlanBuilder, node: AttendView, g: AttendGeometry): AttendEnv {
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
      const value = b.dims[name];
      if (value === undefined) throw new Error(`internal: dim ${name} is not bound`);
      const key = `dim_${name}`;
      constants[key] = value;
      return `this.constants.${key}`;
    },
    variable: (name) => {
      if (name === 'q_lo' || name === 'q_hi') return 'ii';
      throw new Error(`internal: variable \`${name}\` reached the WebGL renderer`);
    },
    load: (id, rendered, raw) => {
      const shape = b.shapes[id]!;
      const name = tensor(id);
      let flat = '';
      rendered.forEach((r, a) => {
        const n = shape[a]!;
        const e = raw[a]!;
        const inRange = e.op === 'const' && typeof e.value === 'number' && e.value >= 0 && e.value < n;
        if (!inRange) helpers.add('attnc_index');
        const clamped = inRange ? r : `attnc_index(${r}, ${n})`;
        flat = a === 0 ? clamped : `(${flat}) * ${n} + ${clamped}`;
      });
      return `${name}[${flat || '0'}]`;
    },
    hostSize: (e) => {
      try {
        return evalSize(e, b.dims);
      } catch {
        return undefined;
      }
    },
  };
  const scaleLit = floatLiteral(evalExpr(node.scale, { dims: b.dims }) as number);
  const mask = node.mask.op === 'const' && node.mask.value === true ? null : renderExpr(node.mask, env);
  const score = renderExpr(node.score, env);
  return {
    helpers,
    constants,
    tensors,
    q,
    k,
    v,
    env,
    head: [
      '  const ib = attnc_idiv(bh, this.constants.H);',
      '  const ih = bh - ib * this.constants.H;',
      '  const ihk = attnc_idiv(ih, this.constants.G);',
      '  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;',
    ],
    scoreLines: (ind, target) => [
      `${ind}let dot = 0.0;`,
      `${ind}for (let c = 0; c < this.constants.D; c++) {`,
      `${ind}  dot += ${q}[(bh * this.constants.N + ii) * this.constants.D + c] * ${k}[(kvb + ij) * this.constants.D + c];`,
      `${ind}}`,
      `${ind}const sc = dot * ${scaleLit};`,
      `${ind}const ${target} = ${score};`,
    ],
    mask,
    masked: (ind, inner) => (mask === null ? inner(ind) : [`${ind}if (${mask}) {`, ...inner(ind + '  '), `${ind}}`]),
  };
}

/** `attend <node> (normalize: …), <what>`: the label of one of an attend's kernels. */
export function attendLabel(b: PlanBuilder, node: AttendView, what: string): string {
  return `attend ${b.nodeLabel(node.id)} (normalize: ${node.normalize}), ${what}`;
}

/** The graph tensors of `e` as kernel arguments. */
export function tensorArgs(e: AttendEnv): WebGLBuffer[] {
  return [...e.tensors.keys()].map(nodeBuffer);
}

/** The tensors a kernel computing only scores reads: `v` only through a lookup in mask/score. */
export function scoreTensorIds(node: AttendView, e: AttendEnv): number[] {
  const readsV = [...loadsOf(node.mask), ...loadsOf(node.score)].includes(node.v) || node.v === node.q || node.v === node.k;
  return [...e.tensors.keys()].filter((id) => id !== node.v || readsV);
}

/** Line declaring `bh` (the global b·H + h) from `bz`, the head row in a chunk's output. */
export function chunkHeadLine(chunk: WebGLChunk | null): string {
  return chunk && chunk.count > 1 ? '  const bh = bz + bh0;' : '  const bh = bz;';
}

/** Lines declaring `lo<r>` (and `hi<r>` when asked) for the query `ii`, clamped to the keys. */
export function rangeBounds(ranges: KeyRange[], env: ExprEnv, ind: string, withHi: boolean): string[] {
  const out: string[] = [];
  ranges.forEach((r, n) => {
    // A strided range starts at a key ≥ 0 already (see attendKeyRanges): no clamp to move it.
    out.push(r.step === 1 ? `${ind}const lo${n} = Math.max(${renderExpr(r.lo, env)}, 0);` : `${ind}const lo${n} = ${renderExpr(r.lo, env)};`);
    if (withHi) out.push(`${ind}const hi${n} = Math.min(${renderExpr(r.hi, env)}, this.constants.M - 1);`);
  });
  return out;
}

/** Where each range's slots start in a query's row of the scores scratch. */
export function slotOffsets(ranges: KeyRange[]): number[] {
  let offset = 0;
  return ranges.map((r) => (offset += r.width) - r.width);
}

/** The trip-count bound of `keyLoops`. */
export function keyLoopBound(ranges: KeyRange[] | null): number {
  return ranges ? Math.max(0, ...ranges.map((r) => r.width)) : 1;
}

/** Loops over a query's keys (`ij`), each key once: its ranges, else every key. */
export function keyLoops(ranges: KeyRange[] | null, env: ExprEnv, body: (ind: string) => string[]): string[] {
  if (!ranges) {
    return [
      '  for (let kj = 0; kj < this.constants.M; kj++) {',
      '    const ij = kj;',
      ...body('    '),
      '  }',
    ];
  }
  const lines = rangeBounds(ranges, env, '  ', true);
  ranges.forEach((_r, n) => {
    const skip = Array.from({ length: n }, (_, s) => `(ij < lo${s} || ij > hi${s})`);
    lines.push(`  for (let kj${n} = lo${n}; kj${n} <= hi${n}; kj${n} += ${_r.step}) {`);
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

/**
 * Loops over query `ii`'s row of the scores scratch `s` (from `base`): `use` runs for each
 * allowed slot, with its score `x` and key `ij`.
 */
export function slotLoops(ranges: KeyRange[] | null, env: ExprEnv, use: (ind: string) => string[]): string[] {
  const read = (ind: string, slot: string, key: string): string[] => [
    `${ind}const x = s[base + ${slot}];`,
    `${ind}if (${ALLOWED}) {`,
    `${ind}  const ij = ${key};`,
    ...use(ind + '  '),
    `${ind}}`,
  ];
  if (!ranges) return ['  for (let t = 0; t < this.constants.M; t++) {', ...read('    ', 't', 't'), '  }'];
  const lines = rangeBounds(ranges, env, '  ', false);
  const offsets = slotOffsets(ranges);
  ranges.forEach((r, n) => {
    lines.push(`  for (let t = 0; t < ${r.width}; t++) {`, ...read('    ', `${offsets[n]} + t`, r.step === 1 ? `lo${n} + t` : `lo${n} + t * ${r.step}`), '  }');
  });
  return lines;
}

/** Folds an allowed score `x` into the running column max `mx` and Σexp(x − mx) `l`. */
export function columnStatLines(ind: string): string[] {
  return [
    `${ind}if (${ALLOWED}) {`,
    `${ind}  if (x > mx) {`,
    `${ind}    l = l * Math.exp(mx - x) + 1.0;`,
    `${ind}    mx = x;`,
    `${ind}  } else {`,
    `${ind}    l += Math.exp(x - mx);`,
    `${ind}  }`,
    `${ind}}`,
  ];
}

/**
 * Adds exp(x − max_j) / sum_j · v[ij] to `acc`, from the column statistics `cs` of the
 * head row `row` (`bh`, or `bz` in a chunk); skipped for a key no query reaches.
 */
export function columnApplyLines(ind: string, v: string, row: string): string[] {
  return [
    `${ind}const so = (${row} * this.constants.M + ij) * 2;`,
    `${ind}const lj = cs[so + 1];`,
    `${ind}if (lj > 0.0) {`,
    `${ind}  acc += Math.exp(x - cs[so]) / lj * ${v}[(kvb + ij) * this.constants.Dv + od];`,
    `${ind}}`,
  ];
}
