// `attnc compile --emit module`: the standalone kernel module of every sample, imported in
// Node as an application would (it imports nothing from attnc), run on a Dawn device of the
// test's own — one with the `subgroups` feature where the adapter has it (the subgroup
// schedule) and one without (the portable schedule) — and compared with the reference.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create } from 'webgpu';
import { main } from '../cli/main.js';
import { compile } from '../compiler/compile.js';
import { BufferUsage as U, MapMode } from '../runtime/webgpu/flags.js';
import { smallCase } from './helpers/samples.js';
import { compare } from './helpers/webgpu-check.js';

const gpu = create([]);
// One device per adapter (an adapter is consumed by its device).
const devices = (async () => {
  const adapter = async () => {
    const a = await gpu.requestAdapter();
    if (!a) throw new Error('no WebGPU adapter (lavapipe missing?)');
    return a;
  };
  const plain = await (await adapter()).requestDevice();
  const second = await adapter();
  const sub = second.features.has('subgroups') ? await second.requestDevice({ requiredFeatures: ['subgroups' as GPUFeatureName] }) : null;
  return { plain, sub };
})();

const samples = readdirSync('samples').filter((f) => f.endsWith('.attn')).sort();
const dir = mkdtempSync(join(tmpdir(), 'attnc-module-'));

for (const file of samples) {
  test.serial(`${file}: the emitted module runs on Dawn and matches the reference`, async (t) => {
    const log = console.log;
    console.log = () => undefined;
    try {
      t.is(await main(['compile', join('samples', file), '--emit', 'module', '-o', dir]), 0);
    } finally {
      console.log = log;
    }
    const program = compile(readFileSync(join('samples', file), 'utf8'));
    const graph = program.graph!;
    const js = join(dir, `${graph.name}.js`);
    t.false(/\bimport\b/.test(readFileSync(js, 'utf8').split('\n').filter((l) => !l.startsWith('//')).join('\n')), 'imports nothing');
    const mod = await import(pathToFileURL(js).href);
    const { dims, inputs, want } = smallCase(graph, 3);
    const { plain, sub } = await devices;
    for (const device of sub ? [plain, sub] : [plain]) {
      const kernel = await mod.prepare({ device });
      const bytes = kernel.bytes(dims);
      const bufs: Record<string, GPUBuffer> = {};
      for (const [name, x] of Object.entries(inputs)) {
        const data = graph.nodes[graph.inputs.find((id) => graph.nodes[id]!.name === name)!]!.elem === 'i32' ? Int32Array.from(x.data) : Float32Array.from(x.data);
        bufs[name] = device.createBuffer({ size: Math.max(16, bytes[name]), usage: U.STORAGE | U.COPY_DST | U.COPY_SRC });
        device.queue.writeBuffer(bufs[name]!, 0, data.buffer as ArrayBuffer, 0, data.byteLength);
      }
      const out = device.createBuffer({ size: Math.max(16, bytes.out), usage: U.STORAGE | U.COPY_SRC | U.COPY_DST });
      const staging = device.createBuffer({ size: Math.max(16, bytes.out), usage: U.MAP_READ | U.COPY_DST });
      const enc = device.createCommandEncoder();
      kernel.encode(enc, bufs, { out }, dims);
      enc.copyBufferToBuffer(out, 0, staging, 0, Math.max(16, bytes.out));
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(MapMode.READ);
      const raw = staging.getMappedRange().slice(0, bytes.out);
      const data = want.data instanceof Int32Array ? new Int32Array(raw) : new Float32Array(raw);
      t.deepEqual(compare({ data, shape: want.shape }, want).bad, [], `${file} on ${device === sub ? 'subgroups' : 'portable'}`);
      kernel.release();
    }
  });
}
