// Tensor operations other than attention → WGSL: pool, pool2d (adaptive average pooling,
// PyTorch's window rule) and clusters (nearest centroid by cosine similarity).

import type { ClustersKernel, Pool2dKernel, PoolKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource } from './common.js';

/** Start/end of adaptive-pooling window `t` of `n` over length `len`: [⌊t·len/n⌋, ⌈(t+1)·len/n⌉). */
function windowLines(c: Code, t: string, len: string, n: string, lo: string, hi: string): void {
  // Split t·len into t·(len / n) + t·(len % n) so the products stay small in i32.
  c.line(`let ${lo} = ${t} * (${len} / ${n}) + (${t} * (${len} % ${n})) / ${n};`);
  c.line(`let ${hi} = (${t} + 1) * (${len} / ${n}) + ((${t} + 1) * (${len} % ${n}) + ${n} - 1) / ${n};`);
}

export function renderPoolKernel(k: PoolKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  src.declare([`schedule: one invocation per output element, ${s.workgroupSize} per workgroup`]);
  const c = new Code();
  c.line(`let BH = ${src.expr(k.B)} * ${src.expr(k.H)};`);
  c.line(`let N = ${src.expr(k.N)};`);
  c.line(`let T = ${src.expr(k.tokens)};`);
  c.line(`let D = ${k.D};`);
  c.line(`let e = wg * ${s.workgroupSize} + lid;`);
  c.block('if (e < BH * T * D)', () => {
    c.line('let d = e % D;');
    c.line('let r = e / D;');
    c.line('let t = r % T;');
    c.line('let bh = r / T;');
    windowLines(c, 't', 'N', 'T', 'n0', 'n1');
    c.line('var acc = 0.0f;');
    const x = src.elem(src.binding('x'), 'bh * N + n', 'D', 'd');
    const w = k.bindings.find((b) => b.role === 'weights');
    if (w) {
      // A weighted average: exactly 0 where the bin's weights sum to 0.
      c.line('var total = 0.0f;');
      c.block('for (var n = n0; n < n1; n = n + 1)', () => {
        c.line(`let w = ${src.elem(w, 'bh', 'N', 'n')};`);
        c.line('total = total + w;');
        c.line(`acc = acc + w * ${x};`);
      });
      c.line('out[e] = select(acc / total, 0.0f, total == 0.0f);');
    } else {
      c.line(`for (var n = n0; n < n1; n = n + 1) { acc = acc + ${x}; }`);
      c.line('out[e] = acc / f32(max(n1 - n0, 1));');
    }
  });
  src.entry(s.workgroupSize, c);
  return src.toString();
}

export function renderPool2dKernel(k: Pool2dKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  src.declare([`schedule: one invocation per output element, ${s.workgroupSize} per workgroup`]);
  const c = new Code();
  c.line(`let BH = ${src.expr(k.B)} * ${src.expr(k.H)};`);
  c.line(`let GH = ${src.expr(k.height)}; // grid height`);
  c.line(`let GW = ${src.expr(k.width)}; // grid width`);
  c.line(`let PH = ${src.expr(k.to[0])};`);
  c.line(`let PW = ${src.expr(k.to[1])};`);
  c.line(`let NX = ${src.expr(src.binding('x').shape[2]!)}; // tokens of x (= GH·GW)`);
  c.line(`let D = ${k.D};`);
  c.line(`let e = wg * ${s.workgroupSize} + lid;`);
  c.block('if (e < BH * PH * PW * D)', () => {
    c.line('let d = e % D;');
    c.line('let r = e / D;');
    c.line('let t = r % (PH * PW);');
    c.line('let bh = r / (PH * PW);');
    c.line('let tr = t / PW;');
    c.line('let tc = t - tr * PW;');
    windowLines(c, 'tr', 'GH', 'PH', 'y0', 'y1');
    windowLines(c, 'tc', 'GW', 'PW', 'x0', 'x1');
    c.line('var acc = 0.0f;');
    c.block('for (var y = y0; y < y1; y = y + 1)', () => {
      c.line(`for (var xx = x0; xx < x1; xx = xx + 1) { acc = acc + ${src.elem(src.binding('x'), 'bh * NX + y * GW + xx', 'D', 'd')}; }`);
    });
    c.line('out[e] = acc / f32(max((y1 - y0) * (x1 - x0), 1));');
  });
  src.entry(s.workgroupSize, c);
  return src.toString();
}

export function renderClustersKernel(k: ClustersKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const S = s.subgroupSize ?? 0;
  const R = s.tokensPerInvocation ?? 1;
  const WG = s.workgroupSize;
  const D4 = Math.ceil(k.D / 4);
  const src = new KernelSource(k);
  src.declare([
    `schedule: one invocation per token, ${WG} per workgroup` +
      (S ? ` × ${R} tokens, one (b, head) per workgroup; centroids shared across ${S} subgroup lanes by broadcast` : '') + ';',
    '  cosine similarity in f32, ties to the lowest index',
  ]);
  src.mod.decls.push(`const D4 = ${D4}; // head dim ${k.D} as vec4s`);
  const ldx = src.load4(src.binding('x'));
  const ldc = src.load4(src.binding('centroids'));
  const c = new Code();
  c.line(`let B = ${src.expr(k.B)};`);
  c.line(`let HX = ${src.expr(k.H)};`);
  c.line(`let N = ${src.expr(k.N)};`);
  c.line(`let C = ${src.expr(k.C)};`);
  if (S) subgroupClusters(c, src, k, ldx, ldc);
  else plainClusters(c, src, k, ldx, ldc);
  src.entry(WG, c, S ? ['@builtin(subgroup_invocation_id) sg_lane: u32'] : undefined);
  return src.toString();
}

