// streaming_attend3_rowstats: attend %3 (normalize: keys), pass 2/4: row max and 1 / Σexp per query
// output [1,4096,1], loopMaxIterations 32, constants {"B":1,"H":8,"Hk":8,"G":1,"N":512,"M":512,"D":64,"Dv":64}
function (attend3_scores) {
  const row = this.thread.y;
  const c = this.thread.x;
  if (row >= 4096) {
    return [0.0, 0.0, 0.0, 0.0];
  }
  const bz = attnc_idiv(row, 512);
  const ii = row - bz * 512;
  const lo0 = Math.max((ii - 127), 0);
  const hi0 = Math.min(ii, this.constants.M - 1);
  const lo1 = Math.max(0, 0);
  const hi1 = Math.min(Math.min(3, ii), this.constants.M - 1);
  const n0 = hi0 >= lo0 ? attnc_idiv(hi0 - lo0, 4) + 1 : 0.0;
  const n1 = hi1 >= lo1 ? attnc_idiv(hi1 - lo1, 4) + 1 : 0.0;
  let mx = (-3.0e38);
  for (let ga0 = 0; ga0 < n0; ga0++) {
    const g = 0 + ga0;
    const j0 = lo0 + ga0 * 4;
    const jh = hi0;
    mx = Math.max(mx, attnc_max4(attnc_ld(attend3_scores, row, g)));
  }
  for (let ga1 = 0; ga1 < n1; ga1++) {
    const g = 32 + ga1;
    const j0 = lo1 + ga1 * 4;
    const jh = hi1;
    mx = Math.max(mx, attnc_max4(attnc_ld(attend3_scores, row, g)));
  }
  let l = 0.0;
  for (let gb0 = 0; gb0 < n0; gb0++) {
    const g = 0 + gb0;
    const j0 = lo0 + gb0 * 4;
    const jh = hi0;
    l += attnc_sumexp4(attnc_ld(attend3_scores, row, g), mx);
  }
  for (let gb1 = 0; gb1 < n1; gb1++) {
    const g = 32 + gb1;
    const j0 = lo1 + gb1 * 4;
    const jh = hi1;
    l += attnc_sumexp4(attnc_ld(attend3_scores, row, g), mx);
  }
  return [mx, l > 0.0 ? 1.0 / l : 0.0, 0.0, 0.0];
}
