// Tensors that masks read, shaped like the ones real workloads hold — packed documents,
// jagged lengths, block tables — for the benchmark and the tests of the block summaries
// (compiler/analysis/mask.ts). Seeded: the same arguments give the same tensor.

import { mulberry32, tensor, type Tensor } from '../runtime/tensor.js';

/**
 * `doc: i32[B, N]`: `docs` documents of random lengths (at least 1 position each) packed
 * one after another in each sequence, ids 0, 1, … ascending along it.
 */
export function packedDocuments(B: number, N: number, docs: number, seed: number): Tensor {
  const rand = mulberry32(seed);
  const data = new Int32Array(B * N);
  const count = Math.max(1, Math.min(docs, N));
  for (let b = 0; b < B; b++) {
    // count − 1 distinct cut points in 1..N−1, ascending.
    const cuts = new Set<number>();
    while (cuts.size < count - 1) cuts.add(1 + Math.floor(rand() * (N - 1)));
    const sorted = [...cuts].sort((x, y) => x - y);
    let id = 0;
    for (let i = 0; i < N; i++) {
      while (id < sorted.length && i >= sorted[id]!) id++;
      data[b * N + i] = id;
    }
  }
  return tensor([B, N], data);
}

/** `len: i32[B]`: random lengths in [0, N], the first 0 and the last N when B allows (empty and full sequences). */
export function jaggedLengths(B: number, N: number, seed: number): Tensor {
  const rand = mulberry32(seed);
  const data = Int32Array.from({ length: B }, () => Math.floor(rand() * (N + 1)));
  if (B >= 2) [data[0], data[B - 1]] = [0, N];
  return tensor([B], data);
}

/** `blocks: i32[H, NB, R]`: for each head and block of queries, R random key blocks in [0, KB) (repeats allowed). */
export function blockTable(H: number, NB: number, R: number, KB: number, seed: number): Tensor {
  const rand = mulberry32(seed);
  return tensor([H, NB, R], Int32Array.from({ length: H * NB * R }, () => Math.floor(rand() * KB)));
}
