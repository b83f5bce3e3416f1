// What every generated kernel shares: the header comment, the uniform block of runtime
// dims, storage bindings, row access helpers and the entry-point prologue that rebuilds a
// linear workgroup index from a (possibly folded) 2-D dispatch.
//
// Binding layout (the runtime's contract): @binding(0) is the uniform block (one i32 per
// dim in `kernel.uniforms`, in order); @binding(k + 1) is `kernel.bindings[k]`.

import type { Expr } from '../../compiler/ir.js';
import { summaryLayout, type Binding, type GridAxis, type Kernel } from '../../compiler/kernel.js';
import { printExpr } from '../../compiler/print.js';
import type { IndexName } from '../../dsl/builtins.js';
import { Code, WgslModule } from './builder.js';
import { HELPER_SOURCE, clampedLinearIndex, renderExpr, type ExprEnv, type Helper } from './expr.js';

/** Masked-score sentinel: finite, below every real score; anything ≤ −1e30 counts as masked. */
export const NEG = '(-3.0e38f)';
export const MASKED_BELOW = '-1.0e30f';
/**
 * −inf, the log-sum-exp of a row with no allowed key. WGSL has no literal for it, and a
 * constant expression that evaluates to it is a shader-creation error: the bits are a
 * runtime value (a `var`), so the bit cast is not a constant expression.
 */
export const NEG_INF = 'neg_inf()';
export const NEG_INF_FN = 'fn neg_inf() -> f32 {\n  var bits = 0xff800000u;\n  return bitcast<f32>(bits);\n}';

/**
 * e^x for the softmax weights, written exp2(x · log₂e): on lavapipe WGSL's `exp` costs
 * markedly more than `exp2` and a multiply (dense fused attention at N = 2048 ran ~1.15×
 * faster, measured alternating), with results well within the spec's tolerance.
 */
export const softmaxExp = (x: string) => `exp2((${x}) * 1.4426950408889634f)`;

/** Tile bounds of the mask analysis (inclusive). */
/** Tile bounds, and `group_len`: the length of a regrouped kernel's dilation group. */
export type TileVar = 'q_lo' | 'q_hi' | 'k_lo' | 'k_hi' | 'group_len';

export class KernelSource {
  readonly mod = new WgslModule((h) => HELPER_SOURCE[h as Helper] ?? extraHelpers.get(h) ?? '');
  private readonly rowFns = new Set<string>();

  constructor(readonly kernel: Kernel) {}

  /** The binding with `role` (throws when the kernel has none: a fuse/render mismatch). */
  binding(role: Binding['role']): Binding {
    const b = this.kernel.bindings.find((x) => x.role === role);
    if (!b) throw new Error(`internal: kernel ${this.kernel.name} has no ${role} binding`);
    return b;
  }

  /** Render an expression with index variables bound to WGSL names. */
  expr(e: Expr, vars: Partial<Record<IndexName | TileVar, string>> = {}, score = 's'): string {
    return renderExpr(e, this.env(vars, score));
  }

