// Seeded q, k, v for attention tests: q [B, H, N, D], k [B, Hk, M, D], v [B, Hk, M, Dv],
// with Hk = H, M = N and Dv = D unless given.

import { uniformTensor, type Tensor } from '../../runtime/tensor.js';

export interface Sizes {
  B?: number;
  H?: number;
  Hk?: number;
  N: number;
  M?: number;
  D?: number;
  Dv?: number;
}

export function qkv(sz: Sizes, seed = 1, defaultD = 16): { q: Tensor; k: Tensor; v: Tensor } {
  const { B = 1, H = 2, N, D = defaultD } = sz;
  const Hk = sz.Hk ?? H;
  const M = sz.M ?? N;
  const Dv = sz.Dv ?? D;
  return {
    q: uniformTensor([B, H, N, D], seed),
    k: uniformTensor([B, Hk, M, D], seed + 1),
    v: uniformTensor([B, Hk, M, Dv], seed + 2),
  };
}
