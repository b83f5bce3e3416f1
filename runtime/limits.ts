// Sizes refused before anything is allocated or read (issue: `--dims N=2147483648` used to
// fail inside `new Float32Array` with "Invalid typed array length", and 3 × 1 GiB inputs
// were read in full before the binding limit refused them). Every limit is named:
//   - every backend: a tensor of more than 2^31 − 1 elements (kernels and the reference
//     index elements with 32-bit ints) is AT713;
//   - WebGPU: an input over the device's maxStorageBufferBindingSize (BufferLimitError),
//   - WebGL: an input over 2^24 elements (WebGLLimitError, f32-exact texture indices),
// the backends' own errors, thrown here from the shapes alone (dims bound from .npy
// headers, or the dims inputs would be generated at).

import type { Graph } from '../compiler/ir.js';
import { AttncError, diag } from '../dsl/diagnostics.js';
import { MAX_ELEMENTS as WEBGL_MAX_ELEMENTS, WebGLLimitError } from '../targets/webgl/types.js';
import { BufferLimitError } from './webgpu/errors.js';
import { shapeOf } from './shapes.js';

/** The most elements a tensor may have on any backend: its indices are 32-bit ints. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** AT713 for the first tensor of the graph (input, intermediate or output) over MAX_ELEMENTS under `dims`. */
export function checkSizes(graph: Graph, dims: Readonly<Record<string, number>>): void {
  for (const node of graph.nodes) {
    const shape = shapeOf(node, dims);
    const n = product(shape);
    if (n > MAX_ELEMENTS) {
      const name = node.name ?? `%${node.id}`;
      throw new AttncError([diag('AT713', [name, shape.join(', '), `${n} elements, more than ${MAX_ELEMENTS}`], node.span,
        'tensors are indexed with 32-bit ints on every backend: use smaller dims')]);
    }
  }
}

/** What the backend that will run refuses for an input, from its shape alone. */
export interface InputLimits {
  /** WebGPU: the device's maxStorageBufferBindingSize, in bytes (every element is 4 bytes there). */
  maxBindingBytes?: number;
  /** WebGL: elements per tensor. */
  maxElements?: number;
}

export const WEBGL_LIMITS: InputLimits = { maxElements: WEBGL_MAX_ELEMENTS };

/** Throw the backend's own limit error for the first input of `shapes` over `limits`. */
export function checkInputLimits(shapes: Readonly<Record<string, readonly number[]>>, limits: InputLimits): void {
  for (const [name, shape] of Object.entries(shapes)) {
    const n = product(shape);
    if (limits.maxBindingBytes !== undefined && 4 * n > limits.maxBindingBytes) {
      throw new BufferLimitError(`input ${name}`, 4 * n, limits.maxBindingBytes);
    }
    if (limits.maxElements !== undefined && n > limits.maxElements) {
      throw new WebGLLimitError(
        `input \`${name}\` of shape [${shape.join(', ')}] has ${n} elements; the WebGL target addresses tensors with ` +
          `f32 indices, exact only up to 2^24 = ${limits.maxElements} elements per tensor. Use smaller shapes or another ` +
          'backend (--backend webgpu or reference).',
      );
    }
  }
}
