// Masks that read tensors, bounded through the tensors' values (compiler/analysis/mask.ts,
// PassOptions.tensorBounds): block summaries on the device, exact lookups in key ranges.
// - Soundness against brute force, over random tables (fast-check): a tile called full
//   allows every entry, one called empty none, and the key ranges hold every allowed key.
// - On the device: every kernel path reading summaries (subgroup and workgroup staging,
//   normalize: queries, unfused) equals the reference, and is bit-for-bit the same with
//   the derivation off; WebGL (which does not use them) too.

import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.js';
import { tileCounts, tileMap } from '../cli/tilemap.js';
import { writeNpy } from '../runtime/node/npy-file.js';
import { blockTable, jaggedLengths, packedDocuments } from '../bench/tables.js';
import { keyRanges, tilePredicates } from '../compiler/analysis/mask.js';
import { DEFAULT_CAPS } from '../compiler/caps.js';
import { compile } from '../compiler/compile.js';
import { evalExpr } from '../compiler/evaluate.js';
import type { Graph, NodeOf } from '../compiler/ir.js';
import { printKernels } from '../compiler/print-kernels.js';
import { printExpr } from '../compiler/print.js';
import { resolveDims } from '../runtime/reference/index.js';
import { run } from '../runtime/run.js';
import { intTensor, type Tensor } from '../runtime/tensor.js';
import { generateInputs } from '../runtime/shapes.js';
import { checkGraph, compare, graphOf, kernelsFor } from './helpers/webgpu-check.js';

const PROGRAMS: Record<string, string> = {
  documents: 'doc[b, i] == doc[b, j] && causal',
  different: 'doc[b, i] != doc[b, j]',
  near: 'doc[b, i] <= doc[b, j] + 1 && doc[b, j] <= doc[b, i]',
  padding: 'j < len[b] && i < len[b] + 3',
  table: 'i / 8 == j / 8 || blocks[h, i / 8, 0] == j / 8 || blocks[h, i / 8, 1] == j / 8',
  nested: 'blocks[h, doc[b, i] % NB, 0] == j / 8',
  // Two block sizes of one tensor's axis (16 for doc[b, j], 8 for doc[b, i / 2]): two summaries (fuzzer finding).
  halves: 'doc[b, i / 2] != doc[b, j] && !causal',
  // Two moving indices (a per-query-block selection): decided at the tile's corner where
  // both are the same over the tile.
  corner: 'blocks[h, i / 8, j / 8 % 2] > 2 && causal',
  corners: 'blocks[h, i / 8, j / 8 % 2] != 1 || j < 3 || blocks[h, i / 16, 1] == j / 8',
};

function program(mask: string, normalize = 'keys'): string {
  return `attention p {
  input q, k, v: f32[B, H, N, D]
  input doc: i32[B, N]
  input len: i32[B]
  input blocks: i32[H, NB, 2]
  dims  B = 2, H = 2, N = 40, D = 8, NB = 5
  return attend(q, k, v, mask: ${mask}${normalize === 'keys' ? '' : `, normalize: ${normalize}`})
}`;
}

function attendOf(g: Graph): NodeOf<'attend'> {
  return g.nodes.find((n): n is NodeOf<'attend'> => n.op === 'attend')!;
}

/** The program's tensors: documents (sorted or shuffled), lengths, a block table. */
function tables(B: number, H: number, N: number, seed: number, sorted: boolean): Record<string, Tensor> {
  const NB = Math.ceil(N / 8);
  return {
    doc: sorted ? packedDocuments(B, N, 1 + (seed % 6), seed) : intTensor([B, N], seed, 0, 4),
    len: jaggedLengths(B, N, seed),
    blocks: blockTable(H, NB, 2, NB, seed),
  };
}

