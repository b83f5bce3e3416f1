// streaming_attend3_scores: attend %3 (normalize: keys), pass 1/4: masked scores, 4 per texel, 33 texels per query
// output [33,4096,1], loopMaxIterations 1, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64,"dim_H":8}
function (p0, p1) {
  const row = this.thread.y;
  const g = this.thread.x;
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
  let j0 = 0.0;
  let jh = -1.0;
  let rr = 0.0;
  const lo0 = Math.max((ii - 127), 0);
  const hi0 = Math.min(ii, this.constants.M - 1);
  const lo1 = Math.max(0, 0);
  const hi1 = Math.min(Math.min(3, ii), this.constants.M - 1);
  if (g < 32) {
    j0 = lo0 + (g - 0) * 4;
    jh = hi0;
    rr = 0;
  } else if (g < 33) {
    j0 = lo1 + (g - 32) * 4;
    jh = hi1;
    rr = 1;
  }
  const ij0 = j0 + 0;
  const in0 = (ij0 <= jh && (rr < 0.5 || ij0 < lo0 || ij0 > hi0)) ? 1.0 : 0.0;
  const ij1 = j0 + 1;
  const in1 = (ij1 <= jh && (rr < 0.5 || ij1 < lo0 || ij1 > hi0)) ? 1.0 : 0.0;
  const ij2 = j0 + 2;
  const in2 = (ij2 <= jh && (rr < 0.5 || ij2 < lo0 || ij2 > hi0)) ? 1.0 : 0.0;
  const ij3 = j0 + 3;
  const in3 = (ij3 <= jh && (rr < 0.5 || ij3 < lo0 || ij3 > hi0)) ? 1.0 : 0.0;
  if (in0 + in1 + in2 + in3 < 0.5) {
    return [(-3.0e38), (-3.0e38), (-3.0e38), (-3.0e38)];
  }
  const qr = bh * this.constants.N + ii;
  const q0 = attnc_ld(p0, qr, 0);
  const q1 = attnc_ld(p0, qr, 1);
  const q2 = attnc_ld(p0, qr, 2);
  const q3 = attnc_ld(p0, qr, 3);
  const q4 = attnc_ld(p0, qr, 4);
  const q5 = attnc_ld(p0, qr, 5);
  const q6 = attnc_ld(p0, qr, 6);
  const q7 = attnc_ld(p0, qr, 7);
  const q8 = attnc_ld(p0, qr, 8);
  const q9 = attnc_ld(p0, qr, 9);
  const q10 = attnc_ld(p0, qr, 10);
  const q11 = attnc_ld(p0, qr, 11);
  const q12 = attnc_ld(p0, qr, 12);
  const q13 = attnc_ld(p0, qr, 13);
  const q14 = attnc_ld(p0, qr, 14);
  const q15 = attnc_ld(p0, qr, 15);
  const kr0 = kvb + Math.min(ij0, jh);
  const kr1 = kvb + Math.min(ij1, jh);
  const kr2 = kvb + Math.min(ij2, jh);
  const kr3 = kvb + Math.min(ij3, jh);
  const d0 = attnc_dot(q0, attnc_ld(p1, kr0, 0)) + attnc_dot(q1, attnc_ld(p1, kr0, 1)) + attnc_dot(q2, attnc_ld(p1, kr0, 2)) + attnc_dot(q3, attnc_ld(p1, kr0, 3)) + attnc_dot(q4, attnc_ld(p1, kr0, 4)) + attnc_dot(q5, attnc_ld(p1, kr0, 5)) + attnc_dot(q6, attnc_ld(p1, kr0, 6)) + attnc_dot(q7, attnc_ld(p1, kr0, 7)) + attnc_dot(q8, attnc_ld(p1, kr0, 8)) + attnc_dot(q9, attnc_ld(p1, kr0, 9)) + attnc_dot(q10, attnc_ld(p1, kr0, 10)) + attnc_dot(q11, attnc_ld(p1, kr0, 11)) + attnc_dot(q12, attnc_ld(p1, kr0, 12)) + attnc_dot(q13, attnc_ld(p1, kr0, 13)) + attnc_dot(q14, attnc_ld(p1, kr0, 14)) + attnc_dot(q15, attnc_ld(p1, kr0, 15));
  const d1 = attnc_dot(q0, attnc_ld(p1, kr1, 0)) + attnc_dot(q1, attnc_ld(p1, kr1, 1)) + attnc_dot(q2, attnc_ld(p1, kr1, 2)) + attnc_dot(q3, attnc_ld(p1, kr1, 3)) + attnc_dot(q4, attnc_ld(p1, kr1, 4)) + attnc_dot(q5, attnc_ld(p1, kr1, 5)) + attnc_dot(q6, attnc_ld(p1, kr1, 6)) + attnc_dot(q7, attnc_ld(p1, kr1, 7)) + attnc_dot(q8, attnc_ld(p1, kr1, 8)) + attnc_dot(q9, attnc_ld(p1, kr1, 9)) + attnc_dot(q10, attnc_ld(p1, kr1, 10)) + attnc_dot(q11, attnc_ld(p1, kr1, 11)) + attnc_dot(q12, attnc_ld(p1, kr1, 12)) + attnc_dot(q13, attnc_ld(p1, kr1, 13)) + attnc_dot(q14, attnc_ld(p1, kr1, 14)) + attnc_dot(q15, attnc_ld(p1, kr1, 15));
  const d2 = attnc_dot(q0, attnc_ld(p1, kr2, 0)) + attnc_dot(q1, attnc_ld(p1, kr2, 1)) + attnc_dot(q2, attnc_ld(p1, kr2, 2)) + attnc_dot(q3, attnc_ld(p1, kr2, 3)) + attnc_dot(q4, attnc_ld(p1, kr2, 4)) + attnc_dot(q5, attnc_ld(p1, kr2, 5)) + attnc_dot(q6, attnc_ld(p1, kr2, 6)) + attnc_dot(q7, attnc_ld(p1, kr2, 7)) + attnc_dot(q8, attnc_ld(p1, kr2, 8)) + attnc_dot(q9, attnc_ld(p1, kr2, 9)) + attnc_dot(q10, attnc_ld(p1, kr2, 10)) + attnc_dot(q11, attnc_ld(p1, kr2, 11)) + attnc_dot(q12, attnc_ld(p1, kr2, 12)) + attnc_dot(q13, attnc_ld(p1, kr2, 13)) + attnc_dot(q14, attnc_ld(p1, kr2, 14)) + attnc_dot(q15, attnc_ld(p1, kr2, 15));
  const d3 = attnc_dot(q0, attnc_ld(p1, kr3, 0)) + attnc_dot(q1, attnc_ld(p1, kr3, 1)) + attnc_dot(q2, attnc_ld(p1, kr3, 2)) + attnc_dot(q3, attnc_ld(p1, kr3, 3)) + attnc_dot(q4, attnc_ld(p1, kr3, 4)) + attnc_dot(q5, attnc_ld(p1, kr3, 5)) + attnc_dot(q6, attnc_ld(p1, kr3, 6)) + attnc_dot(q7, attnc_ld(p1, kr3, 7)) + attnc_dot(q8, attnc_ld(p1, kr3, 8)) + attnc_dot(q9, attnc_ld(p1, kr3, 9)) + attnc_dot(q10, attnc_ld(p1, kr3, 10)) + attnc_dot(q11, attnc_ld(p1, kr3, 11)) + attnc_dot(q12, attnc_ld(p1, kr3, 12)) + attnc_dot(q13, attnc_ld(p1, kr3, 13)) + attnc_dot(q14, attnc_ld(p1, kr3, 14)) + attnc_dot(q15, attnc_ld(p1, kr3, 15));
  let x0 = (-3.0e38);
  if (in0 > 0.5 && (((ij0 <= ii) && ((ii - ij0) < 128)) || ((ij0 < 4) && (ij0 <= ii)))) {
    const sc0 = d0 * 0.125;
    const y0 = (sc0 + (attnc_alibi(ih, 8.0) * (ij0 - ii)));
    x0 = y0 > -1.0e30 ? y0 : (-3.0e38);
  }
  let x1 = (-3.0e38);
  if (in1 > 0.5 && (((ij1 <= ii) && ((ii - ij1) < 128)) || ((ij1 < 4) && (ij1 <= ii)))) {
    const sc1 = d1 * 0.125;
    const y1 = (sc1 + (attnc_alibi(ih, 8.0) * (ij1 - ii)));
    x1 = y1 > -1.0e30 ? y1 : (-3.0e38);
  }
  let x2 = (-3.0e38);
  if (in2 > 0.5 && (((ij2 <= ii) && ((ii - ij2) < 128)) || ((ij2 < 4) && (ij2 <= ii)))) {
    const sc2 = d2 * 0.125;
    const y2 = (sc2 + (attnc_alibi(ih, 8.0) * (ij2 - ii)));
    x2 = y2 > -1.0e30 ? y2 : (-3.0e38);
  }
  let x3 = (-3.0e38);
  if (in3 > 0.5 && (((ij3 <= ii) && ((ii - ij3) < 128)) || ((ij3 < 4) && (ij3 <= ii)))) {
    const sc3 = d3 * 0.125;
    const y3 = (sc3 + (attnc_alibi(ih, 8.0) * (ij3 - ii)));
    x3 = y3 > -1.0e30 ? y3 : (-3.0e38);
  }
  return [x0, x1, x2, x3];
}
