// What the attention kernels (attend-scores.ts, attend-fused.ts) share: head geometry, the
// packed operands and the arguments of a kernel, the environment that renders mask, score
// and lookups (per lane: a fragment scores four keys), and the key ranges a query reaches.
//
// Key ranges: the `tile` pass's WebGL schedule evaluated `keyRanges(mask)`
// for every query on the host; a kernel evaluates each range's bounds for its query
// (q_lo = q_hi = i), clamped to [0, M − 1], and visits only those keys, each once (a key
// of two ranges counts in the first). Loops whose bounds vary per query are limited by
// gpu.js's `loopMaxIterations`, set to the true maximum over all queries — never a
// silently truncated loop. In a query's row of scores each range owns whole texels: its
// slots are padded to a multiple of four, so the four keys of a texel are consecutive keys
// (or dilation-strided ones) of one range.

import type { Expr, Graph } from '../../compiler/ir.js';
import { evalExpr } from '../../compiler/evaluate.js';
import { evalSize, type AttendKernel, type HostKeyRange } from '../../compiler/kernel.js';
import type { IndexName } from '../../dsl/builtins.js';
import { bufferKey, bufferParam, type PlanBuilder } from './builder.js';
import { floatLiteral, renderExpr, type ExprEnv, type Helper } from './expr.js';
import { ld } from './packed.js';
import type { PackedLayout, WebGLBuffer, WebGLChunk } from './types.js';

/** The value a kernel gives a masked score: below MASKED_BELOW, and finite in f32. */
export const MASKED = '(-3.0e38)';
/** The condition that the score `x` is not masked. */
export const allowed = (x: string): string => `${x} > -1.0e30`;

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

/** A packed texture a kernel reads: its parameter name and layout. */
export interface Operand {
  name: string;
  layout: PackedLayout;
}

/** The parameters of a kernel: each buffer once, in first-use order. */
export class KernelArgs {
  readonly buffers: WebGLBuffer[] = [];
  readonly names: string[] = [];

  use(b: WebGLBuffer): string {
    const at = this.buffers.findIndex((x) => bufferKey(x) === bufferKey(b));
    if (at >= 0) return this.names[at]!;
    this.buffers.push(b);
    this.names.push(bufferParam(b));
    return bufferParam(b);
  }

  /** A packed texture of this plan as an operand. */
  operand(b: WebGLBuffer, layout: PackedLayout): Operand {
    return { name: this.use(b), layout };
  }
}

/** The source pieces of one attention kernel, rendered against its own constants, helpers and arguments. */
export interface AttendEnv {
  helpers: Set<Helper>;
  constants: Record<string, number>;
  args: KernelArgs;
  /** Renders range bounds and index expressions of the query `ii`. */
  env: ExprEnv;
  /** Lines splitting `bh` into `ib`, `ih`, `ihk` and the key/value row base `kvb`. */
  head: string[];
  /** The scale, as a literal. */
  scale: string;
  /**
   * The mask condition (null: `true`) and the score of one lane: key `ij<lane>`, scaled
   * dot product `sc<lane>`.
   */
  lane(lane: string): { mask: string | null; score: string };
  /**
   * The kernel spec's arguments, constants and helpers (with `extra`), as its rendered
   * source left them: spread into the spec after `source`.
   */
  uses(...extra: Helper[]): { args: WebGLBuffer[]; argNames: string[]; constants: Record<string, number>; helpers: Helper[] };
}

/**
 * A fresh environment per kernel: `constants` and `helpers` collect what its rendered
 * expressions use; tensors the mask or score read become flat arguments (unpacked first
 * if the plan holds them packed only).
 */
export function attendEnv(b: PlanBuilder, node: AttendView, g: AttendGeometry, args = new KernelArgs()): AttendEnv {
  const helpers = new Set<Helper>(['attnc_idiv']);
  const constants: Record<string, number> = { B: g.B, H: g.H, Hk: g.Hk, G: g.G, N: g.N, M: g.M, D: g.D, Dv: g.Dv };
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
      const name = args.use(b.flatValues(id));
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
  const lane = (l: string) => {
    const le: ExprEnv = { ...env, index: (name) => (name === 'j' ? `ij${l}` : idx[name]), score: () => `sc${l}` };
    const trivial = node.mask.op === 'const' && node.mask.value === true;
    return { mask: trivial ? null : renderExpr(node.mask, le), score: renderExpr(node.score, le) };
  };
  return {
    helpers,
    constants,
    args,
    env,
    head: [
      '  const ib = attnc_idiv(bh, this.constants.H);',
      '  const ih = bh - ib * this.constants.H;',
      '  const ihk = attnc_idiv(ih, this.constants.G);',
      '  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;',
    ],
    scale: floatLiteral(evalExpr(node.scale, { dims: b.dims }) as number),
    lane,
    uses: (...extra) => ({ args: args.buffers, argNames: args.names, constants, helpers: [...helpers, ...extra] }),
  };
}

