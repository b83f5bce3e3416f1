// Benchmark: WebGPU fused vs. fusion-off vs. dense, per program and sequence length, plus
// compile() time per sample. Run: scripts/with-display.sh npm run bench -- [--n 1024,2048]
// [--programs dense,causal] [--repeat 3] [--webgl] [--kernels] [--decode M]. Writes bench/results/latest.json.
// Then decoding (N = 1, 16 queries) over M = 32768 cached keys beside the memory floor (bench/decode.ts).
// `--plot DIR` draws a results file as SVG (bench/plot.ts; `--results FILE`, default
// latest.json): alone it only draws; with run options it runs first, then draws.
// The dense rows also time tfjs-webgpu (matMul·softmax·matMul) on the same device, checked
// against attnc's fused output.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../runtime/node/dawn.js'; // WebGPU in Node: Dawn (when navigator.gpu is not shared first)
import { compile } from '../compiler/compile.js';
import { some, upTo, type Expr, type Graph } from '../compiler/ir.js';
import { bindWebGPU, executeWebGPU, getWebGPU, type BoundProgram, type ExecuteOptions, type KernelTime } from '../runtime/webgpu/execute.js';
import { executeWebGL, webglAvailable } from '../runtime/webgl/index.js';
import { generateInputs, resolveDims, shapeOf, type Dims } from '../runtime/shapes.js';
import { compileBool, evalExpr } from '../compiler/evaluate.js';
import { keyRanges } from '../compiler/analysis/mask.js';
import { runReference } from '../runtime/reference/index.js';
import { mulberry32, tensor, uniformTensor, type Tensor } from '../runtime/tensor.js';
import { toF16Bits } from '../runtime/f16.js';
import { initTfjs, shareNavigatorGpu, type TfjsAttention } from './tfjs.js';
import { WARM_UP_RUNS } from '../runtime/webgpu/wait.js';
import { Progress } from './progress.js';
import { blockTable, packedDocuments } from './tables.js';
import { decodeRows } from './decode.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HEAD = 'input q, k, v: f32[B, H, N, D]\n  dims B = 1, H = 8, N = 1024, D = 64';
const att = (name: string, body: string, extra = '') =>
  `attention ${name} {\n  ${HEAD}${extra}\n  ${body}\n}\n`;
/**
 * A benchmarked program: its source; `only` these N; `tables`: the tensors its mask reads
 * (bench/tables.ts), beside generated q, k, v; with tables, each kernel is profiled and
 * the block-summary kernels' GPU time reported on its own.
 */
interface Program {
  src: string;
  only?: number[];
  tables?: (dims: Dims) => Record<string, Tensor>;
  /** Dims beyond N that depend on it (a table's block count). */
  dims?: (N: number) => Dims;
}

const PROGRAMS: Record<string, Program> = {
  dense: { src: att('dense', 'return attend(q, k, v)') },
  // f16 in and out, as a model with f16 activations hands them over: the inputs given as f16
  // bits (no host conversion), stored as f16 where the device grants shader-f16, and an f16
  // output read back as f16 — half the bytes each way.
  'dense-f16': { src: att('dense_f16', 'return f16(attend(q, k, v))').replace('f32[B, H, N, D]', 'f16[B, H, N, D]') },
  causal: { src: att('causal', 'return attend(q, k, v, mask: causal)') },
  sliding: { src: att('sliding', 'return attend(q, k, v, mask: sliding(256))') },
  neighborhood: { src: att('neighborhood', 'return attend(q, k, v, mask: neighborhood(15, dilation: 2))') },
  neighborhood2d: {
    src: att('neighborhood2d', 'return attend(q, k, v, mask: neighborhood2d(64, 64, 7, dilation: 1))'),
    only: [4096],
  },
  halo: { src: att('halo', 'return attend(q, k, v, mask: halo(64, 16))') },
  agent: {
    src: att('agent', 'let a = pool(q, tokens: 49)\n  let va = attend(a, k, v)\n  return attend(q, a, va)'),
  },
  reversed: { src: att('reversed', 'return attend(q, k, v, normalize: queries)') },
  routing: {
    src: `attention routing {\n  input q, k, v: f32[B, H, N, D]\n  input centroids: f32[H, C, D]\n` +
      `  dims B = 1, H = 8, N = 1024, D = 64, C = 8\n  let cq = clusters(q, centroids)\n` +
      `  let ck = clusters(k, centroids)\n  return attend(q, k, v, mask: cq[b, h, i] == ck[b, hk, j] && causal)\n}\n`,
  },
  // Top-k (k = 64 of N = 4096): each query keeps its 64 best keys; the ideal counts the
  // selection's scores over every key (its density: (N + 64) / 2N).
  topk: { src: att('topk', 'return attend(q, k, v, topk: 64)'), only: [4096] },
  // Block-sparse top-k per block of 64 queries (samples/block_sparse.attn): 4 earlier key
  // blocks kept by the pooled score, plus the query's own block, causal; the selection
  // (two pools, the block scores and their top-k) is part of the time.
  'block-sparse': {
    src: att('block_sparse', 'let qb = pool(q, tokens: (N + 63) / 64)\n  let kb = pool(k, tokens: (N + 63) / 64)\n' +
      '  let kept = topk(qb, kb, 4, mask: j < i)\n' +
      '  return attend(q, k, v, mask: causal && (j / 64 == i / 64 || kept[b, h, i / 64, j / 64] > 0.5))'),
    only: [4096],
  },
  // One key per query: what any attention costs per query beyond its keys (read the
  // query row, write the output row) — the floor under every sparse program's time.
  diagonal: { src: att('diagonal', 'return attend(q, k, v, mask: i == j)') },
  // 8 documents of random lengths packed in one sequence, causal within each (sorted ids).
  documents: {
    src: att('documents', 'return attend(q, k, v, mask: doc[b, i] == doc[b, j] && causal)', '\n  input doc: i32[B, N]'),
    tables: ({ B = 1, N = 1 }) => ({ doc: packedDocuments(B, N, 8, 3) }),
  },
  // BigBird's random blocks: 3 random 64-key blocks per 64-query block, plus the diagonal block.
  'block-table': {
    src: att('block_table', 'return attend(q, k, v, mask: i / 64 == j / 64 || blocks[h, i / 64, 0] == j / 64' +
      ' || blocks[h, i / 64, 1] == j / 64 || blocks[h, i / 64, 2] == j / 64)', '\n  input blocks: i32[H, NB, 3]'),
    dims: (N) => ({ NB: Math.ceil(N / 64) }),
    tables: ({ H = 1, N = 1 }) => ({ blocks: blockTable(H, Math.ceil(N / 64), 3, Math.ceil(N / 64), 5) }),
  },
};

