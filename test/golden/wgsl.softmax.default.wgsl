// attnc generated kernel `streaming_attend3_softmax` — attend %3 (normalize: keys), unfused 2/3: softmax over keys
//   schedule: one workgroup of 64 invocations per query row; tree reductions in workgroup memory
//   specialised: D = 64
//   dispatch: B * H * N workgroups (linear; folded into x·y past the per-dimension limit)
//   @binding(0) u: runtime dims {B, H, N}
//   @binding(1) scores: scores of attend %3, read_write

struct Dims {
  d_B: i32,
  d_H: i32,
  d_N: i32,
}
@group(0) @binding(0) var<uniform> u: Dims;
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn streaming_attend3_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let wg = i32(wid.x + wid.y * nwg.x);
  if (wg >= ((u.d_B * u.d_H) * u.d_N)) { return; }
  let lid = i32(lidx);
  let B = u.d_B;
  let H = u.d_H;
  let N = u.d_N;
  let M = u.d_N;
  let base = wg * M; // row wg = (b·H + h)·N + i
  var part = (-3.0e38f);
  for (var j = lid; j < M; j = j + 64) { part = max(part, scores[base + j]); }
  red[lid] = part;
  workgroupBarrier();
  for (var w = 32; w > 0; w = w >> 1u) {
    if (lid < w) { red[lid] = max(red[lid], red[lid + w]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  part = 0.0f;
  for (var j = lid; j < M; j = j + 64) { let x = scores[base + j]; if (x > -1.0e30f) { part = part + exp2((x - mx) * 1.4426950408889634f); } }
  red[lid] = part;
  workgroupBarrier();
  for (var w = 32; w > 0; w = w >> 1u) {
    if (lid < w) { red[lid] = red[lid] + red[lid + w]; }
    workgroupBarrier();
  }
  let l = red[0];
  let inv = select(0.0f, 1.0f / l, l > 0.0f);
  for (var j = lid; j < M; j = j + 64) { let x = scores[base + j]; scores[base + j] = select(0.0f, exp2((x - mx) * 1.4426950408889634f) * inv, x > -1.0e30f); }
}
