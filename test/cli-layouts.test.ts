// `attnc run --layout`: inputs as models hold them, through the run contract — .npy files in
// [B, N, H, D] / [B, N, H·D] and one packed qkv projection, on every backend, against the
// reference; generated inputs give the same output with and without a layout.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/compile.js';
import { readNpy, writeNpy } from '../runtime/node/npy-file.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { tensor, type Tensor } from '../runtime/tensor.js';
import { compare } from './helpers/webgpu-check.js';

const BIN = join(process.cwd(), 'bin', 'attnc.js');
const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
  execFile(process.execPath, [BIN, 'run', ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});

const [B, H, Hk, N, D] = [1, 4, 2, 37, 16];
const graph = compile(readFileSync('samples/gqa.attn', 'utf8')).graph!;
const dims = resolveDims(graph, { B, H, Hk, N, D });
const inputs = generateInputs(graph, dims, 9);
const want = executeReference(graph, inputs);

/** [B, h, N, D] → [B, N, h·D] (rank 3, as a projection writes it). */
function bnhd(t: Tensor): Tensor {
  const [b0, h0, n0, d0] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < b0; b++) for (let h = 0; h < h0; h++) for (let n = 0; n < n0; n++) {
    for (let d = 0; d < d0; d++) out[((b * n0 + n) * h0 + h) * d0 + d] = t.data[((b * h0 + h) * n0 + n) * d0 + d]!;
  }
  return tensor([b0, n0, h0 * d0], out);
}

test('--inputs in [B, N, H·D] files and in one packed qkv.npy match the reference on every backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-layout-'));
  const [q, k, v] = [bnhd(inputs.q!), bnhd(inputs.k!), bnhd(inputs.v!)];
  for (const [n, x] of Object.entries({ q, k, v })) writeNpy(join(dir, `${n}.npy`), x, '<f4');
  const W = (H + 2 * Hk) * D;
  const packed = new Float32Array(B * N * W);
  for (let r = 0; r < B * N; r++) {
    packed.set(q.data.subarray(r * H * D, (r + 1) * H * D), r * W);
    packed.set(k.data.subarray(r * Hk * D, (r + 1) * Hk * D), r * W + H * D);
    packed.set(v.data.subarray(r * Hk * D, (r + 1) * Hk * D), r * W + (H + Hk) * D);
  }
  writeNpy(join(dir, 'qkv.npy'), tensor([B, N, W], packed), '<f4');
  for (const backend of ['webgpu', 'webgl', 'reference']) {
    for (const layout of ['q=bnhd,k=bnhd,v=bnhd', 'qkv']) {
      const save = mkdtempSync(join(tmpdir(), 'attnc-layout-out-'));
      const r = await run(['samples/gqa.attn', '--backend', backend, '--inputs', dir, '--layout', layout, '--dims', `H=${H},Hk=${Hk},D=${D}`, '--save', save]);
      t.is(r.code, 0, r.stderr);
      t.deepEqual(compare(readNpy(join(save, 'out.npy')), want).bad, [], `${backend} --layout ${layout}`);
    }
  }
});

test('generated inputs in a layout give the same checksum; a bad layout is a usage error, a mismatched file AT703', async (t) => {
  const common = ['samples/gqa.attn', '--backend', 'webgpu', '--dims', `N=${N},H=${H},Hk=${Hk},D=${D}`, '--json'];
  const sums = await Promise.all([[], ['--layout', 'qkv'], ['--layout', 'q=bnhd']].map(async (extra) => {
    const r = await run([...common, ...extra]);
    t.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).checksum as number;
  }));
  t.is(sums[1], sums[0]);
  t.is(sums[2], sums[0]);
  const bad = await run(['samples/gqa.attn', '--layout', 'q=nhbd']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--layout q=nhbd: expected qkv or NAME=bnhd/);
  const dir = mkdtempSync(join(tmpdir(), 'attnc-layout-bad-'));
  writeNpy(join(dir, 'qkv.npy'), tensor([1, 5, 7], new Float32Array(35)), '<f4');
  const mism = await run(['samples/gqa.attn', '--inputs', dir, '--layout', 'qkv', '--backend', 'reference']);
  t.is(mism.code, 1);
  t.regex(mism.stderr, /AT703.*qkv.npy rows hold 7 values/);
  t.notRegex(mism.stderr, /at .*\.js:\d+/);
});
