// streaming_attend3_fused: attend %3 (normalize: keys), fused online softmax per output element
// output [64,512,8], loopMaxIterations 128, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64,"dim_H":8}
function (t0, t1, t2) {
  const od = this.thread.x;
  const ii = this.thread.y;
  const bh = this.thread.z;
  const ib = attnc_idiv(bh, this.constants.H);
  const ih = bh - ib * this.constants.H;
  const ihk = attnc_idiv(ih, this.constants.G);
  const kvb = (ib * this.constants.Hk + ihk) * this.constants.M;
  let mx = (-3.0e38);
  let l = 0.0;
  let acc = 0.0;
  const lo0 = Math.max((ii - 127), 0);
  const hi0 = Math.min(ii, this.constants.M - 1);
  const lo1 = Math.max(0, 0);
  const hi1 = Math.min(Math.min(3, ii), this.constants.M - 1);
  for (let kj0 = lo0; kj0 <= hi0; kj0 += 1) {
    const ij = kj0;
    if ((((ij <= ii) && ((ii - ij) < 128)) || ((ij < 4) && (ij <= ii)))) {
      let dot = 0.0;
      for (let c = 0; c < this.constants.D; c++) {
        dot += t0[(bh * this.constants.N + ii) * this.constants.D + c] * t1[(kvb + ij) * this.constants.D + c];
      }
      const sc = dot * 0.125;
      const x = (sc + (attnc_alibi(ih, 8.0) * (ij - ii)));
      if (x > -1e+30) {
        const vv = t2[(kvb + ij) * this.constants.Dv + od];
        if (x > mx) {
          const r = Math.exp(mx - x);
          l = l * r + 1.0;
          acc = acc * r + vv;
          mx = x;
        } else {
          const p = Math.exp(x - mx);
          l += p;
          acc += p * vv;
        }
      }
    }
  }
  for (let kj1 = lo1; kj1 <= hi1; kj1 += 1) {
    const ij = kj1;
    if ((ij < lo0 || ij > hi0)) {
      if ((((ij <= ii) && ((ii - ij) < 128)) || ((ij < 4) && (ij <= ii)))) {
        let dot = 0.0;
        for (let c = 0; c < this.constants.D; c++) {
          dot += t0[(bh * this.constants.N + ii) * this.constants.D + c] * t1[(kvb + ij) * this.constants.D + c];
        }
        const sc = dot * 0.125;
        const x = (sc + (attnc_alibi(ih, 8.0) * (ij - ii)));
        if (x > -1e+30) {
          const vv = t2[(kvb + ij) * this.constants.Dv + od];
          if (x > mx) {
            const r = Math.exp(mx - x);
            l = l * r + 1.0;
            acc = acc * r + vv;
            mx = x;
          } else {
            const p = Math.exp(x - mx);
            l += p;
            acc += p * vv;
          }
        }
      }
    }
  }
  return l > 0.0 ? acc / l : 0.0;
}
