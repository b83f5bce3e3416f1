// The attnc API as a browser page sees it, bundled by test/browser.test.ts with esbuild:
// the same compile() and run() as in Node, on navigator.gpu (WebGPU) and WebGL2.

import { compile } from '../../compiler/compile.js';
import { run, type BackendChoice } from '../../runtime/run.js';
import { executeReference } from '../../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../../runtime/shapes.js';

/** Run `source` on `backend` and on the reference; the worst error in units of the tolerance. */
async function check(source: string, dims: Record<string, number>, backend: BackendChoice) {
  const program = compile(source);
  if (!program.ok) return { error: program.diagnostics.map((d) => d.message).join('; ') };
  const graph = program.graph!;
  const inputs = generateInputs(graph, resolveDims(graph, dims), 1);
  const got = await run(program, inputs, { backend });
  const want = executeReference(graph, inputs);
  let worst = 0;
  for (let k = 0; k < want.data.length; k++) {
    const w = want.data[k]!;
    worst = Math.max(worst, Math.abs(got.output.data[k]! - w) / (1e-4 + 1e-4 * Math.abs(w)));
  }
  return { backend: got.backend, shape: got.output.shape, worst };
}

async function adapterInfo() {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter();
  return adapter ? `${adapter.info.vendor} ${adapter.info.architecture}` : null;
}

(globalThis as unknown as { attnc: unknown }).attnc = { check, adapterInfo };
