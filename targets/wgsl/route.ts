// Routing by permutation → WGSL (the routing kernels of the `fuse` pass).
//
// - route-sort: one invocation per (b, head, cluster), queries first then keys: two scans
//   of the head's cluster ids in position order (count below/equal; then write the
//   positions of this cluster, ascending) — a stable counting sort, no atomics, no barriers.
// - route-attend: a workgroup per (b, h, cluster, block of the cluster's query slots).
//   Query rows and key/value rows are gathered through the permutations; the online
//   softmax is the fused kernel's (f32 running max and sum, one division at the end,
//   scores ≤ −1e30 masked, a row with no allowed key exactly 0); results go to the
//   original query rows. Subgroup staging (lanes load different vec4s of a block of 4
//   gathered keys and share them by subgroupBroadcast, R query rows per invocation), or
//   K/V tiles in workgroup memory (one row per invocation), or straight from storage.
//
// route-attend reads the `route` buffer's ranges at indices that depend only on the
// workgroup index and uniforms (read-only storage: uniform values), so loop bounds stay in
// uniform control flow without barriers. Every `var` has an initializer (TOOLCHAIN.md:
// Tint → lavapipe).

import type { RouteAttendKernel, RouteSortKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource, NEG } from './common.js';
import { entryScore, geometryLines, headLines, onlineSoftmaxFold } from './attend.js';
import {
  blockAccumulateV, blockDots, blockScores, declareWeights, forSlot, onlineSoftmaxStep, storeNormalizedRow, type Unroll,
} from './subgroup-steps.js';

const isTrue = (k: RouteAttendKernel) => k.extra.op === 'const' && k.extra.value === true;

/** `let` lines for the dims and the offsets of the route buffer's four regions. */
function layoutLines(c: Code, src: KernelSource, k: RouteSortKernel | RouteAttendKernel): void {
  const g = k.geom;
  geometryLines(c, src, g);
  c.line(`let C = ${src.expr(k.C)};`);
  c.line('let QR0 = 0; // query ranges: (start, count) per (b, h, cluster)');
  c.line('let KR0 = 2 * B * H * C; // key ranges: (start, count) per (b, hk, cluster)');
  c.line('let QP0 = KR0 + 2 * B * Hk * C; // query permutation, per (b, h): N positions');
  c.line('let KP0 = QP0 + B * H * N; // key permutation, per (b, hk): M positions');
}

export function renderRouteSortKernel(k: RouteSortKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  src.declare([
    `schedule: one invocation per (b, head, cluster), queries then keys, ${s.workgroupSize} per workgroup;`,
    '  two in-order scans of the head\'s cluster ids (stable counting sort)',
  ]);
  const c = new Code();
  layoutLines(c, src, k);
  c.line(`let t = wg * ${s.workgroupSize} + lid;`);
  c.line('let nq = B * H * C;');
  c.block('if (t < nq + B * Hk * C)', () => {
    c.line('let is_q = t < nq;');
    c.line('let u = select(t - nq, t, is_q); // (b·heads + head)·C + cluster');
    c.line('let cl = u % C;');
    c.line('let bh = u / C;');
    c.line('let len = select(M, N, is_q);');
    c.line('let ranges = select(KR0, QR0, is_q) + 2 * u;');
    c.line('let ids0 = bh * len;');
    c.line('var below = 0;');
    c.line('var count = 0;');
    c.block('for (var p = 0; p < len; p = p + 1)', () => {
      c.line('var x = 0;');
      c.line('if (is_q) { x = qids[ids0 + p]; } else { x = kids[ids0 + p]; }');
      c.line('if (x >= 0 && x < cl) { below = below + 1; }');
      c.line('if (x == cl) { count = count + 1; }');
    });
    c.line('route[ranges] = below;');
    c.line('route[ranges + 1] = count;');
    c.line('var w = select(KP0, QP0, is_q) + ids0 + below;');
    c.block('for (var p = 0; p < len; p = p + 1)', () => {
      c.line('var x = 0;');
      c.line('if (is_q) { x = qids[ids0 + p]; } else { x = kids[ids0 + p]; }');
      c.line('if (x == cl) { route[w] = p; w = w + 1; }');
    });
  });
  src.entry(s.workgroupSize, c);
  return src.toString();
}

