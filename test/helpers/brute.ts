// An independent, deliberately plain formulation of attention (spec §4) for the tests:
// materialise the score matrix per (b, h), apply the mask, softmax, multiply by V.

import type { Tensor } from '../../runtime/tensor.js';

export type MaskFn = (b: number, h: number, hk: number, i: number, j: number) => boolean;
export type ScoreFn = (s: number, b: number, h: number, hk: number, i: number, j: number) => number;

export interface BruteOpts {
  mask?: MaskFn;
  score?: ScoreFn;
  /** Default 1 / sqrt(D). */
  scale?: number;
  normalize?: 'keys' | 'queries';
}

function get(t: Tensor, idx: number[]): number {
  let off = 0;
  for (let a = 0; a < idx.length; a++) off = off * t.shape[a]! + idx[a]!;
  return t.data[off]!;
}

/** Returns O as nested arrays [B][H][N][Dv]. */
export function bruteAttend(q: Tensor, k: Tensor, v: Tensor, opts: BruteOpts = {}): number[][][][] {
  const [B, H, N, D] = q.shape as [number, number, number, number];
  const [, Hk, M] = k.shape as [number, number, number];
  const Dv = v.shape[3]!;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const mask = opts.mask ?? (() => true);
  const score = opts.score ?? ((s: number) => s);
  const out: number[][][][] = [];
  for (let b = 0; b < B; b++) {
    const ob: number[][][] = [];
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hk));
      // scores, with null for "not in the softmax support"
      const X: (number | null)[][] = [];
      for (let i = 0; i < N; i++) {
        const row: (number | null)[] = [];
        for (let j = 0; j < M; j++) {
          if (!mask(b, h, hk, i, j)) {
            row.push(null);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += get(q, [b, h, i, d]) * get(k, [b, hk, j, d]);
          const x = score(scale * dot, b, h, hk, i, j);
          row.push(x === -Infinity ? null : x);
        }
        X.push(row);
      }
      // probabilities
      const P: number[][] = X.map((row) => row.map(() => 0));
      if ((opts.normalize ?? 'keys') === 'keys') {
        for (let i = 0; i < N; i++) {
          const xs = X[i]!.filter((x): x is number => x !== null);
          if (xs.length === 0) continue;
          const m = Math.max(...xs);
          const z = xs.reduce((acc, x) => acc + Math.exp(x - m), 0);
          for (let j = 0; j < M; j++) {
            const x = X[i]![j]!;
            if (x !== null) P[i]![j] = Math.exp(x - m) / z;
          }
        }
      } else {
        for (let j = 0; j < M; j++) {
          const xs = X.map((row) => row[j]!).filter((x): x is number => x !== null);
          if (xs.length === 0) continue;
          const m = Math.max(...xs);
          const z = xs.reduce((acc, x) => acc + Math.exp(x - m), 0);
          for (let i = 0; i < N; i++) {
            const x = X[i]![j]!;
            if (x !== null) P[i]![j] = Math.exp(x - m) / z;
          }
        }
      }
      // O = P V
      const oh: number[][] = [];
      for (let i = 0; i < N; i++) {
        const o: number[] = new Array<number>(Dv).fill(0);
        for (let j = 0; j < M; j++) {
          if (P[i]![j] === 0 && X[i]![j] === null) continue;
          for (let d = 0; d < Dv; d++) o[d]! += P[i]![j]! * get(v, [b, hk, j, d]);
        }
        oh.push(o);
      }
      ob.push(oh);
    }
    out.push(ob);
  }
  return out;
}

export function flatten(o: number[][][][]): number[] {
  return o.flat(3);
}
