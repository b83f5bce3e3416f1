import test from 'ava';
import { AttncError } from '../dsl/diagnostics.js';
import { bindDims, evalSize, generateInputs, graphDims, resolveDims, shapeOf } from '../runtime/shapes.js';
import { inputSeed, intTensor, mulberry32, tensor, uniformTensor } from '../runtime/tensor.js';
import { attendGraph, bin, dim, GraphBuilder, int, load, s, j } from './helpers/ir-builder.js';

function codes(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof AttncError) return e.diagnostics.map((d) => d.code);
    throw e;
  }
  return [];
}

const qkv = (B = 1, H = 2, Hk = 2, N = 4, M = 4, D = 3, Dv = 3) => ({
  q: uniformTensor([B, H, N, D], 1),
  k: uniformTensor([B, Hk, M, D], 2),
  v: uniformTensor([B, Hk, M, Dv], 3),
});

test('bindDims binds every dim from the inputs', (t) => {
  t.deepEqual(bindDims(attendGraph(), qkv(2, 4, 2, 5, 6, 3, 7)), { B: 2, H: 4, N: 5, D: 3, Hk: 2, M: 6, Dv: 7 });
});

test('a missing input is AT703', (t) => {
  const { q, k } = qkv();
  const err = t.throws(() => bindDims(attendGraph(), { q, k }), { instanceOf: AttncError });
  t.deepEqual(err.diagnostics.map((d) => d.code), ['AT703']);
  t.is(err.diagnostics[0]!.message, 'input `v`: no tensor given (declared f32[B, Hk, M, Dv])');
});

test('a wrong rank is AT703', (t) => {
  const err = t.throws(() => bindDims(attendGraph(), { ...qkv(), q: uniformTensor([2, 4, 3], 1) }), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.message, 'input `q`: expected rank 4 (f32[B, H, N, D]), found rank 3 (shape [2, 4, 3])');
});

test('a dim bound to two sizes is AT704, naming both inputs and sizes', (t) => {
  const err = t.throws(() => bindDims(attendGraph(), { ...qkv(), k: uniformTensor([1, 2, 4, 5], 2) }), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT704');
  t.is(err.diagnostics[0]!.message, 'dim `D` is 3 from `q` but 5 from `k`');
  // batch disagreement between q and v
  t.deepEqual(codes(() => bindDims(attendGraph(), { ...qkv(), v: uniformTensor([2, 2, 4, 3], 3) })), ['AT704']);
});

test('a literal axis of the wrong size is AT703', (t) => {
  const g = new GraphBuilder();
  g.input('c', ['H', 'C', 64]);
  const graph = g.build(0);
  t.deepEqual(bindDims(graph, { c: uniformTensor([2, 3, 64], 1) }), { H: 2, C: 3 });
  const err = t.throws(() => bindDims(graph, { c: uniformTensor([2, 3, 32], 1) }), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.message, 'input `c`: axis 2 must be 64 (f32[H, C, 64]), found 32 (shape [2, 3, 32])');
});

test('all problems are reported together', (t) => {
  const { q } = qkv();
  t.deepEqual(codes(() => bindDims(attendGraph(), { q: uniformTensor([1, 2, 3], 0), k: q })), ['AT703', 'AT703']);
});

test('dims no input binds take defaults, else AT705', (t) => {
  // mask reads a dim W that no input declares
  const graph = attendGraph({ mask: bin('lt', j, dim('W')) });
  const err = t.throws(() => bindDims(graph, qkv()), { instanceOf: AttncError });
  t.is(err.diagnostics[0]!.code, 'AT705');
  t.regex(err.message, /dim `W` has no size/);
  t.is(bindDims(graph, qkv(), { W: 3 }).W, 3);
  t.is(bindDims({ ...graph, dimDefaults: { W: 2, N: 1000 } }, qkv()).W, 2);
  // runtime shapes win over defaults
  t.is(bindDims({ ...graph, dimDefaults: { W: 2, N: 1000 } }, qkv()).N, 4);
});

test('i32 inputs need integer data', (t) => {
  const graph = attendGraph({ score: bin('add', s, { op: 'call', fn: 'float', ty: 'float', args: [load(3, [j], 'int')] }), extra: [{ name: 'r', shape: ['M'], elem: 'i32' }] });
  t.notThrows(() => bindDims(graph, { ...qkv(), r: intTensor([4], 1) }));
  t.notThrows(() => bindDims(graph, { ...qkv(), r: tensor([4], [1, 2, 3, 4]) }));
  const err = t.throws(() => bindDims(graph, { ...qkv(), r: tensor([4], [1, 2.5, 3, 4]) }), { instanceOf: AttncError });
  t.regex(err.message, /input `r`: is declared i32 but element 1 is 2.5/);
});

test('data that does not fit the shape is AT703', (t) => {
  const err = t.throws(() => bindDims(attendGraph(), { ...qkv(), q: { shape: [1, 2, 4, 3], data: new Float32Array(5) } }), {
    instanceOf: AttncError,
  });
  t.regex(err.message, /needs 24 elements but the data has 5/);
});

test('evalSize, shapeOf, graphDims, resolveDims', (t) => {
  const graph = attendGraph();
  t.is(evalSize(bin('add', bin('mul', dim('N'), int(2)), int(1)), { N: 5 }), 11);
  t.deepEqual(shapeOf(graph.nodes[3]!, { B: 1, H: 2, N: 3, Dv: 4 }), [1, 2, 3, 4]);
  t.deepEqual(graphDims(graph).sort(), ['B', 'D', 'Dv', 'H', 'Hk', 'M', 'N']);
  const dims = resolveDims({ ...graph, dimDefaults: { B: 1, H: 8, Hk: 8, N: 16, M: 16, D: 4, Dv: 4 } }, { N: 32 });
  t.is(dims.N, 32);
  t.is(dims.H, 8);
  t.deepEqual(codes(() => resolveDims(graph, { N: 3 })).length, 6);
});

test('generated inputs are reproducible and documented', (t) => {
  const g = attendGraph({ extra: [{ name: 'doc', shape: ['B', 'N'], elem: 'i32' }] });
  const dims = { B: 1, H: 2, Hk: 2, N: 5, M: 5, D: 3, Dv: 3 };
  const a = generateInputs(g, dims, 7);
  const b = generateInputs(g, dims, 7);
  const c = generateInputs(g, dims, 8);
  t.deepEqual(Array.from(a.q!.data), Array.from(b.q!.data));
  t.notDeepEqual(Array.from(a.q!.data), Array.from(c.q!.data));
  t.notDeepEqual(Array.from(a.q!.data), Array.from(a.k!.data));
  t.true(a.q!.data instanceof Float32Array);
  t.true(Array.from(a.q!.data).every((x) => x >= -1 && x <= 1));
  t.true(a.doc!.data instanceof Int32Array);
  t.true(Array.from(a.doc!.data).every((x) => x >= 0 && x < 8));
  // the documented stream: q = fround(-1 + 2 u), u from mulberry32(inputSeed(seed, 'q'))
  const next = mulberry32(inputSeed(7, 'q'));
  t.is(a.q!.data[0], Math.fround(-1 + 2 * next()));
  // mulberry32 itself is the standard one: first output for seed 1
  t.is(mulberry32(1)(), 0.6270739405881613); // the well-known first output of mulberry32(1)
  t.deepEqual(bindDims(g, a), dims);
});
