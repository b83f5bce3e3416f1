// routing_clusters4_clusters: clusters `cq` (%4): cosine argmax over 8 centroids
// output [512,4,1], loopMaxIterations 1, constants {"Hx":4,"N":512,"D":64,"C":8}
function (t0, t3) {
  const ii = this.thread.x;
  const ih = this.thread.y;
  const ib = this.thread.z;
  const xo = ((ib * this.constants.Hx + ih) * this.constants.N + ii) * this.constants.D;
  let xn = 0.0;
  for (let c = 0; c < this.constants.D; c++) {
    const xv = t0[xo + c];
    xn += xv * xv;
  }
  let best = 0.0;
  let bestSim = -3.0e38;
  for (let cc = 0; cc < this.constants.C; cc++) {
    const co = (ih * this.constants.C + cc) * this.constants.D;
    let dot = 0.0;
    let cn = 0.0;
    for (let c = 0; c < this.constants.D; c++) {
      const u = t3[co + c];
      dot += t0[xo + c] * u;
      cn += u * u;
    }
    const sim = (xn > 0.0 && cn > 0.0) ? dot / (Math.sqrt(xn) * Math.sqrt(cn)) : 0.0;
    if (sim > bestSim) {
      bestSim = sim;
      best = cc;
    }
  }
  return best;
}
