// Expr → WGSL: each operator rendered and run on the device, compared with the language's
// semantics (compiler/scalar, via constant folding of the same tree with the index
// variables substituted). Floor division/modulo on negatives in particular.
import test from 'ava';
import '../runtime/node/dawn.js'; // WebGPU in Node: Dawn, as the Node entry registers it
import { bin, call, float, index, int, not, select, type Expr, rewrite } from '../compiler/ir.js';
import { getWebGPU } from '../runtime/webgpu/device.js';
import { HELPER_SOURCE, renderExpr, nonNegative, floatLiteral, type Helper } from '../targets/wgsl/expr.js';
import { foldConst } from '../compiler/scalar.js';

const i = index('i');
const j = index('j');
const fi = call('float', [i], 'float');
const fj = call('float', [j], 'float');
const neg = (a: Expr): Expr => ({ op: 'neg', ty: a.ty, a });

/** Evaluate `exprs` on the device for every (i, j) in `pairs`; `i`, `j` arrive from a buffer. */
async function runExprs(exprs: Expr[], pairs: [number, number][]): Promise<{ out: Float32Array; src: string }> {
  const { device } = await getWebGPU();
  const helpers = new Set<string>();
  const env = {
    index: (n: string) => (n === 'i' ? 'iv' : n === 'j' ? 'jv' : '0i'),
    score: () => '0.0f',
    dim: (n: string) => `d_${n}`,
    load: () => '0.0f',
    helpers,
  };
  const body = exprs.map((e, k) => {
    const r = renderExpr(e, env);
    const v = e.ty === 'bool' ? `select(0.0f, 1.0f, ${r})` : e.ty === 'int' ? `f32(${r})` : r;
    return `  out[p * ${exprs.length}u + ${k}u] = ${v};`;
  });
  const src = [
    ...[...helpers].map((h) => HELPER_SOURCE[h as Helper]),
    '@group(0) @binding(0) var<storage, read> ij: array<i32>;',
    '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
    '@compute @workgroup_size(1)',
    'fn main(@builtin(workgroup_id) w: vec3<u32>) {',
    '  let p = w.x;',
    '  let iv = ij[2u * p];',
    '  let jv = ij[2u * p + 1u];',
    ...body,
    '}',
  ].join('\n');
  const module = device.createShaderModule({ code: src });
  const info = await module.getCompilationInfo();
  if (info.messages.length) throw new Error(info.messages.map((m) => `${m.lineNum}: ${m.message}`).join('\n') + '\n' + src);
  const ij = new Int32Array(pairs.flat());
  const inBuf = device.createBuffer({ size: ij.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(inBuf, 0, ij);
  const n = exprs.length * pairs.length * 4;
  const outBuf = device.createBuffer({ size: n, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: inBuf } }, { binding: 1, resource: { buffer: outBuf } }],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(pairs.length);
  pass.end();
  enc.copyBufferToBuffer(outBuf, 0, read, 0, n);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  [inBuf, outBuf, read].forEach((b) => b.destroy());
  return { out, src };
}

function expected(e: Expr, iv: number, jv: number): number {
  const sub = rewrite(e, (x) => (x.op === 'index' ? int(x.name === 'i' ? iv : jv) : x));
  const v = foldConst(sub);
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

async function check(t: import('ava').ExecutionContext, named: Record<string, Expr>, pairs: [number, number][], tol = 0) {
  const names = Object.keys(named);
  const exprs = Object.values(named);
  const { out } = await runExprs(exprs, pairs);
  let bad = 0;
  pairs.forEach(([iv, jv], p) => {
    exprs.forEach((e, k) => {
      const want = expected(e, iv, jv);
      const got = out[p * exprs.length + k]!;
      const ok = Math.abs(got - want) <= tol * (1 + Math.abs(want)) || (Number.isNaN(want) && Number.isNaN(got));
      if (!ok && bad++ < 10) t.log(`${names[k]} at i=${iv}, j=${jv}: got ${got}, want ${want}`);
    });
  });
  t.is(bad, 0);
}

const signed: [number, number][] = [];
for (const a of [-7, -6, -5, -3, -1, 0, 1, 2, 3, 5, 6, 7, 100, -100]) for (const b of [-4, -3, -2, -1, 1, 2, 3, 5]) signed.push([a, b]);

test('int floor division and modulo on negatives (the helpers)', async (t) => {
  await check(t, {
    // i - 0: index variables are non-negative in kernels; here they carry signed test values.
    div: bin('div', bin('sub', i, int(0)), bin('sub', j, int(0))),
    mod: bin('mod', bin('sub', i, int(0)), bin('sub', j, int(0))),
    'div(i - 3, 2)': bin('div', bin('sub', i, int(3)), int(2)),
    'mod(i - 3, 4)': bin('mod', bin('sub', i, int(3)), int(4)),
    'div(-i, 3)': bin('div', neg(i), int(3)),
  }, signed);
  t.is(renderExpr(bin('div', bin('sub', i, int(3)), int(2)), env0()).startsWith('floor_div_i32'), true);
});

function env0() {
  return { index: (n: string) => n, score: () => 's', dim: (n: string) => `u.d_${n}`, load: () => '0.0f', helpers: new Set<string>() };
}

test('non-negative operands use plain WGSL / and % (constant-sign reasoning)', (t) => {
  const env = env0();
  t.is(renderExpr(bin('div', i, int(4)), env), '(i / 4i)');
  t.is(renderExpr(bin('mod', bin('add', i, { op: 'dim', ty: 'int', name: 'N' }), int(3)), env), '((i + u.d_N) % 3i)');
  t.is(renderExpr(bin('div', bin('mul', i, j), call('max', [bin('sub', i, j), int(1)], 'int')), env), '((i * j) / max((i - j), 1i))');
  t.deepEqual([...env.helpers], []);
  t.true(nonNegative(call('abs', [bin('sub', i, j)], 'int')));
  t.false(nonNegative(bin('sub', i, j)));
  t.false(nonNegative(int(-1)));
  renderExpr(bin('mod', bin('sub', i, j), int(3)), env);
  t.deepEqual([...env.helpers], ['floor_mod_i32']);
});

test('float ops: floor-mod, int() truncation, exp/log/tanh/sqrt/floor/ceil, abs/min/max/clamp', async (t) => {
  const x = bin('div', fi, float(4)); // i / 4 as float, signed
  await check(t, {
    fmod: bin('mod', fi, fj),
    'fmod(x, 1.5)': bin('mod', x, float(1.5)),
    'int(x)': call('int', [x], 'int'),
    'int(-x)': call('int', [neg(x)], 'int'),
    exp: call('exp', [bin('div', fi, float(10))], 'float'),
    log: call('log', [bin('add', call('abs', [fi], 'float'), float(1))], 'float'),
    tanh: call('tanh', [x], 'float'),
    'tanh(big)': call('tanh', [bin('mul', fi, float(100))], 'float'),
    sqrt: call('sqrt', [call('abs', [fi], 'float')], 'float'),
    floor: call('floor', [x], 'float'),
    ceil: call('ceil', [x], 'float'),
    fabs: call('abs', [x], 'float'),
    iabs: call('abs', [i], 'int'),
    imin: call('min', [i, j], 'int'),
    imax: call('max', [i, j], 'int'),
    iclamp: call('clamp', [i, int(-2), int(3)], 'int'),
    fclamp: call('clamp', [x, float(-0.5), float(0.75)], 'float'),
    fmin: call('min', [fi, fj], 'float'),
    fdiv: bin('div', fi, fj),
    fmul: bin('mul', fi, float(0.1)),
    fsub: bin('sub', fi, fj),
    ineg: neg(i),
    fneg: neg(fi),
  }, signed, 2e-6);
});

test('comparisons, logic, select, constants folded (log(0.0) → masked sentinel)', async (t) => {
  await check(t, {
    eq: bin('eq', i, j), ne: bin('ne', i, j), lt: bin('lt', i, j), le: bin('le', i, j), gt: bin('gt', i, j), ge: bin('ge', i, j),
    and: bin('and', bin('lt', i, int(0)), bin('gt', j, int(0))),
    or: bin('or', bin('lt', i, int(0)), bin('gt', j, int(0))),
    'mixed and/or': bin('or', bin('and', bin('lt', i, int(0)), bin('gt', j, int(0))), bin('eq', i, int(5))),
    not: not(bin('lt', i, j)),
    'bool ==': bin('eq', bin('lt', i, int(0)), bin('lt', j, int(0))),
    select: select(bin('lt', i, j), i, bin('mul', j, int(2))),
    fselect: select(bin('lt', i, j), fi, float(-0.25)),
    folded: bin('add', bin('div', int(-7), int(2)), bin('mod', int(-7), int(2))),
  }, signed);
  const env = env0();
  t.is(renderExpr(call('log', [float(0)], 'float'), env), '(-3.0e38f)');
  t.is(floatLiteral(1e-3), '0.001f');
  t.is(floatLiteral(2), '2.0f');
  t.is(floatLiteral(-Infinity), '(-3.0e38f)');
});

test('a folded NaN is NaN on the device (the nan_f32 helper: WGSL has no NaN constant)', async (t) => {
  const nan = bin('mul', call('log', [float(0)], 'float'), float(0));
  const { out, src } = await runExprs([nan, bin('add', fi, nan)], [[1, 2], [3, 0]]);
  t.true(src.includes('fn nan_f32()'));
  t.true(Array.from(out).every((x) => Number.isNaN(x)), `got ${Array.from(out)}`);
});

test('alibi(h, heads) matches fairseq slopes for 1..16 heads', async (t) => {
  const pairs: [number, number][] = [];
  for (let n = 1; n <= 16; n++) for (let h = 0; h < n; h++) pairs.push([h, n]);
  await check(t, { alibi: call('alibi', [i, j], 'float') }, pairs, 1e-6);
});
