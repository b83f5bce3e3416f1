// attnc/tfjs on Dawn: tfjs-webgpu tensors in, a tf.Tensor out, on tfjs's own device, no CPU
// round trip — checked against tfjs's own matMul·softmax·matMul (dense) and against the
// reference (every sample), and the overhead over prepare().encode() alone measured.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { initTfjs, shareNavigatorGpu } from '../bench/tfjs.js';
import { compile } from '../compiler/compile.js';
import '../runtime/node/dawn.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { runTfjs } from '../tfjs.js';
import { smallCase } from './helpers/samples.js';
import { compare } from './helpers/webgpu-check.js';

const setup = (async () => {
  await shareNavigatorGpu();
  const gpu = await getWebGPU();
  await initTfjs(gpu);
  const tfMod = (await import('@tensorflow/tfjs-core')) as typeof import('@tensorflow/tfjs-core') & { default?: typeof import('@tensorflow/tfjs-core') };
  return { tf: tfMod.default ?? tfMod, gpu };
})();

test.serial('dense attention on tf tensors matches tfjs\'s own matMul·softmax·matMul; the result is a webgpu tensor', async (t) => {
  const { tf } = await setup;
  const program = compile('attention d {\n  input q, k, v: f32[B, H, N, D]\n  return attend(q, k, v)\n}');
  const shape: [number, number, number, number] = [1, 2, 70, 16];
  const [q, k, v] = [1, 2, 3].map((s) => tf.randomUniform(shape, -1, 1, 'float32', s));
  const out = await runTfjs(tf, program, { q: q!, k: k!, v: v! });
  t.deepEqual(out.shape, shape);
  const theirs = tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(16))), v!));
  const [a, b] = [await out.data(), await theirs.data()];
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  t.true(max < 1e-5, `max abs diff ${max}`);
  tf.dispose([q!, k!, v!, out, theirs]);
});

for (const file of readdirSync('samples').filter((f) => f.endsWith('.attn')).sort()) {
  test.serial(`${file} on tf tensors matches the reference`, async (t) => {
    const { tf } = await setup;
    const program = compile(readFileSync(`samples/${file}`, 'utf8'));
    const graph = program.graph!;
    const { inputs, want } = smallCase(graph, 5);
    const tensors = Object.fromEntries(Object.entries(inputs).map(([n, x]) => {
      const elem = graph.nodes[graph.inputs.find((id) => graph.nodes[id]!.name === n)!]!.elem;
      return [n, elem === 'i32' ? tf.tensor(Int32Array.from(x.data), x.shape, 'int32') : tf.tensor(Float32Array.from(x.data), x.shape, 'float32')];
    }));
    const out = await runTfjs(tf, program, tensors);
    const data = await out.data();
    t.deepEqual(compare({ data: data as Float32Array, shape: out.shape }, want).bad, [], file);
    tf.dispose([...Object.values(tensors), out]);
  });
}

test.serial('the overhead of runTfjs over encode alone (logged)', async (t) => {
  const { tf, gpu } = await setup;
  const program = compile('attention d {\n  input q, k, v: f32[B, H, N, D]\n  return attend(q, k, v, mask: causal)\n}');
  const shape: [number, number, number, number] = [1, 8, 512, 64];
  const [q, k, v] = [1, 2, 3].map((s) => tf.randomUniform(shape, -1, 1, 'float32', s));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const tfjsMs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    const out = await runTfjs(tf, program, { q: q!, k: k!, v: v! });
    await gpu.device.queue.onSubmittedWorkDone();
    tfjsMs.push(performance.now() - t0);
    out.dispose();
  }
  const { prepare } = await import('../runtime/webgpu/prepare.js');
  const dims = { B: 1, H: 8, N: 512, D: 64 };
  const kernel = await prepare(program, { device: gpu.device, dims });
  const bufs = Object.fromEntries(['q', 'k', 'v', 'out'].map((n) => [n, gpu.device.createBuffer({ size: kernel.bytes(dims)[n]!, usage: 0x80 | 0x04 })]));
  const encodeMs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    const enc = gpu.device.createCommandEncoder();
    kernel.encode(enc, { q: bufs.q!, k: bufs.k!, v: bufs.v! }, { out: bufs.out! }, dims);
    gpu.device.queue.submit([enc.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    encodeMs.push(performance.now() - t0);
  }
  const [a, b] = [median(tfjsMs.slice(2)), median(encodeMs.slice(2))];
  t.log(`runTfjs ${a.toFixed(2)} ms, encode alone ${b.toFixed(2)} ms (median of 5, N = 512, H = 8, D = 64, causal): overhead ${(a - b).toFixed(2)} ms`);
  t.true(a > 0 && b > 0);
  kernel.release();
  for (const x of Object.values(bufs)) x.destroy();
  tf.dispose([q!, k!, v!]);
});
