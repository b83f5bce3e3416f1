// attnc generated kernel `streaming_attend3_fused` — attend %3 (normalize: keys), fused online softmax
//   schedule: subgroup staging; 8 invocations × 2 query rows = 16 queries/workgroup;
//     keys streamed in tiles of 32, 4 per step, shared across 8 subgroup lanes by broadcast
//   geometry: D = 64, Dv = 64
//   specialised: D = 64
//   dispatch: B * H * ((N + 15) / 16) workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, H, N}
//   @binding(1) q: input q, read, vec4 rows
//   @binding(2) k: input k, read, vec4 rows
//   @binding(3) v: input v, read, vec4 rows
//   @binding(4) out: attend %3, read_write, vec4 rows

enable subgroups;

struct Dims {
  d_B: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
const D4 = 16; // head dim 64 as vec4s
const DV4 = 16; // value dim 64 as vec4s
const WG = 8;
const TILE = 32; // keys per tile (mask-analysis granularity)
const S = 8; // subgroup lanes used
const KB = 4; // keys per block
const G = 2; // vec4 chunks of one row loaded per lane step (S / KB)

// ALiBi slope of head h out of n heads (fairseq get_slopes): with m the largest power
// of two <= n, heads below m get 2^(-8(h+1)/m), the rest the even-indexed slopes of the
// 2m-head set, 2^(-4(2(h-m)+1)/m).
fn alibi_slope(h: i32, n: i32) -> f32 {
  let m = 1 << firstLeadingBit(u32(max(n, 1)));
  if (h < m) { return exp2(-8.0 * f32(h + 1) / f32(m)); }
  return exp2(-4.0 * f32(2 * (h - m) + 1) / f32(m));
}

fn attn_mask(b: i32, h: i32, hk: i32, i: i32, j: i32) -> bool {
  return (((j <= i) && ((i - j) < 128i)) || ((j < 4i) && (j <= i)));
}

fn attn_score(s: f32, b: i32, h: i32, hk: i32, i: i32, j: i32) -> f32 {
  return (s + (alibi_slope(h, u.d_H) * f32((j - i))));
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

@compute @workgroup_size(8)
fn streaming_attend3_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(subgroup_invocation_id) sg_lane: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((u.d_B * u.d_H) * ((u.d_N + 15i) / 16i))) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let H = u.d_H;
  let Hk = u.d_H;
  let N = u.d_N;
  let M = u.d_N;
  let RPW = 16; // queries per workgroup (8 invocations × 2 rows)
  let n_rb = ((u.d_N + 15i) / 16i);
  let bh = wg / n_rb;
  let rb = wg - bh * n_rb;
  let r0 = rb * RPW;
  let b = bh / H;
  let h = bh - b * H;
  let hk = h / max(H / max(Hk, 1), 1); // GQA: the shared K/V head, read in place
  let q_row0 = (b * H + h) * N;
  let kv_row0 = (b * Hk + hk) * M;
  let scale = 0.125f;
  let lane = i32(sg_lane) % S;
  let lk = lane % KB; // the key of the block this lane loads
  let lg = lane / KB; // the chunk group this lane loads
  let i0 = r0 + lid + 0;
  let ok0 = i0 < N;
  var w0 = array<vec4<f32>, 16>(); // the row's query vector
  for (var c = 0; c < D4; c = c + 1) { w0[c] = ld4_q(q_row0 + min(i0, N - 1), c); }
  var a0 = array<vec4<f32>, 16>();
  var m0 = (-3.0e38f);
  var l0 = 0.0f;
  let i1 = r0 + lid + 8;
  let ok1 = i1 < N;
  var w1 = array<vec4<f32>, 16>(); // the row's query vector
  for (var c = 0; c < D4; c = c + 1) { w1[c] = ld4_q(q_row0 + min(i1, N - 1), c); }
  var a1 = array<vec4<f32>, 16>();
  var m1 = (-3.0e38f);
  var l1 = 0.0f;
  let klo0 = select(1, 0, r0 + 0 < N); // slot 0's keys (none past the end)
  let khi0 = select(0, M - 1, r0 + 0 < N);
  let klo1 = select(1, 0, r0 + 8 < N); // slot 1's keys (none past the end)
  let khi1 = select(0, M - 1, r0 + 8 < N);
  let r_last = min(r0 + RPW, N) - 1;
  var r_lo = array<i32, 2>((r0 - 127i), 0i);
  var r_hi = array<i32, 2>(r_last, min(3i, r_last));
  if (r_lo[1] < r_lo[0]) { let tl = r_lo[0]; r_lo[0] = r_lo[1]; r_lo[1] = tl; let th = r_hi[0]; r_hi[0] = r_hi[1]; r_hi[1] = th; }
  var cursor = 0;
  for (var rr = 0; rr < 2; rr = rr + 1) {
    let s_lo = max(r_lo[rr], cursor);
    let s_hi = max(min(r_hi[rr], M - 1) + 1, s_lo);
    for (var t0 = s_lo; t0 < s_hi; t0 = t0 + TILE) {
      let nt = min(TILE, s_hi - t0);
      if ((((t0 > r_last) || ((r0 - (t0 + nt - 1)) >= 128i)) && ((t0 >= 4i) || (t0 > r_last)))) { continue; } // no entry of this tile is allowed
      let full = ((((t0 + nt - 1) <= r0) && ((r_last - t0) < 128i)) || (((t0 + nt - 1) < 4i) && ((t0 + nt - 1) <= r0))); // every entry allowed: skip the mask
      for (var e = 0; e < nt; e = e + KB) {
        let act0 = t0 + e <= khi0 && t0 + e + KB - 1 >= klo0 && (full || !(((((t0 + e) > (min(r0 + 0 + 7, N - 1))) || (((r0 + 0) - (t0 + e + KB - 1)) >= 128i)) && (((t0 + e) >= 4i) || ((t0 + e) > (min(r0 + 0 + 7, N - 1)))))));
        let act1 = t0 + e <= khi1 && t0 + e + KB - 1 >= klo1 && (full || !(((((t0 + e) > (min(r0 + 8 + 7, N - 1))) || (((r0 + 8) - (t0 + e + KB - 1)) >= 128i)) && (((t0 + e) >= 4i) || ((t0 + e) > (min(r0 + 8 + 7, N - 1)))))));
        let jl = kv_row0 + min(t0 + e + lk, M - 1); // the row this lane loads
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          let kv = ld4_k(jl, cc);
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
          if (e + 0 < nt && ok0 && (full || attn_mask(b, h, hk, i0, t0 + e + 0))) {
            let y = attn_score(s0_0 * scale, b, h, hk, i0, t0 + e + 0);
            if (y > -1.0e30f) { x0_0 = y; }
          }
          var x0_1 = (-3.0e38f);
          if (e + 1 < nt && ok0 && (full || attn_mask(b, h, hk, i0, t0 + e + 1))) {
            let y = attn_score(s0_1 * scale, b, h, hk, i0, t0 + e + 1);
            if (y > -1.0e30f) { x0_1 = y; }
          }
          var x0_2 = (-3.0e38f);
          if (e + 2 < nt && ok0 && (full || attn_mask(b, h, hk, i0, t0 + e + 2))) {
            let y = attn_score(s0_2 * scale, b, h, hk, i0, t0 + e + 2);
            if (y > -1.0e30f) { x0_2 = y; }
          }
          var x0_3 = (-3.0e38f);
          if (e + 3 < nt && ok0 && (full || attn_mask(b, h, hk, i0, t0 + e + 3))) {
            let y = attn_score(s0_3 * scale, b, h, hk, i0, t0 + e + 3);
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
          if (e + 0 < nt && ok1 && (full || attn_mask(b, h, hk, i1, t0 + e + 0))) {
            let y = attn_score(s1_0 * scale, b, h, hk, i1, t0 + e + 0);
            if (y > -1.0e30f) { x1_0 = y; }
          }
          var x1_1 = (-3.0e38f);
          if (e + 1 < nt && ok1 && (full || attn_mask(b, h, hk, i1, t0 + e + 1))) {
            let y = attn_score(s1_1 * scale, b, h, hk, i1, t0 + e + 1);
            if (y > -1.0e30f) { x1_1 = y; }
          }
          var x1_2 = (-3.0e38f);
          if (e + 2 < nt && ok1 && (full || attn_mask(b, h, hk, i1, t0 + e + 2))) {
            let y = attn_score(s1_2 * scale, b, h, hk, i1, t0 + e + 2);
            if (y > -1.0e30f) { x1_2 = y; }
          }
          var x1_3 = (-3.0e38f);
          if (e + 3 < nt && ok1 && (full || attn_mask(b, h, hk, i1, t0 + e + 3))) {
            let y = attn_score(s1_3 * scale, b, h, hk, i1, t0 + e + 3);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
          let vv = ld4_v(jl, cc);
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
    }
    cursor = max(cursor, s_hi);
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
