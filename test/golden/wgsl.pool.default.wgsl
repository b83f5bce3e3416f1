// attnc generated kernel `agent_pool3` — pool %3 (adaptive average over the sequence)
//   schedule: one invocation per output element, 64 per workgroup
//   specialised: D = 64
//   dispatch: (B * H * 49 * 64 + 63) / 64 workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, H, N}
//   @binding(1) src: input q, read
//   @binding(2) out: `a` (pool %3), read_write

struct Dims {
  d_B: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn agent_pool3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= (((((u.d_B * u.d_H) * 49i) * 64i) + 63i) / 64i)) { return; }
  let lid = i32(lidx);
  let BH = u.d_B * u.d_H;
  let N = u.d_N;
  let T = 49i;
  let D = 64;
  let e = wg * 64 + lid;
  if (e < BH * T * D) {
    let d = e % D;
    let r = e / D;
    let t = r % T;
    let bh = r / T;
    let n0 = t * (N / T) + (t * (N % T)) / T;
    let n1 = (t + 1) * (N / T) + ((t + 1) * (N % T) + T - 1) / T;
    var acc = 0.0f;
    for (var n = n0; n < n1; n = n + 1) { acc = acc + src[(bh * N + n) * D + d]; }
    out[e] = acc / f32(max(n1 - n0, 1));
  }
}
