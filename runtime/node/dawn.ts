// WebGPU in Node: registers Dawn (the `webgpu` package) as the GPU provider of
// runtime/webgpu/device.ts. Imported for its effect by the Node entry (node.ts), the CLI,
// the benchmark and the tests; never by the main entry, so no browser bundle references
// Dawn. Dawn is loaded on the first device request, not at import: `attnc check` and the
// reference backend never pay for (or depend on) the native module.

import { provideGpu } from '../webgpu/device.js';
import { NoAdapterError } from '../webgpu/errors.js';

interface DawnModule {
  create(options: string[]): GPU;
  /** GPUBufferUsage, GPUMapMode, GPUShaderStage, …: what a browser defines globally. */
  globals: object;
}

provideGpu(async () => {
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new NoAdapterError(`the \`webgpu\` package could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
});
