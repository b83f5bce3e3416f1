// prepare().encode(): attnc's kernels recorded into the caller's command encoder, on the
// caller's own device (Dawn with default limits and no features, as an application would
// request it — not attnc's device) and the caller's buffers, next to a compute pass of the
// caller's own; one submit, one readback, compared with the float64 reference. Every
// refusal throws a typed error before anything is recorded (the output keeps its sentinel).
// No WebGPU globals are installed here: prepare must not need them.

import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { create } from 'webgpu';
import {
  AttncError, BufferLimitError, BufferSizeError, BufferUsageError, compile, DimsError, EncodeError,
  ForeignBufferError, MissingBufferError, prepare, type CompileResult, type PreparedProgram,
} from '../index.js';
import { executeReference, generateInputs, resolveDims } from '../runtime/reference/index.js';
import type { Tensor } from '../runtime/tensor.js';
import { BufferUsage as U, MapMode } from '../runtime/webgpu/flags.js';
import { compare } from './helpers/webgpu-check.js';

// The caller's GPU object and devices (kept referenced: Dawn needs it alive).
const gpu = create([]);
const newDevice = async (): Promise<GPUDevice> => {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (lavapipe missing?)');
  return adapter.requestDevice();
};
const deviceP = newDevice();

const sample = (name: string): CompileResult => compile(readFileSync(`samples/${name}.attn`, 'utf8'));

/** A buffer holding `data` (written at creation), with `usage`. */
function bufferWith(device: GPUDevice, data: Float32Array | Int32Array, usage: number): GPUBuffer {
  const buf = device.createBuffer({ size: Math.max(data.byteLength, 4), usage, mappedAtCreation: true });
  new (data.constructor as Float32ArrayConstructor)(buf.getMappedRange()).set(data as Float32Array);
  buf.unmap();
  return buf;
}

/** Record a copy of `src` into a new mappable buffer; after the submit, `read()` maps it. */
function copyOut(device: GPUDevice, enc: GPUCommandEncoder, src: GPUBuffer, bytes: number) {
  const staging = device.createBuffer({ size: bytes, usage: U.MAP_READ | U.COPY_DST });
  enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
  return async () => {
    await staging.mapAsync(MapMode.READ);
    const data = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return data;
  };
}