  env(vars: Partial<Record<IndexName | TileVar, string>>, score: string): ExprEnv {
    const self = this;
    return {
      index(name) {
        const v = vars[name];
        if (!v) throw new Error(`internal: index variable ${name} is not available in kernel ${self.kernel.name}`);
        return /^\w+$/.test(v) ? v : `(${v})`;
      },
      score: () => score,
      variable(name) {
        const v = vars[name as TileVar];
        if (!v) throw new Error(`internal: variable ${name} is not available in kernel ${self.kernel.name}`);
        return /^\w+$/.test(v) ? v : `(${v})`;
      },
      dim: (name) => `u.d_${name}`,
      load(tensor, idx) {
        const b = self.kernel.bindings.find((x) => x.role === 'lookup' && x.node === tensor);
        if (!b) throw new Error(`internal: kernel ${self.kernel.name} reads %${tensor} without a binding`);
        const extents = b.shape.map((s) => renderExpr(s, self.env({}, score)));
        if (!b.view) return widen(b, `${b.name}[${clampedLinearIndex(idx, extents)}]`);
        // A strided view: offset + Σ clamped index · stride (the last axis contiguous).
        const r = (e: Expr) => renderExpr(e, self.env({}, score));
        const terms = idx.map((x, a) => {
          const at = `clamp(${x}, 0, ${extents[a]} - 1)`;
          return a < b.view!.strides.length ? `${at} * ${r(b.view!.strides[a]!)}` : at;
        });
        return `${b.name}[${[r(b.view.offset), ...terms].join(' + ')}]`;
      },
      summary(e, idx, lo, hi) {
        const b = self.kernel.bindings.find((x) =>
          x.role === 'summary' && x.summary!.tensor === e.tensor && x.summary!.axis === e.axis && x.summary!.block === e.block);
        if (!b) throw new Error(`internal: kernel ${self.kernel.name} bounds %${e.tensor} without its block summaries`);
        return `${self.summaryBound(b, e.fn)}(${[...idx.filter((_, a) => a !== e.axis), lo, hi].join(', ')})`;
      },
      helpers: this.mod.helpers,
    };
  }

  /**
   * `min_<name>(other indices…, lo, hi)` (or max): the bound over the blocks of a summary
   * binding that meet positions [lo, hi] (clamped into the axis, hi to at least lo), the
   * other indices clamped — ir.ts `summary`, as the reference evaluates it.
   */
  private summaryBound(b: Binding, which: 'min' | 'max'): string {
    const fn = `${which}_${b.name}`;
    if (this.rowFns.has(fn)) return fn;
    this.rowFns.add(fn);
    const s = b.summary!;
    const layout = summaryLayout(s);
    const r = (e: Expr) => this.expr(e);
    const axes = s.shape.map((_, a) => a);
    const others = axes.filter((a) => a !== s.axis);
    const linear = (as: number[]) => (as.length ? clampedLinearIndex(as.map((a) => `i${a}`), as.map((a) => r(s.shape[a]!))) : '0');
    const half = which === 'min' ? '0' : '1';
    const at = (blk: string) => `${b.name}[((${half} * ${r(layout.outer)} + o) * ${r(layout.blocks)} + ${blk}) * ${r(layout.inner)} + inner]`;
    const lines = [
      `  let n = ${r(s.shape[s.axis]!)};`,
      `  let a = clamp(lo, 0, n - 1) / ${s.block};`,
      `  let z = max(clamp(hi, 0, n - 1) / ${s.block}, a);`,
      `  let o = ${linear(axes.slice(0, s.axis))};`,
      `  let inner = ${linear(axes.slice(s.axis + 1))};`,
      `  var v = ${at('a')};`,
      `  for (var k = a + 1; k <= z; k = k + 1) { v = ${which}(v, ${at('k')}); }`,
      '  return v;',
    ];
    const params = [...others.map((a) => `i${a}: i32`), 'lo: i32', 'hi: i32'];
    this.mod.functions.push(
      `// The ${which} of \`${b.label}\` over positions [lo, hi] of axis ${s.axis}, from its blocks of ${s.block}.\n` +
      `fn ${fn}(${params.join(', ')}) -> ${b.elem} {\n${lines.join('\n')}\n}`,
    );
    return fn;
  }

