// The page side of test/browser-modules.test.ts: tfjs-core with its webgpu backend (on the
// page's navigator.gpu) and attnc's compile + runTfjs, bundled for the browser.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { compile } from '../../index.js';
import { runTfjs } from '../../tfjs.js';

/** Run `source` on tf tensors made from `inputs` (flat arrays, shapes, element types); the output's values. */
async function tfjsRun(source: string, inputs: Record<string, { data: number[]; shape: number[]; int: boolean }>) {
  if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) return { error: 'no tfjs webgpu backend' };
  const program = compile(source);
  if (!program.ok) return { error: program.diagnostics.map((d) => d.message).join('; ') };
  const tensors = Object.fromEntries(Object.entries(inputs).map(([n, x]) => [n, tf.tensor(x.data, x.shape, x.int ? 'int32' : 'float32')]));
  const out = await runTfjs(tf, program, tensors);
  const data = Array.from(await out.data());
  tf.dispose([...Object.values(tensors), out]);
  return { data, shape: out.shape, backend: tf.getBackend() };
}

/** Import an emitted standalone module and run it on a device of the page's own. */
async function moduleRun(url: string, inputs: Record<string, { data: number[]; int: boolean }>, dims: Record<string, number>) {
  const mod = await import(/* @vite-ignore */ url);
  const gpu = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { error: 'no adapter' };
  const device = await adapter.requestDevice({ requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [] });
  try {
    const kernel = await mod.prepare({ device });
    const bytes = kernel.bytes(dims);
    const bufs: Record<string, GPUBuffer> = {};
    for (const [n, x] of Object.entries(inputs)) {
      bufs[n] = device.createBuffer({ size: Math.max(16, bytes[n]), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
      device.queue.writeBuffer(bufs[n]!, 0, x.int ? Int32Array.from(x.data) : Float32Array.from(x.data));
    }
    const size = Math.max(16, bytes.out);
    const out = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    kernel.encode(enc, bufs, { out }, dims);
    enc.copyBufferToBuffer(out, 0, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange().slice(0, bytes.out);
    kernel.release();
    return { data: Array.from(mod.output.elem === 'i32' ? new Int32Array(raw) : new Float32Array(raw)), kernels: kernel.kernels };
  } finally {
    device.destroy();
  }
}

(globalThis as unknown as { attnc: unknown }).attnc = { tfjsRun, moduleRun };
