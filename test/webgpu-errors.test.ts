// Loud, specific errors from the WebGPU runtime.
import test from 'ava';
import type { AttendKernel } from '../compiler/kernel.js';
import { generateInputs, resolveDims } from '../runtime/reference/index.js';
import { createWebGPU, getWebGPU } from '../runtime/webgpu/device.js';
import {
  BufferLimitError, NoAdapterError, ValidationError, WgslCompileError,
} from '../runtime/webgpu/execute.js';
import { executeKernels, graphOf, kernelsFor } from './helpers/webgpu-check.js';
import { AttncError } from '../dsl/diagnostics.js';

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
  const err = await t.throwsAsync(executeKernels(kernels, g, inputs, dims), { instanceOf: BufferLimitError });
  t.regex(err!.message, /scores of attend %3 needs 137\.3 MiB \(144000000 bytes\)/);
  t.regex(err!.message, /maxStorageBufferBindingSize of 128\.0 MiB/);
});

test('missing input, wrong shape, inconsistent heads', async (t) => {
  const g = graphOf(src);
  const dims = resolveDims(g, {});
  const inputs = generateInputs(g, dims, 1);
  const kernels = await kernelsFor(g, dims, true);
  const { v: _v, ...noV } = inputs;
  // The shared runtime checks (runtime/validate.ts) report these with the reference's codes.
  await t.throwsAsync(executeKernels(kernels, g, noV, dims), { instanceOf: AttncError, message: /AT703: input `v`: no tensor given/ });
  const bad = { ...inputs, k: { data: new Float32Array(2 * 16 * 8), shape: [1, 2, 16, 8] } };
  await t.throwsAsync(executeKernels(kernels, g, bad, dims), { instanceOf: AttncError, message: /AT703: input `k`: expected shape \[1, 1, 16, 8\] under the bound dims, found \[1, 2, 16, 8\]/ });
  const gqa = graphOf('attention e {\n input q: f32[B, H, N, D]\n input k, v: f32[B, Hk, N, D]\n return attend(q, k, v)\n}');
  const gd = { B: 1, H: 3, Hk: 2, N: 8, D: 8 };
  await t.throwsAsync(executeKernels(await kernelsFor(gqa, gd, true), gqa, generateInputs(gqa, gd, 1), gd), {
    instanceOf: AttncError, message: /AT709: .*multiple of the key\/value heads/,
  });
});

test('WGSL that does not compile: the message and the offending line', async (t) => {
  const g = graphOf(src);
  const dims = resolveDims(g, {});
  const kernels = (await kernelsFor(g, dims, true)).map((k) => ({ ...k, name: 'loop' }));
  const err = await t.throwsAsync(executeKernels(kernels, g, generateInputs(g, dims, 1), dims), { instanceOf: WgslCompileError });
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
  await t.throwsAsync(executeKernels(kernels, g, generateInputs(g, dims, 1), dims), { instanceOf: ValidationError });
});

test('empty axes: no keys gives zeros, no queries gives an empty tensor', async (t) => {
  const g = graphOf('attention e {\n input q: f32[B, H, N, D]\n input k, v: f32[B, H, M, D]\n return attend(q, k, v)\n}');
  for (const [N, M] of [[5, 0], [0, 5]]) {
    const dims = { B: 1, H: 2, N: N!, M: M!, D: 8 };
    const out = await executeKernels(await kernelsFor(g, dims, true), g, generateInputs(g, dims, 1), dims);
    t.deepEqual(out.shape, [1, 2, N, 8]);
    t.true(Array.from(out.data).every((x) => x === 0));
  }
});

test('every kernel kind, under every schedule, compiles without errors or warnings', async (t) => {
  const { device, caps } = await getWebGPU();
  const programs = [
    'attention a {\n input q, k, v: f32[B, H, N, D]\n input bias: f32[H, T]\n return attend(q, k, v, mask: causal, score: s + bias[h, i - j + N])\n}',
    'attention a {\n input q, k: f32[B, H, N, D]\n input v: f32[B, H, N, Dv]\n return attend(q, k, v, mask: sliding(8) || sink(2), normalize: queries)\n}',
    'attention a {\n input x: f32[B, H, N, D]\n input c: f32[H, C, D]\n let p = pool(x, tokens: 5)\n let p2 = pool2d(x, height: 4, width: 5, to: [2, 3])\n let cl = clusters(x, c)\n return attend(p, p2, p2, mask: cl[b, h, i] == cl[b, h, j])\n}',
  ];
  const capsList = [caps, { ...caps, subgroups: false }, { ...caps, subgroups: false, maxWorkgroupStorageSize: 1024 }];
  const { renderWgsl } = await import('../targets/wgsl/index.js');
  let n = 0;
  for (const p of programs) {
    const g = graphOf(p);
    for (const c of capsList) {
      for (const fusion of [true, false]) {
        for (const D of [8, 6]) {
          const dims = { B: 1, H: 2, Hk: 1, N: 20, M: 20, D, Dv: D + 4, T: 40, C: 3 };
          for (const k of await kernelsFor(g, dims, fusion, c)) {
            const info = await device.createShaderModule({ code: renderWgsl(k) }).getCompilationInfo();
            t.deepEqual(info.messages.map((m) => `${k.name}: ${m.type} ${m.message}`), []);
            n++;
          }
        }
      }
    }
  }
  t.log(`${n} kernels`);
});
