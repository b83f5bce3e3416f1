// streaming_attend3_rowstats: attend %3 (normalize: keys), pass 2/3: row max and Σexp per query
// output [2,512,8], loopMaxIterations 1, constants {"N":512,"W":132}
function (s) {
  const which = this.thread.x;
  const ii = this.thread.y;
  const bz = this.thread.z;
  const base = (bz * this.constants.N + ii) * this.constants.W;
  let mx = (-3.0e38);
  for (let t = 0; t < this.constants.W; t++) {
    const x = s[base + t];
    if (x > mx) {
      mx = x;
    }
  }
  let l = 0.0;
  if (which === 1) {
    for (let t = 0; t < this.constants.W; t++) {
      const x = s[base + t];
      if (x > -1e+30) {
        l += Math.exp(x - mx);
      }
    }
  }
  return which === 0 ? mx : l;
}
