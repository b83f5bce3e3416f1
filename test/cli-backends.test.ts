// The `run` contract on every GPU backend, as another tool would drive it: for every
// sample, inputs written as .npy, `attnc run --backend <b> --inputs DIR --save DIR`, and
// out.npy compared with the reference executor at the spec's tolerance.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/compile.js';
import { readNpy, writeNpy } from '../runtime/node/npy-file.js';
import { executeReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../runtime/shapes.js';
import { worstError } from './helpers/tolerance.js';

const BIN = join(process.cwd(), 'bin', 'attnc.js');

/** Small shapes that are not tile multiples; grids shrunk through params where a sample has one. */
const SIZES: Record<string, { dims: string; params?: string }> = {
  'agent2d.attn': { dims: 'N=64,H=2,D=16', params: 'height=8,width=8' },
  'neighborhood2d.attn': { dims: 'N=48,H=2,D=16', params: 'height=6,width=8,kernel=3,dilation=2' },
  'agent.attn': { dims: 'N=61,H=2,D=16' },
  'gqa.attn': { dims: 'N=37,H=4,Hk=2,D=16' },
  'routing.attn': { dims: 'N=45,H=2,D=16,C=4' },
  'biased.attn': { dims: 'N=45,H=2,D=16,T=89' },
  'decode.attn': { dims: 'N=5,M=77,H=4,Hk=2,D=16' },
  'image_halo.attn': { dims: 'N=63,H=2,D=16', params: 'height=7,width=9,size=3,halo=1' },
  'video.attn': { dims: 'N=75,H=2,D=16', params: 'frames=3,height=5,width=5' },
};
const DEFAULT = { dims: 'N=45,H=2,D=16' };

function attnc(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

const parse = (list: string | undefined) =>
  Object.fromEntries((list ?? '').split(',').filter(Boolean).map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));

for (const backend of ['webgpu', 'webgl'] as const) {
  for (const sample of readdirSync('samples').filter((f) => f.endsWith('.attn')).sort()) {
    test(`run --backend ${backend} --inputs --save: ${sample}`, async (t) => {
      const { dims, params } = SIZES[sample] ?? DEFAULT;
      const program = compile({ path: sample, text: readFileSync(join('samples', sample), 'utf8') }, { params: parse(params) });
      t.true(program.ok);
      const graph = program.graph!;
      const inputs = generateInputs(graph, resolveDims(graph, parse(dims)), 5);
      const dir = mkdtempSync(join(tmpdir(), 'attnc-'));
      for (const [name, x] of Object.entries(inputs)) writeNpy(join(dir, `${name}.npy`), x);

      const args = ['run', join('samples', sample), '--backend', backend, '--inputs', dir, '--save', dir];
      const r = await attnc(params ? [...args, '--param', params] : args);
      t.is(r.code, 0, r.stderr);

      const got = readNpy(join(dir, 'out.npy'));
      const want = executeReference(graph, inputs);
      t.deepEqual(got.shape, want.shape);
      const { ratio } = worstError(got, want);
      t.true(ratio <= 1, `worst error ${ratio.toFixed(3)}× the tolerance`);
    });
  }
}

test('shapes that only disagree at run time are refused before any kernel, on every backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-'));
  const file = join(dir, 'hd.attn');
  writeFileSync(file, 'attention hd {\n  input q: f32[B, H, N, 64]\n  input k: f32[B, H, M, D]\n  input v: f32[B, H, L, Dv]\n' +
    '  dims B = 1, H = 2, N = 8, M = 8, L = 8, D = 64, Dv = 16\n  return attend(q, k, v, mask: causal)\n}\n');
  for (const backend of ['reference', 'webgpu', 'webgl']) {
    const head = await attnc(['run', file, '--backend', backend, '--dims', 'D=32']);
    t.is(head.code, 1, backend);
    t.regex(head.stderr, /error\[AT402\]: head dims disagree: `q` has 64 but `k` has 32/, backend);
    const len = await attnc(['run', file, '--backend', backend, '--dims', 'L=9']);
    t.is(len.code, 1, backend);
    t.regex(len.stderr, /error\[AT405\]: shapes disagree on the length of `k` and `v`: 8 vs 9/, backend);
  }
});
