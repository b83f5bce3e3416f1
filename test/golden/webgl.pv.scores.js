// streaming_attend3_pv: attend %3 (normalize: keys), pass 4/4: P·V, 4 output features per texel
// output [16,4096,1], loopMaxIterations 32, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64}
function (attend3_probs, p2) {
  const row = this.thread.y;
  const c = this.thread.x;
  if (row >= 4096) {
    return [0.0, 0.0, 0.0, 0.0];
  }
  const bz = attnc_idiv(row, 512);
  const ii = row - bz * 512;
  const bh = bz;
  const ib = attnc_idiv(bh, this.constants.H);
  const ih = bh - ib * this.constants.H;
  const ihk = attnc_idiv(ih, this.constants.G);
  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;
  const lo0 = Math.max((ii - 127), 0);
  const hi0 = Math.min(ii, this.constants.M - 1);
  const lo1 = Math.max(0, 0);
  const hi1 = Math.min(Math.min(3, ii), this.constants.M - 1);
  const n0 = hi0 >= lo0 ? attnc_idiv(hi0 - lo0, 4) + 1 : 0.0;
  const n1 = hi1 >= lo1 ? attnc_idiv(hi1 - lo1, 4) + 1 : 0.0;
  let acc = [0.0, 0.0, 0.0, 0.0];
  for (let gg0 = 0; gg0 < n0; gg0++) {
    const g = 0 + gg0;
    const j0 = lo0 + gg0 * 4;
    const jh = hi0;
    acc = attnc_mad4(acc, attnc_ld(attend3_probs, row, g), attnc_ld(p2, kvb + j0, c), attnc_ld(p2, kvb + Math.min(j0 + 1, jh), c), attnc_ld(p2, kvb + Math.min(j0 + 2, jh), c), attnc_ld(p2, kvb + Math.min(j0 + 3, jh), c));
  }
  for (let gg1 = 0; gg1 < n1; gg1++) {
    const g = 32 + gg1;
    const j0 = lo1 + gg1 * 4;
    const jh = hi1;
    acc = attnc_mad4(acc, attnc_ld(attend3_probs, row, g), attnc_ld(p2, kvb + j0, c), attnc_ld(p2, kvb + Math.min(j0 + 1, jh), c), attnc_ld(p2, kvb + Math.min(j0 + 2, jh), c), attnc_ld(p2, kvb + Math.min(j0 + 3, jh), c));
  }
  return acc;
}