export function renderRouteAttendKernel(k: RouteAttendKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  const sub = s.staging === 'subgroup';
  src.declare([
    `schedule: ${s.staging} staging; ${s.workgroupSize} invocations × ${s.rowsPerThread} query row${s.rowsPerThread > 1 ? 's' : ''} = ${s.rowsPerWorkgroup} of one cluster's queries/workgroup;`,
    sub
      ? `  the cluster's keys gathered in blocks of ${s.block}, shared across ${s.subgroupSize} subgroup lanes by broadcast`
      : `  the cluster's keys gathered in tiles of ${s.tile}; ${s.workgroupBytes} B workgroup memory`,
    `geometry: D = ${k.geom.D}, Dv = ${k.geom.Dv}; ${k.causal ? 'causal: keys stop past the block\'s last query' : 'all of the cluster\'s keys'}`,
  ]);
  src.mod.decls.push(
    `const D4 = ${Math.ceil(k.geom.D / 4)}; // head dim ${k.geom.D} as vec4s`,
    `const DV4 = ${Math.ceil(k.geom.Dv / 4)}; // value dim ${k.geom.Dv} as vec4s`,
    `const WG = ${s.workgroupSize};`,
  );
  const vars = { b: 'b', h: 'h', hk: 'hk', i: 'i', j: 'j' };
  src.mod.functions.push(
    `fn attn_extra(b: i32, h: i32, hk: i32, i: i32, j: i32) -> bool {\n  return ${src.expr(k.extra, vars)};\n}`,
    `fn attn_score(s: f32, b: i32, h: i32, hk: i32, i: i32, j: i32) -> f32 {\n  return ${src.expr(k.score, vars)};\n}`,
  );
  // The row accessors first: their helper functions lead the module's functions.
  for (const role of ['q', 'k', 'v'] as const) src.load4(src.binding(role));
  src.store4(src.binding('out'));
  const c = new Code();
  clusterPrologue(c, src, k);
  c.line(`let scale = ${src.expr(k.scale)};`);
  if (sub) subgroupRouteBody(c, src, k);
  else tiledRouteBody(c, src, k);
  src.entry(s.workgroupSize, c, sub ? ['@builtin(subgroup_invocation_id) sg_lane: u32'] : undefined);
  return src.toString();
}

/** `&& attn_extra(args)`, or nothing when the mask has no other conjunct. */
const maskCall = (k: RouteAttendKernel, args: string) => (isTrue(k) ? '' : ` && attn_extra(${args})`);

/**
 * This workgroup's (b, h, cluster, block of the cluster's query slots), the cluster's
 * query and key slices of the permutations, and the key count of each row slot.
 */
function clusterPrologue(c: Code, src: KernelSource, k: RouteAttendKernel): void {
  const s = k.schedule!;
  layoutLines(c, src, k);
  c.line(`let RPW = ${s.rowsPerWorkgroup}; // query slots per workgroup`);
  src.decodeGrid(c, s.grid); // blk: a block of the cluster's query slots (the grid is an upper bound)
  headLines(c);
  // The cluster's ranges: `route` is read-only here and read at indices that depend only
  // on the workgroup index and uniforms, so the values are uniform (loop bounds, early
  // exit) without workgroup memory or barriers (~8 % faster on lavapipe than sharing them
  // through workgroupUniformLoad, N = 4096).
  c.line('let bkc = (b * Hk + hk) * C + cl;');
  c.line('let qn = route[QR0 + 2 * bh_cl + 1]; // queries in this cluster');
  c.line('let r0 = blk * RPW;');
  c.line('if (r0 >= qn) { return; } // an empty block (the grid is an upper bound)');
  c.line('let qp = QP0 + bh * N + route[QR0 + 2 * bh_cl]; // this cluster\'s query positions');
  c.line('let kn = route[KR0 + 2 * bkc + 1]; // keys in this cluster');
  c.line('let kp = KP0 + (b * Hk + hk) * M + route[KR0 + 2 * bkc]; // this cluster\'s key positions');
  keyCounts(c, src, k);
}

/**
 * With slot guards (the schedule's), each of the R row slots (WG query slots each) keeps
 * its own key count — its causal bound, or every key; none for a slot past the cluster's
 * queries — and skips the key blocks past it.
 */
