// f16 inputs (docs/language-extensions.md): an f16 input holds f16 values — every backend
// rounds what it is given to the nearest f16 — and WGSL stores them as f16 where the device
// grants `shader-f16` (half the bytes), widening as it loads. The rounding itself
// (exhaustively), the reference, the devices against it (vec4 and scalar rows, lookups,
// pool, elementwise), f16 and f32 storage giving the same answer, and the run's note; the
// conversion f16(x): its rounding on every device at every boundary, f16 results as
// attention operands and outputs (stored and read back as f16 on WebGPU).

import test from 'ava';
import { compile } from '../compiler/compile.js';
import { floatToHalf, halfOfDouble, halfToFloat, roundToF16 } from '../dsl/f16.js';
import { toF16Bits } from '../runtime/f16.js';
import { run } from '../runtime/run.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor } from '../runtime/tensor.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { executeWebGPU } from '../runtime/webgpu/execute.js';
import { devicesAgree } from './helpers/devices.js';
import { compare } from './helpers/webgpu-check.js';

test('floatToHalf: every f16 value round-trips; ties go to even; beyond 65504 to ±inf; subnormals; NaN; −0', (t) => {
  for (let h = 0; h < 0x10000; h++) {
    const x = halfToFloat(h);
    if (Number.isNaN(x)) t.true(Number.isNaN(halfToFloat(floatToHalf(x))));
    else if (floatToHalf(x) !== h) t.fail(`0x${h.toString(16)} (${x}) → 0x${floatToHalf(x).toString(16)}`);
  }
  t.is(roundToF16(1 + 2 ** -11), 1, 'halfway between 1 and 1 + 2^-10: to even (1)');
  t.is(roundToF16(1 + 3 * 2 ** -11), 1 + 2 * 2 ** -10, 'halfway between 1 + 2^-10 and 1 + 2^-9: to even');
  t.is(roundToF16(1 + 2 ** -11 + 2 ** -30), 1 + 2 ** -10, 'just above halfway: up (no double rounding through f32)');
  t.is(roundToF16(65504), 65504);
  t.is(roundToF16(65519.99), 65504);
  t.is(roundToF16(65520), Infinity);
  t.is(roundToF16(-1e6), -Infinity);
  t.is(roundToF16(2 ** -25), 0, 'half the smallest subnormal: to even (0)');
  t.is(roundToF16(3 * 2 ** -25), 2 * 2 ** -24);
  t.is(roundToF16(0.1), 0.0999755859375);
  t.true(Object.is(roundToF16(-0), -0));
  // the f32 bit path and the double path are two codes for one rule: they agree on every f32
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let checked = 0;
  for (let k = 0; k < 300000; k++) {
    u[0] = Math.imul(k, 2654435761) >>> 0;
    const x = f[0]!;
    if (Number.isNaN(x)) continue;
    checked++;
    if (floatToHalf(x) !== halfOfDouble(x)) t.fail(`${x}: f32 path 0x${floatToHalf(x).toString(16)}, double path 0x${halfOfDouble(x).toString(16)}`);
  }
  t.true(checked > 290000);
  // and the upload's branch-free path (toF16Bits over a Float32Array) is that rule too
  const xs = new Float32Array(300000);
  new Uint32Array(xs.buffer).forEach((_, k, a) => (a[k] = Math.imul(k + 7, 2246822519) >>> 0));
  const bits = toF16Bits(xs);
  let wrong = 0;
  xs.forEach((x, k) => {
    if (!Number.isNaN(x) && bits[k] !== floatToHalf(x)) wrong++;
  });
  t.is(wrong, 0);
});

test('reference: an f16 input is computed on its values rounded to f16', (t) => {
  const p = compile('attention h {\n  input x: f16[N]\n  return x * 1.0\n}');
  const out = executeReference(p.graph!, { x: tensor([4], [0.1, 1 + 2 ** -11, 70000, -3]) });
  t.deepEqual(Array.from(out.data), [0.0999755859375, 1, Infinity, -3]);
});

