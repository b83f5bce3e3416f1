// reversed_attend3_colapply: attend %3 (normalize: queries), pass 3/3: column-normalised P·V
// output [64,512,4], loopMaxIterations 1, constants {"B":1,"H":4,"Hk":4,"G":1,"N":512,"M":512,"D":64,"Dv":64,"W":512}
function (s, cs, t2) {
  const od = this.thread.x;
  const ii = this.thread.y;
  const bz = this.thread.z;
  const bh = bz;
  const ib = attnc_idiv(bh, this.constants.H);
  const ih = bh - ib * this.constants.H;
  const ihk = attnc_idiv(ih, this.constants.G);
  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;
  const base = (bz * this.constants.N + ii) * this.constants.W;
  let acc = 0.0;
  for (let t = 0; t < this.constants.M; t++) {
    const x = s[base + t];
    if (x > -1e+30) {
      const ij = t;
      const so = (bz * this.constants.M + ij) * 2;
      const lj = cs[so + 1];
      if (lj > 0.0) {
        acc += Math.exp(x - cs[so]) / lj * t2[(kvb + ij) * this.constants.Dv + od];
      }
    }
  }
  return acc;
}