// ---- arguments ----
const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sizes = (arg('--n') ?? '1024,2048').split(',').map(Number);
const programs = (arg('--programs') ?? Object.keys(PROGRAMS).join(',')).split(',');
const repeat = Math.max(1, Number(arg('--repeat') ?? 3));
const withWebGL = argv.includes('--webgl');
/** Also profile the fused program: each kernel's median GPU ms (BoundProgram.profile). */
const withKernels = argv.includes('--kernels');
/** Decode (N = 1 and 16 queries) over this many cached keys beside the floor; `--decode 0` skips it. */
const decodeM = Number(arg('--decode') ?? 32768);
for (const p of programs) if (!PROGRAMS[p]) throw new Error(`unknown program ${p}; known: ${Object.keys(PROGRAMS).join(', ')}`);
const plotDir = arg('--plot');
const resultsFile = arg('--results') ?? join(root, 'bench', 'results', 'latest.json');
/** `--plot DIR` alone draws the results without benchmarking; any run option runs first. */
const plotOnly = plotDir !== undefined && !['--n', '--programs', '--repeat', '--webgl', '--kernels', '--decode'].some((o) => argv.includes(o));

const SCORES_LIMIT = 128 * 1024 * 1024;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const log = (s: string) => process.stderr.write(s + '\n');

const readsTensor = (e: Expr) => some(e, (x) => x.op === 'load');

/**
 * Per attend node: lengths, density and FLOPs at full density. A mask that reads tensors
 * (routing's cluster ids) is evaluated on the values the reference executor computes for
 * the nodes before it, over every head.
 */
function attendStats(g: Graph, dims: Dims, inputs: Record<string, Tensor>) {
  const out: { L: number; M: number; density: number | null; flops: number; scoresBytes: number }[] = [];
  for (const n of g.nodes) {
    // (A topk(…) selection is part of the time, not an attention of its own.)
    if (n.op !== 'attend' || n.kept) continue;
    const qs = shapeOf(g.nodes[n.q]!, dims), ks = shapeOf(g.nodes[n.k]!, dims);
    const [B, H, L, D] = qs as [number, number, number, number];
    const M = ks[2]!;
    const tensors = readsTensor(n.mask)
      ? runReference(upTo(g, n.id), inputs).values
      : undefined;
    const heads = tensors ? H : 1;
    const f = compileBool(n.mask, { dims, scope: 'mask', lengths: { N: L, M }, tensors });
    // Exact: every query's allowed keys are counted within its key ranges (the mask
    // analysis, one query at a time), so banded masks cost O(N · band), not O(N²).
    // Masks without ranges at large N fall back to a strided sample of queries.
    // Top-k: the selection sees every allowed score (Q·K, half of a key's work), then the
    // softmax and P·V run over at most k keys: work ∝ (M·density + min(k, M·density)) / 2M.
    const push = (density: number) => out.push({
      L, M, density: n.topk === undefined ? density : (M * density + Math.min(n.topk, M * density)) / (2 * M),
      flops: 4 * B * H * L * M * D, scoresBytes: B * H * L * M * 4,
    });
    if (n.mask.op === 'const' && n.mask.value === true) {
      push(1);
      continue;
    }
    const ranges = keyRanges(n.mask);
    const sampled = !ranges && heads * L * M > 1 << 22;
    const rows = sampled ? Math.min(L, 256) : L;
    let hit = 0;
    for (let h = 0; h < heads; h++) {
      const hk = Math.floor(h / (H / ks[1]!));
      for (let a = 0; a < rows; a++) {
        const i = sampled ? Math.floor(((a + 0.5) * L) / rows) : a;
        const vars = { q_lo: i, q_hi: i };
        const spans = ranges
          ? ranges.map((r) => [Math.max(0, evalExpr(r.lo, { vars, dims }) as number), Math.min(M - 1, evalExpr(r.hi, { vars, dims }) as number)])
          : [[0, M - 1]];
        // Overlapping ranges (a union) must not count a key twice.
        const seen = spans.length > 1 ? new Set<number>() : null;
        for (const [lo, hi] of spans) {
          for (let j = lo!; j <= hi!; j++) {
            if (seen?.has(j)) continue;
            seen?.add(j);
            if (f({ b: 0, h, hk, i, j, s: NaN })) hit++;
          }
        }
      }
    }
    push(hit / (heads * rows * M));
  }
  return out;
}