for (const [name, mask] of Object.entries(PROGRAMS)) {
  test(`tile predicates and key ranges of \`${mask}\` hold on random tables`, (t) => {
    const g = graphOf(program(mask));
    const attend = attendOf(g);
    const { full, empty } = tilePredicates(attend.mask, { tensors: true });
    const ranges = keyRanges(attend.mask, { tensors: true });
    let decided = 0;
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 2 ** 20 }), fc.boolean(), fc.integer({ min: 9, max: 70 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()), { minLength: 4, maxLength: 12 }),
      (seed, sorted, N, tiles) => {
        const B = 2;
        const H = 2;
        const t2 = tables(B, H, N, seed, sorted);
        const dims = { B, H, N, D: 8, NB: Math.ceil(N / 8) };
        const byId = new Map(g.inputs.map((id) => [id, t2[g.nodes[id]!.name!]!] as const).filter(([, v]) => v));
        for (const [a, b2, c, d] of tiles) {
          const [qlo, qhi] = [a % N, a % N + (b2 % 20)].map((x) => Math.min(x, N - 1)) as [number, number];
          const [klo, khi] = [c % N, c % N + (d % 20)].map((x) => Math.min(x, N - 1)) as [number, number];
          for (let bb = 0; bb < B; bb++) for (let h = 0; h < H; h++) {
            const env = { b: bb, h, hk: h, dims, tensors: byId };
            const vars = { q_lo: qlo, q_hi: qhi, k_lo: klo, k_hi: khi };
            const isFull = evalExpr(full, { ...env, vars }) as boolean;
            const isEmpty = evalExpr(empty, { ...env, vars }) as boolean;
            if (isFull || isEmpty) decided++;
            const spans = ranges?.map((r) => [evalExpr(r.lo, { ...env, vars }), evalExpr(r.hi, { ...env, vars })] as number[]);
            for (let i = qlo; i <= qhi; i++) {
              for (let j = 0; j < N; j++) {
                const allowed = evalExpr(attend.mask, { ...env, i, j }) as boolean;
                if (j >= klo && j <= khi) {
                  if (isFull && !allowed) return false;
                  if (isEmpty && allowed) return false;
                }
                if (allowed && spans && !spans.some(([lo, hi]) => lo! <= j && j <= hi!)) return false;
              }
            }
          }
        }
        return true;
      },
    ), { numRuns: 25, seed: 13 });
    // Not vacuous: the tables decide some tiles (every one of these masks can).
    t.true(decided > 0, `${name}: no tile was decided`);
  });
}

test('a lookup with two moving indices is decided at the tile corner where both are the same over the tile', (t) => {
  const g = graphOf(program('blocks[h, i / 8, j / 8 % 2] > 2'));
  const { full, empty } = tilePredicates(attendOf(g).mask, { tensors: true });
  // blocks[h, r, c] = 10·r + c (h = 0): entries above 2 from query block 1 on.
  const blocks = { data: Int32Array.from({ length: 2 * 5 * 2 }, (_, x) => 10 * Math.floor((x % 10) / 2) + (x % 2)), shape: [2, 5, 2] };
  const id = g.inputs.find((x) => g.nodes[x]!.name === 'blocks')!;
  const at = (q_lo: number, q_hi: number, k_lo: number, k_hi: number) => {
    const env = { b: 0, h: 0, hk: 0, dims: { B: 2, H: 2, N: 40, D: 8, NB: 5 }, tensors: new Map([[id, blocks]]), vars: { q_lo, q_hi, k_lo, k_hi } };
    return [evalExpr(full, env), evalExpr(empty, env)];
  };
  t.deepEqual(at(0, 7, 0, 7), [false, true], 'blocks[0, 0, 0] = 0: empty');
  t.deepEqual(at(8, 15, 16, 23), [true, false], 'blocks[0, 1, 0] = 10: full');
  t.deepEqual(at(0, 7, 8, 15), [false, true], 'blocks[0, 0, 1] = 1: empty');
  t.deepEqual(at(4, 11, 16, 23), [false, false], 'two query blocks: mixed');
  t.deepEqual(at(8, 15, 4, 11), [false, false], 'two key blocks: mixed');
  // WebGL's host-evaluated ranges cannot read tensors: no such proof without `tensors`.
  t.deepEqual(printExpr(tilePredicates(attendOf(g).mask).empty), 'false');
});

