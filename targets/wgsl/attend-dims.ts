// The decode schedule (`dims` staging, chosen by the tile pass for a fused attend with few
// query rows and many keys): the lanes of one subgroup split the head dims instead of the
// rows. Every lane holds the same R query rows, but only its vec4 chunks of them (chunk
// `c·S + lane`) and of their accumulators; a key row is read once per workgroup as one
// contiguous subgroup-wide load, each row's score is a `subgroupAdd` of the lanes' partial
// dot products, and the online softmax (uniform values) runs on every lane alike.
//
// Why: with rows per lane (the `subgroup` staging), one query streams its keys through one
// lane while the others compute rows that do not exist; here all S lanes work on the one
// row, and each key's K and V are read once for all R rows.
//
// The workgroup is one subgroup of exactly S lanes (S ≤ the device's minimum subgroup
// size), so `subgroupAdd` sums exactly this workgroup's lanes. Subgroup operations run in
// uniform control flow: every lane computes every (row, key) dot product of a block and
// the mask only selects afterwards.

import type { AttendKernel, MergeKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource, NEG, lseName, softmaxExp } from './common.js';
import { geometryLines, headLines, maskAndScoreFunctions, scheduleLines, streamLoops, type Side } from './attend.js';
import { blockScores, onlineSoftmaxStep, splitLines, storeLse, type Unroll } from './subgroup-steps.js';

export function renderDimsAttend(k: AttendKernel): string {
  const s = k.schedule!;
  if (k.kind !== 'attend') throw new Error(`internal: dims staging is not implemented for ${k.kind} kernels`);
  const S = s.subgroupSize;
  const D4 = Math.ceil(k.geom.D / 4);
  const DV4 = Math.ceil(k.geom.Dv / 4);
  const keys = (n: number) => [...Array(n).keys()];
  // The online-softmax step of the subgroup kernels, with one lane group: chunk index = cc.
  const x: Unroll = { rs: keys(s.rowsPerThread), us: keys(s.block), gs: [0], D4, DV4, DC: Math.ceil(D4 / S), DVC: Math.ceil(DV4 / S) };
  const side: Side = { row: 'i', streamed: 'j', rows: 'N', len: 'M' };
  const src = new KernelSource(k);
  src.declare(scheduleLines(k));
  src.mod.enables.add('subgroups');
  src.mod.decls.push(
    `const D4 = ${D4}; // head dim ${k.geom.D} as vec4s`,
    `const DV4 = ${DV4}; // value dim ${k.geom.Dv} as vec4s`,
    `const S = ${S}; // lanes: chunk c·S + lane of every row is this lane's`,
    `const TILE = ${s.tile}; // keys per tile (mask-analysis granularity)`,
    `const KB = ${s.block}; // keys per block`,
  );
  maskAndScoreFunctions(src, k);
  const ldq = src.load4(src.binding('q'));
  const ldk = src.load4(src.binding('k'));
  const ldv = src.load4(src.binding('v'));
  /** This lane's chunk cc of row `row` from `load`, zero past the head dim (`dim4` vec4s). */
  const chunk = (load: string, row: string, cc: number, dim4: number, name: string) =>
    (cc + 1) * S > dim4
      ? `select(vec4<f32>(0.0f), ${load}(${row}, min(${cc * S} + lid, ${name} - 1)), ${cc * S} + lid < ${name})`
      : `${load}(${row}, ${cc * S} + lid)`;

  const c = new Code();
  geometryLines(c, src, k.geom);
  c.line(`let RPW = ${s.rowsPerWorkgroup}; // query rows per workgroup, shared by its ${S} lanes`);
  src.decodeGrid(c, s.grid);
  c.line('let r0 = rb * RPW;');
  const splits = s.splits ?? 1;
  if (splits > 1) splitLines(c, src, splits);
  headLines(c);
  c.line(`let scale = ${src.expr(k.scale)};`);
  for (const r of x.rs) {
    c.line(`let i${r} = r0 + ${r};`);
    c.line(`let ok${r} = i${r} < N;`);
    const row = `q_row0 + min(i${r}, N - 1)`;
    c.line(`var w${r} = array<vec4<f32>, ${x.DC}>(${keys(x.DC).map((cc) => chunk(ldq, row, cc, D4, 'D4')).join(', ')}); // this lane's chunks of the query`);
    c.line(`var a${r} = array<vec4<f32>, ${x.DVC}>();`);
    c.line(`var m${r} = ${NEG};`);
    c.line(`var l${r} = 0.0f;`);
  }
  streamLoops(c, src, k, false, side, s.ranges, () => {
    c.block('for (var e = 0; e < nt; e = e + KB)', () => {
      for (const u of x.us) c.line(`let j${u} = kv_row0 + min(t0 + e + ${u}, M - 1);`);
      for (const cc of keys(x.DC)) for (const u of x.us) c.line(`let k${u}_${cc} = ${chunk(ldk, `j${u}`, cc, D4, 'D4')};`);
      for (const r of x.rs) {
        for (const u of x.us) {
          const dots = keys(x.DC).map((cc) => `dot(w${r}[${cc}], k${u}_${cc})`).join(' + ');
          c.line(`let s${r}_${u} = subgroupAdd(${dots});`);
        }
      }
      const args = (r: number, u: number) => `b, h, hk, i${r}, t0 + e + ${u}`;
      for (const r of x.rs) {
        blockScores(c, x, r, (u) => `e + ${u} < nt && ok${r} && (full || attn_mask(${args(r, u)}))`, (u) => args(r, u));
        onlineSoftmaxStep(c, x, r, true);
      }
      for (const cc of keys(x.DVC)) {
        for (const u of x.us) c.line(`let v${u}_${cc} = ${chunk(ldv, `j${u}`, cc, DV4, 'DV4')};`);
        for (const r of x.rs) c.line(`a${r}[${cc}] = a${r}[${cc}] + ${x.us.map((u) => `p${r}_${u} * v${u}_${cc}`).join(' + ')};`);
      }
    });
  }, undefined, splits > 1 ? ['k_split_lo', 'k_split_hi'] : undefined);
  if (splits > 1) {
    // This slice's partial softmax per row (unnormalised), for the merge kernel.
    const stp = src.store4(src.binding('partials'));
    for (const r of x.rs) {
      c.block(`if (ok${r})`, () => {
        c.line(`let pr = (bh * SPL + sp) * N + i${r};`);
        for (const cc of keys(x.DVC)) {
          const at = `${cc * S} + lid`;
          const store = `${stp}(pr, ${at}, a${r}[${cc}]);`;
          c.line((cc + 1) * S > DV4 ? `if (${at} < DV4) { ${store} }` : store);
        }
        c.line(`if (lid == 0) { ${stp}(pr, DV4, vec4<f32>(m${r}, l${r}, 0.0f, 0.0f)); }`);
      });
    }
    src.entry(s.workgroupSize, c);
    return src.toString();
  }
  const st = src.store4(src.binding('out'));
  const lse = lseName(src);
  for (const r of x.rs) {
    c.block(`if (ok${r})`, () => {
      c.line(`let inv = select(0.0f, 1.0f / l${r}, l${r} > 0.0f); // a row with no allowed key is exactly 0`);
      for (const cc of keys(x.DVC)) {
        const at = `${cc * S} + lid`;
        const store = `${st}(q_row0 + i${r}, ${at}, a${r}[${cc}] * inv);`;
        c.line((cc + 1) * S > DV4 ? `if (${at} < DV4) { ${store} }` : store);
      }
      if (lse) c.block('if (lid == 0)', () => storeLse(c, lse, `q_row0 + i${r}`, `m${r}`, `l${r}`));
    });
  }
  src.entry(s.workgroupSize, c);
  return src.toString();
}

