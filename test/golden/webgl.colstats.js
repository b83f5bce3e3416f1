// reversed_attend3_colstats: attend %3 (normalize: queries), pass 2/3: column max and Σexp per key
// output [2,512,4], loopMaxIterations 1, constants {"B":1,"H":4,"Hk":4,"G":1,"N":512,"M":512,"D":64,"Dv":64,"W":512}
function (s) {
  const which = this.thread.x;
  const ij = this.thread.y;
  const bz = this.thread.z;
  let mx = (-3.0e38);
  let l = 0.0;
  for (let ii = 0; ii < this.constants.N; ii++) {
    const slot = ij;
    if (slot >= 0.0) {
      const x = s[(bz * this.constants.N + ii) * this.constants.W + slot];
      if (x > -1e+30) {
        if (x > mx) {
          l = l * Math.exp(mx - x) + 1.0;
          mx = x;
        } else {
          l += Math.exp(x - mx);
        }
      }
    }
  }
  return which === 0 ? mx : l;
}
