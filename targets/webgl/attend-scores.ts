// The `scores` strategy (chosen by the `tile` pass's WebGL schedule): an attention as matmul-class
// passes over packed textures, each fragment writing one RGBA texel —
//   scores  four masked scores of one query (q row loaded once, four k rows: D/4 texel
//           fetches and vec4 dots each) into a banded [heads·N, slots / 4] texture;
//   stats   per query (normalize: keys) its max and 1 / Σexp, or per key (queries) its
//           column's, over the texels of the scores it reaches;
//   probs   the four softmax weights of a texel of scores (one exp per score);
//   pv      four output features of one query: Σ over the texels of weights it reaches
//           of four weights times four value texels.
// With a chunked schedule the passes run a few heads at a time (`bh0`, the chunk's first
// head) and the runtime assembles the outputs (types.ts, WebGLChunk).

import type { WebGLAttendSchedule } from '../../compiler/kernel.js';
import { nodeBuffer, scratchBuffer, type PlanBuilder } from './builder.js';
import {
  allowed,
  attendEnv,
  attendLabel,
  chunkHeadLine,
  dotWithRow,
  loadRow,
  MASKED,
  onlineStatLines,
  rangeBounds,
  rowSplit,
  rowTexels,
  texelBounds,
  texelKeys,
  texelLoopBound,
  texelLoops,
  texelOffsets,
  KernelArgs,
  type AttendGeometry,
  type AttendView,
} from './attend-common.js';
import { ld, packedOutput, packedThread } from './packed.js';
import type { PackedLayout, WebGLBuffer, WebGLChunk } from './types.js';

/** The scratch textures of an attend under the `scores` strategy, as every pass reads them. */
export interface ScoresScratch {
  schedule: WebGLAttendSchedule;
  scores: WebGLBuffer;
  probs: WebGLBuffer;
  stats: WebGLBuffer;
  /** [heads·N rows, texels] of the scores and the probabilities. */
  rows: PackedLayout;
  /** One texel (max, 1 / Σexp) per query (keys) or per key (queries). */
  statsLayout: PackedLayout;
  chunk: WebGLChunk | null;
  /** Heads per chunk (B·H without chunking). */
  Hc: number;
  scalars: string[];
}

/** `lse`: the node of the attention's log-sum-exp, where its row statistics give it (top-k). */
export function scoresScratch(b: PlanBuilder, node: AttendView, g: AttendGeometry, s: WebGLAttendSchedule, lse?: number): ScoresScratch {
  const Hc = s.chunk ? s.chunk.heads : g.B * g.H;
  const chunk = s.chunk ? { ...s.chunk, into: node.id, ...(lse === undefined ? {} : { lse }) } : null;
  const G = rowTexels(s.ranges, g.M);
  const what = `the scores of ${b.nodeLabel(node.id)}`;
  b.checkElements(what, Hc * g.N * G * 4);
  const rows = b.layout(what, Hc * g.N, G * 4);
  const statsLayout = b.layout(`the softmax statistics of ${b.nodeLabel(node.id)}`, Hc * (node.normalize === 'keys' ? g.N : g.M), 4);
  const sc: ScoresScratch = {
    schedule: s,
    scores: scratchBuffer(`attend${node.id}_scores`),
    probs: scratchBuffer(`attend${node.id}_probs`),
    stats: scratchBuffer(`attend${node.id}_stats`),
    rows, statsLayout, chunk, Hc, scalars: chunk ? ['bh0'] : [],
  };
  for (const [buf, l] of [[sc.scores, rows], [sc.probs, rows], [sc.stats, statsLayout]] as const) {
    b.setLayout(buf, l);
    b.scratch[(buf as { id: string }).id] = l.rows * l.width * 4;
  }
  return sc;
}

