// The page side of test/webgl-browser.test.ts: a program run on the page's WebGL (gpu.js's
// browser build, WebGL 2 in Chromium) through the WebGL runtime, with a plan option.

import { compile } from '../compiler/compile.js';
import { generateInputs } from '../runtime/shapes.js';
import { executeWebGL, webglDevice, type WebGLOptions } from '../runtime/webgl/index.js';

/** Run `source` at `dims` on generated inputs (`seed`, as the test generates them); its output values. */
async function runWebGL(source: string, dims: Record<string, number>, seed: number, options: WebGLOptions) {
  const r = compile(source);
  if (!r.ok || !r.graph) return { error: r.diagnostics.map((d) => d.message).join('; ') };
  try {
    const out = await executeWebGL(r.graph, generateInputs(r.graph, dims, seed), dims, options);
    return { data: Array.from(out.data), shape: out.shape, version: webglDevice().version };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

(globalThis as unknown as { attnc: unknown }).attnc = { runWebGL };
