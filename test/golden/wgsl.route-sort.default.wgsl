// attnc generated kernel `routing_attend6_route_sort` — attend %6 (normalize: keys), routed by cluster, pass 1: stable counting sort of queries and keys by cluster
//   schedule: one invocation per (b, head, cluster), queries then keys, 8 per workgroup;
//     two in-order scans of the head's cluster ids (stable counting sort)
//   specialised: D = 64
//   dispatch: (B * (H + H) * C + 7) / 8 workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, C, H, N}
//   @binding(1) qids: cluster ids `cq` (clusters %4), read
//   @binding(2) kids: cluster ids `ck` (clusters %5), read
//   @binding(3) route: cluster ranges and permutations of attend %6, read_write

struct Dims {
  d_B: i32,
  d_C: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> qids: array<i32>;
@group(0) @binding(2) var<storage, read> kids: array<i32>;
@group(0) @binding(3) var<storage, read_write> route: array<i32>;

@compute @workgroup_size(8)
fn routing_attend6_route_sort(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((((u.d_B * (u.d_H + u.d_H)) * u.d_C) + 7i) / 8i)) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let H = u.d_H;
  let Hk = u.d_H;
  let N = u.d_N;
  let M = u.d_N;
  let C = u.d_C;
  let QR0 = 0; // query ranges: (start, count) per (b, h, cluster)
  let KR0 = 2 * B * H * C; // key ranges: (start, count) per (b, hk, cluster)
  let QP0 = KR0 + 2 * B * Hk * C; // query permutation, per (b, h): N positions
  let KP0 = QP0 + B * H * N; // key permutation, per (b, hk): M positions
  let t = wg * 8 + lid;
  let nq = B * H * C;
  if (t < nq + B * Hk * C) {
    let is_q = t < nq;
    let u = select(t - nq, t, is_q); // (b·heads + head)·C + cluster
    let cl = u % C;
    let bh = u / C;
    let len = select(M, N, is_q);
    let ranges = select(KR0, QR0, is_q) + 2 * u;
    let ids0 = bh * len;
    var below = 0;
    var count = 0;
    for (var p = 0; p < len; p = p + 1) {
      var x = 0;
      if (is_q) { x = qids[ids0 + p]; } else { x = kids[ids0 + p]; }
      if (x >= 0 && x < cl) { below = below + 1; }
      if (x == cl) { count = count + 1; }
    }
    route[ranges] = below;
    route[ranges + 1] = count;
    var w = select(KP0, QP0, is_q) + ids0 + below;
    for (var p = 0; p < len; p = p + 1) {
      var x = 0;
      if (is_q) { x = qids[ids0 + p]; } else { x = kids[ids0 + p]; }
      if (x == cl) { route[w] = p; w = w + 1; }
    }
  }
}
