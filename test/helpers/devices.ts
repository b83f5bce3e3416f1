// Shared by the suites of the language's constructs: a program on every device backend
// (webgpu, webgl) against the float64 reference executor, on the same inputs, compared
// within the GPU suites' tolerance (compare: exact zeros stay exact, equal infinities too).

import type { ExecutionContext } from 'ava';
import { compile, type CompileResult } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir.js';
import { run, type RunResult } from '../../runtime/run.js';
import { generateInputs, resolveDims } from '../../runtime/shapes.js';
import type { Tensor } from '../../runtime/tensor.js';
import { compare } from './webgpu-check.js';

/**
 * Compile `program` (asserting it compiles), run it on the reference and on each device
 * backend with generated inputs (`seed`, at the program's dims) or the given `inputs`, and
 * assert each device's outputs (every one, by name) equal the reference's (an f16 output
 * within one more f16 step). Returns what a test checks next.
 */
export async function devicesAgree(
  t: ExecutionContext, program: string | CompileResult, opts: { seed?: number; inputs?: Record<string, Tensor> } = {},
): Promise<{ graph: Graph; inputs: Record<string, Tensor>; ref: RunResult }> {
  const p = typeof program === 'string' ? compile(program) : program;
  t.true(p.ok, p.diagnostics.map((d) => d.message).join('\n'));
  const graph = p.graph!;
  const inputs = opts.inputs ?? generateInputs(graph, resolveDims(graph), opts.seed ?? 1);
  const ref = await run(p, inputs, { backend: 'reference' });
  for (const backend of ['webgpu', 'webgl'] as const) {
    const out = await run(p, inputs, { backend });
    for (const [name, want] of Object.entries(ref.outputs)) {
      const f16 = graph.nodes[graph.outputs.find((o) => o.name === name)!.node]!.elem === 'f16';
      t.deepEqual(compare(out.outputs[name]!, want, { f16 }).bad, [], `${backend}: ${name}`);
    }
  }
  return { graph, inputs, ref };
}
