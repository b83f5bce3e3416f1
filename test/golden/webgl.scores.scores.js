// streaming_attend3_scores: attend %3 (normalize: keys), pass 1/3: masked scores, 132 key slots per query
// output [132,512,8], loopMaxIterations 1, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64,"dim_H":8}
function (t0, t1) {
  const tt = this.thread.x;
  const ii = this.thread.y;
  const bz = this.thread.z;
  const bh = bz;
  const ib = attnc_idiv(bh, this.constants.H);
  const ih = bh - ib * this.constants.H;
  const ihk = attnc_idiv(ih, this.constants.G);
  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;
  let x = (-3.0e38);
  const lo0 = Math.max((ii - 127), 0);
  const hi0 = Math.min(ii, this.constants.M - 1);
  const lo1 = Math.max(0, 0);
  const hi1 = Math.min(Math.min(3, ii), this.constants.M - 1);
  if (tt >= 0 && tt < 128) {
    const ij = lo0 + (tt - 0);
    if (ij <= hi0 && (((ij <= ii) && ((ii - ij) < 128)) || ((ij < 4) && (ij <= ii)))) {
      let dot = 0.0;
      for (let c = 0; c < this.constants.D; c++) {
        dot += t0[(bh * this.constants.N + ii) * this.constants.D + c] * t1[(kvb + ij) * this.constants.D + c];
      }
      const sc = dot * 0.125;
      const y = (sc + (attnc_alibi(ih, 8.0) * (ij - ii)));
      x = y > -1e+30 ? y : (-3.0e38);
    }
  }
  if (tt >= 128 && tt < 132) {
    const ij = lo1 + (tt - 128);
    if (ij <= hi1 && (ij < lo0 || ij > hi0) && (((ij <= ii) && ((ii - ij) < 128)) || ((ij < 4) && (ij <= ii)))) {
      let dot = 0.0;
      for (let c = 0; c < this.constants.D; c++) {
        dot += t0[(bh * this.constants.N + ii) * this.constants.D + c] * t1[(kvb + ij) * this.constants.D + c];
      }
      const sc = dot * 0.125;
      const y = (sc + (attnc_alibi(ih, 8.0) * (ij - ii)));
      x = y > -1e+30 ? y : (-3.0e38);
    }
  }
  return x;
}
