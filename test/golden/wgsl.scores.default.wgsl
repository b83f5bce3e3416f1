// attnc generated kernel `streaming_attend3_scores` — attend %3 (normalize: keys), unfused 1/3: masked scores
//   schedule: workgroup staging; 64 invocations × 1 key row = 64 keys/workgroup;
//     queries streamed in tiles of 64, 1 per step; 16384 B workgroup memory
//   geometry: D = 64, Dv = 64
//   specialised: D = 64
//   dispatch: B * H * ((N + 63) / 64) workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, H, N}
//   @binding(1) q: input q, read, vec4 rows
//   @binding(2) k: input k, read, vec4 rows
//   @binding(3) scores: scores of attend %3, read_write

struct Dims {
  d_B: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
const D4 = 16; // head dim 64 as vec4s
const DV4 = 16; // value dim 64 as vec4s
const WG = 64;
const TILE = 64;
var<workgroup> q_tile: array<vec4<f32>, 1024>;

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

@compute @workgroup_size(64)
fn streaming_attend3_scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((u.d_B * u.d_H) * ((u.d_N + 63i) / 64i))) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let H = u.d_H;
  let Hk = u.d_H;
  let N = u.d_N;
  let M = u.d_N;
  let RPW = 64; // keys per workgroup
  let n_rb = ((u.d_N + 63i) / 64i);
  let bh = wg / n_rb;
  let rb = wg - bh * n_rb;
  let r0 = rb * RPW;
  let b = bh / H;
  let h = bh - b * H;
  let hk = h / max(H / max(Hk, 1), 1); // GQA: the shared K/V head, read in place
  let q_row0 = (b * H + h) * N;
  let kv_row0 = (b * Hk + hk) * M;
  let j = r0 + lid;
  let row_ok = j < M;
  let rc = min(j, M - 1);
  let scale = 0.125f;
  var kr = array<vec4<f32>, D4>();
  for (var c = 0; c < D4; c = c + 1) { kr[c] = ld4_k(kv_row0 + rc, c); }
  let r_last = min(r0 + RPW, M) - 1;
  let s_lo = 0;
  let s_hi = N;
  for (var t0 = s_lo; t0 < s_hi; t0 = t0 + TILE) {
    let nt = min(TILE, s_hi - t0);
    let full = (((r_last <= t0) && (((t0 + nt - 1) - r0) < 128i)) || ((r_last < 4i) && (r_last <= t0))); // every entry allowed: skip the mask
    workgroupBarrier();
    for (var x = lid; x < TILE * D4; x = x + WG) {
      let e = x / D4;
      q_tile[x] = ld4_q(q_row0 + min(t0 + e, N - 1), x - e * D4);
    }
    workgroupBarrier();
    if (row_ok) {
      for (var e = 0; e < nt; e = e + 1) {
        let i0 = t0 + e + 0;
        var x0 = (-3.0e38f);
        if (e + 0 < nt && (full || attn_mask(b, h, hk, i0, j))) {
          var d0 = vec4<f32>(0.0f);
          for (var c = 0; c < D4; c = c + 1) { d0 = d0 + kr[c] * q_tile[(e + 0) * D4 + c]; }
          let y0 = attn_score((d0.x + d0.y + d0.z + d0.w) * scale, b, h, hk, i0, j);
          if (y0 > -1.0e30f) { x0 = y0; }
        }
        if (e + 0 < nt) { scores[(q_row0 + i0) * M + j] = x0; }
      }
    }
  }
  if (row_ok) {
  }
}
