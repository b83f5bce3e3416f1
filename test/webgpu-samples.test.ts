// Every sample program on the device, fused and unfused, at small shapes (N not a multiple
// of any tile), against the float64 reference.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { checkGraph, graphOf } from './helpers/webgpu-check.js';

const cases: { file: string; params?: Record<string, number>; dims: Record<string, number> }[] = [
  { file: 'streaming', params: { window: 16, sinks: 3 }, dims: { B: 1, H: 3, N: 100, D: 32 } },
  { file: 'local_window', dims: { B: 1, H: 2, N: 90, D: 32 } },
  { file: 'neighborhood2d', params: { height: 10, width: 12, kernel: 3, dilation: 2 }, dims: { B: 1, H: 2, N: 120, D: 16 } },
  { file: 'blocked', params: { size: 32, overlap: 8 }, dims: { B: 2, H: 2, N: 101, D: 32 } },
  { file: 'bigbird', params: { globals: 5, radius: 9, size: 24 }, dims: { B: 1, H: 2, N: 131, D: 32 } },
  { file: 'gemma', params: { cap: 0.5 }, dims: { B: 1, H: 2, N: 77, D: 64 } },
  { file: 'gqa', dims: { B: 2, H: 4, Hk: 2, N: 70, D: 32 } },
  { file: 'biased', dims: { B: 2, H: 2, N: 66, D: 16, T: 131 } },
  { file: 'reversed', dims: { B: 1, H: 2, N: 90, D: 32 } },
  { file: 'routing', params: {}, dims: { B: 1, H: 2, N: 80, D: 32, C: 5 } },
  { file: 'agent', params: { agents: 9 }, dims: { B: 1, H: 2, N: 100, D: 32 } },
  { file: 'agent2d', params: { height: 10, width: 12 }, dims: { B: 1, H: 2, N: 120, D: 32 } },
];

for (const c of cases) {
  test(`sample ${c.file}`, async (t) => {
    const g = graphOf(readFileSync(new URL(`../samples/${c.file}.attn`, import.meta.url), 'utf8'), c.params);
    for (const fusion of [true, false]) {
      const r = await checkGraph(t, g, c.dims, { fusion });
      t.log(`fusion=${fusion}: max error ${r.maxErr.toExponential(2)}, ${r.zeros} exact zeros`);
    }
  });
}
