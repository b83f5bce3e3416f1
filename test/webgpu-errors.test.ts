// Loud, specific errors from the WebGPU runtime.
import test from 'ava';
import type { AttendKernel } from '../compiler/kernel.js';
import { generateInputs, resolveDims } from '../runtime/reference/index.js';
import { createWebGPU, getWebGPU } from '../runtime/webgpu/device.js';
import {
  BufferLimitError, InputError, NoAdapterError, ValidationError, WgslCompileError, executeWebGPU,
} from '../runtime/webgpu/execute.js';
import { graphOf, kernelsFor } from './helpers/webgpu-check.js';

const src = 'attention e {\n input q, k, v: f32[B, H, N, D]\n dims B = 1, H = 1, N = 16, D = 8\n return attend(q, k, v, mask: causal)\n}';

test('no adapter: says to install a Vulkan driver or use the reference backend', async (t) => {
  const fake = { requestAdapter: async () => null } as unknown as GPU;
  const err = await t.throwsAsync(createWebGPU(fake), { instanceOf: NoAdapterError });
  t.regex(err!.message, /mesa-vulkan-drivers/);
  t.regex(err!.message, /--backend reference/);
});

test('a buffer over maxStorageBufferBindingSize names the tensor, its size and the limit; nothing runs', async (t) => {
  const g = graphOf(src);
  const dims = { B: 1, H: 1, N: 6000, D: 8 };
  const inputs = generateInputs(g, dims, 1);
  const kernels = await kernelsFor(g, dims, false);
  const err = await t.throwsAsync(executeWebGPU(kernels, g, inputs, dims), { instanceOf: BufferLimitError });
  t.regex(err!.message, /scores of attend %3 needs 137\.3 MiB \(144000000 bytes\)/);
  t.regex(err!.message, /maxStorageBufferBindingSize of 128\.0 MiB/);
});

test('missing input, wrong shape, inconsistent heads', async (t) => {
  const g = graphOf(src);
  const dims = resolveDims(g, {});
  const inputs = generateInputs(g, dims, 1);
  const kernels = await kernelsFor(g, dims, true);
  const { v: _v, ...noV } = inputs;
  await t.throwsAsync(executeWebGPU(kernels, g, noV, dims), { instanceOf: InputError, message: /input v is missing/ });
  const bad = { ...inputs, k: { data: new Float32Array(2 * 16 * 8), shape: [1, 2, 16, 8] } };
  await t.throwsAsync(executeWebGPU(kernels, g, bad, dims), { instanceOf: InputError, message: /input k: axis 1 has size 2 but dim H = 1/ });
  const gqa = graphOf('attention e {\n input q: f32[B, H, N, D]\n input k, v: f32[B, Hk, N, D]\n return attend(q, k, v)\n}');
  const gd = { B: 1, H: 3, Hk: 2, N: 8, D: 8 };
  await t.throwsAsync(executeWebGPU(await kernelsFor(gqa, gd, true), gqa, generateInputs(gqa, gd, 1), gd), {
    instanceOf: InputError, message: /multiple of the key\/value heads/,
  });
});

test('WGSL that does not compile: the message and the offending line', async (t) => {
  const g = graphOf(src);
  const dims = resolveDims(g, {});
  const kernels = (await kernelsFor(g, dims, true)).map((k) => ({ ...k, name: 'loop' }));
  const err = await t.throwsAsync(executeWebGPU(kernels, g, generateInputs(g, dims, 1), dims), { instanceOf: WgslCompileError });
  t.regex(err!.message, /error at line \d+:\d+/);
  t.regex(err!.message, /\| fn loop\(/);
});

test('validation errors are caught by error scopes, never returned as data', async (t) => {
  const g = graphOf(src);
  const dims = resolveDims(g, {});
  // Declares more workgroup memory than the device grants (its recorded size stays small).
  const { caps } = await getWebGPU();
  const kernels = (await kernelsFor(g, dims, true, { ...caps, subgroups: false })).map((k) => {
    const a = k as AttendKernel;
    return { ...a, schedule: { ...a.schedule!, tile: 8192 } };
  });
  await t.throwsAsync(executeWebGPU(kernels, g, generateInputs(g, dims, 1), dims), { instanceOf: ValidationError });
});