/**
 * Split-KV, pass 2 (kernel.ts MergeKernel): one invocation per (query row, vec4 of its
 * output) combines the slices' partial softmax through their maxima.
 */
export function renderMergeKernel(k: MergeKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  const WG = s.workgroupSize;
  const DV4 = Math.ceil(k.geom.Dv / 4);
  src.declare([`schedule: one invocation per (query row, vec4 of the output), ${WG} per workgroup; ${k.splits} key slices merged`]);
  src.mod.decls.push(`const DV4 = ${DV4}; // value dim ${k.geom.Dv} as vec4s`, `const SPL = ${k.splits}; // key slices`);
  const ld = src.load4(src.binding('partials'));
  const st = src.store4(src.binding('out'));
  const lse = lseName(src);
  const c = new Code();
  c.line(`let N = ${src.expr(k.geom.N)};`);
  c.line(`let e = wg * ${WG} + lid;`);
  c.line(`if (e >= ${src.expr(k.geom.B)} * ${src.expr(k.geom.H)} * N * DV4) { return; }`);
  c.line('let row = e / DV4; // (b·H + h)·N + i');
  c.line('let c = e - row * DV4;');
  c.line('let bh = row / N;');
  c.line('let p0 = bh * SPL * N + row - bh * N; // slice 0 of this row; slice s at p0 + s·N');
  c.line(`var m = ${NEG};`);
  c.line(`for (var s = 0; s < SPL; s = s + 1) { m = max(m, ${ld}(p0 + s * N, DV4).x); }`);
  c.line('var l = 0.0f;');
  c.line('var acc = vec4<f32>(0.0f);');
  c.block('for (var s = 0; s < SPL; s = s + 1)', () => {
    c.line(`let ml = ${ld}(p0 + s * N, DV4);`);
    c.line(`let w = ${softmaxExp('ml.x - m')}; // a slice with no allowed key: l = 0, acc = 0`);
    c.line('l = l + w * ml.y;');
    c.line(`acc = acc + w * ${ld}(p0 + s * N, c);`);
  });
  c.line(`${st}(row, c, select(vec4<f32>(0.0f), acc / l, l > 0.0f)); // a row with no allowed key is exactly 0`);
  if (lse) c.block('if (c == 0)', () => storeLse(c, lse, 'row', 'm', 'l'));
  src.entry(WG, c);
  return src.toString();
}
