// Elementwise arithmetic → a gpu.js kernel: one thread per element of the result, over a
// [last axis, second-to-last, the rest] output grid; the element's coordinates `x0`, `x1`,
// … are the thread's, the leading ones decoded from z. Operands are read flat (an
// attention's packed output is unpacked first), at exact indices.

import type { NodeOf } from '../../compiler/ir.js';
import { KernelArgs } from './attend-common.js';
import { kernelSource, nodeBuffer, type PlanBuilder } from './builder.js';
import { renderExpr, type ExprEnv, type Helper } from './expr.js';
import { packedOutput, packedThread, rowsOf } from './packed.js';

/**
 * The environment of a map's expression: dims as constants, the element's coordinates as
 * `coord` renders them, operands read flat at clamped indices.
 */
function mapEnv(
  b: PlanBuilder, r: number, args: KernelArgs, helpers: Set<Helper>, constants: Record<string, number>, coord: (axis: number) => string,
): ExprEnv {
  return {
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
      if (/^x\d+$/.test(name) && Number(name.slice(1)) < r) return coord(Number(name.slice(1)));
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
}

export function emitMap(b: PlanBuilder, node: NodeOf<'map'>): void {
  const shape = b.shapes[node.id]!;
  const r = shape.length;
  const args = new KernelArgs();
  const helpers = new Set<Helper>(['attnc_idiv']);
  const constants: Record<string, number> = {};
  const coord = (a: number) => `x${a}`;
  const env = mapEnv(b, r, args, helpers, constants, coord);
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

/**
 * A map computed straight into its packed texture — a `concat` that only attentions read
 * as keys or values (the `fuse` pass, inPlaceConcats): the attention's pack reads
 * the two parts in place, four elements of a row per texel, and no flat copy is made.
 */
export function emitPackedMap(b: PlanBuilder, node: NodeOf<'map'>): void {
  const shape = b.shapes[node.id]!;
  const r = shape.length;
  const l = b.layout(b.nodeLabel(node.id), rowsOf(shape).rows, rowsOf(shape).values);
  b.setLayout({ kind: 'packed', node: node.id }, l);
  const args = new KernelArgs();
  const helpers = new Set<Helper>(['attnc_idiv']);
  const constants: Record<string, number> = {};
  // The row's leading coordinates decoded from `row`, the last one per lane.
  const lines = [...packedThread(l, 'row', 'c'), '  let rest = row;'];
  for (let a = r - 2; a >= 1; a--) lines.push(`  const x${a} = rest - attnc_idiv(rest, ${shape[a]}) * ${shape[a]};`, `  rest = attnc_idiv(rest, ${shape[a]});`);
  if (r >= 2) lines.push('  const x0 = rest;');
  const lanes = [0, 1, 2, 3].map((t) => {
    const value = renderExpr(node.expr, mapEnv(b, r, args, helpers, constants, (a) => (a === r - 1 ? `(c * 4 + ${t})` : `x${a}`)));
    return `c * 4 + ${t} < ${shape[r - 1]} ? ${value} : 0.0`;
  });
  lines.push(`  return [${lanes.join(', ')}];`);
  b.add(node, 'packed_map', {
    kind: 'map',
    label: `map ${b.nodeLabel(node.id)} into its packed texture: ${l.rows} rows of ${l.values} values, the parts read in place`,
    source: [`function (${args.names.join(', ')}) {`, ...lines, '}'],
    args: args.buffers,
    argNames: args.names,
    result: { kind: 'packed', node: node.id },
    output: packedOutput(l),
    returns: 'vec4',
    constants,
    helpers: [...helpers],
    cost: l.rows * l.width * 4,
  });
}