  /** Header comment, uniform block and storage bindings. */
  declare(scheduleLines: string[]): void {
    const k = this.kernel;
    const h = this.mod.header;
    h.push(`attnc generated kernel \`${k.name}\` — ${k.label}`);
    h.push(...scheduleLines.map((l) => `  ${l}`));
    const spec = Object.entries(k.specialized);
    if (spec.length) h.push(`  specialised: ${spec.map(([n, v]) => `${n} = ${v}`).join(', ')}`);
    h.push(`  dispatch: ${printExpr(k.workgroups)} workgroups (linear; folded into x·y past the per-dimension limit)`);
    h.push(`  @binding(0) u: runtime dims {${k.uniforms.join(', ')}}`);
    k.bindings.forEach((b, i) => {
      h.push(`  @binding(${i + 1}) ${b.name}: ${b.label}, ${b.access}${b.vec4 ? ', vec4 rows' : ''}`);
    });
    const fields = k.uniforms.length ? k.uniforms.map((d) => `d_${d}: i32`) : ['unused: i32'];
    this.mod.decls.push(`struct Dims {\n${fields.map((f) => `  ${f},`).join('\n')}\n}`);
    this.mod.decls.push('@group(0) @binding(0) var<uniform> u: Dims;');
    k.bindings.forEach((b, i) => {
      const ty = b.vec4 ? `vec4<${b.elem === 'f16' ? 'f16' : 'f32'}>` : b.elem;
      if (b.elem === 'f16') this.mod.enables.add('f16');
      this.mod.decls.push(`@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${ty}>;`);
    });
  }

  /** Row length (last axis, specialised) of a binding. */
  rowLength(b: Binding): number {
    const e = b.shape[b.shape.length - 1]!;
    if (e.op !== 'const' || typeof e.value !== 'number') throw new Error(`internal: ${b.name} rows are not specialised`);
    return e.value;
  }

  /**
   * `row_<name>(row)`: the element offset of a row (the flat index over all but the last
   * axis) of a strided view: the row decomposed over the leading axes' extents, then
   * offset + Σ index · stride.
   */
  private rowOffset(b: Binding): string {
    const fn = `row_${b.name}`;
    if (!this.rowFns.has(fn)) {
      this.rowFns.add(fn);
      const v = b.view!;
      const lead = b.shape.length - 1;
      const lines = ['  var r = row;'];
      for (let a = lead - 1; a >= 1; a--) {
        lines.push(`  let i${a} = r % ${this.expr(b.shape[a]!)};`, `  r = r / ${this.expr(b.shape[a]!)};`);
      }
      lines.push('  let i0 = r;');
      const terms = [...Array(lead).keys()].map((a) => `i${a} * ${this.expr(v.strides[a]!)}`);
      lines.push(`  return ${[this.expr(v.offset), ...terms].join(' + ')};`);
      this.mod.functions.push(`// Row \`row\` of \`${b.name}\`, a strided view: its first element.\nfn ${fn}(row: i32) -> i32 {\n${lines.join('\n')}\n}`);
    }
    return fn;
  }

  /** Element `col` of row `row` (a WGSL row index, rows of `rowLen` elements) of a binding. */
  elem(b: Binding, row: string, rowLen: string, col: string): string {
    return b.view ? `${b.name}[${this.rowOffset(b)}(${row}) + ${col}]` : widen(b, `${b.name}[(${row}) * ${rowLen} + ${col}]`);
  }

  /** `ld4_<name>(row, c)`: the c-th vec4 of a row (zero-padded past the row's end). */
  load4(b: Binding, fn = `ld4_${b.name}`): string {
    if (b.tail) return this.concatLoad4(b, fn);
    if (!this.rowFns.has(fn) && b.view) {
      this.rowFns.add(fn);
      const n = this.rowLength(b);
      const at = this.rowOffset(b);
      // vec4 only when the view's offset and strides are multiples of 4 (PassOptions.views).
      const body = b.vec4
        ? `  return ${b.name}[${at}(row) / 4 + c];`
        : [
          `  let o = ${at}(row) + 4 * c;`,
          '  var r4 = vec4<f32>(0.0f);',
          `  for (var t = 0; t < 4; t = t + 1) { if (4 * c + t < ${n}) { r4[t] = ${b.name}[o + t]; } }`,
          '  return r4;',
        ].join('\n');
      this.mod.functions.push(`fn ${fn}(row: i32, c: i32) -> vec4<f32> {\n${body}\n}`);
    }
    if (!this.rowFns.has(fn)) {
      this.rowFns.add(fn);
      const n = this.rowLength(b);
      const body = b.vec4
        ? `  return ${widen(b, `${b.name}[row * ${n / 4} + c]`, true)};`
        : [
          `  let o = row * ${n} + 4 * c;`,
          '  var r4 = vec4<f32>(0.0f);',
          `  for (var t = 0; t < 4; t = t + 1) { if (4 * c + t < ${n}) { r4[t] = ${widen(b, `${b.name}[o + t]`)}; } }`,
          '  return r4;',
        ].join('\n');
      this.mod.functions.push(`fn ${fn}(row: i32, c: i32) -> vec4<f32> {\n${body}\n}`);
    }
    return fn;
  }