/** `attend <node> (normalize: …), <what>`: the label of one of an attend's kernels. */
export function attendLabel(b: PlanBuilder, node: AttendView, what: string): string {
  return `attend ${b.nodeLabel(node.id)} (normalize: ${node.normalize}), ${what}`;
}

/** Line declaring `bh` (the global b·H + h) from `bz`, the head row in a chunk's output. */
export function chunkHeadLine(chunk: WebGLChunk | null): string {
  return chunk && chunk.count > 1 ? '  const bh = bz + bh0;' : '  const bh = bz;';
}

/** Lines splitting row `row` of [heads, n] rows into `bz` and `<pos>`. */
export function rowSplit(row: string, n: number, pos: string): string[] {
  return [`  const bz = attnc_idiv(${row}, ${n});`, `  const ${pos} = ${row} - bz * ${n};`];
}

/** Lines loading row `row` of a packed operand into `<reg>0` … (one vec4 per texel). */
export function loadRow(x: Operand, row: string, reg: string, ind = '  '): string[] {
  return Array.from({ length: x.layout.width }, (_, c) => `${ind}const ${reg}${c} = ${ld(x.name, x.layout, row, c)};`);
}

/** The dot product of the row loaded into `<reg>0` … with row `row` of `y`. */
export function dotWithRow(y: Operand, row: string, reg: string): string {
  return Array.from({ length: y.layout.width }, (_, c) => `attnc_dot(${reg}${c}, ${ld(y.name, y.layout, row, c)})`).join(' + ');
}

/** Lines declaring `lo<r>` (and `hi<r>` when asked) for the query `ii`, clamped to the keys. */
export function rangeBounds(ranges: KeyRange[], env: ExprEnv, ind: string, withHi: boolean): string[] {
  const out: string[] = [];
  ranges.forEach((r, n) => {
    // A strided range starts at a key ≥ 0 already (tile-webgl.ts keeps the stride only then).
    out.push(r.step === 1 ? `${ind}const lo${n} = Math.max(${renderExpr(r.lo, env)}, 0);` : `${ind}const lo${n} = ${renderExpr(r.lo, env)};`);
    if (withHi) out.push(`${ind}const hi${n} = Math.min(${renderExpr(r.hi, env)}, this.constants.M - 1);`);
  });
  return out;
}

/** Texels of a range of `width` slots in a row of scores (four slots a texel). */
export const rangeTexels = (r: KeyRange): number => Math.ceil(r.width / 4);

/** Where each range's texels start in a query's row of scores. */
export function texelOffsets(ranges: KeyRange[]): number[] {
  let offset = 0;
  return ranges.map((r) => (offset += rangeTexels(r)) - rangeTexels(r));
}

/** Texels in a query's row of scores: its ranges', else every key's. */
export function rowTexels(ranges: KeyRange[] | null, M: number): number {
  return ranges ? Math.max(1, ranges.reduce((a, r) => a + rangeTexels(r), 0)) : Math.max(1, Math.ceil(M / 4));
}

/** The keys between consecutive lanes of a texel: a single range's dilation, else 1. */
export function laneStep(ranges: KeyRange[] | null): number {
  return ranges && ranges.length === 1 ? ranges[0]!.step : 1;
}

/**
 * Lines for texel `g` of query `ii`'s row of scores: its first key `j0`, the last key
 * `jh` of its range (j0 > jh: past the query's keys) and the range's index `rr`; then
 * `ij<t>` and `in<t>`, the key of lane t and whether (1.0) or not (0.0) the query visits
 * it there (within the range, in no earlier one).
 */
