// run(): execute a compiled program on a backend. `auto` picks the best backend that
// answers (WebGPU when an adapter is found, else the reference executor) and says which,
// and why, in the result.

import type { CompileResult } from '../compiler/compile.js';
import { AttncError } from '../dsl/diagnostics.js';
import { executeReference } from './reference/index.js';
import { bindDims } from './shapes.js';
import { toFloat32, type Tensor } from './tensor.js';

export type Backend = 'reference' | 'webgpu';
export type BackendChoice = Backend | 'auto';
export const BACKENDS: readonly BackendChoice[] = ['auto', 'reference', 'webgpu'];

export interface RunOptions {
  backend?: BackendChoice;
  /** WebGPU only: false runs the materialised-scores kernels (the benchmark baseline). */
  fusion?: boolean;
}

export interface RunResult {
  /** Float32 output (the reference executor's float64 result rounded once at the end). */
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
  const dims = bindDims(graph, inputs);
  const choice = options.backend ?? 'auto';

  if (choice === 'webgpu' || choice === 'auto') {
    const webgpu = await import('./webgpu/index.js');
    const gpu = await webgpu.getWebGPU().catch((e: unknown) => e as Error);
    if (!(gpu instanceof Error)) {
      const output = await webgpu.runProgram(gpu, program, inputs, dims, { fusion: options.fusion ?? true });
      return { output, backend: 'webgpu', dims };
    }
    if (choice === 'webgpu') throw gpu;
    const output = toFloat32(executeReference(graph, inputs));
    return { output, backend: 'reference', dims, note: `no WebGPU adapter (${firstLine(gpu.message)})` };
  }
  return { output: toFloat32(executeReference(graph, inputs)), backend: 'reference', dims };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}
