// reversed_attend3_colstats: attend %3 (normalize: queries), pass 2/4: column max and 1 / Σexp per key
// output [1,2048,1], loopMaxIterations 1, constants {"B":1,"H":4,"Hk":4,"G":1,"N":512,"M":512,"D":64,"Dv":64}
function (attend3_scores) {
  const row = this.thread.y;
  const c = this.thread.x;
  if (row >= 2048) {
    return [0.0, 0.0, 0.0, 0.0];
  }
  const bz = attnc_idiv(row, 512);
  const ij = row - bz * 512;
  let mx = (-3.0e38);
  let l = 0.0;
  for (let qi = 0; qi < this.constants.N; qi++) {
    const ii = qi;
    const slot = ij;
    if (slot >= 0.0) {
      const st = attnc_idiv(slot, 4);
      const x = attnc_lane(attnc_ld(attend3_scores, bz * this.constants.N + ii, st), slot - st * 4);
      if (x > -1.0e30) {
        if (x > mx) {
          l = l * Math.exp(mx - x) + 1.0;
          mx = x;
        } else {
          l += Math.exp(x - mx);
        }
      }
    }
  }
  return [mx, l > 0.0 ? 1.0 / l : 0.0, 0.0, 0.0];
}