type Row = {
  /**
   * fusedMs, unfusedMs, denseMs, tfjsMs: wall-clock medians of one run on inputs already on
   * the device (attnc: BoundProgram.dispatch; tfjs: tensors uploaded once), from submit to
   * the device finishing. fusedEndToEndMs / tfjsEndToEndMs: the whole call — upload,
   * compute, readback — as run() does it.
   */
  program: string; N: number; fusedMs: number | null; unfusedMs: number | null | 'over limit';
  fusedEndToEndMs: number | null; tfjsEndToEndMs: number | null;
  /**
   * What run() spends beyond its kernels: the median over the end-to-end runs of each
   * call's wall-clock minus the GPU time of its own kernels (timestamp queries; null
   * without them). Measured within one call, so a kernel whose time drifts by more than
   * the transfers (dense at N = 8192: seconds ± hundreds of ms) does not hide them.
   */
  fusedOverheadMs: number | null;
  /**
   * The transfer floor: a bare Dawn writeBuffer of the inputs' bytes plus a copy and
   * mapAsync readback of the output's, as run() needs them, measured in the same run.
   */
  transferFloorMs: number | null;
  denseMs: number | null; webglMs: number | null | 'unavailable'; density: number | null; gflops: number | null;
  /** speedup: dense/this, the median per-pair ratio of runs alternated with dense at this N. */
  unfusedOverFused: number | null; speedup: number | null; idealSpeedup: number | null; fractionOfIdeal: number | null;
  /** WebGL: dense webgl time / this program's webgl time, and that as a fraction of the ideal. */
  webglSpeedup: number | null; webglFractionOfIdeal: number | null;
  /**
   * tfjs-webgpu on the same device (dense only); 'wrong' when it disagrees with fused by >
   * TFJS_TOL. Timed interleaved with the fused run; tfjsOverFused is the median per-pair ratio.
   */
  tfjsMs: number | null | 'over limit' | 'wrong' | 'unavailable' | 'error'; tfjsOverFused: number | null;
  tfjsMaxAbsDiff: number | null;
  /**
   * GPU time (timestamp queries, beginning of the first compute pass to the end of the last;
   * null without `timestamp-query`), and dense/this and % ideal computed from it.
   */
  fusedGpuMs: number | null; unfusedGpuMs: number | null; denseGpuMs: number | null;
  gpuSpeedup: number | null; gpuFractionOfIdeal: number | null;
  /** --kernels: each fused kernel's median GPU ms (BoundProgram.profile), in run order. */
  fusedKernels: KernelTime[] | null;
  /**
   * Programs whose masks read tensors: the GPU ms of the block-summary kernels (profiled
   * per kernel), and their share of the whole fused run's kernels.
   */
  summaryGpuMs: number | null; summaryShare: number | null;
  /**
   * dense-f16 only: what run() adds to its kernels (e2e − gpu), over dense f32's, median of
   * the per-pair ratios of calls alternated with dense at the same N (the transfers halve).
   */
  overheadVsDense?: { ratio: number; ms: number; denseMs: number; pairs: number };
  error?: string;
};

/**
 * Routing inputs with C balanced clusters: random unit centroids per head, and each
 * query/key a centroid (position i → cluster i mod C, keys in another order) plus noise
 * small enough that its cluster is unambiguous.
 */
function balancedRoutingInputs(dims: Dims): Record<string, Tensor> {
  const { B = 1, H = 1, N = 1, D = 1, C = 1 } = dims;
  const rand = mulberry32(7);
  const centroids = new Float32Array(H * C * D);
  for (let r = 0; r < H * C; r++) {
    const row = Array.from({ length: D }, () => rand() * 2 - 1);
    const norm = Math.hypot(...row);
    row.forEach((x, d) => (centroids[r * D + d] = x / norm));
  }
  const around = (cluster: (i: number) => number) => {
    const x = new Float32Array(B * H * N * D);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < N; i++) {
      const c = cluster(i);
      for (let d = 0; d < D; d++) x[((b * H + h) * N + i) * D + d] = centroids[(h * C + c) * D + d]! + 0.05 * (rand() * 2 - 1);
    }
    return x;
  };
  return {
    q: tensor([B, H, N, D], around((i) => i % C)),
    k: tensor([B, H, N, D], around((i) => (i * 3 + 1) % C)),
    v: uniformTensor([B, H, N, D], 3),
    centroids: tensor([H, C, D], centroids),
  };
}

