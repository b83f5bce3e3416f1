// Per-device state shared by every run and every prepared program on a device: compute
// pipelines cached by their WGSL source (which includes the specialisation; the most
// recently used PIPELINES kept — a prepared program holds its own) and bind-group
// layouts by their bindings' access. Pipelines are created inside validation error scopes,
// with the shader's compilation messages checked: a kernel that compiles with errors or
// warnings never reaches a command encoder.

import type { Kernel } from '../../compiler/kernel.js';
import { LruMap } from '../lru.js';
import { ValidationError, WgslCompileError } from './errors.js';
import { ShaderStage } from './flags.js';

/** Pipelines kept compiled per device (a program has one to a few dozen). */
export const PIPELINES = 128;

interface DeviceState {
  pipelines: LruMap<string, Promise<GPUComputePipeline>>;
  layouts: Map<string, GPUBindGroupLayout>;
}

const states = new WeakMap<GPUDevice, DeviceState>();

function stateOf(device: GPUDevice): DeviceState {
  let s = states.get(device);
  if (!s) {
    s = { pipelines: new LruMap(PIPELINES), layouts: new Map() };
    states.set(device, s);
  }
  return s;
}

/** The bind-group layout of `k`: @binding(0) the uniform block, @binding(i + 1) `bindings[i]`. */
export function layoutFor(device: GPUDevice, k: Kernel): GPUBindGroupLayout {
  const st = stateOf(device);
  const key = k.bindings.map((b) => b.access).join(',');
  let l = st.layouts.get(key);
  if (!l) {
    l = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        ...k.bindings.map((b, i) => ({
          binding: i + 1,
          visibility: ShaderStage.COMPUTE,
          buffer: { type: (b.access === 'read' ? 'read-only-storage' : 'storage') as GPUBufferBindingType },
        })),
      ],
    });
    st.layouts.set(key, l);
  }
  return l;
}

/** The pipeline of kernel `k` with source `wgsl` on `device` (compiled once per device and source). */
export function pipelineFor(device: GPUDevice, k: Kernel, wgsl: string): Promise<GPUComputePipeline> {
  const st = stateOf(device);
  let p = st.pipelines.get(wgsl);
  if (!p) {
    p = compilePipeline(device, layoutFor(device, k), k, wgsl);
    const failed = p;
    p.catch(() => {
      if (st.pipelines.get(wgsl) === failed) st.pipelines.delete(wgsl);
    });
    st.pipelines.set(wgsl, p);
  }
  return p;
}

async function compilePipeline(device: GPUDevice, layout: GPUBindGroupLayout, k: Kernel, code: string): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label: k.name });
  const moduleError = device.popErrorScope();
  const info = await module.getCompilationInfo();
  const lines = code.split('\n');
  const bad = info.messages.filter((m) => m.type === 'error' || m.type === 'warning');
  const merr = await moduleError;
  if (bad.length) {
    throw new WgslCompileError(k.name, bad.map((m) => ({
      type: m.type, line: m.lineNum, column: m.linePos, message: m.message, source: lines[m.lineNum - 1] ?? '',
    })));
  }
  if (merr) throw new ValidationError(`creating the shader module of kernel ${k.name}`, merr.message);
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({
    label: k.name,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: k.name },
  });
  const err = await device.popErrorScope();
  if (err) throw new ValidationError(`creating the pipeline of kernel ${k.name}`, err.message);
  return pipeline;
}

const pipelineIds = new WeakMap<GPUComputePipeline, number>();
let pipelineCount = 0;
/** A number per pipeline (pipelines are cached by WGSL text: one per distinct kernel). */
export function pipelineId(p: GPUComputePipeline): number {
  let id = pipelineIds.get(p);
  if (id === undefined) pipelineIds.set(p, (id = ++pipelineCount));
  return id;
}
