// The dispatch plan of a program's kernels, as text: what `attnc compile --target wgsl`
// prints beside the WGSL. Workgroup counts are shown as functions of the runtime shapes
// and evaluated at the given dims; where a dim they read has no size (no default and no
// --dims), only the expression is shown: the plan does not need it (only head dims are
// specialised, and compile already has them).

import { evalSizeExpr } from '../compiler/evaluate.js';
import type { Kernel } from '../compiler/kernel.js';
import { dimsOf } from '../compiler/ir.js';
import { printExpr } from '../compiler/print.js';

export function printPlan(kernels: readonly Kernel[], dims: Record<string, number>): string {
  const shown = Object.entries(dims).map(([k, v]) => `${k}=${v}`).join(', ');
  const lines = [`// dispatch plan (one command encoder, in this order) at ${shown || 'symbolic sizes (no dims given)'}`];
  for (const k of kernels) {
    const known = [...dimsOf(k.workgroups)].every((d) => d in dims);
    const groups = known ? ` = ${evalSizeExpr(k.workgroups, dims)}` : '';
    lines.push(`${k.name}: ${k.label}`);
    lines.push(`  workgroups: ${printExpr(k.workgroups)}${groups}`);
    lines.push(`  @binding(0) uniforms: ${k.uniforms.length ? k.uniforms.join(', ') : '(none)'}`);
    const spec = Object.entries(k.specialized);
    if (spec.length) lines.push(`  specialised: ${spec.map(([d, v]) => `${d}=${v}`).join(', ')}`);
    if (k.features.length) lines.push(`  features:   ${k.features.join(', ')}`);
    // Binding 0 is the uniform block of runtime dims; binding k + 1 is bindings[k].
    k.bindings.forEach((b, slot) => {
      lines.push(`  @binding(${slot + 1}) ${b.name}: ${b.access === 'read' ? 'read      ' : 'read_write'} ${b.elem}[${b.shape.map((e) => printExpr(e)).join(', ')}]  ${b.label}`);
    });
  }
  return lines.join('\n') + '\n';
}