function keyCounts(c: Code, src: KernelSource, k: RouteAttendKernel): void {
  const s = k.schedule!;
  const slots = s.slotGuards ? s.rowsPerThread : 1;
  if (!k.causal) {
    c.line('let nk = kn;');
    if (slots > 1) for (let r = 0; r < slots; r++) c.line(`let nk${r} = select(0, kn, r0 + ${r} * WG < qn); // slot ${r}: none past the cluster's queries`);
    return;
  }
  src.mod.functions.push([
    '// Keys of a cluster (positions ascending in route[kp .. kp + kn)) at positions ≤ pos.',
    'fn keys_upto(kp: i32, kn: i32, pos: i32) -> i32 {',
    '  var lo = 0;',
    '  var hi = kn;',
    '  loop {',
    '    if (lo >= hi) { break; }',
    '    let mid = (lo + hi) / 2;',
    '    if (route[kp + mid] <= pos) { lo = mid + 1; } else { hi = mid; }',
    '  }',
    '  return lo;',
    '}',
  ].join('\n'));
  c.line(`// causal: positions ascend, so each of the ${slots} row slot${slots > 1 ? 's' : ''} keeps the keys up to its last query's position`);
  const slotRows = slots > 1 ? 'WG' : 'RPW';
  for (let r = 0; r < slots; r++) {
    const first = `r0 + ${r * (slots > 1 ? s.workgroupSize : s.rowsPerWorkgroup)}`;
    c.line(`let nk${r} = select(0, keys_upto(kp, kn, route[qp + min(${first} + ${slotRows}, qn) - 1]), ${first} < qn);`);
  }
  c.line(`let nk = ${[...Array(slots).keys()].map((r) => `nk${r}`).reduce((a, b) => `max(${a}, ${b})`)};`);
}

/** Subgroup staging: R query rows per invocation, blocks of KB gathered keys shared by broadcast. */
function subgroupRouteBody(c: Code, src: KernelSource, k: RouteAttendKernel): void {
  const s = k.schedule!;
  const D4 = Math.ceil(k.geom.D / 4);
  const DV4 = Math.ceil(k.geom.Dv / 4);
  const S = s.subgroupSize;
  const KB = s.block;
  const R = s.rowsPerThread;
  const G = S / KB;
  const DC = Math.ceil(D4 / G);
  const DVC = Math.ceil(DV4 / G);
  src.mod.enables.add('subgroups');
  src.mod.decls.push(`const S = ${S}; // subgroup lanes used`, `const KB = ${KB}; // keys per block`, `const G = ${G}; // vec4 chunks of one row loaded per lane step (S / KB)`);
  const rs = [...Array(R).keys()];
  const us = [...Array(KB).keys()];
  const gs = [...Array(G).keys()];
  const unroll: Unroll = { rs, us, gs, D4, DV4, DC, DVC, ...(s.slotGuards ? { active: rs.map((r) => `act${r}`) } : {}) };
  const [ldq, ldk, ldv] = (['q', 'k', 'v'] as const).map((r) => src.load4(src.binding(r)));
  const st = src.store4(src.binding('out'));
  c.line('let lane = i32(sg_lane) % S;');
  c.line('let lk = lane % KB; // the key of the block this lane loads');
  c.line('let lg = lane / KB; // the chunk group this lane loads');
  for (const r of rs) {
    c.line(`let s${r} = r0 + lid + ${r * s.workgroupSize};`);
    c.line(`let ok${r} = s${r} < qn;`);
    c.line(`let i${r} = route[qp + min(s${r}, qn - 1)]; // original query position`);
    c.line(`var w${r} = array<vec4<f32>, ${DC * G}>();`);
    c.line(`for (var c = 0; c < D4; c = c + 1) { w${r}[c] = ${ldq}(q_row0 + i${r}, c); }`);
    c.line(`var a${r} = array<vec4<f32>, ${DVC * G}>();`);
    c.line(`var m${r} = ${NEG};`);
    c.line(`var l${r} = 0.0f;`);
  }
  c.block('for (var e = 0; e < nk; e = e + KB)', () => {
    if (s.slotGuards) for (const r of rs) c.line(`let act${r} = e < nk${r};`);
    c.line('let jl = route[kp + min(e + lk, nk - 1)]; // the original key position this lane loads');
    c.line('let krow = kv_row0 + jl;');
    for (const u of us) c.line(`let j${u} = subgroupBroadcast(jl, ${u}u);`);
    blockDots(c, unroll, (chunk) => `${ldk}(krow, ${chunk})`);
    declareWeights(c, unroll);
    for (const r of rs) {
      forSlot(c, unroll, r, () => {
        const args = (u: number) => `b, h, hk, i${r}, j${u}`;
        blockScores(c, unroll, r, (u) => `e + ${u} < nk && ok${r}${maskCall(k, args(u))}`, args);
        onlineSoftmaxStep(c, unroll, r, true);
      });
    }
    blockAccumulateV(c, unroll, (chunk) => `${ldv}(krow, ${chunk})`);
  });
  for (const r of rs) {
    c.block(`if (ok${r})`, () => storeNormalizedRow(c, r, st, `q_row0 + i${r}`));
  }
}