const TFJS_TOL = 1e-3;
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
};

async function main() {
  // Publish Dawn's GPU object as navigator.gpu first, so attnc's getWebGPU() and tfjs share it.
  let tfjsReason: string | null = null;
  try { await shareNavigatorGpu(); } catch (e) { tfjsReason = e instanceof Error ? e.message.split('\n')[0]! : String(e); }
  const gpu = await getWebGPU();
  let tfjs: TfjsAttention | null = null;
  if (programs.includes('dense')) {
    if (tfjsReason === null) {
      try { tfjs = await initTfjs(gpu); } catch (e) { tfjsReason = e instanceof Error ? e.message.split('\n')[0]! : String(e); }
    }
    if (!tfjs) log(`tfjs: unavailable (${tfjsReason})`);
    else log(`tfjs: tfjs-webgpu on the attnc device (${gpu.description}), maxStorageBufferBindingSize ${tfjs.maxBinding}`);
  }
  const glOk = withWebGL && webglAvailable();
  if (withWebGL && !glOk) log('webgl: unavailable (no context; run under scripts/with-display.sh)');

  /** Median wall-clock ms of `repeat` runs after the warm-ups. */
  async function time(label: string, run: () => Promise<unknown>): Promise<number> {
    return (await timeGpu(label, async () => { await run(); return null; })).ms;
  }

  /** run()'s wall-clock median, and the median of each call's wall-clock minus its kernels' GPU time. */
  async function timeEndToEnd(g: Graph, inputs: Record<string, Tensor>, dims: Dims, options: ExecuteOptions) {
    const overheads: number[] = [];
    const { ms } = await timeGpu('webgpu fused, end to end', async () => {
      let gpuMs: number | null = null;
      const t0 = performance.now();
      await executeWebGPU(g, inputs, dims, { ...options, timing: (t) => (gpuMs = t) });
      if (gpuMs !== null) overheads.push(performance.now() - t0 - gpuMs);
      return null;
    });
    const overheadMs = overheads.length >= repeat ? median(overheads.slice(-repeat)) : null;
    if (overheadMs !== null) log(`  run() beyond its kernels: ${overheadMs.toFixed(2)} ms (median of ${repeat})`);
    return { ms, overheadMs };
  }

  /**
   * Wall-clock and GPU medians of `repeat` runs after the warm-ups; `run` resolves to its GPU
   * ms (BoundProgram.dispatch). The GPU median is null unless every run reported one (no
   * `timestamp-query`: never).
   */
  async function timeGpu(label: string, run: () => Promise<number | null>) {
    log(`  ${label}: warm-up`);
    for (let w = 0; w < WARM_UP_RUNS; w++) await run();
    const ts: number[] = [];
    const gpuTs: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      const gpuMs = await run();
      ts.push(performance.now() - t0);
      if (gpuMs !== null) gpuTs.push(gpuMs);
    }
    const ms = median(ts);
    const gpuMs = gpuTs.length === repeat ? median(gpuTs) : null;
    log(`  ${label}: ${ms.toFixed(2)} ms wall, ${gpuMs === null ? 'no' : gpuMs.toFixed(2) + ' ms'} gpu (median of ${repeat})`);
    return { ms, gpuMs };
  }

  /**
   * Two runs alternated (a, b, a, b, …) after the warm-ups of each: the medians of each and
   * the median of the per-pair ratios a/b — wall-clock, and GPU time when both runs
   * resolve to it (BoundProgram.dispatch) — robust to the machine's load drifting.
   */
  async function timePair(labelA: string, runA: () => Promise<unknown>, labelB: string, runB: () => Promise<unknown>) {
    log(`  ${labelA} / ${labelB}: warm-up`);
    for (let w = 0; w < WARM_UP_RUNS; w++) {
      await runA();
      await runB();
    }
    const ta: number[] = [];
    const tb: number[] = [];
    const gpuRatios: number[] = [];
    const pairs = Math.max(repeat, 5);
    for (let r = 0; r < pairs; r++) {
      let t0 = performance.now();
      const ga = await runA();
      ta.push(performance.now() - t0);
      t0 = performance.now();
      const gb = await runB();
      tb.push(performance.now() - t0);
      if (typeof ga === 'number' && typeof gb === 'number') gpuRatios.push(ga / gb);
    }
    const ratio = median(ta.map((a, i) => a / tb[i]!));
    const gpuRatio = gpuRatios.length === pairs ? median(gpuRatios) : null;
    log(`  ${labelA}: ${median(ta).toFixed(2)} ms, ${labelB}: ${median(tb).toFixed(2)} ms, alternated;` +
      ` ratio ${ratio.toFixed(2)}${gpuRatio === null ? '' : ` (gpu ${gpuRatio.toFixed(2)})`}, median of ${pairs} pairs`);
    return { a: median(ta), b: median(tb), ratio, gpuRatio };
  }

  /**
   * What run() adds to its kernels (wall-clock − GPU time of one executeWebGPU call) for `b`
   * over `a`'s, in calls alternated a, b, a, b, … after the warm-ups: the median of the
   * per-pair ratios (the two programs' transfers compared on the same machine state).
   */
  async function overheadPair(
    a: { g: Graph; inputs: Record<string, Tensor>; dims: Dims }, b: { g: Graph; inputs: Record<string, Tensor>; dims: Dims }, options: ExecuteOptions,
  ) {
    const overhead = async (x: typeof a) => {
      let gpuMs: number | null = null;
      const t0 = performance.now();
      await executeWebGPU(x.g, x.inputs, x.dims, { ...options, timing: (t) => (gpuMs = t) });
      return gpuMs === null ? null : performance.now() - t0 - gpuMs;
    };
    for (let w = 0; w < WARM_UP_RUNS; w++) {
      await overhead(a);
      await overhead(b);
    }
    const [oa, ob]: number[][] = [[], []];
    const pairs = Math.max(repeat, 9);
    for (let r = 0; r < pairs; r++) {
      const [x, y] = [await overhead(a), await overhead(b)];
      if (x === null || y === null) return undefined; // no timestamp-query: no GPU time to subtract
      oa.push(x);
      ob.push(y);
    }
    const ratio = median(ob.map((y, i) => y / oa[i]!));
    log(`  run() beyond its kernels, alternated with dense: ${median(ob).toFixed(2)} vs ${median(oa).toFixed(2)} ms, ratio ${ratio.toFixed(2)}, median of ${pairs} pairs`);
    return { ratio, ms: median(ob), denseMs: median(oa), pairs };
  }

  /**
   * timeGpu of BoundProgram.dispatch: the inputs are uploaded once, outside the timing.
   * With --kernels, also each kernel's GPU time (profileKernels).
   */
  async function timeBound(label: string, lowering: ExecuteOptions, g: Graph, inputs: Record<string, Tensor>, dims: Dims, profile = withKernels) {
    const bound = await bindWebGPU(g, inputs, dims, lowering);
    try {
      const timed = await timeGpu(label, () => bound.dispatch());
      return { ...timed, perKernel: profile ? await profileKernels(label, bound) : null };
    } finally {
      bound.release();
    }
  }

  /** Each kernel's median GPU ms over `repeat` profiled runs; null without timestamp-query. */
  async function profileKernels(label: string, bound: BoundProgram): Promise<KernelTime[] | null> {
    for (let w = 0; w < WARM_UP_RUNS; w++) await bound.profile();
    const runs: KernelTime[][] = [];
    for (let r = 0; r < repeat; r++) {
      const p = await bound.profile();
      if (!p) {
        log(`  ${label}, per kernel: no timestamp-query on this device`);
        return null;
      }
      runs.push(p);
    }
    const perKernel = runs[0]!.map(({ kernel }, i) => ({ kernel, ms: median(runs.map((p) => p[i]!.ms)) }));
    log(`  ${label}, per kernel (gpu ms, median of ${repeat}): ${perKernel.map((x) => `${x.kernel} ${x.ms.toFixed(2)}`).join(', ')}`);
    return perKernel;
  }

  const rows: Row[] = [];
  // One step per program and N, in the order they run (dense first: the others alternate with it).
  const order = ['dense', ...programs.filter((p) => p !== 'dense')];
  const progress = new Progress(sizes.reduce((n, N) => n + order.filter((p) => !PROGRAMS[p]!.only || PROGRAMS[p]!.only!.includes(N)).length, 0));
  for (const N of sizes) {
    // Dense attention at this N, bound once: every other program's dense/this ratio is
    // measured alternating with it.
    let dense: BoundProgram | null = null;
    let denseCall: { g: Graph; inputs: Record<string, Tensor>; dims: Dims } | null = null;
    try {
      let denseMs: number | null = null;
      let denseGpuMs: number | null = null;
      let webglDenseMs: number | null = null;
      for (const name of order) {
        const prog = PROGRAMS[name]!;
        if (prog.only && !prog.only.includes(N)) continue;
        progress.step(`${name} N=${N}`);
        const row: Row = {
          program: name, N, fusedMs: null, unfusedMs: null, fusedEndToEndMs: null, fusedOverheadMs: null, tfjsEndToEndMs: null, transferFloorMs: null, denseMs: null, webglMs: null, density: null, gflops: null,
          webglSpeedup: null, webglFractionOfIdeal: null,
          unfusedOverFused: null, speedup: null, idealSpeedup: null, fractionOfIdeal: null,
          tfjsMs: null, tfjsOverFused: null, tfjsMaxAbsDiff: null,
          fusedGpuMs: null, unfusedGpuMs: null, denseGpuMs: null, gpuSpeedup: null, gpuFractionOfIdeal: null, fusedKernels: null,
          summaryGpuMs: null, summaryShare: null,
        };
        try {
          const res = compile(prog.src, { path: `${name}.attn` });
          if (!res.ok || !res.graph) throw new Error(res.diagnostics.map((d) => JSON.stringify(d)).join('\n'));
          const g = res.graph;
          const dims = resolveDims(g, { N, ...prog.dims?.(N) });
          const inputs = asF16Bits(g, name === 'routing' ? balancedRoutingInputs(dims) : { ...generateInputs(g, dims, 1), ...prog.tables?.(dims) });
          // (f16 outputs come back as their bits, as an f16 pipeline takes them: RunOptions.f16Outputs)
          const fused: ExecuteOptions = { fusion: true, f16Bits: true };
          ({ ms: row.fusedMs, gpuMs: row.fusedGpuMs, perKernel: row.fusedKernels } = await timeBound('webgpu fused', fused, g, inputs, dims, withKernels || !!prog.tables));
          if (prog.tables && row.fusedKernels) {
            const summary = row.fusedKernels.filter((k) => /_summary\d/.test(k.kernel)).reduce((a, k) => a + k.ms, 0);
            const total = row.fusedKernels.reduce((a, k) => a + k.ms, 0);
            [row.summaryGpuMs, row.summaryShare] = [summary, total > 0 ? summary / total : null];
          }
          ({ ms: row.fusedEndToEndMs, overheadMs: row.fusedOverheadMs } = await timeEndToEnd(g, inputs, dims, fused));
          row.transferFloorMs = await time('bare Dawn transfers (the floor)', () => transferFloor(gpu.device, inputs, outBytes(g, dims)));
          if (name === 'dense') {
            [denseMs, denseGpuMs] = [row.fusedMs, row.fusedGpuMs];
            dense = await bindWebGPU(g, inputs, dims, fused);
            denseCall = { g, inputs, dims };
          } else if (dense) {
            const bound = await bindWebGPU(g, inputs, dims, fused);
            try {
              const d = dense;
              const pair = await timePair('dense', () => d.dispatch(), name, () => bound.dispatch());
              [row.speedup, row.gpuSpeedup] = [pair.ratio, pair.gpuRatio];
            } finally {
              bound.release();
            }
          }
          if (name === 'dense-f16' && denseCall) row.overheadVsDense = await overheadPair(denseCall, { g, inputs, dims }, fused);
          if (name === 'dense' && programs.includes('dense')) {
            if (!tfjs) row.tfjsMs = 'unavailable';
            else {
              const shape = [dims.B ?? 1, dims.H ?? 1, N, dims.D ?? 1] as [number, number, number, number];
              const scoreBytes = shape[0] * shape[1] * N * N * 4;
              if (scoreBytes > tfjs.maxBinding) {
                row.tfjsMs = 'over limit';
                log(`  tfjs: over limit (scores ${scoreBytes} B > maxStorageBufferBindingSize ${tfjs.maxBinding})`);
              } else {
                const f32 = (n: string) => Float32Array.from(inputs[n]!.data);
                const [q, k, v] = [f32('q'), f32('k'), f32('v')];
                try {
                  const ref = await executeWebGPU(g, inputs, dims, fused);
                  row.tfjsMaxAbsDiff = maxAbsDiff(await tfjs.run(q, k, v, shape), ref.data);
                  if (row.tfjsMaxAbsDiff > TFJS_TOL) {
                    row.tfjsMs = 'wrong';
                    log(`  warning: tfjs differs from attnc fused by ${row.tfjsMaxAbsDiff} (> ${TFJS_TOL}) at N=${N}; not timed`);
                  } else {
                    log(`  tfjs: max abs diff vs fused ${row.tfjsMaxAbsDiff.toExponential(2)}`);
                    // Interleaved with attnc's fused run, so both see the same machine: the
                    // ratio is the median of the per-pair ratios.
                    const resident = tfjs.resident(q, k, v, shape);
                    const bound = await bindWebGPU(g, inputs, dims, fused);
                    try {
                      const pair = await timePair('tfjs-webgpu', () => resident.dispatch(), 'webgpu fused', () => bound.dispatch());
                      row.tfjsMs = pair.a;
                      row.tfjsOverFused = pair.ratio;
                    } finally {
                      resident.dispose();
                      bound.release();
                    }
                    row.tfjsEndToEndMs = await time('tfjs-webgpu, end to end', () => tfjs!.run(q, k, v, shape));
                  }
                } catch (e) {
                  row.tfjsMs = 'error';
                  log(`  tfjs error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
                }
              }
            }
          }
          const stats = attendStats(g, dims, inputs);
          if (Math.max(...stats.map((s) => s.scoresBytes)) > SCORES_LIMIT) row.unfusedMs = 'over limit';
          else {
            const unfused: ExecuteOptions = { fusion: false };
            ({ ms: row.unfusedMs, gpuMs: row.unfusedGpuMs } = await timeBound('webgpu fusion-off', unfused, g, inputs, dims));
          }
          if (withWebGL) row.webglMs = glOk ? await time('webgl', () => executeWebGL(g, inputs, dims)) : 'unavailable';
          if (name === 'dense' && typeof row.webglMs === 'number') webglDenseMs = row.webglMs;
          const known = stats.every((s) => s.density !== null);
          // Density relative to one dense N × N attend (so agent's two small attends count as sparse).
          const full = 4 * (dims.B ?? 1) * (dims.H ?? 1) * N * N * (dims.D ?? 1);
          if (known) {
            const work = stats.reduce((a, s) => a + s.flops * s.density!, 0);
            row.density = work / full;
            row.gflops = work / (row.fusedMs * 1e6);
            row.idealSpeedup = row.density > 0 ? 1 / row.density : null;
          }
          row.denseMs = denseMs;
          if (typeof row.unfusedMs === 'number') row.unfusedOverFused = row.unfusedMs / row.fusedMs;
          if (name === 'dense') [row.speedup, row.gpuSpeedup] = [1, denseGpuMs === null ? null : 1];
          if (row.speedup !== null && row.idealSpeedup !== null) row.fractionOfIdeal = row.speedup / row.idealSpeedup;
          row.denseGpuMs = denseGpuMs;
          if (row.gpuSpeedup !== null && row.idealSpeedup !== null) row.gpuFractionOfIdeal = row.gpuSpeedup / row.idealSpeedup;
          if (webglDenseMs !== null && typeof row.webglMs === 'number') {
            row.webglSpeedup = webglDenseMs / row.webglMs;
            if (row.idealSpeedup !== null) row.webglFractionOfIdeal = row.webglSpeedup / row.idealSpeedup;
          }
        } catch (e) {
          row.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
          log(`  error: ${row.error}`);
        }
        if (programs.includes(name)) rows.push(row);
      }
    } finally {
      (dense as BoundProgram | null)?.release();
    }
  }

  // ---- decoding against a long cache, beside the memory floor ----
  const decode = decodeM > 0 ? await decodeRows(gpu.device, [1, 16], decodeM, timePair) : [];

  // ---- compile() time per sample ----
  const compileTimes: { sample: string; ms: number }[] = [];
  const sampleDir = join(root, 'samples');
  for (const f of readdirSync(sampleDir).filter((f) => f.endsWith('.attn')).sort()) {
    const text = readFileSync(join(sampleDir, f), 'utf8');
    compile(text, { path: f });
    const ts: number[] = [];
    for (let r = 0; r < 20; r++) {
      const t0 = performance.now();
      compile(text, { path: f });
      ts.push(performance.now() - t0);
    }
    compileTimes.push({ sample: f, ms: median(ts) });
    log(`compile ${f}: ${median(ts).toFixed(3)} ms`);
  }

  // ---- table ----
  const fmt = (v: number | string | null | undefined, d = 2) =>
    v === null || v === undefined ? '-' : typeof v === 'string' ? v : v.toFixed(d);
  const withTfjs = programs.includes('dense');
  const pct = (f: number | null) => (f === null ? '-' : (100 * f).toFixed(1) + '%');
  const header = ['program', 'N', 'fused ms', 'fused e2e ms', 'e2e − gpu ms', 'floor ms', 'fusion-off ms', 'dense ms',
    'fused gpu ms', 'fusion-off gpu ms', 'dense gpu ms', 'summary gpu ms', ...(withWebGL ? ['webgl ms', 'webgl dense/this', 'webgl % ideal'] : []),
    ...(withTfjs ? ['tfjs ms', 'tfjs/fused', 'tfjs e2e ms'] : []), 'density', 'GFLOP/s', 'off/fused', 'dense/this', 'ideal', '% ideal',
    'dense/this (gpu)', '% ideal (gpu)'];
  const body = rows.map((r) => r.error
    ? [r.program, String(r.N), `error: ${r.error}`]
    : [r.program, String(r.N), fmt(r.fusedMs), fmt(r.fusedEndToEndMs), fmt(r.fusedOverheadMs), fmt(r.transferFloorMs), fmt(r.unfusedMs), fmt(r.denseMs),
      fmt(r.fusedGpuMs), fmt(r.unfusedGpuMs), fmt(r.denseGpuMs),
      r.summaryGpuMs === null ? '-' : `${fmt(r.summaryGpuMs)} (${pct(r.summaryShare)})`,
      ...(withWebGL ? [r.webglMs === 'unavailable' ? 'webgl: unavailable' : fmt(r.webglMs), fmt(r.webglSpeedup),
        r.webglFractionOfIdeal === null ? '-' : (100 * r.webglFractionOfIdeal).toFixed(1) + '%'] : []),
      ...(withTfjs ? [fmt(r.tfjsMs), fmt(r.tfjsOverFused), fmt(r.tfjsEndToEndMs)] : []),
      fmt(r.density, 4), fmt(r.gflops), fmt(r.unfusedOverFused), fmt(r.speedup), fmt(r.idealSpeedup),
      pct(r.fractionOfIdeal), fmt(r.gpuSpeedup), pct(r.gpuFractionOfIdeal)]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.filter((r) => r.length > 2).map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`attnc benchmark — B=1 H=8 D=64, median of ${repeat} after ${WARM_UP_RUNS} warm-ups. \`ms\` columns: wall-clock ms of one` +
    ` run on inputs already on the device (submit to the device finishing; no upload, no readback). \`e2e ms\`: the` +
    ` whole call as run() makes it (upload + compute + readback); \`e2e − gpu ms\`: per call, its wall-clock minus its` +
    ` kernels' GPU time (what run() adds to the kernels), beside \`floor ms\`, a bare Dawn upload + readback of the same bytes. \`gpu ms\` columns: GPU time from timestamp queries, beginning of the` +
    ` first compute pass to the end of the last (kernels only; \`timestamp-query\`` +
    ` ${gpu.timestamps ? 'granted' : 'not granted: shown as -'}). dense/this: median of the per-pair ratios of runs` +
    ` alternated with dense attention at the same N (wall-clock; (gpu): GPU time); % ideal = dense/this ÷ (1/density).` +
    ` GFLOP/s = 4·N·M·D·H·density / fused wall-clock time.` +
    (withTfjs ? ` tfjs = tfjs-webgpu ${tfjs ? '' : '(unavailable) '}matMul·softmax·matMul on the same device` +
      ` (tensors uploaded once; e2e: upload + compute + data()), checked against fused (max abs diff ≤ ${TFJS_TOL});` +
      ` timed alternating with the fused run, tfjs/fused = median of the per-pair ratios.` : ''));
  if (withTfjs && !tfjs) console.log(`tfjs: unavailable (${tfjsReason})`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(r.length > 3 ? line(r) : `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]}`);
  for (const r of rows) {
    if (!r.overheadVsDense) continue;
    const o = r.overheadVsDense;
    console.log(`\n${r.program} N = ${r.N}: run() beyond its kernels ${fmt(o.ms)} ms vs dense's ${fmt(o.denseMs)} ms (f32), ${fmt(o.ratio)}× in calls alternated with dense (median of ${o.pairs} pairs)`);
  }
  if (decode.length) {
    console.log(`\ndecode: N new queries, causal_end, over M = ${decodeM} cached keys (H = 8, D = 64), beside a kernel that only reads K and V once (the floor), wall-clock ms on resident buffers:`);
    for (const d of decode) console.log(`  N = ${String(d.N).padStart(2)}  ${fmt(d.ms).padStart(9)} ms   floor ${fmt(d.floorMs).padStart(9)} ms   ${pct(d.ofFloor)} of the floor's speed`);
  }
  console.log('\ncompile() per sample (median of 20, no pipeline creation):');
  for (const c of compileTimes) console.log(`  ${c.sample.padEnd(22)} ${c.ms.toFixed(3).padStart(9)} ms`);

  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify({
    date: new Date().toISOString(), node: process.version, sizes, repeat, webgl: withWebGL,
    timing: { wallClock: 'ms of one run on resident inputs: submit to the device finishing (BoundProgram.dispatch)',
      endToEnd: 'ms around the awaited executeWebGPU (upload + compute + readback)',
      gpu: gpu.timestamps ? 'timestamp queries: beginning of the first compute pass to the end of the last' : null },
    tfjs: withTfjs ? (tfjs ? { available: true, backend: 'tfjs-webgpu 4.22.0 on the attnc device', tolerance: TFJS_TOL,
      maxStorageBufferBindingSize: tfjs.maxBinding } : { available: false, reason: tfjsReason }) : null,
    rows, decode, compileTimes,
  }, null, 2) + '\n');
  log(`wrote ${join(outDir, 'latest.json')}`);
  if (plotDir !== undefined) await plot(plotDir, join(outDir, 'latest.json'));
  process.exit(0);
}

/** Draw a results file (default: `--results`, else latest.json) into `dir`. */
async function plot(dir: string, file = resultsFile) {
  const { plotResults } = await import('./plot.js');
  log(`wrote ${(await plotResults(file, dir)).join(', ')}`);
}

(plotOnly ? plot(plotDir!).then(() => process.exit(0)) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});

/** Bytes of the program's output under `dims` (f32 or i32 elements, f16 ones read back as f16). */
function outBytes(g: Graph, dims: Dims): number {
  return (g.nodes[g.output]!.elem === 'f16' ? 2 : 4) * shapeOf(g.nodes[g.output]!, dims).reduce((a, b) => a * b, 1);
}

/** The program's f16 inputs as f16 bits (a Uint16Array: what run() uploads as it is). */
function asF16Bits(g: Graph, inputs: Record<string, Tensor>): Record<string, Tensor> {
  const out = { ...inputs };
  for (const id of g.inputs) {
    const n = g.nodes[id]!;
    const t = inputs[n.name!];
    if (n.elem === 'f16' && t) out[n.name!] = { ...t, data: toF16Bits(t.data).subarray(0, t.data.length) };
  }
  return out;
}

/**
 * The transfer floor of a run: the inputs written with queue.writeBuffer into fresh
 * buffers, then `outBytes` copied into a mappable buffer and read back with mapAsync — the
 * bytes run() moves, with nothing else (bench rows: `floor ms`).
 */
async function transferFloor(device: GPUDevice, inputs: Record<string, Tensor>, outBytes: number): Promise<void> {
  const made: GPUBuffer[] = [];
  for (const t of Object.values(inputs)) {
    const data = t.data instanceof Float32Array || t.data instanceof Int32Array || t.data instanceof Uint16Array ? t.data : Float32Array.from(t.data);
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    made.push(b);
  }
  const size = Math.max(16, Math.ceil(outBytes / 16) * 16);
  const out = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(out, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  new Float32Array(staging.getMappedRange().slice(0, outBytes));
  staging.unmap();
  for (const b of [...made, out, staging]) b.destroy();
}