/** Pass 1: four masked scores per texel of each query's banded row (−3e38 where masked or out of range). */
export function emitScores(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch, pass: string): void {
  const e = attendEnv(b, node, g);
  const q = e.args.operand(...pair(b.packed(node.q)));
  const k = e.args.operand(...pair(b.packed(node.k)));
  const lanes = [0, 1, 2, 3];
  const body = [
    ...packedThread(sc.rows, 'row', 'g'),
    ...rowSplit('row', g.N, 'ii'),
    chunkHeadLine(sc.chunk),
    ...e.head,
    ...texelKeys(sc.schedule.ranges, e.env, 'g'),
    `  if (${lanes.map((t) => `in${t}`).join(' + ')} < 0.5) {`,
    `    return [${lanes.map(() => MASKED).join(', ')}];`,
    '  }',
    '  const qr = bh * this.constants.N + ii;',
    ...loadRow(q, 'qr', 'q'),
    // A lane past its range reads its range's last key (a valid row) and is masked below.
    ...lanes.map((t) => `  const kr${t} = kvb + Math.min(ij${t}, jh);`),
    ...lanes.map((t) => `  const d${t} = ${dotWithRow(k, `kr${t}`, 'q')};`),
    ...lanes.flatMap((t) => {
      const { mask, score } = e.lane(String(t));
      return [
        `  let x${t} = ${MASKED};`,
        `  if (in${t} > 0.5${mask ? ` && ${mask}` : ''}) {`,
        `    const sc${t} = d${t} * ${e.scale};`,
        `    const y${t} = ${score};`,
        `    x${t} = ${allowed(`y${t}`)} ? y${t} : ${MASKED};`,
        '  }',
      ];
    }),
    `  return [${lanes.map((t) => `x${t}`).join(', ')}];`,
  ];
  const G = sc.rows.width;
  b.add(node, 'scores', {
    kind: 'scores',
    label: attendLabel(b, node, `${pass}: masked scores, 4 per texel, ${G} texels per query`),
    source: [`function (${[...e.args.names, ...sc.scalars].join(', ')}) {`, ...body, '}'],
    ...e.uses(),
    result: sc.scores,
    output: packedOutput(sc.rows),
    returns: 'vec4',
    cost: sc.Hc * g.N * G * 5 * q.layout.width,
    scalars: sc.scalars,
    chunk: sc.chunk,
  });
}

/**
 * Pass 2 (normalize: keys): each query's max and 1 / Σexp over the texels it reaches, and
 * with `lse` its log-sum-exp (third lane; read out by emitStatsLse, or by the runtime from
 * each chunk).
 */
export function emitRowStats(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch, lse = false): void {
  const e = attendEnv(b, node, g);
  const s = e.args.operand(sc.scores, sc.rows);
  const { ranges } = sc.schedule;
  b.add(node, 'rowstats', {
    kind: 'rowstats',
    label: attendLabel(b, node, 'pass 2/4: row max and 1 / Σexp per query'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      ...packedThread(sc.statsLayout, 'row', 'c'),
      ...rowSplit('row', g.N, 'ii'),
      ...texelBounds(ranges, e.env),
      `  let mx = ${MASKED};`,
      ...texelLoops(ranges, g.M, 'ga', (ind) => [`${ind}mx = Math.max(mx, attnc_max4(${ld(s.name, s.layout, 'row', 'g')}));`]),
      '  let l = 0.0;',
      ...texelLoops(ranges, g.M, 'gb', (ind) => [`${ind}l += attnc_sumexp4(${ld(s.name, s.layout, 'row', 'g')}, mx);`]),
      `  return [mx, l > 0.0 ? 1.0 / l : 0.0, ${lse ? 'attnc_lse(mx, l)' : '0.0'}, 0.0];`,
      '}',
    ],
    ...e.uses(...(lse ? ['attnc_lse' as const] : [])),
    result: sc.stats,
    output: packedOutput(sc.statsLayout),
    returns: 'vec4',
    loopMaxIterations: texelLoopBound(ranges, g.M),
    loopBoundLabel: 'texel loop over the key ranges',
    cost: sc.Hc * g.N * sc.rows.width * 3,
    chunk: sc.chunk,
  });
}

/**
 * Pass 2 (normalize: queries): each key's column max and 1 / Σexp over every query that
 * reaches it, reading the key's slot in each query's row.
 */
