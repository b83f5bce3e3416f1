// The textual form of the kernel IR, for `attnc compile --emit fuse|tile` and golden tests:
// per kernel, what it computes, its bindings, the mask analysis it carries and (after the
// tile pass) its schedule, dispatch and loop structure — everything a renderer reads.

import type { Graph } from './ir.js';
import type { AttendKernel, AttendSchedule, Binding, Kernel, StreamRange, WebGLAttendSchedule } from './kernel.js';
import { printExpr } from './print.js';

export function printKernels(kernels: readonly Kernel[], g?: Graph): string {
  return kernels.map((k) => printKernel(k, g)).join('\n');
}

function printKernel(k: Kernel, g: Graph | undefined): string {
  const x = (e: Parameters<typeof printExpr>[0]) => printExpr(e, g);
  const lines = [`kernel ${k.name}: ${k.label}`, `  kind:        ${k.kind}`];
  const spec = Object.entries(k.specialized);
  if (spec.length) lines.push(`  specialised: ${spec.map(([d, v]) => `${d}=${v}`).join(', ')}`);
  lines.push(k.target === 'webgl' ? '  tensors:' : '  bindings:');
  k.bindings.forEach((b, slot) => lines.push(`    ${k.target === 'webgl' ? '' : `@binding(${slot + 1}) `}${printBinding(b, x)}`));
  switch (k.kind) {
    case 'attend': case 'colstats': case 'colapply': case 'scores': case 'pv': {
      const { B, H, Hk, N, M, D, Dv } = k.geom;
      lines.push(`  geometry:    B = ${x(B)}, H = ${x(H)}, Hk = ${x(Hk)}, N = ${x(N)}, M = ${x(M)}, D = ${D}, Dv = ${Dv}`);
      if (k.kind !== 'pv') {
        lines.push(`  mask:        ${x(k.mask)}`, `  score:       ${x(k.score)}`, `  scale:       ${x(k.scale)}`);
        lines.push(`  tile full:   ${x(k.tileFull)}`, `  tile empty:  ${x(k.tileEmpty)}`);
      }
      if (k.keyRanges) lines.push(`  key ranges:  ${printRanges(k.keyRanges, x)}  (for query rows q_lo..q_hi)`);
      if (k.queryRanges) lines.push(`  query ranges: ${printRanges(k.queryRanges, x)}  (for key rows k_lo..k_hi)`);
      if (k.schedule) lines.push(...attendScheduleLines(k.schedule, x), ...attendLoops(k, k.schedule));
      if (k.topk !== undefined) lines.push(`  top-k:       each query keeps its ${k.topk} largest allowed scores (selection passes before the statistics${k.kept ? '; written as 1 (kept) or 0' : ''})`);
      if (k.webgl) lines.push(...webglScheduleLines(k, k.webgl, x));
      break;
    }
    case 'softmax':
      lines.push(`  axis:        ${k.axis}${k.topk === undefined ? '' : `; top-${k.topk} selected first${k.indicator ? ', then written as 1 (kept) or 0: no softmax' : ''}`}`);
      if (k.schedule) lines.push(`  schedule:    ${k.schedule.workgroupSize} invocations per workgroup; ${k.axis === 'keys' && !k.indicator ? 'one workgroup per query row' : `one invocation per ${k.axis === 'keys' ? 'query row' : 'key column'}`}`);
      break;
    case 'pool': case 'pool2d':
      if (k.schedule) lines.push(`  schedule:    one output element per invocation, ${k.schedule.workgroupSize} per workgroup`);
      break;
    case 'clusters': {
      const s = k.schedule;
      if (s) {
        lines.push(s.subgroupSize
          ? `  schedule:    ${s.tokensPerInvocation} tokens per invocation, ${s.workgroupSize} per workgroup; centroids shared across ${s.subgroupSize} subgroup lanes by broadcast`
          : `  schedule:    one token per invocation, ${s.workgroupSize} per workgroup`);
      }
      break;
    }
    case 'map':
      lines.push(`  element:     ${x(k.expr)}  (at x0..x${k.shape.length - 1} of [${k.shape.map(x).join(', ')}])`);
      if (k.schedule) lines.push(`  schedule:    one element per invocation, ${k.schedule.workgroupSize} per workgroup`);
      break;
    case 'merge':
      lines.push(`  merge:       ${k.splits} key slices per query row, through their maxima (output and lse)`);
      if (k.schedule) lines.push(`  schedule:    one invocation per (query row, vec4 of the output), ${k.schedule.workgroupSize} per workgroup`);
      break;
    case 'summary':
      lines.push(`  summary:     min and max of %${k.summary.tensor} per ${k.summary.block} positions of axis ${k.summary.axis}`);
      if (k.schedule) lines.push(`  schedule:    one invocation per block, ${k.schedule.workgroupSize} per workgroup`);
      break;
    case 'route-sort':
      lines.push(`  clusters:    ${x(k.C)}`);
      if (k.schedule) lines.push(`  schedule:    one invocation per (b, head, cluster), ${k.schedule.workgroupSize} per workgroup; stable counting sort`);
      break;
    case 'route-attend':
      lines.push(`  clusters:    ${x(k.C)}`, `  extra mask:  ${x(k.extra)}${k.causal ? '  (causal: the key loop stops past the block\'s last query)' : ''}`);
      lines.push(`  score:       ${x(k.score)}`, `  scale:       ${x(k.scale)}`);
      if (k.schedule) lines.push(...attendScheduleLines(k.schedule, x));
      break;
  }
  if (k.target === 'webgl') {
    if (k.kind === 'pool' || k.kind === 'pool2d' || k.kind === 'clusters') lines.push('  schedule:    one output element per fragment (WebGL)');
  } else if (k.schedule) {
    lines.push(`  workgroups:  ${x(k.workgroups)}`);
    lines.push(`  uniforms:    ${k.uniforms.length ? k.uniforms.join(', ') : '(none)'}`);
    if (k.features.length) lines.push(`  features:    ${k.features.join(', ')}`);
  } else {
    lines.push('  (not scheduled: run the tile pass)');
  }
  return lines.join('\n') + '\n';
}

