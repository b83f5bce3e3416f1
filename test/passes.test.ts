// Golden text for one pass at a time: the module printed after each pass of the graph
// pipeline, for a program that exercises lowering (params, promotions, a tensor lookup),
// pattern expansion and simplification. A pass that changes shows up as a readable diff.

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../compiler/compile.js';
import { bin, dim, int, index, type Expr } from '../compiler/ir.js';
import { PIPELINE } from '../compiler/pipeline.js';
import { printExpr, printGraph } from '../compiler/print.js';
import { simplifyExpr } from '../compiler/passes/simplify.js';
import { verifyGraph } from '../compiler/passes/verify.js';
import { DEFAULT_CAPS } from '../compiler/caps.js';
import { subgroupWorkgroupSize } from '../compiler/heuristics.js';

const SOURCE = `attention golden {
  input q, k, v: f32[B, H, N, D]
  input bias: f32[H, T]
  param w = 4, cap = 30.0
  return attend(q, k, v,
                mask:  neighborhood(3) && (sliding(w) || sink(2) && causal),
                score: cap * tanh((s + bias[h, i - j + N - 1]) / cap),
                scale: 0.5)
}`;

const GOLDEN: Record<string, string> = {
  'verify': `
attention golden [w = 4, cap = 30] {
  %0 q = input : f32[B, H, N, D]
  %1 k = input : f32[B, H, N, D]
  %2 v = input : f32[B, H, N, D]
  %3 bias = input : f32[H, T]
  %4 = attend(%0, %1, %2, normalize: keys) : f32[B, H, N, D]
      mask:  neighborhood(3) && (sliding(4) || sink(2) && causal)
      score: 30.0 * tanh((s + bias[h, i - j + N - 1]) / 30.0)
      scale: 0.5
  return %4
}
`,
  'expand-builtins': `
attention golden [w = 4, cap = 30] {
  %0 q = input : f32[B, H, N, D]
  %1 k = input : f32[B, H, N, D]
  %2 v = input : f32[B, H, N, D]
  %3 bias = input : f32[H, T]
  %4 = attend(%0, %1, %2, normalize: keys) : f32[B, H, N, D]
      mask:  (neighborhood(3) := j % 1 == i % 1 && (clamp(i / 1, 3 / 2, (N - i % 1 + 1 - 1) / 1 - 1 - (3 - 1 - 3 / 2)) - 3 / 2 <= j / 1 && j / 1 <= clamp(i / 1, 3 / 2, (N - i % 1 + 1 - 1) / 1 - 1 - (3 - 1 - 3 / 2)) + (3 - 1 - 3 / 2))) && ((sliding(4) := j <= i && i - j < 4) || (sink(2) := j < 2) && (causal := j <= i))
      score: 30.0 * tanh((s + bias[h, i - j + N - 1]) / 30.0)
      scale: 0.5
  return %4
}
`,
  'simplify': `
attention golden [w = 4, cap = 30] {
  %0 q = input : f32[B, H, N, D]
  %1 k = input : f32[B, H, N, D]
  %2 v = input : f32[B, H, N, D]
  %3 bias = input : f32[H, T]
  %4 = attend(%0, %1, %2, normalize: keys) : f32[B, H, N, D]
      mask:  (neighborhood(3) := clamp(i, 1, N - 2) - 1 <= j && j <= clamp(i, 1, N - 2) + 1) && ((sliding(4) := j <= i && i - j < 4) || (sink(2) := j < 2) && (causal := j <= i))
      score: 30.0 * tanh((s + bias[h, i - j + N - 1]) / 30.0)
      scale: 0.5
  return %4
}
`,
};

test('the graph pipeline is verify → expand-builtins → simplify → fuse-elementwise', (t) => {
  t.deepEqual(PIPELINE.filter((p) => p.stage === 'graph').map((p) => p.name), ['verify', 'expand-builtins', 'simplify', 'fuse-elementwise']);
});

for (const [pass, golden] of Object.entries(GOLDEN)) {
  test(`golden IR after ${pass}`, (t) => {
    let seen = '';
    const r = compile(SOURCE, { onPass: (p, m) => { if (p.name === pass) seen = printGraph(m.graph, { bodies: true }); } });
    t.true(r.ok);
    t.is(seen, golden.slice(1));
  });
}