/** One query row per invocation; the cluster's keys in tiles (workgroup memory or storage). */
function tiledRouteBody(c: Code, src: KernelSource, k: RouteAttendKernel): void {
  const s = k.schedule!;
  const D4 = Math.ceil(k.geom.D / 4);
  const DV4 = Math.ceil(k.geom.Dv / 4);
  const [ldq, ldk, ldv] = (['q', 'k', 'v'] as const).map((r) => src.load4(src.binding(r)));
  const st = src.store4(src.binding('out'));
  const staged = s.staging === 'workgroup';
  const TILE = s.tile;
  src.mod.decls.push(`const TILE = ${TILE};`);
  if (staged) {
    src.mod.decls.push(
      `var<workgroup> k_tile: array<vec4<f32>, ${TILE * D4}>;`,
      `var<workgroup> v_tile: array<vec4<f32>, ${TILE * DV4}>;`,
      `var<workgroup> j_tile: array<i32, ${TILE}>;`,
    );
  }
  c.line('let s0 = r0 + lid;');
  c.line('let ok = s0 < qn;');
  c.line('let i = route[qp + min(s0, qn - 1)]; // original query position');
  c.line('var qr = array<vec4<f32>, D4>();');
  c.line(`for (var c = 0; c < D4; c = c + 1) { qr[c] = ${ldq}(q_row0 + i, c); }`);
  c.line('var acc = array<vec4<f32>, DV4>();');
  c.line(`var m_run = ${NEG};`);
  c.line('var l_run = 0.0f;');
  c.block('for (var t0 = 0; t0 < nk; t0 = t0 + TILE)', () => {
    c.line('let nt = min(TILE, nk - t0);');
    if (staged) {
      c.line('workgroupBarrier();');
      c.block('for (var x = lid; x < TILE * D4; x = x + WG)', () => {
        c.line('let e = x / D4;');
        c.line(`k_tile[x] = ${ldk}(kv_row0 + route[kp + min(t0 + e, nk - 1)], x - e * D4);`);
      });
      c.block('for (var x = lid; x < TILE * DV4; x = x + WG)', () => {
        c.line('let e = x / DV4;');
        c.line(`v_tile[x] = ${ldv}(kv_row0 + route[kp + min(t0 + e, nk - 1)], x - e * DV4);`);
      });
      c.line('for (var x = lid; x < TILE; x = x + WG) { j_tile[x] = route[kp + min(t0 + x, nk - 1)]; }');
      c.line('workgroupBarrier();');
    }
    c.block('if (ok)', () => {
      c.block('for (var e = 0; e < nt; e = e + 1)', () => {
        c.line(staged ? 'let j = j_tile[e];' : 'let j = route[kp + t0 + e];');
        const kAt = staged ? 'k_tile[e * D4 + c]' : `${ldk}(kv_row0 + j, c)`;
        const vAt = staged ? 'v_tile[e * DV4 + c]' : `${ldv}(kv_row0 + j, c)`;
        entryScore(c, 0, `true${maskCall(k, 'b, h, hk, i, j')}`, 'qr', kAt, 'b, h, hk, i, j');
        onlineSoftmaxFold(c, [0], () => c.line(`for (var c = 0; c < DV4; c = c + 1) { acc[c] = acc[c] + p0 * ${vAt}; }`));
      });
    });
  });
  c.block('if (ok)', () => {
    c.line('let inv = select(0.0f, 1.0f / l_run, l_run > 0.0f); // a row with no allowed key is exactly 0');
    c.line(`for (var c = 0; c < DV4; c = c + 1) { ${st}(q_row0 + i, c, acc[c] * inv); }`);
  });
}
