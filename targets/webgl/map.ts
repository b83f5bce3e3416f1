// Elementwise arithmetic → a gpu.js kernel: one thread per element of the result, over a
// [last axis, second-to-last, the rest] output grid; the element's coordinates `x0`, `x1`,
// … are the thread's, the leading ones decoded from z. Operands are read flat (an
// attention's packed output is unpacked first), at exact indices.

import type { NodeOf } from '../../compiler/ir.js';
import { KernelArgs } from './attend-common.js';
import { kernelSource, nodeBuffer, type PlanBuilder } from './builder.js';
import { renderExpr, type ExprEnv, type Helper } from './expr.js';

export function emitMap(b: PlanBuilder, node: NodeOf<'map'>): void {
  const shape = b.shapes[node.id]!;
  const r = shape.length;
  const args = new KernelArgs();
  const helpers = new Set<Helper>(['attnc_idiv']);
  const constants: Record<string, number> = {};
  const coord = (a: number) => `x${a}`;
  const env: ExprEnv = {
    helpers,
    index: (name) => {
      throw new Error(`internal: index variable ${name} in an elementwise expression`);
    },
    score: () => {
      throw new Error('internal: `s` in an elementwise expression');
    },
    dim: (name) => {
      const value = b.dims[name];
      if (value === undefined) throw new Error(`internal: dim ${name} is not bound`);
      constants[`dim_${name}`] = value;
      return `this.constants.dim_${name}`;
    },
    variable: (name) => {
      if (/^x\d+$/.test(name) && Number(name.slice(1)) < r) return name;
      throw new Error(`internal: variable \`${name}\` in an elementwise expression`);
    },
    // Indices clamped into the operand, as every kernel clamps lookups: a `concat`'s
    // select reads both sides, one of them out of range.
    load: (id, rendered) => {
      const s = b.shapes[id]!;
      const name = args.use(b.flatValues(id));
      helpers.add('attnc_index');
      const at = rendered.map((x, a) => `attnc_index(${x}, ${s[a]})`);
      const flat = at.reduce((acc, x, a) => (a === 0 ? x : `(${acc}) * ${s[a]} + ${x}`), '0');
      return `${name}[${flat}]`;
    },
  };
  const value = renderExpr(node.expr, env);
  // Threads: x the last axis, y the one before, z the rest (row-major), decoded below.
  const [nx, ny] = [r >= 1 ? shape[r - 1]! : 1, r >= 2 ? shape[r - 2]! : 1];
  const nz = shape.slice(0, Math.max(0, r - 2)).reduce((a, d) => a * d, 1);
  const lines: string[] = [];
  if (r >= 3) {
    lines.push('  let rest = tz;');
    for (let a = r - 3; a >= 1; a--) {
      lines.push(`  const ${coord(a)} = rest - attnc_idiv(rest, ${shape[a]}) * ${shape[a]};`, `  rest = attnc_idiv(rest, ${shape[a]});`);
    }
    lines.push('  const x0 = rest;');
  }
  if (r >= 2) lines.push(`  const ${coord(r - 2)} = ty;`);
  if (r >= 1) lines.push(`  const ${coord(r - 1)} = tx;`);
  lines.push(`  return ${value};`);
  const elems = shape.reduce((a, d) => a * d, 1);
  b.add(node, 'map', {
    kind: 'map',
    label: `map ${b.nodeLabel(node.id)}: elementwise arithmetic over [${shape.join(', ')}]`,
    source: kernelSource(args.names, ['tx', 'ty', 'tz'], lines),
    args: args.buffers,
    result: nodeBuffer(node.id),
    output: [nx, ny, nz],
    constants,
    helpers: [...helpers],
    cost: elems,
  });
}
