// attnc/tfjs: run a compiled program on TensorFlow.js tensors of the tfjs-webgpu backend,
// on tfjs's own GPUDevice, without a CPU round trip. Each input reaches attnc's kernels
// through `tensor.dataToGPU()` (a GPU-side copy that tfjs submits with its pending work, so
// the kernels see every earlier tfjs op's result), the kernels are recorded by prepare()'s
// encode into one command encoder and submitted after tfjs's queue, and the output becomes
// a tf.Tensor through `tf.tensor({ buffer })` (tfjs copies it into a buffer of its own, on
// the device). Prepared programs are cached per device, program and head dims.

import type { Tensor as TfTensor } from '@tensorflow/tfjs-core';
import type { CompileResult } from './compiler/compile.js';
import { headDimNames } from './compiler/passes/fuse.js';
import { AttncError, diag } from './dsl/diagnostics.js';
import { prepare, type PreparedProgram } from './runtime/webgpu/prepare.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** What attnc needs of tfjs's WebGPU backend (WebGPUBackend). */
interface WebGPUBackendLike {
  device: GPUDevice;
  /** Moves a tensor's data to the device (tfjs keeps a fresh tensor's values on the CPU until a kernel needs them). */
  uploadToGPU(dataId: object): void;
}

const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;

const prepared = new WeakMap<GPUDevice, Map<string, Promise<PreparedProgram>>>();

/** The dims bound by the tensors' shapes (the program's `dims` defaults for the rest). AT704 on a conflict. */
function dimsOf(program: CompileResult, inputs: Record<string, TfTensor>): Record<string, number> {
  const g = program.graph!;
  const dims: Record<string, number> = { ...g.dimDefaults };
  const from: Record<string, string> = {};
  for (const id of g.inputs) {
    const n = g.nodes[id]!;
    const t = inputs[n.name!];
    if (!t) throw new AttncError([diag('AT703', [n.name!, 'no tensor given'])]);
    if (t.shape.length !== n.shape.length) {
      throw new AttncError([diag('AT703', [n.name!, `expected rank ${n.shape.length}, found shape [${t.shape.join(', ')}]`])]);
    }
    n.shape.forEach((e, axis) => {
      if (e.op !== 'dim') return;
      const v = t.shape[axis]!;
      if (from[e.name] !== undefined && dims[e.name] !== v) {
        throw new AttncError([diag('AT704', [e.name, dims[e.name]!, from[e.name]!, v, `input ${n.name}`])]);
      }
      dims[e.name] = v;
      from[e.name] = `input ${n.name}`;
    });
  }
  return dims;
}

/**
 * Run `program` on tfjs tensors of the `webgpu` backend (the current backend of `tf`):
 * resolves to the output as a tf.Tensor on the same device. The inputs are not disposed.
 */
export async function runTfjs(tf: Tf, program: CompileResult, inputs: Record<string, TfTensor>): Promise<TfTensor> {
  if (!program.ok || !program.graph) throw new AttncError(program.diagnostics);
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  if (tf.getBackend() !== 'webgpu' || !backend.device) {
    throw new Error(`runTfjs needs the tfjs webgpu backend (tf.getBackend() is '${tf.getBackend()}'): await tf.setBackend('webgpu')`);
  }
  const device = backend.device;
  const dims = dimsOf(program, inputs);
  const kernel = await preparedFor(device, program, dims);
  const refs = Object.entries(inputs).map(([name, t]) => {
    backend.uploadToGPU(t.dataId); // a tensor made from host values is uploaded once, here
    return [name, t.dataToGPU()] as const;
  });
  try {
    const buffers = Object.fromEntries(refs.map(([name, r]) => [name, r.buffer!]));
    const bytes = kernel.bytes(dims);
    const out = device.createBuffer({ size: Math.max(16, bytes.out!), usage: STORAGE | COPY_SRC | COPY_DST });
    const encoder = device.createCommandEncoder({ label: `attnc ${program.graph.name}` });
    kernel.encode(encoder, buffers, { out }, dims);
    device.queue.submit([encoder.finish()]);
    const shape = kernel.output.shape.map((s) => dims[s] ?? Number(s));
    const dtype = program.graph.nodes[program.graph.output]!.elem === 'i32' ? 'int32' : 'float32';
    const result = tf.tensor({ buffer: out }, shape, dtype); // tfjs copies `out` into a buffer of its own
    out.destroy(); // after the copy is submitted: the device finishes it first
    return result;
  } finally {
    for (const [, r] of refs) r.tensorRef.dispose();
  }
}

function preparedFor(device: GPUDevice, program: CompileResult, dims: Record<string, number>): Promise<PreparedProgram> {
  let m = prepared.get(device);
  if (!m) prepared.set(device, (m = new Map()));
  // Head dims are compiled into the kernels: one prepared program per program and head dims.
  const key = `${program.key}:${headDimNames(program.graph!).map((d) => `${d}=${dims[d]}`).join(',')}`;
  let p = m.get(key);
  if (!p) {
    p = prepare(program, { device, dims });
    p.catch(() => m!.delete(key));
    m.set(key, p);
  }
  return p;
}