export function emitColStats(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch): void {
  const e = attendEnv(b, node, g);
  const s = e.args.operand(sc.scores, sc.rows);
  const { ranges } = sc.schedule;
  const find: string[] = [];
  if (!ranges) {
    find.push('    const slot = ij;');
  } else {
    find.push(...rangeBounds(ranges, e.env, '    ', true), '    let slot = -1.0;');
    const offsets = texelOffsets(ranges);
    ranges.forEach((r, n) => {
      // A strided range holds every step-th key: ij belongs when it is on the stride.
      const k = r.step === 1 ? `ij - lo${n}` : `attnc_idiv(ij - lo${n}, ${r.step})`;
      const onStride = r.step === 1 ? '' : ` && ${k} * ${r.step} === ij - lo${n}`;
      find.push(`    if (${n ? 'slot < 0.0 && ' : ''}ij >= lo${n} && ij <= hi${n}${onStride}) {`, `      slot = ${4 * offsets[n]!} + ${k};`, '    }');
    });
  }
  b.add(node, 'colstats', {
    kind: 'colstats',
    label: attendLabel(b, node, 'pass 2/4: column max and 1 / Σexp per key'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      ...packedThread(sc.statsLayout, 'row', 'c'),
      ...rowSplit('row', g.M, 'ij'),
      `  let mx = ${MASKED};`,
      '  let l = 0.0;',
      // The query as a float, like every int here: gpu.js makes a loop counter a GLSL int,
      // which a mask or score mixing it with floats (`c ? b : i`) cannot take.
      '  for (let qi = 0; qi < this.constants.N; qi++) {',
      '    const ii = qi;',
      ...find,
      '    if (slot >= 0.0) {',
      '      const st = attnc_idiv(slot, 4);',
      `      const x = attnc_lane(${ld(s.name, s.layout, 'bz * this.constants.N + ii', 'st')}, slot - st * 4);`,
      ...onlineStatLines('      '),
      '    }',
      '  }',
      '  return [mx, l > 0.0 ? 1.0 / l : 0.0, 0.0, 0.0];',
      '}',
    ],
    ...e.uses(),
    result: sc.stats,
    output: packedOutput(sc.statsLayout),
    returns: 'vec4',
    cost: sc.Hc * g.M * g.N * 4,
    chunk: sc.chunk,
  });
}

/** Pass 3: the softmax weights of each texel of scores, from the row's (keys) or each key's column's (queries) statistics. */
export function emitProbs(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch): void {
  const e = attendEnv(b, node, g, new KernelArgs());
  const s = e.args.operand(sc.scores, sc.rows);
  const st = e.args.operand(sc.stats, sc.statsLayout);
  const body = [...packedThread(sc.rows, 'row', 'g')];
  if (node.normalize === 'keys') {
    body.push(`  const m = ${ld(st.name, st.layout, 'row', 0)};`, `  return attnc_prob4(${ld(s.name, s.layout, 'row', 'g')}, m[0], m[1]);`);
  } else {
    // Lanes past the query's keys hold masked scores: their (clamped) key's statistics go unused.
    body.push(...rowSplit('row', g.N, 'ii'), ...texelKeys(sc.schedule.ranges, e.env, 'g', false));
    body.push(`  const x = ${ld(s.name, s.layout, 'row', 'g')};`);
    for (let t = 0; t < 4; t++) body.push(`  const c${t} = ${ld(st.name, st.layout, `bz * this.constants.M + Math.min(ij${t}, this.constants.M - 1)`, 0)};`);
    const lane = (t: number) => `${allowed(`x[${t}]`)} ? Math.exp(x[${t}] - c${t}[0]) * c${t}[1] : 0.0`;
    body.push(`  return [${[0, 1, 2, 3].map(lane).join(', ')}];`);
  }
  b.add(node, 'probs', {
    kind: 'probs',
    label: attendLabel(b, node, `pass 3/4: softmax weights over ${node.normalize}, 4 per texel`),
    source: [`function (${[...e.args.names, ...sc.scalars].join(', ')}) {`, ...body, '}'],
    ...e.uses(),
    result: sc.probs,
    output: packedOutput(sc.rows),
    returns: 'vec4',
    cost: sc.Hc * g.N * sc.rows.width * 6,
    scalars: sc.scalars,
    chunk: sc.chunk,
  });
}

/** Pass 4: four output features per fragment, Σ over the weight texels the query reaches of weights times value texels. */
export function emitPV(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch): void {
  const e = attendEnv(b, node, g, new KernelArgs());
  const p = e.args.operand(sc.probs, sc.rows);
  const v = e.args.operand(...pair(b.packed(node.v)));
  const { ranges } = sc.schedule;
  const what = `the output of ${b.nodeLabel(node.id)}`;
  const out = b.layout(what, sc.Hc * g.N, g.Dv);
  const result: WebGLBuffer = sc.chunk ? scratchBuffer(`attend${node.id}_out`) : { kind: 'packed', node: node.id };
  b.setLayout(result, out);
  const vrow = (t: number, step: number) => `kvb + ${t === 0 ? 'j0' : `Math.min(j0 + ${t * step}, jh)`}`;
  // The last pass of the kernel IR's colapply under normalize: queries, of attend under keys.
  const kind = node.normalize === 'queries' ? 'colapply' : 'pv';
  b.add(node, kind, {
    kind,
    label: attendLabel(b, node, `pass 4/4: ${node.normalize === 'queries' ? 'column-normalised ' : ''}P·V, 4 output features per texel`),
    source: [
      `function (${[...e.args.names, ...sc.scalars].join(', ')}) {`,
      ...packedThread(out, 'row', 'c'),
      ...rowSplit('row', g.N, 'ii'),
      chunkHeadLine(sc.chunk),
      ...e.head,
      ...texelBounds(ranges, e.env),
      '  let acc = [0.0, 0.0, 0.0, 0.0];',
      ...texelLoops(ranges, g.M, 'gg', (ind, step) => [
        `${ind}acc = attnc_mad4(acc, ${ld(p.name, p.layout, 'row', 'g')}, ${[0, 1, 2, 3].map((t) => ld(v.name, v.layout, vrow(t, step), 'c')).join(', ')});`,
      ]),
      '  return acc;',
      '}',
    ],
    ...e.uses(),
    result,
    output: packedOutput(out),
    returns: 'vec4',
    loopMaxIterations: texelLoopBound(ranges, g.M),
    loopBoundLabel: 'texel loop over the key ranges',
    cost: sc.Hc * g.N * out.width * sc.rows.width * 5,
    scalars: sc.scalars,
    chunk: sc.chunk,
  });
}

