// The attnc command end to end, as users and other tools drive it: exit codes, messages
// without stack traces, the IR, and the `run` contract of spec §7 (--inputs/--save .npy
// round trips compared with the reference executor).

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/compile.js';
import { readNpy, readNpyHeader, writeNpy } from '../runtime/node/npy-file.js';
import { roundToF16 } from '../dsl/f16.js';
import { executeReference } from '../runtime/reference/index.js';
import { uniformTensor } from '../runtime/tensor.js';

const BIN = join(process.cwd(), 'bin', 'attnc.js');

interface Result { code: number; stdout: string; stderr: string }

function attnc(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const tmp = () => mkdtempSync(join(tmpdir(), 'attnc-'));
const noStack = (s: string) => !/\n\s+at .+:\d+:\d+/.test(s);
const samples = readdirSync('samples').filter((f) => f.endsWith('.attn')).map((f) => join('samples', f));

test('check: every sample is clean', async (t) => {
  const r = await attnc('check', ...samples);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim().split('\n').length, samples.length);
});

test('output through a pipe is whole (beyond the 64 KiB a pipe holds), and a reader that stops early ends it quietly', async (t) => {
  const args = ['compile', 'samples/differential.attn', '--target', 'wgsl', '--caps', 'subgroups32'];
  const file = join(tmp(), 'out.txt');
  const fd = openSync(file, 'w');
  await new Promise((resolve) => spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'ignore'] }).on('exit', resolve));
  closeSync(fd);
  const whole = readFileSync(file, 'utf8');
  t.true(whole.length > 65536, `${whole.length} characters`);
  // A reader slower than the command: the pipe fills, and the rest must wait for it.
  const piped = await new Promise<string>((resolve) =>
    execFile('sh', ['-c', `"${process.execPath}" "${BIN}" ${args.join(' ')} | (sleep 1; cat)`], { encoding: 'utf8', maxBuffer: 1 << 24 },
      (_err, stdout) => resolve(stdout)));
  t.is(piped.length, whole.length);
  t.is(piped, whole);
  // `| head -1`: the reader closes the pipe after its first chunk.
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.is(code, 0, stderr);
  t.true(noStack(stderr), stderr);
});

test('check: diagnostics with position, code frame and hint; exit 1', async (t) => {
  const dir = tmp();
  const file = join(dir, 'bad.attn');
  writeFileSync(file, 'attention x {\n  input q: f32[B, H, N, D]\n  return attend(q, q, q, mask: windw(3))\n}\n');
  const r = await attnc('check', file);
  t.is(r.code, 1);
  t.is(r.stderr, [
    `${file}:3:32: error[AT206]: unknown function \`windw\``,
    '3 |   return attend(q, q, q, mask: windw(3))',
    '  |                                ^~~~~',
    '  = hint: did you mean `window`?',
    '',
  ].join('\n'));
});

test('compile: prints the IR of every sample', async (t) => {
  for (const s of samples) {
    const r = await attnc('compile', s);
    t.is(r.code, 0, `${s}: ${r.stderr}`);
    t.regex(r.stdout, /^attention \w+/);
    t.regex(r.stdout, /= attend\(/);
  }
});

test('compile: --emit a pass, --param overrides, -o writes files', async (t) => {
  const r = await attnc('compile', 'samples/streaming.attn', '--emit', 'simplify', '--param', 'window=64');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /\/\/ after simplify/);
  t.regex(r.stdout, /\(sliding\(64\) := j <= i && i - j < 64\)/);
  const out = tmp();
  const w = await attnc('compile', 'samples/agent.attn', '-o', out);
  t.is(w.code, 0, w.stderr);
  t.deepEqual(readdirSync(out), ['agent.ir.txt']);
});

test('run: --json prints one line with the contract fields', async (t) => {
  const r = await attnc('run', 'samples/gqa.attn', '--backend', 'reference', '--dims', 'N=24,H=4,Hk=2,D=8', '--json');
  t.is(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout);
  t.deepEqual(Object.keys(line), ['backend', 'entry', 'shape', 'ms', 'kernelMs', 'visited', 'checksum']);
  t.is(line.visited, 1 - (Math.ceil(24 / 64) * (Math.ceil(24 / 64) - 1)) / 2, 'gqa is causal: one 64 × 64 tile, visited');
  t.is(line.backend, 'reference');
  t.is(line.entry, 'gqa');
  t.is(line.kernelMs, null, 'kernel time only on WebGPU with --repeat');
  t.deepEqual(line.shape, [1, 4, 24, 8]);
  t.true(Number.isFinite(line.checksum));
});