function printBinding(b: Binding, x: (e: Parameters<typeof printExpr>[0]) => string): string {
  const view = b.vec4 ? ' as vec4' : '';
  return `${b.name}: ${b.access === 'read' ? 'read' : 'read_write'} ${b.elem}[${b.shape.map(x).join(', ')}]${view}  ${b.label}`;
}

function printRanges(rs: readonly StreamRange[], x: (e: Parameters<typeof printExpr>[0]) => string): string {
  return rs.map((r) => `[${x(r.lo)}, ${x(r.hi)}]`).join(' ∪ ');
}

function attendScheduleLines(s: AttendSchedule, x: (e: Parameters<typeof printExpr>[0]) => string): string[] {
  const streamed = s.rows === 'queries' ? 'keys' : 'queries';
  const lines = [
    s.staging === 'dims'
      ? `  schedule:    dims staging; ${s.workgroupSize} invocations (one subgroup) share ${s.rowsPerWorkgroup} query row(s) per workgroup, each lane its head-dim chunks`
      : `  schedule:    ${s.staging} staging; ${s.workgroupSize} invocations × ${s.rowsPerThread} ${s.rows === 'queries' ? 'query' : 'key'} row(s) = ${s.rowsPerWorkgroup} ${s.rows} per workgroup`,
    `  streamed:    ${streamed} in tiles of ${s.tile}, ${s.block} per step` +
      (s.staging === 'subgroup' ? `, shared across ${s.subgroupSize} subgroup lanes by broadcast`
        : s.staging === 'dims' ? `, each read once by the ${s.subgroupSize} lanes (they split the head dims; scores by subgroupAdd)`
        : s.staging === 'workgroup' ? `, ${s.workgroupBytes} B of workgroup memory` : ', read from storage'),
    `  visits:      ${s.ranges ? printRanges(s.ranges, x) : `every ${s.rows === 'queries' ? 'key' : 'query'}`}${s.skipEmptyTiles ? '; empty tiles skipped' : ''}`,
  ];
  lines.push(`  grid:        ${s.grid.map((a) => `${a.name}: ${x(a.extent)}`).join(' × ')}  (the workgroup index, last axis fastest)`);
  if (s.splits) lines.push(`  split-KV:    the keys in ${s.splits} slices (grid axis sp), each slice's partial softmax merged by the next kernel`);
  if (s.regroup) lines.push(`  regroup:     dilation ${s.regroup.dilation}, reach ${s.regroup.reach}${s.regroup.causal ? ', causal' : ''} (rows and keys per dilation group)`);
  if (s.slotGuards) {
    const g = s.slotGuards;
    lines.push(`  slot guards: ${g.range ? `each slot's own range ${printRanges([g.range], x)}` : 'each slot'}${g.tileEmpty ? '; blocks empty for the slot skipped' : ''}`);
  }
  return lines;
}

/** The loop nest the renderers emit for an attention-like kernel, as an outline. */
function attendLoops(k: AttendKernel, s: AttendSchedule): string[] {
  const row = s.rows === 'queries' ? 'query' : 'key';
  const streamed = s.rows === 'queries' ? 'key' : 'query';
  const work: Record<AttendKernel['kind'], string> = {
    attend: 'scores, mask, online-softmax fold, V accumulation',
    colstats: 'scores, mask, running column max and sum',
    colapply: 'scores, mask, weights from the column statistics, V accumulation',
    scores: 'masked scaled scores → scratch',
    pv: 'P·V from the scratch probabilities',
  };
  const results: Record<AttendKernel['kind'], string> = {
    attend: 'write rows ÷ sum (a row with no allowed key: exactly 0)',
    colstats: 'write column max and sum',
    colapply: 'write rows',
    scores: '(scores written per entry)',
    pv: 'write rows',
  };
  return [
    '  loops:',
    `    workgroup (${s.grid.map((a) => a.name).join(', ')}): ${s.rowsPerWorkgroup} ${row} rows; ${s.staging === 'dims' ? 'every lane holds its head-dim chunks of each' : `${s.rowsPerThread} per invocation`}`,
    `      for each visited ${streamed} range (clipped, union once, ascending)`,
    `        for each tile of ${s.tile} ${streamed === 'key' ? 'keys' : 'queries'}${s.skipEmptyTiles ? ': skip if empty' : ''}${k.kind !== 'pv' ? '; mask dropped if full' : ''}`,
    `          for each block of ${s.block}${s.staging === 'subgroup' ? ' (broadcast)' : s.staging === 'dims' ? ' (one subgroup-wide read per key)' : s.staging === 'workgroup' ? ' (from workgroup memory)' : ''}${s.slotGuards ? ', per row slot if its guard holds' : ''}`,
    `            ${work[k.kind]}`,
    `    ${results[k.kind]}`,
  ];
}

/** The WebGL schedule (tile-webgl.ts): strategy, per-query key ranges, slots, chunking, costs. */
function webglScheduleLines(k: AttendKernel, s: WebGLAttendSchedule, x: (e: Parameters<typeof printExpr>[0]) => string): string[] {
  const passes: Record<AttendKernel['kind'], [string, string]> = {
    attend: ['four output features per fragment: online softmax over the query\'s keys, q·k recomputed', 'banded scores, 4 per texel → row max and 1/Σexp → weights → P·V'],
    colstats: ['one fragment per key: column max and 1/Σexp over every query, q·k recomputed', 'banded scores, 4 per texel → column max and 1/Σexp'],
    colapply: ['four output features per fragment: column-normalised weights, q·k recomputed', 'weights → P·V over the banded scores'],
    scores: ['', ''], pv: ['', ''],
  };
  const lines = [
    `  webgl:       ${s.strategy} — ${passes[k.kind][s.strategy === 'fused' ? 0 : 1]}`,
    `  key ranges:  ${s.ranges ? s.ranges.map((r) => `[${x(r.lo)}, ${x(r.hi)}]${r.step > 1 ? ` step ${r.step}` : ''} (≤ ${r.width} keys)`).join(' ∪ ') : 'every key'} per query (q_lo = q_hi = i)`,
    `  slots:       ${s.slots} key slots per query (${s.slots / 4} texels); cost fused ${s.cost.fused.toExponential(2)} vs scores ${s.cost.scores.toExponential(2)} texel fetches`,
  ];
  if (s.chunk) lines.push(`  chunks:      ${s.chunk.count} of ${s.chunk.heads} heads (of ${s.chunk.total}): the scores scratch stays f32-addressable`);
  return lines;
}
