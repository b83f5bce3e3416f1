// run(): execute a compiled program on a backend. `auto` picks the best backend that
// answers — WebGPU when an adapter is found, else WebGL when a context can be created,
// else the reference executor — and says which, and why, in the result.

import type { CompileResult } from '../compiler/compile.js';
import type { Graph } from '../compiler/ir.js';
import type { BoundProgram } from './webgpu/execute.js';
import { AttncError } from '../dsl/diagnostics.js';
import { executeReference } from './reference/index.js';
import { bindDims } from './shapes.js';
import { validateRun } from './validate.js';
import { toFloat32, type Tensor } from './tensor.js';

export type Backend = 'reference' | 'webgpu' | 'webgl';
export type BackendChoice = Backend | 'auto';
export const BACKENDS: readonly BackendChoice[] = ['auto', 'reference', 'webgpu', 'webgl'];

export interface RunOptions {
  backend?: BackendChoice;
  /** WebGPU only: false runs the materialised-scores kernels (the benchmark baseline). */
  fusion?: boolean;
}

export interface RunResult {
  /**
   * Float32 output (the reference executor's float64 result rounded once at the end);
   * Int32 when the program returns cluster ids.
   */
  output: Tensor;
  backend: Backend;
  /** Why `auto` did not pick a faster backend, when it did not. */
  note?: string;
  /** Runtime dims bound from the inputs. */
  dims: Record<string, number>;
}

export async function run(
  program: CompileResult,
  inputs: Record<string, Tensor>,
  options: RunOptions = {},
): Promise<RunResult> {
  if (!program.ok || !program.graph) throw new AttncError(program.diagnostics);
  const graph = program.graph;
  // Shape errors are reported before any kernel runs, the same on every backend.
  const dims = bindDims(graph, inputs);
  const choice = options.backend ?? 'auto';
  const notes: string[] = [];

  // ... and the runtime sizes every kernel relies on (pool tokens, GQA heads, NATTEN's
  // kernel · dilation ≤ L), with the reference executor's codes.
  if (choice !== 'reference') validateRun(graph, inputs, dims);

  if (choice === 'webgpu' || choice === 'auto') {
    const { getWebGPU } = await import('./webgpu/execute.js');
    const gpu = await getWebGPU().catch((e: unknown) => e as Error);
    if (!(gpu instanceof Error)) {
      const bound = await bindOnWebGPU(graph, inputs, dims, options.fusion ?? true);
      try {
        return { output: await bound.read(), backend: 'webgpu', dims };
      } finally {
        bound.release();
      }
    }
    if (choice === 'webgpu') throw gpu;
    notes.push(firstSentence(gpu.message));
  }
  if (choice === 'webgl' || choice === 'auto') {
    const webgl = await import('./webgl/index.js');
    if (choice === 'webgl' || webgl.webglAvailable()) {
      return { output: await webgl.executeWebGL(graph, inputs, dims), backend: 'webgl', dims, note: notes.join('; ') || undefined };
    }
    notes.push('no WebGL context (in Node, run under xvfb-run)');
  }
  const ref = executeReference(graph, inputs);
  const output = ref.data instanceof Int32Array ? ref : toFloat32(ref);
  return { output, backend: 'reference', dims, note: notes.join('; ') || undefined };
}

/**
 * WebGPU only: upload `inputs` once and keep them on the device, so the program's kernels
 * can run again and again on them — `dispatch()` runs and waits (resolving to the GPU time
 * in ms where the device grants `timestamp-query`), `profile()` times each kernel,
 * `read()` runs and reads the output back, `release()` gives the buffers back
 * (BoundProgram). For repeated calls and for timing kernels without the host↔device
 * transfers. Throws the same errors as `run`.
 */
export async function bind(
  program: CompileResult,
  inputs: Record<string, Tensor>,
  options: Pick<RunOptions, 'fusion'> = {},
): Promise<BoundProgram & { dims: Record<string, number> }> {
  if (!program.ok || !program.graph) throw new AttncError(program.diagnostics);
  const graph = program.graph;
  const dims = bindDims(graph, inputs);
  validateRun(graph, inputs, dims);
  return Object.assign(await bindOnWebGPU(graph, inputs, dims, options.fusion ?? true), { dims });
}

async function bindOnWebGPU(graph: Graph, inputs: Record<string, Tensor>, dims: Record<string, number>, fusion: boolean): Promise<BoundProgram> {
  const { bindWebGPU } = await import('./webgpu/execute.js');
  return bindWebGPU(graph, inputs, dims, { fusion });
}

/** The first sentence of an error message: the reason, without the how-to-fix. */
function firstSentence(s: string): string {
  return s.split(/(?<=\.)\s|\n/)[0]!.replace(/\.$/, '');
}
