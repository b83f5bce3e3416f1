// Pattern builtins with negative arguments on WebGL (gpu.js), against the float64
// reference: the per-query key loops follow the mask analysis's key ranges, which once
// assumed a positive block size (block(-4) gave all zeros). Both attention strategies.
//
// Needs a WebGL context: run under an X display (`scripts/with-display.sh`, `xvfb-run -a`).

import test from 'ava';
import { close } from './helpers/tolerance.js';
import { compile } from '../compiler/compile.js';
import { executeReference, generateInputs, resolveDims } from '../runtime/reference/index.js';
import { executeWebGL, webglAvailable } from '../runtime/webgl/index.js';

if (!webglAvailable()) throw new Error('no WebGL context (run under `xvfb-run -a`)');

const prog = (mask: string, params: string) => `
attention t {
  input q, k, v: f32[B, H, N, D]
  param ${params}
  return attend(q, k, v, mask: ${mask})
}`;

const cases: [string, string, Record<string, number>][] = [
  ['block(size)', 'size = -4', { B: 1, H: 1, N: 8, D: 4 }],
  ['block(size) && causal', 'size = -7', { B: 1, H: 2, N: 40, D: 8 }],
  ['halo(size, overlap)', 'size = -10, overlap = 7', { B: 1, H: 2, N: 40, D: 8 }],
  ['sliding(w) || block(size)', 'w = -3, size = -9', { B: 1, H: 1, N: 37, D: 8 }],
];

for (const [mask, params, dimsIn] of cases) {
  test(`WebGL: ${mask} with ${params} matches the reference`, async (t) => {
    const r = compile(prog(mask, params));
    if (!r.ok || !r.graph) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    const dims = resolveDims(r.graph, dimsIn);
    const inputs = generateInputs(r.graph, dims, 3);
    const ref = executeReference(r.graph, inputs);
    t.true(ref.data.some((x) => x !== 0), 'the mask allows keys');
    for (const strategy of ['fused', 'scores'] as const) {
      const out = await executeWebGL(r.graph, inputs, dims, { strategy });
      close(t, out, ref);
    }
  });
}
