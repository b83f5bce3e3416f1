// streaming_attend3_fused: attend %3 (normalize: keys), fused online softmax, 4 output features per fragment
// output [16,4096,1], loopMaxIterations 128, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64,"dim_H":8}
function (p0, p1, p2) {
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
  const q0 = attnc_ld(p0, row, 0);
  const q1 = attnc_ld(p0, row, 1);
  const q2 = attnc_ld(p0, row, 2);
  const q3 = attnc_ld(p0, row, 3);
  const q4 = attnc_ld(p0, row, 4);
  const q5 = attnc_ld(p0, row, 5);
  const q6 = attnc_ld(p0, row, 6);
  const q7 = attnc_ld(p0, row, 7);
  const q8 = attnc_ld(p0, row, 8);
  const q9 = attnc_ld(p0, row, 9);
  const q10 = attnc_ld(p0, row, 10);
  const q11 = attnc_ld(p0, row, 11);
  const q12 = attnc_ld(p0, row, 12);
  const q13 = attnc_ld(p0, row, 13);
  const q14 = attnc_ld(p0, row, 14);
  const q15 = attnc_ld(p0, row, 15);
  let mx = (-3.0e38);
  let l = 0.0;
  let acc = [0.0, 0.0, 0.0, 0.0];
  const lo0 = Math.max((ii - 127), 0);
  const hi0 = Math.min(ii, this.constants.M - 1);
  const lo1 = Math.max(0, 0);
  const hi1 = Math.min(Math.min(3, ii), this.constants.M - 1);
  for (let kj0 = lo0; kj0 <= hi0; kj0 += 1) {
    const ij = kj0;
    if ((((ij <= ii) && ((ii - ij) < 128)) || ((ij < 4) && (ij <= ii)))) {
      const sc = (attnc_dot(q0, attnc_ld(p1, kvb + ij, 0)) + attnc_dot(q1, attnc_ld(p1, kvb + ij, 1)) + attnc_dot(q2, attnc_ld(p1, kvb + ij, 2)) + attnc_dot(q3, attnc_ld(p1, kvb + ij, 3)) + attnc_dot(q4, attnc_ld(p1, kvb + ij, 4)) + attnc_dot(q5, attnc_ld(p1, kvb + ij, 5)) + attnc_dot(q6, attnc_ld(p1, kvb + ij, 6)) + attnc_dot(q7, attnc_ld(p1, kvb + ij, 7)) + attnc_dot(q8, attnc_ld(p1, kvb + ij, 8)) + attnc_dot(q9, attnc_ld(p1, kvb + ij, 9)) + attnc_dot(q10, attnc_ld(p1, kvb + ij, 10)) + attnc_dot(q11, attnc_ld(p1, kvb + ij, 11)) + attnc_dot(q12, attnc_ld(p1, kvb + ij, 12)) + attnc_dot(q13, attnc_ld(p1, kvb + ij, 13)) + attnc_dot(q14, attnc_ld(p1, kvb + ij, 14)) + attnc_dot(q15, attnc_ld(p1, kvb + ij, 15))) * 0.125;
      const x = (sc + (attnc_alibi(ih, 8.0) * (ij - ii)));
      if (x > -1.0e30) {
        const vv = attnc_ld(p2, kvb + ij, c);
        if (x > mx) {
          const r = Math.exp(mx - x);
          l = l * r + 1.0;
          acc = attnc_axpy(acc, r, vv, 1.0);
          mx = x;
        } else {
          const p = Math.exp(x - mx);
          l += p;
          acc = attnc_axpy(acc, 1.0, vv, p);
        }
      }
    }
  }
  for (let kj1 = lo1; kj1 <= hi1; kj1 += 1) {
    const ij = kj1;
    if ((ij < lo0 || ij > hi0)) {
      if ((((ij <= ii) && ((ii - ij) < 128)) || ((ij < 4) && (ij <= ii)))) {
        const sc = (attnc_dot(q0, attnc_ld(p1, kvb + ij, 0)) + attnc_dot(q1, attnc_ld(p1, kvb + ij, 1)) + attnc_dot(q2, attnc_ld(p1, kvb + ij, 2)) + attnc_dot(q3, attnc_ld(p1, kvb + ij, 3)) + attnc_dot(q4, attnc_ld(p1, kvb + ij, 4)) + attnc_dot(q5, attnc_ld(p1, kvb + ij, 5)) + attnc_dot(q6, attnc_ld(p1, kvb + ij, 6)) + attnc_dot(q7, attnc_ld(p1, kvb + ij, 7)) + attnc_dot(q8, attnc_ld(p1, kvb + ij, 8)) + attnc_dot(q9, attnc_ld(p1, kvb + ij, 9)) + attnc_dot(q10, attnc_ld(p1, kvb + ij, 10)) + attnc_dot(q11, attnc_ld(p1, kvb + ij, 11)) + attnc_dot(q12, attnc_ld(p1, kvb + ij, 12)) + attnc_dot(q13, attnc_ld(p1, kvb + ij, 13)) + attnc_dot(q14, attnc_ld(p1, kvb + ij, 14)) + attnc_dot(q15, attnc_ld(p1, kvb + ij, 15))) * 0.125;
        const x = (sc + (attnc_alibi(ih, 8.0) * (ij - ii)));
        if (x > -1.0e30) {
          const vv = attnc_ld(p2, kvb + ij, c);
          if (x > mx) {
            const r = Math.exp(mx - x);
            l = l * r + 1.0;
            acc = attnc_axpy(acc, r, vv, 1.0);
            mx = x;
          } else {
            const p = Math.exp(x - mx);
            l += p;
            acc = attnc_axpy(acc, 1.0, vv, p);
          }
        }
      }
    }
  }
  return attnc_div4(acc, l);
}