/** The caller's own kernel: y = 2·x, elementwise. */
const DOUBLE = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < arrayLength(&x)) { y[id.x] = 2.0 * x[id.x]; }
}`;

/**
 * One application frame: the caller's pass writes q = 2·x, attnc's kernels read q (and
 * the other inputs, as uploaded) and write `out`, the caller copies `out` back; one submit.
 * Compared with the reference on { q: 2·x, … }.
 */
async function frame(t: ExecutionContext, program: CompileResult, dimsOver: Record<string, number>, seed = 1): Promise<PreparedProgram> {
  t.true(program.ok, program.diagnostics.map((d) => d.message).join('; '));
  const device = await deviceP;
  const graph = program.graph!;
  const dims = resolveDims(graph, dimsOver);
  const inputs = generateInputs(graph, dims, seed);
  const x = inputs.q!;
  const want = executeReference(graph, { ...inputs, q: { data: x.data.map((e) => 2 * e), shape: x.shape } });

  const kernel = await prepare(program, { device, dims });
  const bytes = kernel.bytes(dims);
  const buffers: Record<string, GPUBuffer> = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    buffers[name] = name === 'q'
      ? device.createBuffer({ size: bytes.q!, usage: U.STORAGE })
      : bufferWith(device, tensor.data as Float32Array, U.STORAGE);
  }
  const xBuf = bufferWith(device, x.data as Float32Array, U.STORAGE);
  const out = device.createBuffer({ size: bytes.out!, usage: U.STORAGE | U.COPY_SRC });

  const module = device.createShaderModule({ code: DOUBLE });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: xBuf } }, { binding: 1, resource: { buffer: buffers.q! } }],
  });

  device.pushErrorScope('validation');
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(x.data.length / 64));
  pass.end();
  kernel.encode(enc, buffers, { out }, dims);
  const read = copyOut(device, enc, out, bytes.out!);
  device.queue.submit([enc.finish()]);
  const got = await read();
  t.is(await device.popErrorScope(), null, 'no validation error');

  const { bad, maxErr } = compare({ data: got, shape: want.shape } as Tensor, want);
  t.deepEqual(bad, [], `${graph.name} ${JSON.stringify(dims)}`);
  t.log(`${graph.name}: ${kernel.kernels.join(', ')}; max error ${maxErr.toExponential(2)}`);
  for (const b of [...Object.values(buffers), xBuf, out]) b.destroy();
  return kernel;
}

test('encode: the caller writes q in its own pass, attnc reads it, one submit; matches the reference', async (t) => {
  const kernel = await frame(t, sample('streaming'), { B: 1, H: 2, N: 77, D: 32 });
  t.deepEqual(kernel.headDims, { D: 32 });
  t.deepEqual(kernel.inputs.map((i) => `${i.name}: ${i.elem}[${i.shape}]`), ['q: f32[B,H,N,D]', 'k: f32[B,H,N,D]', 'v: f32[B,H,N,D]']);
  kernel.release();
});

test('encode: normalize: queries (column statistics in the program\'s own scratch)', async (t) => {
  (await frame(t, sample('reversed'), { B: 1, H: 2, N: 45, D: 16 })).release();
});

test('encode: agent attention (the pooled agent tokens live in the program\'s own buffers)', async (t) => {
  (await frame(t, sample('agent'), { B: 2, H: 2, N: 64, D: 16 })).release();
});

test('encode: routing (the sort\'s scratch, cluster ids of the queries written by the caller)', async (t) => {
  (await frame(t, sample('routing'), { B: 1, H: 2, N: 40, D: 16, C: 4 })).release();
});

test('encode: two shapes in one encoder, each with its own dims (no uniform is rewritten)', async (t) => {
  const device = await deviceP;
  const program = compile('attention two {\n input q, k, v: f32[B, H, N, D]\n return attend(q, k, v, mask: causal)\n}');
  const kernel = await prepare(program, { device, dims: { D: 16 } });
  const enc = device.createCommandEncoder();
  const runs = [{ B: 1, H: 2, N: 33, D: 16 }, { B: 2, H: 1, N: 70, D: 16 }].map((dims, i) => {
    const inputs = generateInputs(program.graph!, dims, 10 + i);
    const [q, k, v] = (['q', 'k', 'v'] as const).map((n) => bufferWith(device, inputs[n]!.data as Float32Array, U.STORAGE));
    const bytes = kernel.bytes(dims).out!;
    const out = device.createBuffer({ size: bytes, usage: U.STORAGE | U.COPY_SRC });
    kernel.encode(enc, { q: q!, k: k!, v: v! }, { out }, dims);
    return { want: executeReference(program.graph!, inputs), read: copyOut(device, enc, out, bytes) };
  });
  device.queue.submit([enc.finish()]);
  for (const { want, read } of runs) t.deepEqual(compare({ data: await read(), shape: want.shape } as Tensor, want).bad, []);
  kernel.release();
});

test('encode: a program that returns one of its inputs records a copy (COPY_SRC to COPY_DST)', async (t) => {
  const device = await deviceP;
  const id = compile('attention id {\n  input x: f32[B, N, D]\n  return x\n}');
  const kernel = await prepare(id, { device });
  t.deepEqual(kernel.kernels, []);
  const dims = { B: 2, N: 3, D: 4 };
  const data = Float32Array.from({ length: 24 }, (_, i) => i / 7);
  const x = bufferWith(device, data, U.COPY_SRC);
  const out = device.createBuffer({ size: 96, usage: U.COPY_DST | U.COPY_SRC });
  t.throws(() => kernel.encode(device.createCommandEncoder(), { x }, { out: device.createBuffer({ size: 96, usage: U.STORAGE }) }, dims), {
    instanceOf: BufferUsageError, message: /output out: the buffer lacks GPUBufferUsage\.COPY_DST/,
  });
  const enc = device.createCommandEncoder();
  kernel.encode(enc, { x }, { out }, dims);
  const read = copyOut(device, enc, out, 96);
  device.queue.submit([enc.finish()]);
  t.deepEqual(await read(), data);
  kernel.release();
});

// ---- refusals: typed, named, and before anything is recorded ----

const causal = compile('attention c {\n input q, k, v: f32[B, H, N, D]\n dims B = 1, H = 2, N = 16, D = 8\n return attend(q, k, v, mask: causal)\n}');
const gqa = compile('attention g {\n input q: f32[B, H, N, D]\n input k, v: f32[B, Hk, N, D]\n return attend(q, k, v)\n}');
const DIMS = { B: 1, H: 2, N: 16, D: 8 };
const BYTES = 4 * 2 * 16 * 8;

async function setup() {
  const device = await deviceP;
  const kernel = await prepare(causal, { device });
  const buf = (usage: number = U.STORAGE, size = BYTES) => device.createBuffer({ size, usage });
  return { device, kernel, buf, q: buf(), k: buf(), v: buf() };
}

/**
 * `attempt` (given an encoder) must throw `instanceOf` with `message`; the encoder then
 * finishes valid and the sentinel output of the caller is untouched: nothing was recorded.
 */
async function refused(
  t: ExecutionContext, device: GPUDevice, attempt: (enc: GPUCommandEncoder, out: GPUBuffer) => void,
  expected: { instanceOf: new (...a: never[]) => Error; message: RegExp },
): Promise<Error | undefined> {
  const sentinel = new Float32Array(BYTES / 4).fill(7);
  const out = bufferWith(device, sentinel, U.STORAGE | U.COPY_SRC);
  const enc = device.createCommandEncoder();
  const err = t.throws(() => attempt(enc, out), expected);
  device.pushErrorScope('validation');
  const read = copyOut(device, enc, out, BYTES);
  device.queue.submit([enc.finish()]);
  const after = await read();
  t.is(await device.popErrorScope(), null);
  t.true(after.every((x) => x === 7), 'the output was not written');
  return err;
}

test('refused: a buffer too small for the shapes names the input, its size and the buffer\'s', async (t) => {
  const { device, kernel, buf, q, v } = await setup();
  const err = await refused(t, device, (enc, out) => kernel.encode(enc, { q, k: buf(U.STORAGE, BYTES - 4), v }, { out }, DIMS), {
    instanceOf: BufferSizeError, message: /input k of shape \[1, 2, 16, 8\] needs 1\.0 KiB \(1024 bytes\), but its buffer holds 1020 B \(1020 bytes\)/,
  });
  t.is((err as BufferSizeError).binding, 'input k');
  // The output too, and larger dims than the buffers were made for.
  await refused(t, device, (enc) => kernel.encode(enc, { q, k: q, v }, { out: buf(U.STORAGE, 64) }, DIMS), {
    instanceOf: BufferSizeError, message: /output out of shape \[1, 2, 16, 8\] needs 1024 bytes|output out .* needs 1\.0 KiB/,
  });
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k: q, v }, { out }, { ...DIMS, N: 17 }), {
    instanceOf: BufferSizeError, message: /input q of shape \[1, 2, 17, 8\] needs/,
  });
});

test('refused: missing usage flags (STORAGE on inputs and on the output)', async (t) => {
  const { device, kernel, buf, q, k } = await setup();
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k, v: buf(U.COPY_DST | U.MAP_READ) }, { out }, DIMS), {
    instanceOf: BufferUsageError, message: /input v: the buffer lacks GPUBufferUsage\.STORAGE \(its usage is MAP_READ \| COPY_DST\)/,
  });
  await refused(t, device, (enc) => kernel.encode(enc, { q, k, v: k }, { out: buf(U.COPY_SRC | U.COPY_DST) }, DIMS), {
    instanceOf: BufferUsageError, message: /output out: the buffer lacks GPUBufferUsage\.STORAGE/,
  });
});

test('refused: missing and unknown inputs and outputs, the output aliasing an input, not a buffer', async (t) => {
  const { device, kernel, q, k, v } = await setup();
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k } as never, { out }, DIMS), {
    instanceOf: MissingBufferError, message: /no buffer given for input v \(shape \[1, 2, 16, 8\], 1024 bytes\)/,
  });
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k, v, kk: k } as never, { out }, DIMS), {
    instanceOf: MissingBufferError, message: /unknown input `kk`: the inputs of `c` are q, k, v/,
  });
  await refused(t, device, (enc) => kernel.encode(enc, { q, k, v }, {} as never, DIMS), {
    instanceOf: MissingBufferError, message: /no buffer given for output out/,
  });
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k, v }, { output: out } as never, DIMS), {
    instanceOf: MissingBufferError, message: /unknown output `output`/,
  });
  await refused(t, device, (enc) => kernel.encode(enc, { q, k, v }, { out: q }, DIMS), {
    instanceOf: EncodeError, message: /the output buffer is also the buffer of input q/,
  });
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k, v: new Float32Array(256) as never }, { out }, DIMS), {
    instanceOf: MissingBufferError, message: /input v is not a GPUBuffer/,
  });
});

test('refused: dims missing, unknown, not sizes, or other head dims than prepared', async (t) => {
  const { device, kernel, q, k, v } = await setup();
  const call = (dims: Record<string, number>) => (enc: GPUCommandEncoder, out: GPUBuffer) => kernel.encode(enc, { q, k, v }, { out }, dims);
  await refused(t, device, call({ B: 1, H: 2, D: 8 }), { instanceOf: DimsError, message: /no value for dim `N` \(it sizes axis 2 of input q\)/ });
  await refused(t, device, call({ ...DIMS, M: 16 }), { instanceOf: DimsError, message: /unknown dim `M`: the dims of `c` are/ });
  await refused(t, device, call({ ...DIMS, N: 15.5 }), { instanceOf: DimsError, message: /dim `N` must be a size/ });
  await refused(t, device, call({ ...DIMS, D: 4 }), {
    instanceOf: DimsError, message: /dim `D` is 4, but the kernels were prepared for D = 8 .*prepare\(program, \{ device, dims: \{ D: 4 \} \}\)/,
  });
  t.throws(() => kernel.encode(device.createCommandEncoder(), { q, k, v }, { out: q }, undefined as never), { instanceOf: DimsError });
});

test('refused: shapes an operation cannot take, as run() reports them (GQA heads)', async (t) => {
  const device = await deviceP;
  await t.throwsAsync(prepare(gqa, { device }), { instanceOf: DimsError, message: /prepare needs a value for head dim `D`/ });
  const kernel = await prepare(gqa, { device, dims: { D: 8 } });
  const dims = { B: 1, H: 3, Hk: 2, N: 16, D: 8 };
  const b = (n: number) => device.createBuffer({ size: 4 * n * 16 * 8, usage: U.STORAGE });
  await refused(t, device, (enc, out) => kernel.encode(enc, { q: b(3), k: b(2), v: b(2) }, { out }, dims), {
    instanceOf: AttncError, message: /query heads H = 3 must be a multiple of the key\/value heads Hk = 2/,
  });
  kernel.release();
});

test('refused: an intermediate over maxStorageBufferBindingSize names it, its size and the limit', async (t) => {
  const device = await deviceP;
  // Unfused: the scores B·H·N·N f32 (3 · 4096² · 4 bytes = 192 MiB) pass the default 128 MiB.
  const kernel = await prepare(causal, { device, fusion: false });
  const dims = { B: 1, H: 3, N: 4096, D: 8 };
  const bytes = 4 * 3 * 4096 * 8;
  const b = () => device.createBuffer({ size: bytes, usage: U.STORAGE });
  const err = t.throws(() => kernel.encode(device.createCommandEncoder(), { q: b(), k: b(), v: b() }, { out: b() }, dims), { instanceOf: BufferLimitError });
  t.regex(err!.message, /scores of attend %\d+ needs 192\.0 MiB \(201326592 bytes\), over this device's maxStorageBufferBindingSize of 128\.0 MiB/);
  kernel.release();
});

test('validate(): a buffer of another device is named; encode after release is refused', async (t) => {
  const { device, kernel, q, k, v, buf } = await setup();
  const other = await newDevice();
  const foreign = other.createBuffer({ size: BYTES, usage: U.STORAGE });
  await kernel.validate({ q, k, v }, { out: buf() }, DIMS);
  const err = await t.throwsAsync(kernel.validate({ q, k: foreign, v }, { out: buf() }, DIMS), { instanceOf: ForeignBufferError });
  t.regex(err!.message, /^input k: the buffer cannot be used with the device the program was prepared for/);
  // validate runs encode's checks too
  await t.throwsAsync(kernel.validate({ q, k, v: buf(U.COPY_DST) }, { out: buf() }, DIMS), { instanceOf: BufferUsageError });
  kernel.release();
  await refused(t, device, (enc, out) => kernel.encode(enc, { q, k, v }, { out }, DIMS), { instanceOf: EncodeError, message: /was released/ });
  other.destroy();
});

test('samples/encode.mjs, the README\'s example (through the built package), matches the reference', async (t) => {
  // Imports `attnc` by name: the package's Node entry in dist/ (npm test builds it first).
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['samples/encode.mjs'], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^streaming: streaming_attend3_fused on \[1,4,256,64\]; worst error \d+\.\d+% of the tolerance/);
});

test('encode reads q, k, v in place from one packed [B, N, (H + 2·Hk)·D] projection, and [B, N, H, D] buffers', async (t) => {
  const device = await deviceP;
  const program = compile(`attention p {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, N, D]
  return attend(q, k, v, mask: causal)
}`);
  t.true(program.ok);
  const graph = program.graph!;
  const [B, H, Hk, N, D] = [2, 4, 2, 37, 8];
  const dims = { B, H, Hk, N, D };
  const W = (H + 2 * Hk) * D;
  const packed = Float32Array.from({ length: B * N * W }, (_, e) => Math.sin(e * 0.37));
  const { packedQKV } = await import('../runtime/views.js');
  const want = executeReference(graph, packedQKV(packed, { B, N, H, Hk, D }));
  const read = async (kernel: PreparedProgram, inputs: Record<string, GPUBuffer>) => {
    const out = device.createBuffer({ size: kernel.bytes(dims).out!, usage: U.STORAGE | U.COPY_SRC });
    const enc = device.createCommandEncoder();
    kernel.encode(enc, inputs, { out }, dims);
    const got = copyOut(device, enc, out, kernel.bytes(dims).out!);
    device.queue.submit([enc.finish()]);
    return { data: await got(), shape: want.shape };
  };
  const qkv = await prepare(program, { device, dims, layouts: { q: 'qkv', k: 'qkv', v: 'qkv' } });
  t.is(qkv.bytes(dims).q, packed.byteLength, 'each slice is bound to the whole projection');
  const one = bufferWith(device, packed, U.STORAGE);
  t.deepEqual(compare(await read(qkv, { q: one, k: one, v: one }), want).bad, []);
  // The same data as three [B, N, H, D] buffers.
  const slice = (at: number, heads: number) => {
    const out = new Float32Array(B * N * heads * D);
    for (let r = 0; r < B * N; r++) out.set(packed.subarray(r * W + at, r * W + at + heads * D), r * heads * D);
    return bufferWith(device, out, U.STORAGE);
  };
  const bnhd = await prepare(program, { device, dims, layouts: { q: 'bnhd', k: 'bnhd', v: 'bnhd' } });
  t.deepEqual(compare(await read(bnhd, { q: slice(0, H), k: slice(H * D, Hk), v: slice((H + Hk) * D, Hk) }), want).bad, []);
  // Packed in, [B, N, H·D] out: the output written in place as the next projection reads it.
  const both = await prepare(program, { device, dims, layouts: { q: 'qkv', k: 'qkv', v: 'qkv' }, outputLayout: 'bnhd' });
  const got = await read(both, { q: one, k: one, v: one });
  const back = new Float32Array(got.data.length); // [B, N, H, D] → [B, H, N, D]
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let n = 0; n < N; n++) {
    back.set(got.data.subarray(((b * N + n) * H + h) * D, ((b * N + n) * H + h + 1) * D), ((b * H + h) * N + n) * D);
  }
  t.deepEqual(compare({ data: back, shape: want.shape }, want).bad, []);
  t.false(compare(got, want).bad.length === 0, 'the layout really changed where rows land');
  // A buffer too small for the packed projection is refused by name before recording.
  t.throws(() => qkv.encode(device.createCommandEncoder(), { q: one, k: one, v: slice(0, 1) }, { out: one }, dims), { instanceOf: BufferSizeError, message: /input v/ });
  await t.throwsAsync(prepare(program, { device, dims, layouts: { x: 'bnhd' } as never }), { instanceOf: EncodeError, message: /not an input/ });
});
