// attnc generated kernel `routing_clusters4` — clusters %4 (nearest centroid by cosine)
//   schedule: one invocation per token, 64 per workgroup;
//     cosine similarity in f32, ties to the lowest index
//   specialised: D = 64
//   dispatch: (B * H * N + 63) / 64 workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, C, H, N}
//   @binding(1) src: input q, read
//   @binding(2) centroids: input centroids, read
//   @binding(3) out: `cq` (clusters %4), read_write

struct Dims {
  d_B: i32,
  d_C: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> centroids: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;
const D4 = 16; // head dim 64 as vec4s

fn ld4_src(row: i32, c: i32) -> vec4<f32> {
  let o = row * 64 + 4 * c;
  var r4 = vec4<f32>(0.0f);
  for (var t = 0; t < 4; t = t + 1) { if (4 * c + t < 64) { r4[t] = src[o + t]; } }
  return r4;
}

fn ld4_centroids(row: i32, c: i32) -> vec4<f32> {
  let o = row * 64 + 4 * c;
  var r4 = vec4<f32>(0.0f);
  for (var t = 0; t < 4; t = t + 1) { if (4 * c + t < 64) { r4[t] = centroids[o + t]; } }
  return r4;
}

@compute @workgroup_size(64)
fn routing_clusters4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((((u.d_B * u.d_H) * u.d_N) + 63i) / 64i)) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let HX = u.d_H;
  let N = u.d_N;
  let C = u.d_C;
  let t = wg * 64 + lid; // (b·HX + h)·N + n
  if (t < B * HX * N) {
    let h = (t / N) % HX;
    var xr = array<vec4<f32>, D4>();
    var nx = 0.0f;
    for (var d = 0; d < D4; d = d + 1) { xr[d] = ld4_src(t, d); nx = nx + dot(xr[d], xr[d]); }
    var best = 0;
    var best_sim = 0.0f;
    for (var cc = 0; cc < C; cc = cc + 1) {
      var dt = 0.0f;
      var nc = 0.0f;
      for (var d = 0; d < D4; d = d + 1) { let m = ld4_centroids(h * C + cc, d); dt = dt + dot(xr[d], m); nc = nc + dot(m, m); }
      let sim = select(0.0f, dt / (sqrt(nx) * sqrt(nc)), nx > 0.0f && nc > 0.0f); // zero vector or centroid: 0
      if (cc == 0 || sim > best_sim) { best = cc; best_sim = sim; }
    }
    out[t] = best;
  }
}