  /**
   * `ld4_<name>(row, c)` of keys or values read in place from `concat(x, y)` (Binding.tail):
   * row `(b·H + h)·(N1 + N2) + j` of the concatenation is x's row `(b·H + h)·N1 + j` for
   * j < N1, else y's row `(b·H + h)·N2 + j − N1`. Either part may be empty.
   */
  private concatLoad4(b: Binding, fn: string): string {
    if (this.rowFns.has(fn)) return fn;
    this.rowFns.add(fn);
    const tail = this.kernel.bindings.find((x) => x.name === b.tail);
    if (!tail) throw new Error(`internal: kernel ${this.kernel.name} has no binding ${b.tail} (the tail of ${b.name})`);
    const head = this.load4({ ...b, tail: undefined }, `${fn}_head`);
    const rest = this.load4(tail);
    this.mod.functions.push([
      `// ${b.name} read in place from a concatenation: each head's first n1 rows from ${b.name}, the rest from ${tail.name}.`,
      `fn ${fn}(row: i32, c: i32) -> vec4<f32> {`,
      `  let n1 = ${this.expr(b.shape[2]!)};`,
      `  let n2 = ${this.expr(tail.shape[2]!)};`,
      '  let bh = row / max(n1 + n2, 1);',
      '  let j = row - bh * (n1 + n2);',
      `  if (j < n1) { return ${head}(bh * n1 + j, c); }`,
      `  return ${rest}(bh * n2 + j - n1, c);`,
      '}',
    ].join('\n'));
    return fn;
  }

  /** `st4_<name>(row, c, x)`: store the c-th vec4 of a row (dropping the padding). */
  store4(b: Binding, fn = `st4_${b.name}`): string {
    if (!this.rowFns.has(fn) && b.round === 'f16') return this.roundedStore4(b, fn);
    if (!this.rowFns.has(fn) && b.view) {
      this.rowFns.add(fn);
      const n = this.rowLength(b);
      const at = this.rowOffset(b);
      const body = b.vec4
        ? `  ${b.name}[${at}(row) / 4 + c] = val;`
        : [
          `  let o = ${at}(row) + 4 * c;`,
          `  for (var t = 0; t < 4; t = t + 1) { if (4 * c + t < ${n}) { ${b.name}[o + t] = val[t]; } }`,
        ].join('\n');
      this.mod.functions.push(`fn ${fn}(row: i32, c: i32, val: vec4<f32>) {\n${body}\n}`);
    }
    if (!this.rowFns.has(fn)) {
      this.rowFns.add(fn);
      const n = this.rowLength(b);
      // (f16 storage: an f16 result's values, exactly representable: the conversion is exact.)
      const narrow = (x: string, vec4: boolean) => (b.elem !== 'f16' ? x : vec4 ? `vec4<f16>(${x})` : `f16(${x})`);
      const body = b.vec4
        ? `  ${b.name}[row * ${n / 4} + c] = ${narrow('val', true)};`
        : [
          `  let o = row * ${n} + 4 * c;`,
          `  for (var t = 0; t < 4; t = t + 1) { if (4 * c + t < ${n}) { ${b.name}[o + t] = ${narrow('val[t]', false)}; } }`,
        ].join('\n');
      this.mod.functions.push(`fn ${fn}(row: i32, c: i32, val: vec4<f32>) {\n${body}\n}`);
    }
    return fn;
  }