/**
 * The log-sum-exp of a top-k attention (not chunked): the third lane of each query's row
 * statistics (emitRowStats with `lse`), over its kept scores, written flat as [B·H, N].
 */
export function emitStatsLse(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch, lse: number): void {
  const e = attendEnv(b, node, g, new KernelArgs());
  const st = e.args.operand(sc.stats, sc.statsLayout);
  b.add(node, 'lse', {
    kind: 'lse',
    label: attendLabel(b, node, 'log-sum-exp per query (of its kept scores, from their row statistics)'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      `  const st = ${ld(st.name, st.layout, 'this.thread.y * this.constants.N + this.thread.x', 0)};`,
      '  return attnc_lane(st, 2.0);',
      '}',
    ],
    ...e.uses('attnc_lane'),
    result: nodeBuffer(lse),
    output: [g.N, g.B * g.H, 1],
    cost: g.B * g.H * g.N,
  });
}

export const pair = (x: { buffer: WebGLBuffer; layout: PackedLayout }): [WebGLBuffer, PackedLayout] => [x.buffer, x.layout];

/**
 * Top-k (an attend's `topk`), between the scores and their statistics: pass a finds per
 * query the k-th largest score `thr` by rounds of "the largest score below the last one"
 * (counting the scores equal to each), then among the scores equal to `thr` the `need`
 * lowest keys (`jt`, the need-th of them); pass b masks every other score of the row into
 * a copy of the scores that the later passes read (returned). Fewer than k allowed scores:
 * the row is kept as it is.
 */
