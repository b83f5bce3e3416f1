// streaming_attend3_pv: attend %3 (normalize: keys), pass 3/3: P·V
// output [64,512,8], loopMaxIterations 1, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64,"dim_H":8,"W":132}
function (s, st, t2) {
  const od = this.thread.x;
  const ii = this.thread.y;
  const bz = this.thread.z;
  const bh = bz;
  const ib = attnc_idiv(bh, this.constants.H);
  const ih = bh - ib * this.constants.H;
  const ihk = attnc_idiv(ih, this.constants.G);
  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;
  const so = (bz * this.constants.N + ii) * 2;
  const mx = st[so];
  const l = st[so + 1];
  const base = (bz * this.constants.N + ii) * this.constants.W;
  let acc = 0.0;
  const lo0 = Math.max((ii - 127), 0);
  const lo1 = Math.max(0, 0);
  for (let t = 0; t < 128; t++) {
    const x = s[base + 0 + t];
    if (x > -1e+30) {
      const ij = lo0 + t;
      acc += Math.exp(x - mx) * t2[(kvb + ij) * this.constants.Dv + od];
    }
  }
  for (let t = 0; t < 4; t++) {
    const x = s[base + 128 + t];
    if (x > -1e+30) {
      const ij = lo1 + t;
      acc += Math.exp(x - mx) * t2[(kvb + ij) * this.constants.Dv + od];
    }
  }
  return l > 0.0 ? acc / l : 0.0;
}
