// The programs of `npm run bench` (bench/bench.ts) for the browser benchmark, their inputs
// (the same generators: seeded q, k, v; bench/tables.ts for the masks that read tensors;
// balanced clusters for routing) and their density. Pure: bundled into the page
// (bench/browser-page.ts) and imported by the driver (bench/browser.ts) alike.

import { keyRanges } from '../compiler/analysis/mask.js';
import { compileBool, evalExpr } from '../compiler/evaluate.js';
import { upTo, type Graph } from '../compiler/ir.js';
import { runReference } from '../runtime/reference/index.js';
import { generateInputs, resolveDims, shapeOf, type Dims } from '../runtime/shapes.js';
import { mulberry32, tensor, uniformTensor, type Tensor } from '../runtime/tensor.js';
import { blockTable, packedDocuments } from './tables.js';

const HEAD = 'input q, k, v: f32[B, H, N, D]\n  dims B = 1, H = 8, N = 1024, D = 64';
const att = (name: string, body: string, extra = '') => `attention ${name} {\n  ${HEAD}${extra}\n  ${body}\n}\n`;

export interface BenchProgram {
  src: string;
  /** Only at these N. */
  only?: number[];
  /** The tensors its mask reads, beside q, k, v. */
  tables?: (dims: Dims) => Record<string, Tensor>;
  /** Dims beyond N that depend on it. */
  dims?: (N: number) => Dims;
}

export const PROGRAMS: Record<string, BenchProgram> = {
  dense: { src: att('dense', 'return attend(q, k, v)') },
  causal: { src: att('causal', 'return attend(q, k, v, mask: causal)') },
  sliding: { src: att('sliding', 'return attend(q, k, v, mask: sliding(256))') },
  neighborhood: { src: att('neighborhood', 'return attend(q, k, v, mask: neighborhood(15, dilation: 2))') },
  neighborhood2d: { src: att('neighborhood2d', 'return attend(q, k, v, mask: neighborhood2d(64, 64, 7, dilation: 1))'), only: [4096] },
  halo: { src: att('halo', 'return attend(q, k, v, mask: halo(64, 16))') },
  agent: { src: att('agent', 'let a = pool(q, tokens: 49)\n  let va = attend(a, k, v)\n  return attend(q, a, va)') },
  reversed: { src: att('reversed', 'return attend(q, k, v, normalize: queries)') },
  routing: {
    src: 'attention routing {\n  input q, k, v: f32[B, H, N, D]\n  input centroids: f32[H, C, D]\n' +
      '  dims B = 1, H = 8, N = 1024, D = 64, C = 8\n  let cq = clusters(q, centroids)\n' +
      '  let ck = clusters(k, centroids)\n  return attend(q, k, v, mask: cq[b, h, i] == ck[b, hk, j] && causal)\n}\n',
  },
  diagonal: { src: att('diagonal', 'return attend(q, k, v, mask: i == j)') },
  documents: {
    src: att('documents', 'return attend(q, k, v, mask: doc[b, i] == doc[b, j] && causal)', '\n  input doc: i32[B, N]'),
    tables: ({ B = 1, N = 1 }) => ({ doc: packedDocuments(B, N, 8, 3) }),
  },
  'block-table': {
    src: att('block_table', 'return attend(q, k, v, mask: i / 64 == j / 64 || blocks[h, i / 64, 0] == j / 64' +
      ' || blocks[h, i / 64, 1] == j / 64 || blocks[h, i / 64, 2] == j / 64)', '\n  input blocks: i32[H, NB, 3]'),
    dims: (N) => ({ NB: Math.ceil(N / 64) }),
    tables: ({ H = 1, N = 1 }) => ({ blocks: blockTable(H, Math.ceil(N / 64), 3, Math.ceil(N / 64), 5) }),
  },
};

/** The dims and inputs of a program at N, as `npm run bench` makes them. */
export function benchCase(name: string, graph: Graph, N: number): { dims: Dims; inputs: Record<string, Tensor> } {
  const prog = PROGRAMS[name]!;
  const dims = resolveDims(graph, { N, ...prog.dims?.(N) });
  const inputs = name === 'routing' ? balancedRoutingInputs(dims) : { ...generateInputs(graph, dims, 1), ...prog.tables?.(dims) };
  return { dims, inputs };
}

/**
 * Routing inputs with C balanced clusters (bench/bench.ts's): random unit centroids per
 * head, each query and key a centroid plus noise small enough to leave no doubt.
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

/**
 * The density of the program's last attend (allowed pairs over N·M, batch 0, every head
 * when the mask reads tensors) and its FLOPs at full density (4·B·H·N·M·D). Counted within
 * each query's key ranges (the mask analysis), so banded masks cost O(N · band).
 */
export function attendDensity(g: Graph, dims: Dims, inputs: Record<string, Tensor>): { density: number; flops: number } {
  const n = [...g.nodes].reverse().find((x) => x.op === 'attend');
  if (!n || n.op !== 'attend') return { density: 1, flops: 0 };
  const [B, H, L, D] = shapeOf(g.nodes[n.q]!, dims) as [number, number, number, number];
  const ks = shapeOf(g.nodes[n.k]!, dims);
  const M = ks[2]!;
  const flops = 4 * B * H * L * M * D;
  if (n.mask.op === 'const' && n.mask.value === true) return { density: 1, flops };
  const readsTensor = JSON.stringify(n.mask).includes('"op":"load"');
  const tensors = readsTensor ? runReference(upTo(g, n.id), inputs).values : undefined;
  const heads = tensors ? H : 1;
  const f = compileBool(n.mask, { dims, scope: 'mask', lengths: { N: L, M }, tensors });
  const ranges = keyRanges(n.mask);
  let hit = 0;
  for (let h = 0; h < heads; h++) {
    const hk = Math.floor(h / (H / ks[1]!));
    for (let i = 0; i < L; i++) {
      const vars = { q_lo: i, q_hi: i };
      const spans = ranges
        ? ranges.map((r) => [Math.max(0, evalExpr(r.lo, { vars, dims }) as number), Math.min(M - 1, evalExpr(r.hi, { vars, dims }) as number)])
        : [[0, M - 1]];
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
  return { density: hit / (heads * L * M), flops };
}