test('a lookup that depends on neither i nor j is an exact key bound; one that does reads block summaries', (t) => {
  const g = graphOf(program(PROGRAMS.padding!));
  const [r] = keyRanges(attendOf(g).mask, { tensors: true })!;
  t.is(printExpr(r!.hi, g), 'len[b] - 1');
  t.is(keyRanges(attendOf(g).mask), null, 'without tensors: no bound');
  const docs = compile(program(PROGRAMS.documents!), { kernels: true, caps: DEFAULT_CAPS });
  const text = printKernels(docs.kernels!, docs.graph!);
  t.regex(text, /kind: +summary/);
  t.regex(text, /tile empty: +max16\(doc\[b, q_lo\.\.q_hi\]\) < min16\(doc\[b, k_lo\.\.k_hi\]\)/);
  const table = compile(program(PROGRAMS.table!), { kernels: true, caps: DEFAULT_CAPS });
  t.regex(printKernels(table.kernels!, table.graph!), /max2\(blocks\[h, q_lo \/ 8\.\.q_hi \/ 8, 0\]\)/, 'an index 8× slower than i gets blocks of 16 / 8');
  const off = compile(program(PROGRAMS.documents!), { kernels: true, caps: DEFAULT_CAPS, tensorBounds: false });
  t.false(off.kernels!.some((k) => k.kind === 'summary'));
  const webgl = compile(program(PROGRAMS.documents!), { kernels: true, target: 'webgl', dims: { N: 40 } });
  t.false(webgl.kernels!.some((k) => k.kind === 'summary'), 'WebGL kernels read no summaries');
});

// On the device: each kernel path, with the derivation on and off.
const DEVICE_CASES: { mask: string; normalize?: string; dims: Record<string, number>; sorted: boolean; fusion?: boolean; workgroup?: boolean }[] = [
  { mask: PROGRAMS.documents!, dims: { B: 2, H: 2, N: 150, D: 16 }, sorted: true },
  { mask: PROGRAMS.documents!, dims: { B: 2, H: 2, N: 150, D: 16 }, sorted: true, workgroup: true },
  { mask: PROGRAMS.documents!, dims: { B: 1, H: 2, N: 133, D: 8 }, sorted: true, normalize: 'queries' },
  { mask: PROGRAMS.documents!, dims: { B: 1, H: 2, N: 70, D: 8 }, sorted: true, fusion: false },
  { mask: PROGRAMS.near!, dims: { B: 2, H: 2, N: 99, D: 8 }, sorted: false },
  { mask: PROGRAMS.padding!, dims: { B: 3, H: 2, N: 77, D: 16 }, sorted: true },
  { mask: PROGRAMS.table!, dims: { B: 1, H: 3, N: 101, D: 16 }, sorted: true },
  { mask: PROGRAMS.table!, dims: { B: 1, H: 3, N: 101, D: 16 }, sorted: true, workgroup: true },
  { mask: PROGRAMS.nested!, dims: { B: 1, H: 2, N: 90, D: 8 }, sorted: true },
  { mask: PROGRAMS.halves!, dims: { B: 2, H: 1, N: 70, D: 4 }, sorted: true },
  // Dilation regrouping: a row block's positions are g + 2·i′, bounded by their box.
  { mask: `neighborhood(5, dilation: 2) && ${PROGRAMS.documents!}`, dims: { B: 1, H: 2, N: 97, D: 8 }, sorted: true },
];

for (const c of DEVICE_CASES) {
  const what = `${c.mask}${c.normalize ? ` (normalize: ${c.normalize})` : ''}${c.fusion === false ? ', unfused' : ''}${c.workgroup ? ', workgroup staging' : ''}`;
  test(`webgpu: ${what} equals the reference, and is the same with tensor bounds off`, async (t) => {
    const g = graphOf(program(c.mask, c.normalize));
    const dims = resolveDims(g, { ...c.dims, NB: Math.ceil(c.dims.N! / 8) });
    const inputs = { ...generateInputs(g, dims, 5), ...tables(dims.B!, dims.H!, dims.N!, 11, c.sorted) };
    const opts = { inputs, fusion: c.fusion ?? true, ...(c.workgroup ? { caps: DEFAULT_CAPS } : {}) };
    const on = await checkGraph(t, g, dims, opts);
    // Block summaries, or (padding) a key range read from the tensor.
    const reads = (s: string) => /fn (min|max)_sm/.test(s) || /let s_hi = .*len/.test(s);
    t.true(on.sources.some(reads), 'the kernels bound the mask through the tensors');
    const off = await checkGraph(t, g, dims, { ...opts, tensorBounds: false });
    t.false(off.sources.some(reads));
    t.deepEqual([...on.out.data], [...off.out.data], 'bit-for-bit the same with and without the derivation');
  });
}