const PROGRAM = (D: number) => `attention half {
  input q: f16[B, H, N, D]
  input k, v: f16[B, Hk, N, D]
  input bias: f16[H, N, N]
  input w: f16[B, H, N]
  dims  B = 1, H = 4, Hk = 2, N = 37, D = ${D}
  let o = attend(q, k, v, mask: causal, score: s + bias[h, i, j])
  let p = pool(v, tokens: 5)
  return o * w + 0.5, pooled: p
}`;

for (const D of [8, 6]) {
  test(`webgpu stores f16 inputs as f16 where granted (D = ${D}: ${D % 4 ? 'scalar' : 'vec4'} rows), f32 storage gives the same; webgl agrees`, async (t) => {
    const p = compile(PROGRAM(D));
    t.true(p.ok, p.diagnostics.map((d) => d.message).join('\n'));
    const g = p.graph!;
    const dims = resolveDims(g);
    const inputs = generateInputs(g, dims, 8);
    const ref = await run(p, inputs, { backend: 'reference' });
    const { caps } = await getWebGPU();
    const sources: string[] = [];
    const half = await executeWebGPU(g, inputs, dims, { onKernel: (_k, src) => sources.push(src) });
    const wide = await executeWebGPU(g, inputs, dims, { caps: { ...caps, shaderF16: false } });
    if (caps.shaderF16) {
      t.true(sources.some((s) => s.startsWith('enable f16;') || s.includes('\nenable f16;')), 'the kernels enable f16');
      t.true(sources.some((s) => s.includes(D % 4 ? 'array<f16>' : 'array<vec4<f16>>')));
    }
    t.deepEqual(compare(half, ref.output).bad, [], 'f16 storage');
    t.deepEqual(Array.from(wide.data), Array.from(half.data), 'f32 storage: the same values, the same answer');
    const gpu = await run(p, inputs, { backend: 'webgpu' });
    t.deepEqual(compare(gpu.outputs.pooled!, ref.outputs.pooled!).bad, [], 'pool of an f16 input');
    const gl = await run(p, inputs, { backend: 'webgl' });
    t.deepEqual(compare(gl.output, ref.output).bad, [], 'webgl');
    t.regex(gl.note ?? '', /f16 tensors stored widened to f32 \(WebGL has no f16 textures here\)/);
    if (caps.shaderF16) t.is(gpu.note, undefined);
    else t.regex(gpu.note ?? '', /f16 tensors stored widened to f32 \(the device does not grant `shader-f16`\)/);
  });
}

// ---- f16(x): the conversion ----

test('checker: f16(x) of a float tensor is an f16 tensor; of a scalar, a float; not of an i32 tensor', (t) => {
  const types = (body: string) => {
    const p = compile(`attention c {\n  input x: f32[B, N]\n  input n: i32[B, N]\n  ${body}\n}`);
    return p.ok ? p.graph!.nodes[p.graph!.output]!.elem : p.diagnostics.map((d) => `${d.code} ${d.message}`);
  };
  t.is(types('return f16(x)'), 'f16');
  t.is(types('return f16(x) * 2.0'), 'f32', 'arithmetic on f16 values computes in f32');
  t.is(types('return f16(f16(x) + 1.0)'), 'f16');
  t.deepEqual(types('return f16(n)'), ['AT508 argument `x` of `f16` must be an f32 tensor, an int or a float, found i32[B, N]']);
  t.deepEqual((types('return f16(x, x)') as string[]).map((c) => c.slice(0, 5)), ['AT501']);
  const scored = compile('attention s {\n  input q, k, v: f32[B, H, N, D]\n  return attend(q, k, v, score: f16(s) + f16(0.1))\n}');
  t.true(scored.ok, scored.diagnostics.map((d) => d.message).join('\n'));
});

test('reference: f16(x) rounds to the nearest f16 once, from the float64 value', (t) => {
  const p = compile('attention c {\n  input x: f32[N]\n  return f16(x * 3.0)\n}');
  const xs = [0.1 / 3, (1 + 2 ** -11) / 3, 70000, -1e6, 2 ** -25 / 3, 1 / 3];
  const out = executeReference(p.graph!, { x: tensor([xs.length], xs) });
  t.deepEqual(Array.from(out.data), xs.map((x) => roundToF16(x * 3)));
});

