// Elementwise arithmetic → WGSL: the `map` kernel, one invocation per element of the
// result; the element's coordinates `x0`, `x1`, … (row-major) are decoded from its linear
// index, and the expression reads each operand at them through the lookup bindings.

import type { MapKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource, type TileVar } from './common.js';

export function renderMapKernel(k: MapKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const src = new KernelSource(k);
  src.declare([`schedule: one invocation per element, ${s.workgroupSize} per workgroup`]);
  const out = src.binding('out');
  const rank = k.shape.length;
  const c = new Code();
  k.shape.forEach((d, a) => c.line(`let n${a} = ${src.expr(d)};`));
  c.line(`let e = wg * ${s.workgroupSize} + lid;`);
  c.block(`if (e < ${k.shape.map((_, a) => `n${a}`).join(' * ') || '1'})`, () => {
    c.line('var r = e;');
    for (let a = rank - 1; a >= 1; a--) {
      c.line(`let x${a} = r % n${a};`);
      c.line(`r = r / n${a};`);
    }
    if (rank > 0) c.line('let x0 = r;');
    const vars = Object.fromEntries(k.shape.map((_, a) => [`x${a}`, `x${a}`])) as Partial<Record<TileVar, string>>;
    // An f16 result (`f16(…)` outermost) stored as f16: its value is an f16 value already.
    const value = src.expr(k.expr, vars);
    c.line(`${out.name}[e] = ${out.elem === 'f16' ? `f16(${value})` : value};`);
  });
  src.entry(s.workgroupSize, c);
  return src.toString();
}
