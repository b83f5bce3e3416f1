// attnc generated kernel `routing_attend6_route_attend` — attend %6 (normalize: keys), routed by cluster, pass 2: attention within each cluster (online softmax)
//   schedule: workgroup staging; 64 invocations × 1 query row = 64 of one cluster's queries/workgroup;
//     the cluster's keys gathered in tiles of 16; 8256 B workgroup memory
//   geometry: D = 64, Dv = 64; causal: keys stop past the block's last query
//   specialised: D = 64
//   dispatch: B * H * C * ((N + 63) / 64) workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, C, H, N}
//   @binding(1) q: input q, read, vec4 rows
//   @binding(2) k: input k, read, vec4 rows
//   @binding(3) v: input v, read, vec4 rows
//   @binding(4) out: attend %6, read_write, vec4 rows
//   @binding(5) route: cluster ranges and permutations of attend %6, read

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
const WG = 64;
const TILE = 16;
var<workgroup> k_tile: array<vec4<f32>, 256>;
var<workgroup> v_tile: array<vec4<f32>, 256>;
var<workgroup> j_tile: array<i32, 16>;

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

@compute @workgroup_size(64)
fn routing_attend6_route_attend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= (((u.d_B * u.d_H) * u.d_C) * ((u.d_N + 63i) / 64i))) { return; }
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
  let RPW = 64; // query slots per workgroup
  let n_blk = ((u.d_N + 63i) / 64i);
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
  // causal: positions ascend, so each of the 1 row slot keeps the keys up to its last query's position
  let nk0 = select(0, keys_upto(kp, kn, route[qp + min(r0 + 0 + RPW, qn) - 1]), r0 + 0 < qn);
  let nk = nk0;
  let scale = 0.125f;
  let s0 = r0 + lid;
  let ok = s0 < qn;
  let i = route[qp + min(s0, qn - 1)]; // original query position
  var qr = array<vec4<f32>, D4>();
  for (var c = 0; c < D4; c = c + 1) { qr[c] = ld4_q(q_row0 + i, c); }
  var acc = array<vec4<f32>, DV4>();
  var m_run = (-3.0e38f);
  var l_run = 0.0f;
  for (var t0 = 0; t0 < nk; t0 = t0 + TILE) {
    let nt = min(TILE, nk - t0);
    workgroupBarrier();
    for (var x = lid; x < TILE * D4; x = x + WG) {
      let e = x / D4;
      k_tile[x] = ld4_k(kv_row0 + route[kp + min(t0 + e, nk - 1)], x - e * D4);
    }
    for (var x = lid; x < TILE * DV4; x = x + WG) {
      let e = x / DV4;
      v_tile[x] = ld4_v(kv_row0 + route[kp + min(t0 + e, nk - 1)], x - e * DV4);
    }
    for (var x = lid; x < TILE; x = x + WG) { j_tile[x] = route[kp + min(t0 + x, nk - 1)]; }
    workgroupBarrier();
    if (ok) {
      for (var e = 0; e < nt; e = e + 1) {
        let j = j_tile[e];
        var x0 = (-3.0e38f);
        if (true && attn_extra(b, h, hk, i, j)) {
          var d0 = vec4<f32>(0.0f);
          for (var c = 0; c < D4; c = c + 1) { d0 = d0 + qr[c] * k_tile[e * D4 + c]; }
          let y0 = attn_score((d0.x + d0.y + d0.z + d0.w) * scale, b, h, hk, i, j);
          if (y0 > -1.0e30f) { x0 = y0; }
        }
        let mb = x0;
        if (mb > m_run) {
          let corr = exp2((m_run - mb) * 1.4426950408889634f);
          l_run = l_run * corr;
          for (var c = 0; c < DV4; c = c + 1) { acc[c] = acc[c] * corr; }
          m_run = mb;
        }
        if (mb > -1.0e30f) {
          let p0 = select(0.0f, exp2((x0 - m_run) * 1.4426950408889634f), x0 > -1.0e30f);
          l_run = l_run + p0;
          for (var c = 0; c < DV4; c = c + 1) { acc[c] = acc[c] + p0 * v_tile[e * DV4 + c]; }
        }
      }
    }
  }
  if (ok) {
    let inv = select(0.0f, 1.0f / l_run, l_run > 0.0f); // a row with no allowed key is exactly 0
    for (var c = 0; c < DV4; c = c + 1) { st4_out(q_row0 + i, c, acc[c] * inv); }
  }
}
