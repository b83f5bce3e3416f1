// Several outputs (docs/language-extensions.md): `return a, name: b, …` — the names, the
// checker's refusals, run()'s `outputs` on every backend against the reference (an
// attention, its lse, an elementwise result, an input returned as it is), bind().readAll()
// on WebGPU and WebGL, and the CLI's print and --save.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compile } from '../compiler/compile.js';
import { bind, run } from '../runtime/run.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { readNpy } from '../runtime/node/npy-file.js';
import { compare } from './helpers/webgpu-check.js';

const SRC = `attention multi {
  input q: f32[B, H, N, D]
  input k, v: f32[B, Hk, M, D]
  dims  B = 2, H = 4, Hk = 2, N = 21, M = 30, D = 6
  let o = attend(q, k, v, mask: j < i - 2)
  return o, lse: lse(o), o * 2.0 - 1.0, q
}`;

test('output names: explicit, else a returned name, else out<k>; a single unnamed output is `out`', (t) => {
  const g = compile(SRC).graph!;
  t.deepEqual(g.outputs.map((o) => o.name), ['o', 'lse', 'out2', 'q']);
  t.is(g.output, g.outputs[0]!.node);
  t.deepEqual(compile('attention s {\n  input q: f32[N, D]\n  return q\n}').graph!.outputs.map((o) => o.name), ['out']);
  t.deepEqual(compile('attention s {\n  input q: f32[N, D]\n  return mine: q\n}').graph!.outputs.map((o) => o.name), ['mine']);
});

test('checker: two outputs with one name are AT608; every output must be a tensor (AT604)', (t) => {
  const codes = (ret: string) => compile(`attention s {\n  input q, k: f32[B, H, N, D]\n  param p = 1.0\n  return ${ret}\n}`).diagnostics.map((d) => `${d.code} ${d.message}`);
  t.deepEqual(codes('q, q'), ['AT608 two outputs are named `q`']);
  t.deepEqual(codes('a: q, a: k'), ['AT608 two outputs are named `a`']);
  t.deepEqual(codes('q, p'), ['AT604 `return` must be a tensor, found float']);
  t.deepEqual(codes('q, k'), []);
});

test('run(): every output on every backend equals the reference; an input returned is itself; −inf lse rows exactly', async (t) => {
  const p = compile(SRC);
  const g = p.graph!;
  const inputs = generateInputs(g, resolveDims(g), 4);
  const ref = await run(p, inputs, { backend: 'reference' });
  t.deepEqual(Object.keys(ref.outputs), ['o', 'lse', 'out2', 'q']);
  t.is(ref.output, ref.outputs.o);
  t.deepEqual(ref.outputs.lse!.shape, [2, 4, 21]);
  t.is(ref.outputs.lse!.data[0], -Infinity, 'query 0 sees no key');
  t.deepEqual(Array.from(ref.outputs.q!.data), Array.from(inputs.q!.data));
  for (const backend of ['webgpu', 'webgl'] as const) {
    const got = await run(p, inputs, { backend });
    t.deepEqual(Object.keys(got.outputs), ['o', 'lse', 'out2', 'q'], backend);
    for (const name of Object.keys(ref.outputs)) t.deepEqual(compare(got.outputs[name]!, ref.outputs[name]!).bad, [], `${backend} ${name}`);
  }
});

test('bind(): read() is the first output, readAll() every output, on WebGPU and WebGL', async (t) => {
  const p = compile(SRC);
  const inputs = generateInputs(p.graph!, resolveDims(p.graph!), 5);
  const ref = await run(p, inputs, { backend: 'reference' });
  for (const backend of ['webgpu', 'webgl'] as const) {
    const bound = await bind(p, inputs, { backend });
    try {
      t.deepEqual(compare(await bound.read(), ref.outputs.o!).bad, [], backend);
      const all = await bound.readAll();
      t.is(all.length, 4);
      p.graph!.outputs.forEach((o, k) => t.deepEqual(compare(all[k]!, ref.outputs[o.name]!).bad, [], `${backend} ${o.name}`));
    } finally {
      bound.release();
    }
  }
});

test('CLI: run prints each output and --save writes DIR/<name>.npy for each', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-outputs-'));
  const file = join(dir, 'multi.attn');
  writeFileSync(file, SRC);
  const save = join(dir, 'saved');
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/attnc.js', 'run', file, '--backend', 'reference', '--save', save]);
  t.regex(stdout, /output o: shape \[2, 4, 21, 6\], checksum /);
  t.regex(stdout, /output lse: shape \[2, 4, 21\], checksum -Infinity/);
  t.deepEqual(readdirSync(save).sort(), ['lse.npy', 'o.npy', 'out2.npy', 'q.npy']);
  t.deepEqual(readNpy(join(save, 'lse.npy')).shape, [2, 4, 21]);
});
