// attnc generated kernel `routing_attend6_route_attend` — attend %6 (normalize: keys), routed by cluster, pass 2: attention within each cluster (online softmax)
//   schedule: subgroup staging; 8 invocations × 2 query rows = 16 of one cluster's queries/workgroup;
//     the cluster's keys gathered in blocks of 4, shared across 8 subgroup lanes by broadcast
//   geometry: D = 64, Dv = 64; causal: keys stop past the block's last query
//   specialised: D = 64
//   dispatch: B * H * C * ((N + 15) / 16) workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, C, H, N}
//   @binding(1) q: input q, read, vec4 rows
//   @binding(2) k: input k, read, vec4 rows
//   @binding(3) v: input v, read, vec4 rows
//   @binding(4) out: attend %6, read_write, vec4 rows
//   @binding(5) route: cluster ranges and permutations of attend %6, read

enable subgroups;

struct Dims {
  d_B: i32,
  d_C: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> route: array<i32>;
const D4 = 16; // head dim 64 as vec4s
const DV4 = 16; // value dim 64 as vec4s
const WG = 8;
const S = 8; // subgroup lanes used
const KB = 4; // keys per block
const G = 2; // vec4 chunks of one row loaded per lane step (S / KB)

fn attn_extra(b: i32, h: i32, hk: i32, i: i32, j: i32) -> bool {
  return (j <= i);
}

fn attn_score(s: f32, b: i32, h: i32, hk: i32, i: i32, j: i32) -> f32 {
  return s;
}

fn ld4_q(row: i32, c: i32) -> vec4<f32> {
  return q[row * 16 + c];
}

fn ld4_k(row: i32, c: i32) -> vec4<f32> {
  return k[row * 16 + c];
}

fn ld4_v(row: i32, c: i32) -> vec4<f32> {
  return v[row * 16 + c];
}

fn st4_out(row: i32, c: i32, val: vec4<f32>) {
  out[row * 16 + c] = val;
}

// Keys of a cluster (positions ascending in route[kp .. kp + kn)) at positions ≤ pos.
fn keys_upto(kp: i32, kn: i32, pos: i32) -> i32 {
  var lo = 0;
  var hi = kn;
  loop {
    if (lo >= hi) { break; }
    let mid = (lo + hi) / 2;
    if (route[kp + mid] <= pos) { lo = mid + 1; } else { hi = mid; }
  }
  return lo;
}

@compute @workgroup_size(8)
fn routing_attend6_route_attend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(subgroup_invocation_id) sg_lane: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= (((u.d_B * u.d_H) * u.d_C) * ((u.d_N + 15i) / 16i))) { return; }
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
  let RPW = 16; // query slots per workgroup
  let n_blk = ((u.d_N + 15i) / 16i);
  let n_cl = u.d_C;
  let bh_cl = wg / n_blk;
  let blk = wg - bh_cl * n_blk;
  let bh = bh_cl / n_cl;
  let cl = bh_cl - bh * n_cl;
  let b = bh / H;
  let h = bh - b * H;
  let hk = h / max(H / max(Hk, 1), 1); // GQA: the shared K/V head, read in place
  let q_row0 = (b * H + h) * N;
  let kv_row0 = (b * Hk + hk) * M;
  let bkc = (b * Hk + hk) * C + cl;
  let qn = route[QR0 + 2 * bh_cl + 1]; // queries in this cluster
  let r0 = blk * RPW;
  if (r0 >= qn) { return; } // an empty block (the grid is an upper bound)
  let qp = QP0 + bh * N + route[QR0 + 2 * bh_cl]; // this cluster's query positions
  let kn = route[KR0 + 2 * bkc + 1]; // keys in this cluster
  let kp = KP0 + (b * Hk + hk) * M + route[KR0 + 2 * bkc]; // this cluster's key positions
  // causal: positions ascend, so each of the 2 row slots keeps the keys up to its last query's position
  let nk0 = select(0, keys_upto(kp, kn, route[qp + min(r0 + 0 + WG, qn) - 1]), r0 + 0 < qn);
  let nk1 = select(0, keys_upto(kp, kn, route[qp + min(r0 + 8 + WG, qn) - 1]), r0 + 8 < qn);
  let nk = max(nk0, nk1);
  let scale = 0.125f;
  let lane = i32(sg_lane) % S;
  let lk = lane % KB; // the key of the block this lane loads
  let lg = lane / KB; // the chunk group this lane loads
  let s0 = r0 + lid + 0;
  let ok0 = s0 < qn;
  let i0 = route[qp + min(s0, qn - 1)]; // original query position
  var w0 = array<vec4<f32>, 16>();
  for (var c = 0; c < D4; c = c + 1) { w0[c] = ld4_q(q_row0 + i0, c); }
  var a0 = array<vec4<f32>, 16>();
  var m0 = (-3.0e38f);
  var l0 = 0.0f;
  let s1 = r0 + lid + 8;
  let ok1 = s1 < qn;
  let i1 = route[qp + min(s1, qn - 1)]; // original query position
  var w1 = array<vec4<f32>, 16>();
  for (var c = 0; c < D4; c = c + 1) { w1[c] = ld4_q(q_row0 + i1, c); }
  var a1 = array<vec4<f32>, 16>();
  var m1 = (-3.0e38f);
  var l1 = 0.0f;
  for (var e = 0; e < nk; e = e + KB) {
    let act0 = e < nk0;
    let act1 = e < nk1;
    let jl = route[kp + min(e + lk, nk - 1)]; // the original key position this lane loads
    let krow = kv_row0 + jl;
    let j0 = subgroupBroadcast(jl, 0u);
    let j1 = subgroupBroadcast(jl, 1u);
    let j2 = subgroupBroadcast(jl, 2u);
    let j3 = subgroupBroadcast(jl, 3u);
    var s0_0 = 0.0f;
    var s0_1 = 0.0f;
    var s0_2 = 0.0f;
    var s0_3 = 0.0f;
    var s1_0 = 0.0f;
    var s1_1 = 0.0f;
    var s1_2 = 0.0f;
    var s1_3 = 0.0f;
    {
      let cc = 0 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[0], k0_0);
        s0_1 = s0_1 + dot(w0[0], k0_1);
        s0_2 = s0_2 + dot(w0[0], k0_2);
        s0_3 = s0_3 + dot(w0[0], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[0], k0_0);
        s1_1 = s1_1 + dot(w1[0], k0_1);
        s1_2 = s1_2 + dot(w1[0], k0_2);
        s1_3 = s1_3 + dot(w1[0], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[1], k1_0);
        s0_1 = s0_1 + dot(w0[1], k1_1);
        s0_2 = s0_2 + dot(w0[1], k1_2);
        s0_3 = s0_3 + dot(w0[1], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[1], k1_0);
        s1_1 = s1_1 + dot(w1[1], k1_1);
        s1_2 = s1_2 + dot(w1[1], k1_2);
        s1_3 = s1_3 + dot(w1[1], k1_3);
      }
    }
    {
      let cc = 2 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[2], k0_0);
        s0_1 = s0_1 + dot(w0[2], k0_1);
        s0_2 = s0_2 + dot(w0[2], k0_2);
        s0_3 = s0_3 + dot(w0[2], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[2], k0_0);
        s1_1 = s1_1 + dot(w1[2], k0_1);
        s1_2 = s1_2 + dot(w1[2], k0_2);
        s1_3 = s1_3 + dot(w1[2], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[3], k1_0);
        s0_1 = s0_1 + dot(w0[3], k1_1);
        s0_2 = s0_2 + dot(w0[3], k1_2);
        s0_3 = s0_3 + dot(w0[3], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[3], k1_0);
        s1_1 = s1_1 + dot(w1[3], k1_1);
        s1_2 = s1_2 + dot(w1[3], k1_2);
        s1_3 = s1_3 + dot(w1[3], k1_3);
      }
    }
    {
      let cc = 4 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[4], k0_0);
        s0_1 = s0_1 + dot(w0[4], k0_1);
        s0_2 = s0_2 + dot(w0[4], k0_2);
        s0_3 = s0_3 + dot(w0[4], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[4], k0_0);
        s1_1 = s1_1 + dot(w1[4], k0_1);
        s1_2 = s1_2 + dot(w1[4], k0_2);
        s1_3 = s1_3 + dot(w1[4], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[5], k1_0);
        s0_1 = s0_1 + dot(w0[5], k1_1);
        s0_2 = s0_2 + dot(w0[5], k1_2);
        s0_3 = s0_3 + dot(w0[5], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[5], k1_0);
        s1_1 = s1_1 + dot(w1[5], k1_1);
        s1_2 = s1_2 + dot(w1[5], k1_2);
        s1_3 = s1_3 + dot(w1[5], k1_3);
      }
    }
    {
      let cc = 6 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[6], k0_0);
        s0_1 = s0_1 + dot(w0[6], k0_1);
        s0_2 = s0_2 + dot(w0[6], k0_2);
        s0_3 = s0_3 + dot(w0[6], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[6], k0_0);
        s1_1 = s1_1 + dot(w1[6], k0_1);
        s1_2 = s1_2 + dot(w1[6], k0_2);
        s1_3 = s1_3 + dot(w1[6], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[7], k1_0);
        s0_1 = s0_1 + dot(w0[7], k1_1);
        s0_2 = s0_2 + dot(w0[7], k1_2);
        s0_3 = s0_3 + dot(w0[7], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[7], k1_0);
        s1_1 = s1_1 + dot(w1[7], k1_1);
        s1_2 = s1_2 + dot(w1[7], k1_2);
        s1_3 = s1_3 + dot(w1[7], k1_3);
      }
    }
    {
      let cc = 8 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[8], k0_0);
        s0_1 = s0_1 + dot(w0[8], k0_1);
        s0_2 = s0_2 + dot(w0[8], k0_2);
        s0_3 = s0_3 + dot(w0[8], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[8], k0_0);
        s1_1 = s1_1 + dot(w1[8], k0_1);
        s1_2 = s1_2 + dot(w1[8], k0_2);
        s1_3 = s1_3 + dot(w1[8], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[9], k1_0);
        s0_1 = s0_1 + dot(w0[9], k1_1);
        s0_2 = s0_2 + dot(w0[9], k1_2);
        s0_3 = s0_3 + dot(w0[9], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[9], k1_0);
        s1_1 = s1_1 + dot(w1[9], k1_1);
        s1_2 = s1_2 + dot(w1[9], k1_2);
        s1_3 = s1_3 + dot(w1[9], k1_3);
      }
    }
    {
      let cc = 10 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[10], k0_0);
        s0_1 = s0_1 + dot(w0[10], k0_1);
        s0_2 = s0_2 + dot(w0[10], k0_2);
        s0_3 = s0_3 + dot(w0[10], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[10], k0_0);
        s1_1 = s1_1 + dot(w1[10], k0_1);
        s1_2 = s1_2 + dot(w1[10], k0_2);
        s1_3 = s1_3 + dot(w1[10], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[11], k1_0);
        s0_1 = s0_1 + dot(w0[11], k1_1);
        s0_2 = s0_2 + dot(w0[11], k1_2);
        s0_3 = s0_3 + dot(w0[11], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[11], k1_0);
        s1_1 = s1_1 + dot(w1[11], k1_1);
        s1_2 = s1_2 + dot(w1[11], k1_2);
        s1_3 = s1_3 + dot(w1[11], k1_3);
      }
    }
    {
      let cc = 12 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[12], k0_0);
        s0_1 = s0_1 + dot(w0[12], k0_1);
        s0_2 = s0_2 + dot(w0[12], k0_2);
        s0_3 = s0_3 + dot(w0[12], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[12], k0_0);
        s1_1 = s1_1 + dot(w1[12], k0_1);
        s1_2 = s1_2 + dot(w1[12], k0_2);
        s1_3 = s1_3 + dot(w1[12], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[13], k1_0);
        s0_1 = s0_1 + dot(w0[13], k1_1);
        s0_2 = s0_2 + dot(w0[13], k1_2);
        s0_3 = s0_3 + dot(w0[13], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[13], k1_0);
        s1_1 = s1_1 + dot(w1[13], k1_1);
        s1_2 = s1_2 + dot(w1[13], k1_2);
        s1_3 = s1_3 + dot(w1[13], k1_3);
      }
    }
    {
      let cc = 14 + lg;
      let kv = ld4_k(krow, cc);
      let k0_0 = subgroupBroadcast(kv, 0u);
      let k0_1 = subgroupBroadcast(kv, 1u);
      let k0_2 = subgroupBroadcast(kv, 2u);
      let k0_3 = subgroupBroadcast(kv, 3u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[14], k0_0);
        s0_1 = s0_1 + dot(w0[14], k0_1);
        s0_2 = s0_2 + dot(w0[14], k0_2);
        s0_3 = s0_3 + dot(w0[14], k0_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[14], k0_0);
        s1_1 = s1_1 + dot(w1[14], k0_1);
        s1_2 = s1_2 + dot(w1[14], k0_2);
        s1_3 = s1_3 + dot(w1[14], k0_3);
      }
      let k1_0 = subgroupBroadcast(kv, 4u);
      let k1_1 = subgroupBroadcast(kv, 5u);
      let k1_2 = subgroupBroadcast(kv, 6u);
      let k1_3 = subgroupBroadcast(kv, 7u);
      if (act0) {
        s0_0 = s0_0 + dot(w0[15], k1_0);
        s0_1 = s0_1 + dot(w0[15], k1_1);
        s0_2 = s0_2 + dot(w0[15], k1_2);
        s0_3 = s0_3 + dot(w0[15], k1_3);
      }
      if (act1) {
        s1_0 = s1_0 + dot(w1[15], k1_0);
        s1_1 = s1_1 + dot(w1[15], k1_1);
        s1_2 = s1_2 + dot(w1[15], k1_2);
        s1_3 = s1_3 + dot(w1[15], k1_3);
      }
    }
    var p0_0 = 0.0f;
    var p0_1 = 0.0f;
    var p0_2 = 0.0f;
    var p0_3 = 0.0f;
    var p1_0 = 0.0f;
    var p1_1 = 0.0f;
    var p1_2 = 0.0f;
    var p1_3 = 0.0f;
    if (act0) {
      var x0_0 = (-3.0e38f);
      if (e + 0 < nk && ok0 && attn_extra(b, h, hk, i0, j0)) {
        let y = attn_score(s0_0 * scale, b, h, hk, i0, j0);
        if (y > -1.0e30f) { x0_0 = y; }
      }
      var x0_1 = (-3.0e38f);
      if (e + 1 < nk && ok0 && attn_extra(b, h, hk, i0, j1)) {
        let y = attn_score(s0_1 * scale, b, h, hk, i0, j1);
        if (y > -1.0e30f) { x0_1 = y; }
      }
      var x0_2 = (-3.0e38f);
      if (e + 2 < nk && ok0 && attn_extra(b, h, hk, i0, j2)) {
        let y = attn_score(s0_2 * scale, b, h, hk, i0, j2);
        if (y > -1.0e30f) { x0_2 = y; }
      }
      var x0_3 = (-3.0e38f);
      if (e + 3 < nk && ok0 && attn_extra(b, h, hk, i0, j3)) {
        let y = attn_score(s0_3 * scale, b, h, hk, i0, j3);
        if (y > -1.0e30f) { x0_3 = y; }
      }
      let mb0 = max(max(max(x0_0, x0_1), x0_2), x0_3);
      if (mb0 > m0) {
        let corr = exp2((m0 - mb0) * 1.4426950408889634f);
        l0 = l0 * corr;
        for (var c = 0; c < 16; c = c + 1) { a0[c] = a0[c] * corr; }
        m0 = mb0;
      }
      p0_0 = select(0.0f, exp2((x0_0 - m0) * 1.4426950408889634f), x0_0 > -1.0e30f);
      p0_1 = select(0.0f, exp2((x0_1 - m0) * 1.4426950408889634f), x0_1 > -1.0e30f);
      p0_2 = select(0.0f, exp2((x0_2 - m0) * 1.4426950408889634f), x0_2 > -1.0e30f);
      p0_3 = select(0.0f, exp2((x0_3 - m0) * 1.4426950408889634f), x0_3 > -1.0e30f);
      l0 = l0 + p0_0 + p0_1 + p0_2 + p0_3;
    }
    if (act1) {
      var x1_0 = (-3.0e38f);
      if (e + 0 < nk && ok1 && attn_extra(b, h, hk, i1, j0)) {
        let y = attn_score(s1_0 * scale, b, h, hk, i1, j0);
        if (y > -1.0e30f) { x1_0 = y; }
      }
      var x1_1 = (-3.0e38f);
      if (e + 1 < nk && ok1 && attn_extra(b, h, hk, i1, j1)) {
        let y = attn_score(s1_1 * scale, b, h, hk, i1, j1);
        if (y > -1.0e30f) { x1_1 = y; }
      }
      var x1_2 = (-3.0e38f);
      if (e + 2 < nk && ok1 && attn_extra(b, h, hk, i1, j2)) {
        let y = attn_score(s1_2 * scale, b, h, hk, i1, j2);
        if (y > -1.0e30f) { x1_2 = y; }
      }
      var x1_3 = (-3.0e38f);
      if (e + 3 < nk && ok1 && attn_extra(b, h, hk, i1, j3)) {
        let y = attn_score(s1_3 * scale, b, h, hk, i1, j3);
        if (y > -1.0e30f) { x1_3 = y; }
      }
      let mb1 = max(max(max(x1_0, x1_1), x1_2), x1_3);
      if (mb1 > m1) {
        let corr = exp2((m1 - mb1) * 1.4426950408889634f);
        l1 = l1 * corr;
        for (var c = 0; c < 16; c = c + 1) { a1[c] = a1[c] * corr; }
        m1 = mb1;
      }
      p1_0 = select(0.0f, exp2((x1_0 - m1) * 1.4426950408889634f), x1_0 > -1.0e30f);
      p1_1 = select(0.0f, exp2((x1_1 - m1) * 1.4426950408889634f), x1_1 > -1.0e30f);
      p1_2 = select(0.0f, exp2((x1_2 - m1) * 1.4426950408889634f), x1_2 > -1.0e30f);
      p1_3 = select(0.0f, exp2((x1_3 - m1) * 1.4426950408889634f), x1_3 > -1.0e30f);
      l1 = l1 + p1_0 + p1_1 + p1_2 + p1_3;
    }
    {
      let cc = 0 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[0] = a0[0] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[0] = a1[0] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[1] = a0[1] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[1] = a1[1] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 2 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[2] = a0[2] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[2] = a1[2] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[3] = a0[3] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[3] = a1[3] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 4 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[4] = a0[4] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[4] = a1[4] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[5] = a0[5] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[5] = a1[5] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 6 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[6] = a0[6] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[6] = a1[6] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[7] = a0[7] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[7] = a1[7] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 8 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[8] = a0[8] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[8] = a1[8] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[9] = a0[9] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[9] = a1[9] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 10 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[10] = a0[10] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[10] = a1[10] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[11] = a0[11] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[11] = a1[11] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 12 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[12] = a0[12] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[12] = a1[12] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[13] = a0[13] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[13] = a1[13] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
    {
      let cc = 14 + lg;
      let vv = ld4_v(krow, cc);
      let v0_0 = subgroupBroadcast(vv, 0u);
      let v0_1 = subgroupBroadcast(vv, 1u);
      let v0_2 = subgroupBroadcast(vv, 2u);
      let v0_3 = subgroupBroadcast(vv, 3u);
      if (act0) {
        a0[14] = a0[14] + p0_0 * v0_0 + p0_1 * v0_1 + p0_2 * v0_2 + p0_3 * v0_3;
      }
      if (act1) {
        a1[14] = a1[14] + p1_0 * v0_0 + p1_1 * v0_1 + p1_2 * v0_2 + p1_3 * v0_3;
      }
      let v1_0 = subgroupBroadcast(vv, 4u);
      let v1_1 = subgroupBroadcast(vv, 5u);
      let v1_2 = subgroupBroadcast(vv, 6u);
      let v1_3 = subgroupBroadcast(vv, 7u);
      if (act0) {
        a0[15] = a0[15] + p0_0 * v1_0 + p0_1 * v1_1 + p0_2 * v1_2 + p0_3 * v1_3;
      }
      if (act1) {
        a1[15] = a1[15] + p1_0 * v1_0 + p1_1 * v1_1 + p1_2 * v1_2 + p1_3 * v1_3;
      }
    }
  }
  if (ok0) {
    let inv = select(0.0f, 1.0f / l0, l0 > 0.0f); // a row with no allowed key is exactly 0
    for (var c = 0; c < DV4; c = c + 1) { st4_out(q_row0 + i0, c, a0[c] * inv); }
  }
  if (ok1) {
    let inv = select(0.0f, 1.0f / l1, l1 > 0.0f); // a row with no allowed key is exactly 0
    for (var c = 0; c < DV4; c = c + 1) { st4_out(q_row0 + i1, c, a1[c] * inv); }
  }
}
