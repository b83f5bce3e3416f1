// Decoding against a long cache, beside the memory floor (`npm run bench`, the decode
// table): N = 1 and 16 new queries attend, causal at the end (`causal_end`), to M cached
// keys (H = 8, D = 64, no GQA: every head reads its own K and V). Its floor is a kernel
// that only reads K and V once — each invocation sums a strided share of both into one
// vec4, so no read can be skipped — on the same device: no attention can read its cache
// faster. Both timed the same way, alternated: wall-clock of one submit to the device finishing, on
// resident buffers, after warm-ups; the ratio is the median of the per-pair ratios.

import { compile } from '../compiler/compile.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { bindWebGPU } from '../runtime/webgpu/execute.js';

export interface DecodeRow {
  N: number;
  M: number;
  /** attnc's kernels on resident inputs (wall-clock ms, median). */
  ms: number;
  /** The floor: K and V read once (wall-clock ms, median). */
  floorMs: number;
  /** floor / attnc, the median of alternated pairs: the share of the floor's speed attnc reaches. */
  ofFloor: number;
}

const SOURCE = (N: number, M: number) => `attention decode {
  input q: f32[B, H, N, D]
  input k, v: f32[B, H, M, D]
  dims  B = 1, H = 8, N = ${N}, M = ${M}, D = 64
  return attend(q, k, v, mask: causal_end)
}`;

const FLOOR_WGSL = `
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 64u;
  var acc = vec4<f32>(0.0);
  for (var e = gid.x; e < arrayLength(&k); e = e + stride) { acc = acc + k[e] + v[e]; }
  sums[gid.x] = acc;
}`;

/** Workgroups of the floor kernel: enough to keep every lane of a GPU (or lavapipe's threads) busy. */
const FLOOR_WORKGROUPS = 1024;

/** The floor: K and V (`bytes` each) read once, as a bound dispatch to time. */
function floorKernel(device: GPUDevice, bytes: number): { dispatch(): Promise<void>; release(): void } {
  const buf = (size: number) => device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const [k, v, sums] = [buf(bytes), buf(bytes), buf(FLOOR_WORKGROUPS * 64 * 16)];
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: FLOOR_WGSL }), entryPoint: 'main' } });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [k, v, sums].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return {
    async dispatch() {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(FLOOR_WORKGROUPS);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    release() {
      for (const b of [k, v, sums]) b.destroy();
    },
  };
}

/** Runs of a and b alternated: each one's median, and the median of the per-pair ratios a/b (the bench's timePair). */
export type PairTimer = (labelA: string, runA: () => Promise<unknown>, labelB: string, runB: () => Promise<unknown>) =>
  Promise<{ a: number; b: number; ratio: number }>;

/**
 * attnc's decode beside the floor for each query count, M keys, in runs alternated with the
 * floor's (the floor kernel's own time drifts by tens of per cent between minutes here):
 * ofFloor is the median of the per-pair ratios.
 */
export async function decodeRows(device: GPUDevice, queries: number[], M: number, pair: PairTimer): Promise<DecodeRow[]> {
  const rows: DecodeRow[] = [];
  for (const N of queries) {
    const graph = compile(SOURCE(N, M)).graph!;
    const dims = resolveDims(graph);
    const inputs = generateInputs(graph, dims, 1);
    const bound = await bindWebGPU(graph, inputs, dims);
    const floor = floorKernel(device, inputs.k!.data.length * 4);
    try {
      const p = await pair(`floor: K and V read once (M=${M})`, () => floor.dispatch(), `decode N=${N} M=${M}`, () => bound.dispatch());
      rows.push({ N, M, ms: p.b, floorMs: p.a, ofFloor: p.ratio });
    } finally {
      bound.release();
      floor.release();
    }
  }
  return rows;
}
