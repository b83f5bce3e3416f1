// Shared by the suites that run every sample through another path (the emitted module,
// attnc/tfjs, the page): a sample's inputs and reference output at small shapes.

import type { Graph } from '../../compiler/ir.js';
import { executeReference, generateInputs, resolveDims } from '../../runtime/reference/index.js';
import type { Tensor } from '../../runtime/tensor.js';

/**
 * A sample's inputs and reference output at small shapes where the program allows them
 * (B = 1, H = 2, N = `N`; head dims as declared), else at its `dims` defaults (2-D grids,
 * agent tokens): for the suites that run every sample through another path.
 */
export function smallCase(graph: Graph, seed: number, N = 96): { dims: Record<string, number>; inputs: Record<string, Tensor>; want: Tensor } {
  for (const over of [{ B: 1, H: 2, N }, {}] as Record<string, number>[]) {
    const dims = resolveDims(graph, over);
    const inputs = generateInputs(graph, dims, seed);
    try {
      return { dims, inputs, want: executeReference(graph, inputs) };
    } catch (e) {
      if (Object.keys(over).length === 0) throw e;
    }
  }
  throw new Error('unreachable');
}