test('simplify folds constants with floor semantics and gathers integer constants', (t) => {
  const i = index('i');
  const show = (e: Expr) => printExpr(simplifyExpr(e));
  t.is(show(bin('div', int(-3), int(2))), '-2');
  t.is(show(bin('mod', int(-3), int(2))), '1');
  t.is(show(bin('sub', bin('add', bin('sub', dim('N'), i), int(2)), int(1))), 'N - i + 1');
  t.is(show(bin('add', bin('sub', int(32), i), int(1))), '33 - i');
  t.is(show(bin('eq', bin('mod', i, int(1)), int(0))), 'true');
  // A division by zero is left for the run to report, not folded away.
  t.is(show(bin('div', i, int(0))), 'i / 0');
  t.is(show(bin('mul', bin('div', i, int(0)), int(0))), 'i / 0 * 0');
});

test('the verifier rejects ill-formed IR', (t) => {
  const r = compile(SOURCE);
  const g = r.graph!;
  const attend = g.nodes[4]!;
  if (attend.op !== 'attend') throw new Error('expected an attend');
  const bad = { ...g, nodes: [...g.nodes.slice(0, 4), { ...attend, q: 7 }] };
  t.throws(() => verifyGraph(bad), { message: /operand %7 is not defined before it/ });
  const mixed = { ...g, nodes: [...g.nodes.slice(0, 4), { ...attend, score: bin('add', { op: 'score', ty: 'float' }, int(1)) as Expr }] };
  t.throws(() => verifyGraph(mixed), { message: /add of float and int/ });
});

test('compile() with target wgsl returns the kernel IR and each kernel\'s WGSL', (t) => {
  const missing = compile(SOURCE, { target: 'wgsl' });
  t.false(missing.ok);
  t.is(missing.diagnostics[0]!.code, 'AT712');
  const r = compile(SOURCE, { target: 'wgsl', dims: { D: 32 } });
  t.true(r.ok);
  t.deepEqual(r.wgsl!.map((k) => k.name), r.kernels!.map((k) => k.name));
  t.is(r.wgsl!.length, 1);
  t.regex(r.wgsl![0]!.source, /@compute @workgroup_size\(\d+\)\nfn golden_attend4_fused\(/);
  const unfused = compile(SOURCE, { target: 'wgsl', fusion: false, dims: { D: 32 } });
  t.deepEqual(unfused.kernels!.map((k) => k.kind), ['scores', 'softmax', 'pv']);
  t.not(unfused.key, r.key);
});

test('the subgroup schedules make a workgroup one subgroup of the device (its largest size, 32 when unknown)', (t) => {
  const caps = (min: number, max?: number, limit = 1024) => ({
    ...DEFAULT_CAPS, subgroups: true, subgroupSize: min, ...(max ? { subgroupMaxSize: max } : {}),
    maxInvocationsPerWorkgroup: limit, maxWorkgroupSizeX: limit,
  });
  t.is(subgroupWorkgroupSize(caps(8, 8)), 8, 'lavapipe');
  t.is(subgroupWorkgroupSize(caps(32, 32)), 32, 'NVIDIA');
  t.is(subgroupWorkgroupSize(caps(32, 64)), 64, 'AMD');
  t.is(subgroupWorkgroupSize(caps(8, 32)), 32, 'Intel');
  t.is(subgroupWorkgroupSize(caps(8)), 32, 'maximum not reported');
  t.is(subgroupWorkgroupSize(caps(4, 128, 16)), 16, 'within the workgroup limits');
  t.is(subgroupWorkgroupSize(caps(8, 4)), 8, 'never below the lanes the broadcasts use');
});

test('renderers only render: nothing under targets/ imports a compiler pass or the pipeline', (t) => {
  // (The schedule is decided by the passes and carried in the kernel IR; a target reading a
  // pass would be a second place where a decision is made.)
  const files = readdirSync('targets', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  t.true(files.length > 10);
  const bad = files.flatMap((f) => readFileSync(join('targets', f), 'utf8').split('\n')
    .filter((l) => /^\s*(import|export)\b.*from\s+'[^']*compiler\/(passes\/|pipeline|analysis\/)/.test(l)).map((l) => `${f}: ${l.trim()}`));
  t.deepEqual(bad, []);
});