test('webgl: the tensor-reading samples equal the reference', async (t) => {
  for (const mask of [PROGRAMS.documents!, PROGRAMS.padding!, PROGRAMS.table!]) {
    const source = program(mask);
    const g = graphOf(source);
    const dims = resolveDims(g, { B: 2, H: 2, N: 45, D: 8, NB: 6 });
    const inputs = { ...generateInputs(g, dims, 3), ...tables(2, 2, 45, 7, true) };
    const p = compile(source);
    const ref = await run(p, inputs, { backend: 'reference' });
    const gl = await run(p, inputs, { backend: 'webgl' });
    t.deepEqual(compare(gl.output, ref.output).bad, [], mask);
  }
});

test('kernelsFor: the summary kernel runs before the kernels that read it, once per tensor and axis', async (t) => {
  const g = graphOf(program(PROGRAMS.documents!));
  const kernels = await kernelsFor(g, { B: 1, H: 2, N: 64, D: 8, NB: 8 }, true);
  t.deepEqual(kernels.map((k) => k.kind), ['summary', 'attend']);
});

// The CLI: the tile map for actual tensors, and the visited fraction of a run.
test('attnc compile --emit tiles --inputs DIR draws the map for those tensors; run --json reports the visited fraction', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-tables-'));
  const g = graphOf(readFileSync('samples/documents.attn', 'utf8'));
  const dims = resolveDims(g, { N: 256, H: 2 });
  const doc = packedDocuments(1, 256, 4, 9);
  const inputs = { ...generateInputs(g, dims, 2), doc };
  for (const [name, x] of Object.entries(inputs)) writeNpy(join(dir, `${name}.npy`), x, name === 'doc' ? '<i4' : '<f4');
  const out = join(dir, 'tiles');
  t.is(await main(['compile', 'samples/documents.attn', '--emit', 'tiles', '--inputs', dir, '-o', out]), 0);
  const text = readFileSync(join(out, 'documents.tiles.txt'), 'utf8');
  t.true(text.startsWith(`// tensors from ${dir} (doc); batch 0, head 0\n%4: 4 × 4 tiles`), text);
  // Point by point: every empty tile holds keys of other documents only, every full one one document.
  const map = tileMap(g, attendOf(g), dims, 64, 64, { tensors: new Map([[g.inputs[3]!, doc]]), b: 0, h: 0 });
  const ids = doc.data;
  map.tiles.forEach((cls, k) => {
    const [r, c] = [Math.floor(k / map.cols), k % map.cols];
    for (let i = r * 64; i < r * 64 + 64; i++) for (let j = c * 64; j < c * 64 + 64; j++) {
      const allowed = ids[i] === ids[j] && j <= i;
      if (cls === 'empty') t.false(allowed);
      if (cls === 'full') t.true(allowed);
    }
  });
  t.true(map.tiles.includes('empty'), 'four documents leave empty tiles below the diagonal');
  const counts = tileCounts(map);
  t.true(text.includes(`full ${counts.full}, mixed ${counts.mixed}, empty ${counts.empty}`));
  t.is(await main(['compile', 'samples/documents.attn', '--emit', 'ir', '--inputs', dir]), 2, '--inputs is for --emit tiles');

  const json = async (...extra: string[]) => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(s);
    try {
      t.is(await main(['run', 'samples/documents.attn', '--backend', 'reference', '--inputs', dir, '--json', ...extra]), 0);
    } finally {
      console.log = log;
    }
    return JSON.parse(lines[0]!) as { visited: number };
  };
  const on = await json();
  const off = await json('--no-tensor-bounds');
  const perHead = map.tiles.filter((cls, k) => map.visited[k] && cls !== 'empty').length / map.tiles.length;
  t.is(on.visited, Math.round(perHead * 1e4) / 1e4, 'doc is shared by the heads: every head visits the same tiles');
  t.is(off.visited, 10 / 16, 'without tensor bounds: the causal half and its diagonal');
});
