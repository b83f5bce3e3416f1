// Shared by the suites that run every sample through another path (the emitted module,
// attnc/tfjs, the page): a sample's inputs and reference output at small shapes.

import type { Graph } from '../../compiler/ir.js';
import { executeReference, generateInputs, resolveDims } from '../../runtime/reference/index.js';
import { roundF16Inputs } from '../../runtime/f16.js';
import type { Tensor } from '../../runtime/tensor.js';

/**
 * A sample's inputs and reference output at small shapes where the program allows them
 * (B = 1, H = 2, N = `N`; head dims as declared), else at its `dims` defaults (2-D grids,
 * agent tokens): for the suites that run every sample through another path. f16 inputs
 * hold f16 values already: the paths over the caller's buffers (the emitted module,
 * attnc/tfjs) use the values as given, the way a model's f16 activations arrive.
 */
export function smallCase(graph: Graph, seed: number, N = 96): { dims: Record<string, number>; inputs: Record<string, Tensor>; want: Tensor } {
  for (const over of [{ B: 1, H: 2, N }, {}] as Record<string, number>[]) {
    const dims = resolveDims(graph, over);
    const inputs = roundF16Inputs(graph, generateInputs(graph, dims, seed));
    try {
      return { dims, inputs, want: executeReference(graph, inputs) };
    } catch (e) {
      if (Object.keys(over).length === 0) throw e;
    }
  }
  throw new Error('unreachable');
}
