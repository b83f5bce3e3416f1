// attnc generated kernel `streaming_attend3_pv` — attend %3 (normalize: keys), unfused 3/3: P·V
//   schedule: workgroup staging; 64 invocations × 1 query row = 64 queries/workgroup;
//     keys streamed in tiles of 64, 1 per step; 16384 B workgroup memory
//   geometry: D = 64, Dv = 64
//   specialised: D = 64
//   dispatch: B * H * ((N + 63) / 64) workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, H, N}
//   @binding(1) scores: scores of attend %3, read
//   @binding(2) v: input v, read, vec4 rows
//   @binding(3) out: attend %3, read_write, vec4 rows

struct Dims {
  d_B: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
const D4 = 16; // head dim 64 as vec4s
const DV4 = 16; // value dim 64 as vec4s
const WG = 64;
const TILE = 64;
var<workgroup> v_tile: array<vec4<f32>, 1024>;

fn ld4_v(row: i32, c: i32) -> vec4<f32> {
  return v[row * 16 + c];
}

fn st4_out(row: i32, c: i32, val: vec4<f32>) {
  out[row * 16 + c] = val;
}

@compute @workgroup_size(64)
fn streaming_attend3_pv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((u.d_B * u.d_H) * ((u.d_N + 63i) / 64i))) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let H = u.d_H;
  let Hk = u.d_H;
  let N = u.d_N;
  let M = u.d_N;
  let RPW = 64; // queries per workgroup
  let n_rb = ((u.d_N + 63i) / 64i);
  let bh = wg / n_rb;
  let rb = wg - bh * n_rb;
  let r0 = rb * RPW;
  let b = bh / H;
  let h = bh - b * H;
  let hk = h / max(H / max(Hk, 1), 1); // GQA: the shared K/V head, read in place
  let q_row0 = (b * H + h) * N;
  let kv_row0 = (b * Hk + hk) * M;
  let i = r0 + lid;
  let row_ok = i < N;
  let rc = min(i, N - 1);
  var acc = array<vec4<f32>, DV4>();
  let r_last = min(r0 + RPW, N) - 1;
  let s_lo = 0;
  let s_hi = M;
  for (var t0 = s_lo; t0 < s_hi; t0 = t0 + TILE) {
    let nt = min(TILE, s_hi - t0);
    workgroupBarrier();
    for (var x = lid; x < TILE * DV4; x = x + WG) {
      let e = x / DV4;
      v_tile[x] = ld4_v(kv_row0 + min(t0 + e, M - 1), x - e * DV4);
    }
    workgroupBarrier();
    if (row_ok) {
      for (var e = 0; e < nt; e = e + 1) {
        let p0 = select(0.0f, scores[(q_row0 + i) * M + min(t0 + e + 0, M - 1)], e + 0 < nt);
        for (var c = 0; c < DV4; c = c + 1) { acc[c] = acc[c] + p0 * v_tile[(e + 0) * DV4 + c]; }
      }
    }
  }
  if (row_ok) {
    for (var c = 0; c < DV4; c = c + 1) { st4_out(q_row0 + i, c, acc[c]); }
  }
}
