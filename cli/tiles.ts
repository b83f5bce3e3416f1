// `attnc compile --emit tiles [--inputs DIR]` and the `visited` of `attnc run --json`: the
// tile maps of a program's attends (tilemap.ts), with the tensors its masks read when a
// directory of them is given, and the fraction of tiles the WGSL kernels visit for the
// tensors of a run. Node-only (reads .npy files); tilemap.ts stays browser-safe.

import { basename } from 'node:path';
import type { Graph, NodeOf } from '../compiler/ir.js';
import { rewrite } from '../compiler/ir.js';
import { resolveDims } from '../runtime/shapes.js';
import type { Tensor } from '../runtime/tensor.js';
import { readInputFiles } from './guards.js';
import { printTileMap, tileMap, visitedFraction } from './tilemap.js';
import { tileMapCaption, tileMapSvg } from './tilemap-svg.js';

const attendsOf = (g: Graph) => g.nodes.filter((n): n is NodeOf<'attend'> => n.op === 'attend');

/** Names of the graph inputs the attends' masks read. */
function maskInputs(g: Graph): string[] {
  const ids = new Set<number>();
  for (const a of attendsOf(g)) rewrite(a.mask, (x) => (x.op === 'load' && ids.add(x.tensor), x));
  return g.inputs.filter((id) => ids.has(id)).map((id) => g.nodes[id]!.name!);
}

/** Node id → tensor, for the graph inputs given by name. */
function byId(g: Graph, inputs: Readonly<Record<string, Tensor>>): Map<number, Tensor> {
  return new Map(g.inputs.flatMap((id) => (inputs[g.nodes[id]!.name!] ? [[id, inputs[g.nodes[id]!.name!]!] as const] : [])));
}

/**
 * The tile maps as artefacts (text, and an SVG per attend). With `dir`, the tensors the
 * masks read come from DIR/NAME.npy (their shapes bind dims, after --dims) and the maps
 * are drawn for batch 0, head 0.
 */
export function tileArtefacts(g: Graph, path: string, given: Record<string, number>, dir?: string): [string, string][] {
  let tensors: Map<number, Tensor> | undefined;
  let dims = resolveDims(g, given);
  if (dir !== undefined) {
    const { inputs } = readInputFiles(g, maskInputs(g), dir, {});
    dims = resolveDims(g, { ...dimsFrom(g, inputs), ...given });
    tensors = byId(g, inputs);
  }
  const maps = attendsOf(g).map((n) => tileMap(g, n, dims, 64, 64, tensors && { tensors, b: 0, h: 0 }));
  const note = tensors ? `// tensors from ${dir} (${[...tensors.keys()].map((id) => g.nodes[id]!.name).join(', ')}); batch 0, head 0\n` : '';
  return [
    [`${g.name}.tiles.txt`, note + maps.map(printTileMap).join('\n')],
    ...maps.map((m): [string, string] => [`${g.name}.attend${m.node}.tiles.svg`, tileMapSvg(m, tileMapCaption(basename(path), m, dims))]),
  ];
}

/** Dims bound by the shapes of the given inputs (declared `doc: i32[B, N]`, file (2, 512): B = 2, N = 512). */
function dimsFrom(g: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const id of g.inputs) {
    const node = g.nodes[id]!;
    const t = inputs[node.name!];
    if (!t) continue;
    if (t.shape.length !== node.shape.length) {
      throw new Error(`input \`${node.name}\` is declared with ${node.shape.length} axes but its file has shape (${t.shape.join(', ')})`);
    }
    node.shape.forEach((e, a) => {
      if (e.op !== 'dim') return;
      if (dims[e.name] !== undefined && dims[e.name] !== t.shape[a]) {
        throw new Error(`dim ${e.name} is ${dims[e.name]} by one input and ${t.shape[a]} by \`${node.name}\``);
      }
      dims[e.name] = t.shape[a]!;
    });
  }
  return dims;
}

/** The fraction of 64 × 64 tiles the WGSL kernels visit for these inputs, the mean over the attends, or null without one. */
export function visited(g: Graph, inputs: Readonly<Record<string, Tensor>>, dims: Record<string, number>, tensorBounds = true): number | null {
  const attends = attendsOf(g);
  if (!attends.length) return null;
  const tensors = tensorBounds ? byId(g, inputs) : new Map<number, Tensor>();
  const fractions = attends.map((a) => visitedFraction(g, a, dims, tensors));
  return fractions.reduce((x, y) => x + y, 0) / fractions.length;
}
