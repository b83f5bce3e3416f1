// attnc generated kernel `routing_clusters4` — clusters %4 (nearest centroid by cosine)
//   schedule: one invocation per token, 64 per workgroup × 2 tokens, one (b, head) per workgroup; centroids shared across 8 subgroup lanes by broadcast;
//     cosine similarity in f32, ties to the lowest index
//   specialised: D = 64
//   dispatch: B * H * ((N + 127) / 128) workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, C, H, N}
//   @binding(1) src: input q, read
//   @binding(2) centroids: input centroids, read
//   @binding(3) out: `cq` (clusters %4), read_write

enable subgroups;

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
fn routing_clusters4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(subgroup_invocation_id) sg_lane: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((u.d_B * u.d_H) * ((u.d_N + 127i) / 128i))) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let HX = u.d_H;
  let N = u.d_N;
  let C = u.d_C;
  let nb = (N + 127) / 128;
  let bh = wg / nb; // b·HX + h
  let h = bh % HX;
  let lane = i32(sg_lane) % 8;
  let n0 = (wg - bh * nb) * 128 + lid + 0;
  let t0 = bh * N + min(n0, N - 1);
  var xr0 = array<vec4<f32>, D4>();
  var nx0 = 0.0f;
  for (var d = 0; d < D4; d = d + 1) { xr0[d] = ld4_src(t0, d); nx0 = nx0 + dot(xr0[d], xr0[d]); }
  var best0 = 0;
  var best_sim0 = 0.0f;
  let n1 = (wg - bh * nb) * 128 + lid + 64;
  let t1 = bh * N + min(n1, N - 1);
  var xr1 = array<vec4<f32>, D4>();
  var nx1 = 0.0f;
  for (var d = 0; d < D4; d = d + 1) { xr1[d] = ld4_src(t1, d); nx1 = nx1 + dot(xr1[d], xr1[d]); }
  var best1 = 0;
  var best_sim1 = 0.0f;
  for (var cc = 0; cc < C; cc = cc + 1) {
    var nc = 0.0f;
    var dt0 = 0.0f;
    var dt1 = 0.0f;
    {
      let d = 0 + lane;
      let m = ld4_centroids(h * C + cc, d);
      let m0 = subgroupBroadcast(m, 0u);
      nc = nc + dot(m0, m0);
      dt0 = dt0 + dot(xr0[0], m0);
      dt1 = dt1 + dot(xr1[0], m0);
      let m1 = subgroupBroadcast(m, 1u);
      nc = nc + dot(m1, m1);
      dt0 = dt0 + dot(xr0[1], m1);
      dt1 = dt1 + dot(xr1[1], m1);
      let m2 = subgroupBroadcast(m, 2u);
      nc = nc + dot(m2, m2);
      dt0 = dt0 + dot(xr0[2], m2);
      dt1 = dt1 + dot(xr1[2], m2);
      let m3 = subgroupBroadcast(m, 3u);
      nc = nc + dot(m3, m3);
      dt0 = dt0 + dot(xr0[3], m3);
      dt1 = dt1 + dot(xr1[3], m3);
      let m4 = subgroupBroadcast(m, 4u);
      nc = nc + dot(m4, m4);
      dt0 = dt0 + dot(xr0[4], m4);
      dt1 = dt1 + dot(xr1[4], m4);
      let m5 = subgroupBroadcast(m, 5u);
      nc = nc + dot(m5, m5);
      dt0 = dt0 + dot(xr0[5], m5);
      dt1 = dt1 + dot(xr1[5], m5);
      let m6 = subgroupBroadcast(m, 6u);
      nc = nc + dot(m6, m6);
      dt0 = dt0 + dot(xr0[6], m6);
      dt1 = dt1 + dot(xr1[6], m6);
      let m7 = subgroupBroadcast(m, 7u);
      nc = nc + dot(m7, m7);
      dt0 = dt0 + dot(xr0[7], m7);
      dt1 = dt1 + dot(xr1[7], m7);
    }
    {
      let d = 8 + lane;
      let m = ld4_centroids(h * C + cc, d);
      let m0 = subgroupBroadcast(m, 0u);
      nc = nc + dot(m0, m0);
      dt0 = dt0 + dot(xr0[8], m0);
      dt1 = dt1 + dot(xr1[8], m0);
      let m1 = subgroupBroadcast(m, 1u);
      nc = nc + dot(m1, m1);
      dt0 = dt0 + dot(xr0[9], m1);
      dt1 = dt1 + dot(xr1[9], m1);
      let m2 = subgroupBroadcast(m, 2u);
      nc = nc + dot(m2, m2);
      dt0 = dt0 + dot(xr0[10], m2);
      dt1 = dt1 + dot(xr1[10], m2);
      let m3 = subgroupBroadcast(m, 3u);
      nc = nc + dot(m3, m3);
      dt0 = dt0 + dot(xr0[11], m3);
      dt1 = dt1 + dot(xr1[11], m3);
      let m4 = subgroupBroadcast(m, 4u);
      nc = nc + dot(m4, m4);
      dt0 = dt0 + dot(xr0[12], m4);
      dt1 = dt1 + dot(xr1[12], m4);
      let m5 = subgroupBroadcast(m, 5u);
      nc = nc + dot(m5, m5);
      dt0 = dt0 + dot(xr0[13], m5);
      dt1 = dt1 + dot(xr1[13], m5);
      let m6 = subgroupBroadcast(m, 6u);
      nc = nc + dot(m6, m6);
      dt0 = dt0 + dot(xr0[14], m6);
      dt1 = dt1 + dot(xr1[14], m6);
      let m7 = subgroupBroadcast(m, 7u);
      nc = nc + dot(m7, m7);
      dt0 = dt0 + dot(xr0[15], m7);
      dt1 = dt1 + dot(xr1[15], m7);
    }
    let sim0 = select(0.0f, dt0 / (sqrt(nx0) * sqrt(nc)), nx0 > 0.0f && nc > 0.0f); // zero vector or centroid: 0
    if (cc == 0 || sim0 > best_sim0) { best0 = cc; best_sim0 = sim0; }
    let sim1 = select(0.0f, dt1 / (sqrt(nx1) * sqrt(nc)), nx1 > 0.0f && nc > 0.0f); // zero vector or centroid: 0
    if (cc == 0 || sim1 > best_sim1) { best1 = cc; best_sim1 = sim1; }
  }
  if (n0 < N) { out[t0] = best0; }
  if (n1 < N) { out[t1] = best1; }
}
