// The attnc API as a page sees it: the main entry (index.ts), bundled by
// test/browser.test.ts with esbuild for the browser with no externals and no stubs, and
// checked in the page against the reference executor — run() on navigator.gpu (WebGPU)
// and on WebGL2, and prepare().encode() on a device the page requests itself.

import { compile, prepare, run, type BackendChoice, type Tensor } from '../../index.js';
import { executeReference } from '../../runtime/reference/index.js';
import { generateInputs, resolveDims } from '../../runtime/shapes.js';

/** The page's WebGPU (this file is type-checked with Node's types, which have no `navigator`). */
const navigator = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator;

/** The worst |got − want| in units of the tolerance 1e-4 + 1e-4·|want|. */
function worst(got: ArrayLike<number>, want: Tensor): number {
  let w = 0;
  for (let k = 0; k < want.data.length; k++) {
    const r = want.data[k]!;
    const e = Math.abs(got[k]! - r) / (1e-4 + 1e-4 * Math.abs(r));
    w = Math.max(w, Number.isNaN(e) ? Infinity : e);
  }
  return w;
}

/** Run `source` on `backend` and on the reference; the worst error in units of the tolerance. */
async function check(source: string, dims: Record<string, number>, backend: BackendChoice) {
  const program = compile(source);
  if (!program.ok) return { error: program.diagnostics.map((d) => d.message).join('; ') };
  const graph = program.graph!;
  const inputs = generateInputs(graph, resolveDims(graph, dims), 1);
  const got = await run(program, inputs, { backend });
  return { backend: got.backend, shape: got.output.shape, worst: worst(got.output.data, executeReference(graph, inputs)) };
}

/**
 * prepare() for a device of the page's own (default limits), encode() into the page's
 * encoder over the page's buffers, one submit; the worst error against the reference.
 */
async function encodeCheck(source: string, dims: Record<string, number>) {
  const program = compile(source);
  if (!program.ok) return { error: program.diagnostics.map((d) => d.message).join('; ') };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { error: 'no adapter' };
  const device = await adapter.requestDevice();
  try {
    const graph = program.graph!;
    const full = resolveDims(graph, dims);
    const inputs = generateInputs(graph, full, 2);
    const kernel = await prepare(program, { device, dims: full });
    const bytes = kernel.bytes(full);
    const buffers: Record<string, GPUBuffer> = {};
    for (const [name, t] of Object.entries(inputs)) {
      buffers[name] = device.createBuffer({ size: bytes[name]!, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buffers[name]!, 0, new Float32Array(t.data));
    }
    const out = device.createBuffer({ size: bytes.out!, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const staging = device.createBuffer({ size: bytes.out!, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    kernel.encode(encoder, buffers, { out }, full);
    encoder.copyBufferToBuffer(out, 0, staging, 0, bytes.out!);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(staging.getMappedRange().slice(0));
    kernel.release();
    return { kernels: kernel.kernels, worst: worst(got, executeReference(graph, inputs)) };
  } finally {
    device.destroy();
  }
}

async function adapterInfo() {
  const adapter = await navigator.gpu?.requestAdapter();
  return adapter ? `${adapter.info.vendor} ${adapter.info.architecture}` : null;
}

(globalThis as unknown as { attnc: unknown }).attnc = { check, encodeCheck, adapterInfo };
