// Baseline for the benchmark: the same dense attention (B, H, N, D; scale 1/sqrt(D)) through
// tfjs-webgpu — matMul(q, kᵀ)·scale, softmax, matMul(p, v) — on attnc's own WebGPU device.
//
// tfjs-backend-webgpu registers itself only when `navigator.gpu` exists at import, and checks
// it again when a backend is constructed. So `shareNavigatorGpu()` must run before
// `getWebGPU()`: it creates Dawn's GPU object (as runtime/webgpu/device.ts would, `create([])`)
// and publishes it as `navigator.gpu`; device.ts then takes that same object, and
// `initTfjs()` builds tfjs's backend on attnc's GPUDevice rather than requesting another.
import type { WebGPU } from '../runtime/webgpu/device.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfWebGPU = typeof import('@tensorflow/tfjs-backend-webgpu');

/**
 * Make `navigator.gpu` Dawn's GPU object (with the `webgpu` globals installed), unless a
 * `navigator.gpu` already exists. Throws when the `webgpu` package cannot be loaded.
 */
export async function shareNavigatorGpu(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu) return;
  const mod = (await import('webgpu')) as unknown as { create: (o: string[]) => GPU; globals: object };
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

export interface TfjsAttention {
  /** The device's maxStorageBufferBindingSize (tfjs binds whole tensors: larger ones read garbage). */
  maxBinding: number;
  /** Wall-clock run: upload q, k, v, compute, read back; disposes every tensor. */
  run(q: Float32Array, k: Float32Array, v: Float32Array, shape: [number, number, number, number]): Promise<Float32Array>;
  /**
   * q, k, v uploaded once: `dispatch` computes the attention on them and waits until the
   * device has finished (no readback), like attnc's BoundProgram.dispatch; `dispose` frees them.
   */
  resident(q: Float32Array, k: Float32Array, v: Float32Array, shape: [number, number, number, number]): {
    dispatch(): Promise<void>;
    dispose(): void;
  };
}

const BACKEND = 'webgpu';

/** tfjs on attnc's device (`gpu` from getWebGPU()). Throws with the reason when it cannot. */
export async function initTfjs(gpu: WebGPU): Promise<TfjsAttention> {
  if (!(globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu) {
    throw new Error('navigator.gpu is not set (shareNavigatorGpu() must run before getWebGPU())');
  }
  const tfMod = (await import('@tensorflow/tfjs-core')) as Tf & { default?: Tf };
  const tf = (tfMod.default ?? tfMod) as Tf;
  const bMod = (await import('@tensorflow/tfjs-backend-webgpu')) as TfWebGPU & { default?: TfWebGPU };
  const WebGPUBackend = (bMod.WebGPUBackend ?? bMod.default?.WebGPUBackend) as TfWebGPU['WebGPUBackend'] | undefined;
  if (!WebGPUBackend) throw new Error('@tensorflow/tfjs-backend-webgpu exports no WebGPUBackend');
  // tfjs's kernels are registered for the backend name 'webgpu': replace the package's factory
  // (which would request a second device) by one over attnc's device, under that name.
  // (Not findBackend(): it would initialise the package's factory.) Call once per process.
  if (tf.findBackendFactory(BACKEND)) tf.removeBackend(BACKEND);
  tf.registerBackend(BACKEND, () => new WebGPUBackend(gpu.device, gpu.adapter.info), 10);
  if (!(await tf.setBackend(BACKEND))) throw new Error(`tf.setBackend('${BACKEND}') failed`);
  await tf.ready();
  const backend = tf.backend() as InstanceType<TfWebGPU['WebGPUBackend']>;
  const attention = (q: import('@tensorflow/tfjs-core').Tensor4D, k: import('@tensorflow/tfjs-core').Tensor4D,
    v: import('@tensorflow/tfjs-core').Tensor4D, scale: number) =>
    tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v));
  return {
    maxBinding: gpu.device.limits.maxStorageBufferBindingSize,
    async run(qd, kd, vd, shape) {
      const scale = 1 / Math.sqrt(shape[3]);
      const q = tf.tensor4d(qd, shape), k = tf.tensor4d(kd, shape), v = tf.tensor4d(vd, shape);
      let out: import('@tensorflow/tfjs-core').Tensor | undefined;
      try {
        out = attention(q, k, v, scale);
        return (await out.data()) as Float32Array;
      } finally {
        tf.dispose([q, k, v]);
        out?.dispose();
      }
    },
    resident(qd, kd, vd, shape) {
      const scale = 1 / Math.sqrt(shape[3]);
      const inputs = [qd, kd, vd].map((d) => tf.tensor4d(d, shape)) as [
        import('@tensorflow/tfjs-core').Tensor4D, import('@tensorflow/tfjs-core').Tensor4D, import('@tensorflow/tfjs-core').Tensor4D];
      return {
        async dispatch() {
          const out = attention(...inputs, scale);
          // tfjs batches its passes: end the open one and submit (as its own readback does),
          // then wait for the device.
          backend.ensureCommandEncoderReady();
          backend.endComputePassEncoder();
          backend.submitQueue();
          await gpu.device.queue.onSubmittedWorkDone();
          out.dispose();
        },
        dispose: () => tf.dispose(inputs),
      };
    },
  };
}
