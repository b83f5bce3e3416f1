// bind(): a program bound to inputs that stay on the device, run again and again. Every
// read must equal the reference (the inputs are not consumed or overwritten by a run), and
// a bound program must fail loudly after release and on bad input, like run().
import test from 'ava';
import '../runtime/node/dawn.js'; // WebGPU in Node: Dawn, as the Node entry registers it
import { compile } from '../compiler/compile.js';
import { AttncError } from '../dsl/diagnostics.js';
import { executeReference, generateInputs, resolveDims } from '../runtime/reference/index.js';
import { bind, run } from '../runtime/run.js';
import { getWebGPU, InputError } from '../runtime/webgpu/execute.js';
import { close } from './helpers/tolerance.js';

const program = compile(`
attention sliding_gqa {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims B = 1, H = 4, Hk = 2, N = 77, M = 77, D = 16
  return attend(q, k, v, mask: sliding(9) || sink(2))
}`);

test('bind: every dispatch and read on resident inputs gives the reference result', async (t) => {
  t.true(program.ok);
  const dims = resolveDims(program.graph!, {});
  const inputs = generateInputs(program.graph!, dims, 3);
  const want = executeReference(program.graph!, inputs);
  const bound = await bind(program, inputs);
  try {
    t.deepEqual(bound.dims, dims);
    close(t, await bound.read(), want);
    const gpu = await getWebGPU();
    for (let r = 0; r < 2; r++) {
      const ms = await bound.dispatch();
      if (gpu.timestamps) t.true(typeof ms === 'number' && ms > 0, `gpu ms = ${ms}`);
      else t.is(ms, null);
    }
    const again = await bound.read();
    close(t, again, want);
    t.deepEqual(again.data, (await run(program, inputs, { backend: 'webgpu' })).output.data, 'bound and one-shot runs agree bit for bit');
  } finally {
    bound.release();
  }
  await t.throwsAsync(() => bound.dispatch(), { message: /released/ });
  await t.throwsAsync(() => bound.read(), { message: /released/ });
});

test('bind: fusion off binds the materialised-scores kernels, same result', async (t) => {
  const dims = resolveDims(program.graph!, { N: 40, M: 53 });
  const inputs = generateInputs(program.graph!, dims, 4);
  const bound = await bind(program, inputs, { fusion: false });
  try {
    close(t, await bound.read(), executeReference(program.graph!, inputs));
  } finally {
    bound.release();
  }
});

test('bind: bad input is refused before anything is uploaded, as by run()', async (t) => {
  const dims = resolveDims(program.graph!, {});
  const inputs = generateInputs(program.graph!, dims, 1);
  const { k: _k, ...missing } = inputs;
  const err = await t.throwsAsync(() => bind(program, missing));
  t.regex(err!.message, /\bk\b/);
  const broken = compile('attention x { input q: f32[N, D] return attend(q, q, nope) }');
  await t.throwsAsync(() => bind(broken, {}), { instanceOf: AttncError });
  t.truthy(InputError);
});

test('a program that returns one of its inputs: a copy, f32 or i32, on every GPU path', async (t) => {
  const id = compile('attention id {\n  input x: f32[B, N, D]\n  return x\n}');
  t.true(id.ok, JSON.stringify(id.diagnostics));
  const x = { data: Float64Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7), shape: [2, 3, 4] };
  const want = Float32Array.from(x.data);
  for (const backend of ['webgpu', 'webgl'] as const) {
    const r = await run(id, { x }, { backend });
    t.true(r.output.data instanceof Float32Array, backend);
    t.deepEqual(r.output.data, want, backend);
    t.deepEqual(r.output.shape, [2, 3, 4], backend);
  }
  const bound = await bind(id, { x });
  t.is(await bound.dispatch(), null, 'nothing is dispatched');
  t.deepEqual((await bound.read()).data, want);
  bound.release();
  const ids = compile('attention ids {\n  input c: i32[B, N]\n  return c\n}');
  t.true(ids.ok, JSON.stringify(ids.diagnostics));
  const c = { data: Int32Array.from([3, 1, 4, 1, 5, 9]), shape: [2, 3] };
  for (const backend of ['webgpu', 'webgl'] as const) {
    const r = await run(ids, { c }, { backend });
    t.true(r.output.data instanceof Int32Array, backend);
    t.deepEqual(Array.from(r.output.data), [3, 1, 4, 1, 5, 9], backend);
  }
});
