// Packed (RGBA) textures: four consecutive values of a row in one f32 texel. The attention
// kernels read q, k, v, scores and probabilities as whole texels — a q·k dot product of
// D values is D/4 texel fetches and D/4 vec4 `dot`s — and write four results per fragment
// (gpu.js `returnType: 'Array(4)'`). gpu.js's own readers address a texture element by
// element (an index → texel division and a channel select per value), so the kernels read
// packed textures through `attnc_ld`, a native GLSL helper given the sampler itself:
// `texelFetch` on WebGL 2, `texture2D` at the texel's centre on WebGL 1.
//
// Every graph tensor an attention reads is packed once per run by a `pack` kernel (its
// rows are the tensor's last axis, zero-padded to a multiple of 4), and an attention's
// output stays packed unless a kernel needs it flat (`unpack`) or the host reads it.

import { nodeBuffer, type PlanBuilder } from './builder.js';
import { MAX_ELEMENTS, WebGLLimitError, type PackedLayout } from './types.js';

/** The texture side the plans use when the device's is not known (WebGL 2 guarantees 2048). */
export const DEFAULT_MAX_TEXTURE_SIZE = 4096;

/**
 * The layout of `rows` rows of `values` values: ⌈values / 4⌉ texels a row, rows folded
 * side by side (a power of two of them) until the texture is no taller than `maxSize`.
 */
export function packedLayout(what: string, rows: number, values: number, maxSize: number): PackedLayout {
  const width = Math.max(1, Math.ceil(values / 4));
  if (rows * width * 4 > MAX_ELEMENTS) {
    throw new WebGLLimitError(
      `${what}: ${rows} rows of ${width * 4} values; the WebGL target addresses at most ${MAX_ELEMENTS} values ` +
        'per texture (f32-exact indices). Use smaller shapes or another backend.',
    );
  }
  let fold = 1;
  while (Math.ceil(rows / fold) > maxSize) fold *= 2;
  if (width * fold > maxSize) {
    throw new WebGLLimitError(
      `${what}: ${rows} rows of ${width} RGBA texels need a ${width * fold} × ${Math.ceil(rows / fold)} texture; ` +
        `this WebGL device's textures are at most ${maxSize} texels a side. Use smaller shapes or another backend.`,
    );
  }
  return { rows, width, fold, values };
}

/** gpu.js output size of a kernel writing a packed texture (two rows at least: a 1-row output would be laid out square). */
export function packedOutput(l: PackedLayout): [number, number, number] {
  return [l.width * l.fold, Math.max(2, Math.ceil(l.rows / l.fold)), 1];
}

/**
 * Lines declaring the row `row` and texel `col` a thread of a packed output writes, and
 * returning zeros for the padding threads past the last row.
 */
export function packedThread(l: PackedLayout, row: string, col: string): string[] {
  const lines =
    l.fold === 1
      ? [`  const ${row} = this.thread.y;`, `  const ${col} = this.thread.x;`]
      : [
          `  const ${row}_f = attnc_idiv(this.thread.x, ${l.width});`,
          `  const ${row} = this.thread.y * ${l.fold} + ${row}_f;`,
          `  const ${col} = this.thread.x - ${row}_f * ${l.width};`,
        ];
  return [...lines, `  if (${row} >= ${l.rows}) {`, '    return [0.0, 0.0, 0.0, 0.0];', '  }'];
}

/** The texel `col` of row `row` of the packed texture parameter `name`, as a vec4. */
export function ld(name: string, l: PackedLayout, row: string, col: string | number): string {
  return l.fold === 1 ? `attnc_ld(${name}, ${row}, ${col})` : `attnc_ldf(${name}, ${row}, ${col}, ${l.width}, ${l.fold})`;
}

/** The rows of a tensor of this shape as an attention reads it: every axis but the last. */
export function rowsOf(shape: readonly number[]): { rows: number; values: number } {
  const values = shape[shape.length - 1] ?? 1;
  return { rows: shape.slice(0, -1).reduce((a, b) => a * b, 1), values };
}

/** Emit the kernel packing graph tensor `id` (flat) into its packed texture. */
export function emitPack(b: PlanBuilder, id: number, l: PackedLayout): void {
  const x = `t${id}`;
  const lane = (t: number): string => {
    const read = `${x}[e + ${t}]`;
    return l.values % 4 === 0 ? read : `(c * 4 + ${t} < ${l.values} ? ${read} : 0.0)`;
  };
  b.add({ op: 'tensor', id }, 'pack', {
    kind: 'pack',
    label: `pack ${b.nodeLabel(id)}: ${l.rows} rows of ${l.values} values into ${l.width} RGBA texels each`,
    source: [
      `function (${x}) {`,
      ...packedThread(l, 'r', 'c'),
      `  const e = r * ${l.values} + c * 4;`,
      `  return [${[0, 1, 2, 3].map(lane).join(', ')}];`,
      '}',
    ],
    args: [nodeBuffer(id)],
    result: { kind: 'packed', node: id },
    output: packedOutput(l),
    returns: 'vec4',
    constants: {},
    helpers: l.fold === 1 ? [] : ['attnc_idiv'],
    cost: l.rows * l.width * 4,
  });
}

/** Emit the kernel unpacking the packed texture of node `id` (shape [B, H, N, V]) into flat values. */
export function emitUnpack(b: PlanBuilder, id: number, l: PackedLayout): void {
  const shape = b.shapes[id]!;
  const [B, H, N, V] = [shape[0] ?? 1, shape[1] ?? 1, shape[2] ?? 1, shape[3] ?? 1];
  const p = `p${id}`;
  b.add({ op: 'tensor', id }, 'unpack', {
    kind: 'unpack',
    label: `unpack ${b.nodeLabel(id)}: its RGBA texels as flat values`,
    source: [
      `function (${p}) {`,
      '  const e = this.thread.x;',
      `  const r = this.thread.z * ${N} + this.thread.y;`,
      '  const c = attnc_idiv(e, 4);',
      `  return attnc_lane(${ld(p, l, 'r', 'c')}, e - c * 4);`,
      '}',
    ],
    args: [{ kind: 'packed', node: id }],
    argNames: [p],
    result: nodeBuffer(id),
    output: [V, N, B * H],
    returns: 'float',
    constants: {},
    helpers: ['attnc_idiv', 'attnc_lane'],
    cost: B * H * N * V,
  });
}

/** The flat values of a packed texture read back as [rows, width, 4] texels: row-major [rows, values]. */
export function unpackRows(raw: Float32Array, l: PackedLayout, rows = l.rows): Float32Array {
  const stride = l.width * 4;
  if (stride === l.values) return raw.slice(0, rows * l.values);
  const out = new Float32Array(rows * l.values);
  for (let r = 0; r < rows; r++) out.set(raw.subarray(r * stride, r * stride + l.values), r * l.values);
  return out;
}