// Values at every kind of f16 boundary: ties (to even, both ways), just off them, the
// subnormals, 65504 … 65520, beyond, ±0, ±inf, NaN, and many f32 bit patterns. Every
// device computes f16(x · 1.0) — an exact product — so it must round exactly as the reference.
function boundaryValues(): number[] {
  const xs: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65519, 65519.99, 65520, 65536, 1e6, -65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14, 2 ** -14 - 2 ** -25];
  for (let h = 0; h < 0x7c00; h += 37) {
    const a = halfToFloat(h);
    const b = halfToFloat(h + 1);
    const mid = (a + b) / 2; // an f32 value: the tie
    xs.push(a, -a, mid, -mid, Math.fround(mid + (b - a) * 2 ** -8), Math.fround(mid - (b - a) * 2 ** -8));
  }
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let k = 0; k < 4000; k++) {
    u[0] = Math.imul(k + 1, 2654435761) >>> 0;
    xs.push(f[0]!);
  }
  return xs.map(Math.fround);
}

test('f16(x) on webgpu (f16 storage and f32 storage) and webgl equals the reference exactly at every boundary', async (t) => {
  const p = compile('attention c {\n  input x: f32[N]\n  return f16(x * 1.0)\n}');
  const xs = boundaryValues();
  const inputs = { x: tensor([xs.length], Float32Array.from(xs)) };
  const ref = (await run(p, inputs, { backend: 'reference' })).output;
  const { caps } = await getWebGPU();
  const sources: string[] = [];
  const g = p.graph!;
  const dims = resolveDims(g, { N: xs.length });
  const outs = {
    'webgpu, f16 storage': await executeWebGPU(g, inputs, dims, { onKernel: (_k, src) => sources.push(src) }),
    'webgpu, f32 storage': await executeWebGPU(g, inputs, dims, { caps: { ...caps, shaderF16: false } }),
    webgl: (await run(p, inputs, { backend: 'webgl' })).output,
  };
  if (caps.shaderF16) t.true(sources.some((s) => s.includes('var<storage, read_write> out: array<f16>')), 'stored as f16');
  for (const [name, out] of Object.entries(outs)) {
    const wrong = xs.flatMap((x, k) => (Object.is(out.data[k], ref.data[k]) || (out.data[k] === 0 && ref.data[k] === 0) ? [] : [`f16(${x}) = ${out.data[k]}, reference ${ref.data[k]}`]));
    t.deepEqual(wrong.slice(0, 5), [], name);
  }
});

test('f16 results as attention operands and outputs: every backend agrees with the reference (an f16 output within one f16 step)', async (t) => {
  await devicesAgree(t, `attention c {
  input q, k, v: f32[B, H, N, D]
  dims  B = 1, H = 3, N = 29, D = 8
  let o = attend(f16(q * 2.0), f16(k), v, mask: j <= i + 3, score: f16(s))
  return f16(o), o2: f16(o * 3.0) - o
}`, { seed: 5 });
});

test('run(): an f16 output comes back as its f16 values on every backend', async (t) => {
  const p = compile('attention c {\n  input x: f32[N]\n  dims N = 5\n  return f16(x), plain: x * 1.0\n}');
  const x = tensor([5], [0.1, 1 + 2 ** -11, 70000, -2, 1e-6]);
  const want = [0.1, 1 + 2 ** -11, 70000, -2, 1e-6].map(roundToF16);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    const r = await run(p, { x }, { backend });
    // (WebGL may lose the sign of a zero — GLSL folds `x * 0.0` — so −0 may come back +0 there.)
    const got = Array.from(r.outputs.out0!.data);
    if (backend === 'webgl' && got[5] === 0) got[5] = 0x8000;
    t.deepEqual(got, want, backend);
  }
});

