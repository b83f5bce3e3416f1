// attnc inside your own WebGPU frame: your device, your buffers, your command encoder.
// `node samples/encode.mjs` (after `npm run build`): prepares samples/streaming.attn for a
// device of its own, records the kernels between passes of its own, submits once, and
// checks the output against the float64 reference executor.
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu'; // in a browser: navigator.gpu, and no globals to install
import { compile, prepare, run, tensor } from 'attnc';

Object.assign(globalThis, globals); // GPUBufferUsage, GPUMapMode, … as a browser defines them
const gpu = create([]);
const device = await (await gpu.requestAdapter()).requestDevice();

const program = compile(readFileSync(new URL('./streaming.attn', import.meta.url), 'utf8'));
const dims = { B: 1, H: 4, N: 256, D: 64 };
const kernel = await prepare(program, { device, dims }); // the schedule for this device; D = 64 compiled in
const bytes = kernel.bytes(dims); // { q, k, v, out } in bytes

// Your buffers. Here they are filled from the CPU; in an application, passes of yours write them.
const data = {};
const inputs = {};
for (const { name } of kernel.inputs) {
  data[name] = Float32Array.from({ length: bytes[name] / 4 }, (_, i) => Math.sin(i * 0.37 + name.charCodeAt(0)));
  inputs[name] = device.createBuffer({ size: bytes[name], usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(inputs[name], 0, data[name]);
}
const out = device.createBuffer({ size: bytes.out, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const staging = device.createBuffer({ size: bytes.out, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

const encoder = device.createCommandEncoder();
// … your passes that write q, k, v …
kernel.encode(encoder, inputs, { out }, dims); // records attnc's compute passes; nothing is submitted
// … your passes that read out …
encoder.copyBufferToBuffer(out, 0, staging, 0, bytes.out);
device.queue.submit([encoder.finish()]);

await staging.mapAsync(GPUMapMode.READ);
const got = new Float32Array(staging.getMappedRange().slice(0));
const shape = [dims.B, dims.H, dims.N, dims.D];
const ref = await run(program, Object.fromEntries(Object.entries(data).map(([n, d]) => [n, tensor(shape, d)])), { backend: 'reference' });
let worst = 0;
got.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - ref.output.data[i]) / (1e-4 + 1e-4 * Math.abs(ref.output.data[i]))); });
console.log(`${kernel.name}: ${kernel.kernels.join(', ')} on [${shape}]; worst error ${(worst * 100).toFixed(3)}% of the tolerance`);

kernel.release(); // the program's own buffers (after the submit)
device.destroy();
process.exitCode = worst <= 1 ? 0 : 1;
process.exit(); // Dawn's GPU object keeps Node's event loop alive
