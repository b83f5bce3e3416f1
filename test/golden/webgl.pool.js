// agent_pool3_pool: pool `a` (%3): adaptive average of 512 → 49 tokens
// output [64,49,4], loopMaxIterations 12, constants {"N":512,"n":49,"D":64}
function (t0) {
  const c = this.thread.x;
  const t = this.thread.y;
  const bh = this.thread.z;
  const lo = attnc_idiv(t * this.constants.N, this.constants.n);
  const hi = attnc_idiv(t * this.constants.N + this.constants.N + this.constants.n - 1, this.constants.n);
  let sum = 0.0;
  for (let p = lo; p < hi; p++) {
    sum += t0[(bh * this.constants.N + p) * this.constants.D + c];
  }
  return sum / (hi - lo);
}
