// Block summaries → WGSL: the `summary` kernel, which writes per block of positions along
// one axis of a tensor the min and max of its values (O(tensor) work, one invocation per
// block), read by the tile predicates and key ranges of the attention kernels through
// KernelSource's summary bound functions (common.ts).

import { summaryLayout, type SummaryKernel } from '../../compiler/kernel.js';
import { Code } from './builder.js';
import { KernelSource } from './common.js';

export function renderSummaryKernel(k: SummaryKernel): string {
  const s = k.schedule;
  if (!s) throw new Error(`internal: kernel ${k.name} has no schedule (run the tile pass)`);
  const { tensor, shape, axis, block } = k.summary;
  const src = new KernelSource(k);
  src.declare([
    `schedule: one invocation per block of ${block} positions along axis ${axis} (and position on the other axes), ${s.workgroupSize} per workgroup`,
  ]);
  const layout = summaryLayout(k.summary);
  const dst = src.binding('summary');
  const c = new Code();
  c.line(`let OUTER = ${src.expr(layout.outer)};`);
  c.line(`let NB = ${src.expr(layout.blocks)};`);
  c.line(`let INNER = ${src.expr(layout.inner)};`);
  c.line(`let n = ${src.expr(shape[axis]!)}; // positions along axis ${axis}`);
  c.line(`let e = wg * ${s.workgroupSize} + lid;`);
  c.block('if (e < OUTER * NB * INNER)', () => {
    c.line('let inner = e % INNER;');
    c.line('let r = e / INNER;');
    c.line('let blk = r % NB;');
    c.line('let outer = r / NB;');
    // The multi-index of the other axes, from outer (axes before) and inner (axes after).
    const decompose = (from: string, axes: number[]) => {
      if (!axes.length) return;
      c.line(`var rest_${from} = ${from};`);
      for (let x = axes.length - 1; x >= 1; x--) {
        const a = axes[x]!;
        c.line(`let i${a} = rest_${from} % ${src.expr(shape[a]!)};`);
        c.line(`rest_${from} = rest_${from} / ${src.expr(shape[a]!)};`);
      }
      c.line(`let i${axes[0]} = rest_${from};`);
    };
    const axes = shape.map((_, a) => a);
    decompose('outer', axes.slice(0, axis));
    decompose('inner', axes.slice(axis + 1));
    const at = (p: string) => src.env({}, 's').load(tensor, axes.map((a) => (a === axis ? p : `i${a}`)));
    c.line(`let p0 = blk * ${block};`);
    c.line(`var lo_v = ${at('p0')};`);
    c.line('var hi_v = lo_v;');
    c.block(`for (var p = p0 + 1; p < min(p0 + ${block}, n); p = p + 1)`, () => {
      c.line(`let x = ${at('p')};`);
      c.line('lo_v = min(lo_v, x);');
      c.line('hi_v = max(hi_v, x);');
    });
    c.line(`${dst.name}[(outer * NB + blk) * INNER + inner] = lo_v;`);
    c.line(`${dst.name}[((OUTER + outer) * NB + blk) * INNER + inner] = hi_v;`);
  });
  src.entry(s.workgroupSize, c);
  return src.toString();
}
