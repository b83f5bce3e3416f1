// agent2d_pool2d3_pool2d: pool2d `a` (%3): adaptive average of a 32×32 grid → 7×7
// output [64,49,4], loopMaxIterations 6, constants {"N":1024,"D":64,"ht":32,"wd":32,"ph":7,"pw":7}
function (t0) {
  const c = this.thread.x;
  const t = this.thread.y;
  const bh = this.thread.z;
  const tr = attnc_idiv(t, this.constants.pw);
  const tc = t - tr * this.constants.pw;
  const rlo = attnc_idiv(tr * this.constants.ht, this.constants.ph);
  const rhi = attnc_idiv(tr * this.constants.ht + this.constants.ht + this.constants.ph - 1, this.constants.ph);
  const clo = attnc_idiv(tc * this.constants.wd, this.constants.pw);
  const chi = attnc_idiv(tc * this.constants.wd + this.constants.wd + this.constants.pw - 1, this.constants.pw);
  let sum = 0.0;
  for (let y = rlo; y < rhi; y++) {
    for (let z = clo; z < chi; z++) {
      sum += t0[(bh * this.constants.N + y * this.constants.wd + z) * this.constants.D + c];
    }
  }
  return sum / ((rhi - rlo) * (chi - clo));
}