test('run: --inputs/--save round-trip .npy files and match the reference', async (t) => {
  const dir = tmp();
  const shape = [2, 2, 19, 8];
  const inputs = { q: uniformTensor(shape, 1), k: uniformTensor([2, 2, 23, 8], 2), v: uniformTensor([2, 2, 23, 5], 3) };
  for (const [name, x] of Object.entries(inputs)) writeNpy(join(dir, `${name}.npy`), x);
  const source = 'attention r {\n  input q: f32[B, H, N, D]\n  input k: f32[B, H, M, D]\n  input v: f32[B, H, M, Dv]\n  return attend(q, k, v, mask: causal, normalize: queries)\n}\n';
  const file = join(dir, 'r.attn');
  writeFileSync(file, source);
  const r = await attnc('run', file, '--backend', 'reference', '--inputs', dir, '--save', dir);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /shape: +\[2, 2, 19, 5\]/);
  const out = readNpy(join(dir, 'out.npy'));
  t.deepEqual(out.shape, [2, 2, 19, 5]);
  t.true(out.data instanceof Float32Array);
  const program = compile(source);
  const ref = executeReference(program.graph!, inputs);
  t.deepEqual(Array.from(out.data), Array.from(Float32Array.from(ref.data)));
});

test('run: seeded inputs are reproducible; --repeat reports a median', async (t) => {
  const args = ['run', 'samples/blocked.attn', '--backend', 'reference', '--dims', 'N=40,H=2,D=4', '--param', 'size=8,overlap=2', '--json'];
  const [a, b, c] = await Promise.all([attnc(...args), attnc(...args), attnc(...args, '--seed', '7')]);
  t.is(JSON.parse(a.stdout).checksum, JSON.parse(b.stdout).checksum);
  t.not(JSON.parse(a.stdout).checksum, JSON.parse(c.stdout).checksum);
  const r = await attnc('run', 'samples/blocked.attn', '--backend', 'reference', '--dims', 'N=40,H=2,D=4', '--repeat', '2');
  t.regex(r.stdout, /median of 2 after 3 warm-up runs/);
});

test('run: runtime errors name the input and dim, exit 1, no stack trace', async (t) => {
  const dir = tmp();
  writeNpy(join(dir, 'q.npy'), uniformTensor([1, 2, 8, 4], 1));
  writeNpy(join(dir, 'k.npy'), uniformTensor([1, 2, 8, 6], 1));
  const missing = await attnc('run', 'samples/gemma.attn', '--backend', 'reference', '--inputs', dir);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /AT703.*`v`/);
  t.true(noStack(missing.stderr));
  writeNpy(join(dir, 'v.npy'), uniformTensor([1, 2, 8, 4], 1));
  const mismatch = await attnc('run', 'samples/gemma.attn', '--backend', 'reference', '--inputs', dir);
  t.is(mismatch.code, 1);
  t.regex(mismatch.stderr, /\bD\b/);
  t.true(noStack(mismatch.stderr));
});

test('usage errors exit 2 with the command help', async (t) => {
  for (const args of [
    ['frobnicate'],
    ['run'],
    ['run', 'samples/gqa.attn', '--bogus'],
    ['run', 'samples/gqa.attn', '--dims', 'N=abc'],
    ['run', 'samples/gqa.attn', '--backend', 'cuda'],
    ['compile', 'samples/gqa.attn', '--emit', 'nothing'],
    ['check', 'no/such/file.attn'],
  ]) {
    const r = await attnc(...args);
    t.is(r.code, 2, args.join(' '));
    t.true(noStack(r.stderr));
    t.regex(r.stderr, /^attnc: /);
  }
});

test('several definitions need --entry; bad params are diagnostics', async (t) => {
  const dir = tmp();
  const file = join(dir, 'two.attn');
  writeFileSync(file, 'attention a { input q: f32[B, H, N, D]\n return attend(q, q, q) }\nattention b { input q: f32[B, H, N, D]\n return attend(q, q, q, mask: causal) }\n');
  const r = await attnc('compile', file);
  t.is(r.code, 1);
  t.regex(r.stderr, /AT607.*`a`, `b`/);
  t.is((await attnc('compile', file, '--entry', 'b')).code, 0);
  const bad = await attnc('compile', 'samples/streaming.attn', '--param', 'windw=3');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /AT701\]: unknown param `windw`[^]*did you mean `window`/);
  const typed = await attnc('compile', 'samples/streaming.attn', '--param', 'window=2.5');
  t.regex(typed.stderr, /AT702/);
});

test('--help for each command exits 0', async (t) => {
  for (const c of ['check', 'compile', 'run']) {
    const r = await attnc(c, '--help');
    t.is(r.code, 0);
    t.regex(r.stdout, new RegExp(`Usage: attnc ${c}`));
  }
});

test('run --save writes an f16(…) output as <f2 (its values exactly), the others as <f4', async (t) => {
  const dir = tmp();
  const file = join(dir, 'h.attn');
  writeFileSync(file, 'attention h {\n  input x: f32[N]\n  dims N = 6\n  return half: f16(x * 3.0), x * 3.0\n}\n');
  const r = await attnc('run', file, '--backend', 'reference', '--seed', '4', '--save', dir);
  t.is(r.code, 0, r.stderr);
  const half = readNpy(join(dir, 'half.npy'));
  const full = readNpy(join(dir, 'out1.npy'));
  t.is(readNpyHeader(join(dir, 'half.npy')).dtype, '<f2');
  t.is(readNpyHeader(join(dir, 'out1.npy')).dtype, '<f4');
  t.deepEqual(Array.from(half.data), Array.from(full.data, roundToF16));
});
