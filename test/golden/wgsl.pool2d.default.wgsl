// attnc generated kernel `agent2d_pool2d3` — pool2d %3 (adaptive average over a grid)
//   schedule: one invocation per output element, 64 per workgroup
//   specialised: D = 64
//   dispatch: (B * H * (7 * 7) * 64 + 63) / 64 workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, H, N}
//   @binding(1) src: input q, read
//   @binding(2) out: `a` (pool2d %3), read_write

struct Dims {
  d_B: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn agent2d_pool2d3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= (((((u.d_B * u.d_H) * 49i) * 64i) + 63i) / 64i)) { return; }
  let lid = i32(lidx);
  let BH = u.d_B * u.d_H;
  let GH = 32i; // grid height
  let GW = 32i; // grid width
  let PH = 7i;
  let PW = 7i;
  let NX = u.d_N; // tokens of x (= GH·GW)
  let D = 64;
  let e = wg * 64 + lid;
  if (e < BH * PH * PW * D) {
    let d = e % D;
    let r = e / D;
    let t = r % (PH * PW);
    let bh = r / (PH * PW);
    let tr = t / PW;
    let tc = t - tr * PW;
    let y0 = tr * (GH / PH) + (tr * (GH % PH)) / PH;
    let y1 = (tr + 1) * (GH / PH) + ((tr + 1) * (GH % PH) + PH - 1) / PH;
    let x0 = tc * (GW / PW) + (tc * (GW % PW)) / PW;
    let x1 = (tc + 1) * (GW / PW) + ((tc + 1) * (GW % PW) + PW - 1) / PW;
    var acc = 0.0f;
    for (var y = y0; y < y1; y = y + 1) {
      for (var xx = x0; xx < x1; xx = xx + 1) { acc = acc + src[(bh * NX + y * GW + xx) * D + d]; }
    }
    out[e] = acc / f32(max((y1 - y0) * (x1 - x0), 1));
  }
}