  /**
   * `st4_<name>(row, c, x)` of an output stored rounded to f16 (Binding.round): the plain
   * store of `st4_<name>_f`, of the values rounded (`round_f16`, so every device agrees
   * with the reference) and, where the binding is f16, converted (exactly).
   */
  private roundedStore4(b: Binding, fn: string): string {
    this.rowFns.add(fn);
    this.mod.helpers.add('round_f16');
    const plain = this.store4({ ...b, round: undefined }, `${fn}_f`);
    this.mod.functions.push([
      `fn ${fn}(row: i32, c: i32, val: vec4<f32>) {`,
      `  ${plain}(row, c, vec4<f32>(round_f16(val.x), round_f16(val.y), round_f16(val.z), round_f16(val.w)));`,
      '}',
    ].join('\n'));
    return fn;
  }

  /**
   * Decode the linear workgroup index `wg` into the axes of the schedule's dispatch grid
   * (`let <axis>`, outermost first in the grid, the last axis fastest), the same grid whose
   * product the runtime dispatches.
   */
  decodeGrid(c: Code, grid: readonly GridAxis[]): void {
    for (let a = grid.length - 1; a >= 1; a--) c.line(`let n_${grid[a]!.name} = ${this.expr(grid[a]!.extent)};`);
    let rest = 'wg';
    for (let a = grid.length - 1; a >= 1; a--) {
      const axis = grid[a]!.name;
      const outer = grid.slice(0, a).map((x) => x.name).join('_');
      c.line(`let ${outer} = ${rest} / n_${axis};`);
      c.line(`let ${axis} = ${rest} - ${outer} * n_${axis};`);
      rest = outer;
    }
  }

  /**
   * The entry point: `@workgroup_size`, builtins, the linear workgroup index `wg` (x + y·nx)
   * with an early (uniform) return past the real workgroup count, and `lid`.
   */
  entry(workgroupSize: number, body: Code, extraBuiltins: string[] = []): void {
    const k = this.kernel;
    const c = new Code();
    c.line(`@compute @workgroup_size(${workgroupSize})`);
    const builtins = [
      '@builtin(workgroup_id) wid: vec3<u32>', '@builtin(num_workgroups) nwg: vec3<u32>',
      '@builtin(local_invocation_index) lidx: u32', ...extraBuiltins,
    ];
    c.block(
      `fn ${k.name}(${builtins.join(', ')})`,
      () => {
        c.line('let wg = i32(wid.x + wid.y * nwg.x);');
        c.line(`if (wg >= ${this.expr(k.workgroups)}) { return; }`);
        c.line('let lid = i32(lidx);');
        c.append(body);
      },
    );
    this.mod.entry = c.toString();
  }

  toString(): string {
    return this.mod.toString();
  }
}

/** A value read from binding `b` as f32 (f16 storage is widened as it is loaded). */
function widen(b: Binding, read: string, vec4 = false): string {
  return b.elem !== 'f16' ? read : vec4 ? `vec4<f32>(${read})` : `f32(${read})`;
}

/**
 * The binding an attention writes its log-sum-exp to, when an `lse` reads it (declaring
 * the −inf function in its module).
 */
export function lseName(src: KernelSource): string | undefined {
  const name = src.kernel.bindings.find((b) => b.role === 'lse')?.name;
  if (name && !src.mod.functions.includes(NEG_INF_FN)) src.mod.functions.push(NEG_INF_FN);
  return name;
}

/** Helper functions beyond the expression helpers (none yet; kept for targets' quirks). */
const extraHelpers = new Map<string, string>();