export function texelKeys(ranges: KeyRange[] | null, env: ExprEnv, g: string, valid = true): string[] {
  const lines = ['  let j0 = 0.0;', '  let jh = -1.0;', '  let rr = 0.0;'];
  if (!ranges) {
    lines.push(`  j0 = ${g} * 4;`, '  jh = this.constants.M - 1;');
  } else {
    lines.push(...rangeBounds(ranges, env, '  ', true));
    const offsets = texelOffsets(ranges);
    ranges.forEach((r, n) => {
      const open = n === 0 ? '  if' : '  } else if';
      lines.push(`${open} (${g} < ${offsets[n]! + rangeTexels(r)}) {`);
      lines.push(`    j0 = lo${n} + (${g} - ${offsets[n]}) * ${4 * r.step};`, `    jh = hi${n};`, `    rr = ${n};`);
    });
    // No range (a mask no query can satisfy): every texel is past the keys.
    if (ranges.length) lines.push('  }');
  }
  const step = laneStep(ranges);
  for (let t = 0; t < 4; t++) {
    const earlier = (ranges ?? []).slice(0, -1).map((_r, s) => `(rr < ${s + 0.5} || ij${t} < lo${s} || ij${t} > hi${s})`);
    lines.push(`  const ij${t} = j0 + ${t * step};`);
    // 1.0 or 0.0: gpu.js types a boolean variable as a float.
    if (valid) lines.push(`  const in${t} = (${[`ij${t} <= jh`, ...earlier].join(' && ')}) ? 1.0 : 0.0;`);
  }
  return lines;
}

/**
 * Lines declaring `n<r>`, the texels of range r that query `ii` reaches (after
 * `rangeBounds` with hi): ⌊(hi − lo) / (4·step)⌋ + 1, or 0 for an empty range.
 */
export function texelCounts(ranges: KeyRange[], ind: string): string[] {
  return ranges.map((r, n) => `${ind}const n${n} = hi${n} >= lo${n} ? attnc_idiv(hi${n} - lo${n}, ${4 * r.step}) + 1 : 0.0;`);
}

/** Lines bounding `texelLoops` for query `ii`: its ranges' bounds and texel counts (none without ranges). */
export function texelBounds(ranges: KeyRange[] | null, env: ExprEnv): string[] {
  return ranges ? [...rangeBounds(ranges, env, '  ', true), ...texelCounts(ranges, '  ')] : [];
}

/**
 * Loops over the texels of query `ii`'s row of scores it reaches (after `texelBounds`):
 * `body` gets the texel `g` of the row, its first key `j0`, the last key `jh` of its range
 * and the lane step. Bounded by the widest range (`loopMaxIterations` = texelLoopBound).
 * Counters are named `<tag><range>`: gpu.js declares a counter whose bound varies outside
 * its loop, so two loop nests of a kernel need different tags.
 */
export function texelLoops(ranges: KeyRange[] | null, M: number, tag: string, body: (ind: string, step: number) => string[]): string[] {
  const loop = (c: string, count: string | number, g: string, j0: string, jh: string, step: number) => [
    `  for (let ${c} = 0; ${c} < ${count}; ${c}++) {`,
    `    const g = ${g};`,
    `    const j0 = ${j0};`,
    `    const jh = ${jh};`,
    ...body('    ', step),
    '  }',
  ];
  if (!ranges) return loop(`${tag}0`, rowTexels(null, M), `${tag}0`, `${tag}0 * 4`, 'this.constants.M - 1', 1);
  const offsets = texelOffsets(ranges);
  return ranges.flatMap((r, n) => loop(`${tag}${n}`, `n${n}`, `${offsets[n]} + ${tag}${n}`, `lo${n} + ${tag}${n} * ${4 * r.step}`, `hi${n}`, r.step));
}

/** The trip-count bound of `texelLoops` (`M`: keys without ranges). */
export function texelLoopBound(ranges: KeyRange[] | null, M: number): number {
  return ranges ? Math.max(1, ...ranges.map(rangeTexels)) : rowTexels(null, M);
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
  ranges.forEach((r, n) => {
    const skip = Array.from({ length: n }, (_, s) => `(ij < lo${s} || ij > hi${s})`);
    lines.push(`  for (let kj${n} = lo${n}; kj${n} <= hi${n}; kj${n} += ${r.step}) {`);
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

/** Folds a score `x`, if allowed, into the running max `mx` and Σexp(x − mx) `l`. */
export function onlineStatLines(ind: string): string[] {
  return [`${ind}if (${allowed('x')}) {`, ...onlineStatFold(`${ind}  `), `${ind}}`];
}

/** Folds an allowed score `x` into the running max `mx` and Σexp(x − mx) `l`. */
export function onlineStatFold(ind: string): string[] {
  return [
    `${ind}if (x > mx) {`,
    `${ind}  l = l * Math.exp(mx - x) + 1.0;`,
    `${ind}  mx = x;`,
    `${ind}} else {`,
    `${ind}  l += Math.exp(x - mx);`,
    `${ind}}`,
  ];
}
