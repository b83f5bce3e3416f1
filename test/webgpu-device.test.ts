// The WebGPU device: adapter and limits, and a trivial kernel round trip.
import test from 'ava';
import '../runtime/node/dawn.js'; // WebGPU in Node: Dawn, as the Node entry registers it
import { getWebGPU } from '../runtime/webgpu/device.js';

test('device: adapter, caps and a trivial kernel round trip', async (t) => {
  const { device, caps, description } = await getWebGPU();
  t.log(description, JSON.stringify(caps));
  t.true(caps.maxWorkgroupStorageSize >= 16384);
  t.true(caps.maxInvocationsPerWorkgroup >= 256);
  const code = `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  if (i < arrayLength(&x)) { x[i] = x[i] * 2.0 + 1.0; }
}`;
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  t.deepEqual(info.messages.map((m) => m.message), []);
  const n = 1000;
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const src = new Float32Array(n).map((_, k) => k);
  device.queue.writeBuffer(buf, 0, src);
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  buf.destroy();
  read.destroy();
  t.deepEqual(Array.from(out), Array.from({ length: n }, (_, k) => 2 * k + 1));
});