export function emitTopK(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch, topk: number): ScoresScratch {
  const { ranges } = sc.schedule;
  // (Keeping more keys than there are keeps them all: at most M rounds are ever needed.)
  const K = Math.min(topk, g.M);
  const thresholds = scratchBuffer(`attend${node.id}_topk`);
  const kept = scratchBuffer(`attend${node.id}_kept`);
  for (const [buf, l] of [[thresholds, sc.statsLayout], [kept, sc.rows]] as const) {
    b.setLayout(buf, l);
    b.scratch[buf.id] = l.rows * l.width * 4;
  }
  const lanes = [0, 1, 2, 3];
  const lane = (v: string, t: number) => `attnc_lane(${v}, ${t}.0)`;
  const a = attendEnv(b, node, g);
  const s = a.args.operand(sc.scores, sc.rows);
  const scan = (tag: string, use: (x: string, t: number, ind: string) => string[]) =>
    texelLoops(ranges, g.M, tag, (ind, step) => [
      `${ind}const v = ${ld(s.name, s.layout, 'row', 'g')};`,
      ...lanes.flatMap((t) => use(lane('v', t), t * step, ind)),
    ]);
  b.add(node, 'topk', {
    kind: 'topk',
    label: attendLabel(b, node, `top-${topk} a: each query's k-th largest score and the last key kept at it`),
    source: [
      `function (${a.args.names.join(', ')}) {`,
      ...packedThread(sc.statsLayout, 'row', 'c'),
      ...rowSplit('row', g.N, 'ii'),
      ...texelBounds(ranges, a.env),
      `  let thr = ${MASKED};`,
      '  let need = 0.0;',
      '  let above = 0.0;',
      '  let done = 0.0;',
      '  let last = 0.0;',
      `  for (let r = 0; r < ${K}; r++) {`,
      '    if (done < 0.5) {',
      `      let best = ${MASKED};`,
      ...scan('ta', (x, _t, ind) => [`${ind}  if ((r < 0.5 || ${x} < last) && ${x} > best) { best = ${x}; }`]).map((l) => `    ${l}`),
      '      if (best <= -1.0e30) {',
      '        done = 1.0;',
      '      } else {',
      '        let equal = 0.0;',
      ...scan('tb', (x, _t, ind) => [`${ind}  if (${x} === best) { equal += 1.0; }`]).map((l) => `      ${l}`),
      `        if (above + equal >= ${K}) {`,
      '          thr = best;',
      `          need = ${K} - above;`,
      '          done = 1.0;',
      '        }',
      '        above += equal;',
      '        last = best;',
      '      }',
      '    }',
      '  }',
      '  let jt = -1.0;',
      `  for (let r = 0; r < ${K}; r++) {`,
      '    if (r < need) {',
      '      let pj = this.constants.M;',
      ...scan('tc', (x, dt, ind) => [`${ind}  if (${x} === thr && j0 + ${dt} > jt && j0 + ${dt} < pj) { pj = j0 + ${dt}; }`]).map((l) => `    ${l}`),
      '      jt = pj;',
      '    }',
      '  }',
      '  return [thr, jt, need, 0.0];',
      '}',
    ],
    ...a.uses('attnc_lane'),
    result: thresholds,
    output: packedOutput(sc.statsLayout),
    returns: 'vec4',
    loopMaxIterations: Math.max(K, texelLoopBound(ranges, g.M)),
    loopBoundLabel: 'texel loop over the key ranges',
    cost: sc.Hc * g.N * sc.rows.width * 4 * K,
    chunk: sc.chunk,
  });
  const m = attendEnv(b, node, g);
  const s2 = m.args.operand(sc.scores, sc.rows);
  const th = m.args.operand(thresholds, sc.statsLayout);
  b.add(node, 'topk_mask', {
    kind: 'topk',
    label: attendLabel(b, node, `top-${topk} b: the scores a query keeps (the others masked)`),
    source: [
      `function (${m.args.names.join(', ')}) {`,
      ...packedThread(sc.rows, 'row', 'g'),
      ...rowSplit('row', g.N, 'ii'),
      ...texelKeys(ranges, m.env, 'g', false),
      `  const v = ${ld(s2.name, s2.layout, 'row', 'g')};`,
      `  const th = ${ld(th.name, th.layout, 'row', 0)};`,
      `  const thr = ${lane('th', 0)};`,
      `  const jt = ${lane('th', 1)};`,
      `  const all = ${lane('th', 2)} < 0.5;`,
      ...lanes.map((t) => `  const x${t} = ${lane('v', t)};`),
      `  return [${lanes.map((t) => `all || x${t} > thr || (x${t} === thr && ij${t} <= jt) ? x${t} : ${MASKED}`).join(', ')}];`,
      '}',
    ],
    ...m.uses('attnc_lane'),
    result: kept,
    output: packedOutput(sc.rows),
    returns: 'vec4',
    cost: sc.Hc * g.N * sc.rows.width,
    chunk: sc.chunk,
  });
  return { ...sc, scores: kept };
}

/**
 * topk(…) (after emitTopK): which keys each query keeps, as 1 (kept) or 0, four keys per
 * texel of its output row — its scores' row as it is (no key ranges: slot t is key t).
 */
export function emitKept(b: PlanBuilder, node: AttendView, g: AttendGeometry, sc: ScoresScratch): void {
  const e = attendEnv(b, node, g, new KernelArgs());
  const s = e.args.operand(sc.scores, sc.rows);
  const out = b.layout(`the output of ${b.nodeLabel(node.id)}`, g.B * g.H * g.N, g.M);
  const result: WebGLBuffer = { kind: 'packed', node: node.id };
  b.setLayout(result, out);
  b.add(node, 'kept', {
    kind: 'topk',
    label: attendLabel(b, node, 'the kept keys of each query: 1, else 0, 4 per texel'),
    source: [
      `function (${e.args.names.join(', ')}) {`,
      ...packedThread(out, 'row', 'c'),
      `  const x = ${ld(s.name, s.layout, 'row', 'c')};`,
      `  return [${[0, 1, 2, 3].map((t) => `${allowed(`x[${t}]`)} ? 1.0 : 0.0`).join(', ')}];`,
      '}',
    ],
    ...e.uses(),
    result,
    output: packedOutput(out),
    returns: 'vec4',
    cost: g.B * g.H * g.N * out.width,
  });
}