test('f16 bits: a Uint16Array for an f16 input is its f16 values on every backend (uploaded as it is where stored as f16); elsewhere AT703', async (t) => {
  const p = compile(`attention h {
  input q: f16[B, H, N, D]
  input k, v: f16[B, H, N, D]
  input w: f32[B, H, N]
  dims  B = 1, H = 1, N = 19, D = 5
  return f16(attend(q, k, v, mask: causal) * w), o: attend(q, k, v)
}`);
  t.true(p.ok, p.diagnostics.map((d) => d.message).join('\n'));
  const g = p.graph!;
  const values = generateInputs(g, resolveDims(g), 6);
  // (odd element count: the upload pads the bits to whole words)
  const bits = { ...values, q: { ...values.q!, data: toF16Bits(values.q!.data).subarray(0, values.q!.data.length) }, k: { ...values.k!, data: toF16Bits(values.k!.data).subarray(0, values.k!.data.length) } };
  t.is(bits.q.data.length % 2, 1);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    const a = await run(p, values, { backend });
    const b = await run(p, bits, { backend });
    for (const name of Object.keys(a.outputs)) t.deepEqual(Array.from(b.outputs[name]!.data), Array.from(a.outputs[name]!.data), `${backend}: ${name}`);
  }
  const f32bits = { ...values, w: { ...values.w!, data: new Uint16Array(values.w!.data.length) } };
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    await t.throwsAsync(run(p, f32bits, { backend }), { message: /AT703.*`w`.*f16 bits \(a Uint16Array\) are data for an `f16` input; `w` is f32/ }, backend);
  }
  const strided = { ...bits, q: { ...bits.q, strides: [95, 95, 5, 1] } };
  await t.throwsAsync(run(p, strided, { backend: 'webgpu' }), { message: /AT703.*f16 bits \(a Uint16Array\) are read in C order/ });
});

test("run(…, { f16Outputs: 'bits' }): f16 outputs as their bit patterns, the same on every backend; other outputs as values", async (t) => {
  const p = compile('attention c {\n  input x: f32[N]\n  dims N = 7\n  return f16(x * 3.0), plain: x * 3.0\n}');
  const x = tensor([7], [0.1, 1 + 2 ** -11, 70000, -2, 1e-6, -0, 65519]);
  const want = Array.from(toF16Bits(Float32Array.from([0.1, 1 + 2 ** -11, 70000, -2, 1e-6, -0, 65519].map((v) => roundToF16(Math.fround(v) * 3))))).slice(0, 7);
  for (const backend of ['reference', 'webgpu', 'webgl'] as const) {
    const r = await run(p, { x }, { backend, f16Outputs: 'bits' });
    t.true(r.outputs.out0!.data instanceof Uint16Array, backend);
    // (WebGL may lose the sign of a zero — GLSL folds `x * 0.0` — so −0 may come back +0 there.)
    const got = Array.from(r.outputs.out0!.data);
    if (backend === 'webgl' && got[5] === 0) got[5] = 0x8000;
    t.deepEqual(got, want, backend);
    t.true(r.outputs.plain!.data instanceof Float32Array, backend);
  }
});

test('f16(attend(…)) on WGSL: the attention kernel stores its rows rounded to f16 (f16 storage where granted), no elementwise pass; every schedule agrees with the reference', async (t) => {
  const src = (D: number) => `attention c {
  input q, k, v: f32[B, H, N, D]
  dims  B = 1, H = 2, N = 45, D = ${D}
  return f16(attend(q, k, v, mask: j <= i + 3))
}`;
  for (const D of [8, 6]) {
    const { graph: g, inputs, ref } = await devicesAgree(t, src(D), { seed: 2 });
    const dims = resolveDims(g);
    const { caps } = await getWebGPU();
    for (const [name, o] of [['default', {}], ['f32 storage', { caps: { ...caps, shaderF16: false } }], ['unfused', { fusion: false }], ['no subgroups', { caps: { ...caps, subgroups: false } }]] as const) {
      const kernels: string[] = [];
      const out = await executeWebGPU(g, inputs, dims, { ...o, onKernel: (k, s) => kernels.push(`${k.label}\n${s}`) });
      t.deepEqual(compare(out, ref.output, { f16: true }).bad, [], `D = ${D}, ${name}`);
      t.false(kernels.some((k) => k.includes('elementwise arithmetic')), `D = ${D}, ${name}: no elementwise pass`);
      t.true(kernels.some((k) => k.includes('round_f16(val.x)')), `D = ${D}, ${name}: rounded as stored`);
      if (name === 'default' && caps.shaderF16) t.true(kernels.some((k) => /var<storage, read_write> out: array<(vec4<)?f16>?>/.test(k)), 'stored as f16');
    }
  }
});
