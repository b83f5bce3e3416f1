// reversed_attend3_colapply: attend %3 (normalize: queries), pass 4/4: column-normalised P·V, 4 output features per texel
// output [16,2048,1], loopMaxIterations 128, constants {"B":1,"H":4,"Hk":4,"G":1,"N":512,"M":512,"D":64,"Dv":64}
function (attend3_probs, p2) {
  const row = this.thread.y;
  const c = this.thread.x;
  if (row >= 2048) {
    return [0.0, 0.0, 0.0, 0.0];
  }
  const bz = attnc_idiv(row, 512);
  const ii = row - bz * 512;
  const bh = bz;
  const ib = attnc_idiv(bh, this.constants.H);
  const ih = bh - ib * this.constants.H;
  const ihk = attnc_idiv(ih, this.constants.G);
  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;
  let acc = [0.0, 0.0, 0.0, 0.0];
  for (let gg0 = 0; gg0 < 128; gg0++) {
    const g = gg0;
    const j0 = gg0 * 4;
    const jh = this.constants.M - 1;
    acc = attnc_mad4(acc, attnc_ld(attend3_probs, row, g), attnc_ld(p2, kvb + j0, c), attnc_ld(p2, kvb + Math.min(j0 + 1, jh), c), attnc_ld(p2, kvb + Math.min(j0 + 2, jh), c), attnc_ld(p2, kvb + Math.min(j0 + 3, jh), c));
  }
  return acc;
}
