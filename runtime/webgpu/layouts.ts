// The layouts prepare().encode() reads the caller's input buffers in: each input in C order
// (`bhnd`, the default), `bnhd` (a [B, H, N, D] input stored [B, N, H, D], the same memory
// as [B, N, H·D]), or `qkv`: the inputs marked so are slices of one packed projection
// [B, N, Σ heads·head dim] in their declaration order (q, k, v of a fused projection; GQA's
// [B, N, (H + 2·Hk)·D]), all bound to the same buffer. The kernels read them in place: a
// view's offset and strides are uniforms (PassOptions.views), computed per encode from the
// dims; the alignment class (vec4 rows or element loads) depends only on the head dims,
// which are fixed at prepare.

import type { Graph, Node } from '../../compiler/ir.js';
import { evalSize } from '../../compiler/kernel.js';
import { EncodeError } from './errors.js';

export type InputLayout = 'bhnd' | 'bnhd' | 'qkv';

/** The marked inputs' nodes, checked: rank 4, and for `qkv` the same B and N axes. */
function viewed(graph: Graph, layouts: Readonly<Record<string, InputLayout>>): { node: Node; layout: InputLayout }[] {
  const out: { node: Node; layout: InputLayout }[] = [];
  for (const id of graph.inputs) {
    const node = graph.nodes[id]!;
    const layout = layouts[node.name!];
    if (layout === undefined || layout === 'bhnd') continue;
    if (layout !== 'bnhd' && layout !== 'qkv') throw new EncodeError(`input ${node.name}`, `unknown layout \`${String(layout)}\`: expected bhnd, bnhd or qkv`);
    if (node.shape.length !== 4) throw new EncodeError(`input ${node.name}`, `layout ${layout} is for [B, H, N, D] inputs; \`${node.name}\` has rank ${node.shape.length}`);
    out.push({ node, layout });
  }
  const names = new Set(Object.keys(layouts));
  for (const n of names) {
    if (!graph.inputs.some((id) => graph.nodes[id]!.name === n)) throw new EncodeError(`input ${n}`, `a layout for \`${n}\`, which is not an input of \`${graph.name}\``);
  }
  return out;
}

/** PassOptions.views for the layouts: vec4 rows when every head dim involved is a multiple of 4. */
export function layoutViews(graph: Graph, layouts: Readonly<Record<string, InputLayout>>, dims: Record<string, number>): Record<string, 'vec4' | 'scalar'> {
  const marked = viewed(graph, layouts);
  const headDim = (n: Node) => evalSize(n.shape[3]!, dims);
  const packedAligned = marked.filter((m) => m.layout === 'qkv').every((m) => headDim(m.node) % 4 === 0);
  return Object.fromEntries(marked.map(({ node, layout }) => [
    node.name!, (layout === 'qkv' ? packedAligned : headDim(node) % 4 === 0) ? 'vec4' : 'scalar',
  ]));
}

/**
 * The uniforms of the views under `dims` (`<name>__o`, `<name>__s0..2`, `<name>__n`) and each
 * viewed input's buffer length in elements.
 */
export function layoutDims(graph: Graph, layouts: Readonly<Record<string, InputLayout>>, dims: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  const marked = viewed(graph, layouts);
  const shape = (n: Node) => n.shape.map((e) => evalSize(e, dims)) as [number, number, number, number];
  const set = (n: Node, o: number, s: [number, number, number], elems: number) => {
    Object.assign(out, { [`${n.name}__o`]: o, [`${n.name}__s0`]: s[0], [`${n.name}__s1`]: s[1], [`${n.name}__s2`]: s[2], [`${n.name}__n`]: elems });
  };
  const packed = marked.filter((m) => m.layout === 'qkv').map((m) => m.node);
  const W = packed.reduce((w, n) => w + shape(n)[1] * shape(n)[3], 0);
  let offset = 0;
  for (const { node, layout } of marked) {
    const [B, H, N, D] = shape(node);
    if (layout === 'bnhd') {
      set(node, 0, [N * H * D, D, H * D], B * N * H * D);
      continue;
    }
    const [B0, , N0] = shape(packed[0]!);
    if (B !== B0 || N !== N0) {
      throw new EncodeError(`input ${node.name}`, `the slices of a packed projection share B and N: \`${node.name}\` is [${[B, H, N, D]}], \`${packed[0]!.name}\` has B = ${B0}, N = ${N0}`);
    }
    set(node, offset, [N * W, D, W], B * N * W);
    offset += H * D;
  }
  return out;
}

/** The output written as [B, N, H, D] memory (`bnhd`): its view class, checked (an attention's rank-4 output). */
export function outputView(graph: Graph, layout: InputLayout | undefined, dims: Record<string, number>): 'vec4' | 'scalar' | undefined {
  if (layout === undefined || layout === 'bhnd') return undefined;
  const out = graph.nodes[graph.output]!;
  if (layout !== 'bnhd') throw new EncodeError('output out', `unknown output layout \`${String(layout)}\`: expected bhnd or bnhd`);
  if (out.op !== 'attend' || out.kept || out.shape.length !== 4) throw new EncodeError('output out', 'an output layout is for programs that return an attention ([B, H, N, Dv])');
  return evalSize(out.shape[3]!, dims) % 4 === 0 ? 'vec4' : 'scalar';
}

/** The output view's uniforms under `dims` (`out__o`, `out__s0..2`, `out__n`). */
export function outputDims(graph: Graph, dims: Record<string, number>): Record<string, number> {
  const [B, H, N, D] = graph.nodes[graph.output]!.shape.map((e) => evalSize(e, dims)) as [number, number, number, number];
  return { out__o: 0, out__s0: N * H * D, out__s1: D, out__s2: H * D, out__n: B * N * H * D };
}