/** One token per invocation, every centroid loaded by every invocation. */
function plainClusters(c: Code, src: KernelSource, k: ClustersKernel, ldx: string, ldc: string): void {
  const WG = k.schedule!.workgroupSize;
  c.line(`let t = wg * ${WG} + lid; // (b·HX + h)·N + n`);
  c.block('if (t < B * HX * N)', () => {
    c.line('let h = (t / N) % HX;');
    c.line('var xr = array<vec4<f32>, D4>();');
    c.line('var nx = 0.0f;');
    c.line(`for (var d = 0; d < D4; d = d + 1) { xr[d] = ${ldx}(t, d); nx = nx + dot(xr[d], xr[d]); }`);
    c.line('var best = 0;');
    c.line('var best_sim = 0.0f;');
    c.block('for (var cc = 0; cc < C; cc = cc + 1)', () => {
      c.line('var dt = 0.0f;');
      c.line('var nc = 0.0f;');
      c.line(`for (var d = 0; d < D4; d = d + 1) { let m = ${ldc}(h * C + cc, d); dt = dt + dot(xr[d], m); nc = nc + dot(m, m); }`);
      c.line('let sim = select(0.0f, dt / (sqrt(nx) * sqrt(nc)), nx > 0.0f && nc > 0.0f); // zero vector or centroid: 0');
      c.line('if (cc == 0 || sim > best_sim) { best = cc; best_sim = sim; }');
    });
    c.line('out[t] = best;');
  });
}

/** Subgroups: R tokens per invocation of one (b, head), centroid chunks shared by broadcast. */
function subgroupClusters(c: Code, src: KernelSource, k: ClustersKernel, ldx: string, ldc: string): void {
  const s = k.schedule!;
  const S = s.subgroupSize!;
  const R = s.tokensPerInvocation ?? 1;
  const WG = s.workgroupSize;
  const D4 = Math.ceil(k.D / 4);
  // Subgroups. Operations in uniform control flow: tokens past N compute on a clamped one
  // and write nothing. Each invocation holds R tokens (every broadcast centroid chunk serves
  // all of them); lane ℓ loads chunks ℓ, ℓ + S, … of a centroid and all lanes get each
  // chunk by broadcast (unrolled: constant indices keep the tokens in registers). The sums
  // run over the chunks in the same order as above: the same answers.
  const rs = [...Array(R).keys()];
  src.mod.enables.add('subgroups');
  c.line(`let nb = (N + ${WG * R - 1}) / ${WG * R};`);
  c.line('let bh = wg / nb; // b·HX + h');
  c.line('let h = bh % HX;');
  c.line(`let lane = i32(sg_lane) % ${S};`);
  for (const r of rs) {
    c.line(`let n${r} = (wg - bh * nb) * ${WG * R} + lid + ${r * WG};`);
    c.line(`let t${r} = bh * N + min(n${r}, N - 1);`);
    c.line(`var xr${r} = array<vec4<f32>, D4>();`);
    c.line(`var nx${r} = 0.0f;`);
    c.line(`for (var d = 0; d < D4; d = d + 1) { xr${r}[d] = ${ldx}(t${r}, d); nx${r} = nx${r} + dot(xr${r}[d], xr${r}[d]); }`);
    c.line(`var best${r} = 0;`);
    c.line(`var best_sim${r} = 0.0f;`);
  }
  c.block('for (var cc = 0; cc < C; cc = cc + 1)', () => {
    c.line('var nc = 0.0f;');
    for (const r of rs) c.line(`var dt${r} = 0.0f;`);
    for (let step = 0; step * S < D4; step++) {
      c.block('', () => {
        const guarded = (step + 1) * S > D4;
        c.line(`let d = ${step * S} + lane;`);
        c.line(guarded
          ? `let m = select(vec4<f32>(0.0f), ${ldc}(h * C + cc, min(d, D4 - 1)), d < D4);`
          : `let m = ${ldc}(h * C + cc, d);`);
        for (let L = 0; L < S && step * S + L < D4; L++) {
          c.line(`let m${L} = subgroupBroadcast(m, ${L}u);`);
          c.line(`nc = nc + dot(m${L}, m${L});`);
          for (const r of rs) c.line(`dt${r} = dt${r} + dot(xr${r}[${step * S + L}], m${L});`);
        }
      });
    }
    for (const r of rs) {
      c.line(`let sim${r} = select(0.0f, dt${r} / (sqrt(nx${r}) * sqrt(nc)), nx${r} > 0.0f && nc > 0.0f); // zero vector or centroid: 0`);
      c.line(`if (cc == 0 || sim${r} > best_sim${r}) { best${r} = cc; best_sim${r} = sim${r}; }`);
    }
  });
  for (const r of rs) c.line(`if (n${r} < N) { out[t${r}] = best${r}; }`);
}
