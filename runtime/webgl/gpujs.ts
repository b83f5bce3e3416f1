// The one place that imports gpu.js. gpu.js is a CommonJS package (a UMD bundle in
// browsers) whose typings do not describe what Node's ESM loader hands back: the default
// import is `module.exports`, so `GPU` is read from it here and typed with the small
// surface this runtime uses.

import gpujs from 'gpu.js';
import { NoWebGLContextError } from './errors.js';

export type WebGLMode = 'headlessgl' | 'webgl2' | 'webgl';

/** A texture produced by a pipelined kernel. */
export interface GpuTexture {
  toArray(): unknown;
  delete(): void;
}

/** What a gpu.js kernel run shortcut exposes (the callable returned by `createKernel`). */
export interface GpuKernel {
  (...args: unknown[]): unknown;
  /** The backend kernel currently behind the shortcut (replaced on a CPU fallback). */
  kernel: {
    constructor: { name: string; mode?: string };
    compiledFragmentShader?: string;
    compiledVertexShader?: string;
    fallbackReason?: string | null;
  };
  destroy(removeCanvasReferences?: boolean): void;
}

export interface GpuKernelSettings {
  output: number[];
  constants?: Record<string, number>;
  loopMaxIterations?: number;
  pipeline?: boolean;
  immutable?: boolean;
  precision?: 'single' | 'unsigned';
  tactic?: 'speed' | 'balanced' | 'precision';
  nativeFunctions?: { name: string; source: string }[];
  fixIntegerDivisionAccuracy?: boolean;
  optimizeFloatMemory?: boolean;
  dynamicOutput?: boolean;
  dynamicArguments?: boolean;
}

export interface GpuInstance {
  readonly mode: string;
  createKernel(source: string, settings: GpuKernelSettings): GpuKernel;
  destroy(): void;
}

interface GpuStatic {
  new (settings: { mode: string }): GpuInstance;
  readonly isHeadlessGLSupported: boolean;
  readonly isWebGLSupported: boolean;
  readonly isWebGL2Supported: boolean;
}

const GPU = (gpujs as unknown as { GPU: GpuStatic }).GPU;

function inNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; window?: unknown; document?: unknown };
  return !!g.process?.versions?.node && g.window === undefined && g.document === undefined;
}

/** The gpu.js mode for this environment: headless-gl in Node, WebGL 2 (else 1) in a browser. */
export function webglMode(): WebGLMode {
  if (inNode()) return 'headlessgl';
  return GPU.isWebGL2Supported ? 'webgl2' : 'webgl';
}

/** Whether a WebGL context can be created here (without throwing). */
export function webglAvailable(): boolean {
  try {
    const mode = webglMode();
    return mode === 'headlessgl' ? GPU.isHeadlessGLSupported : mode === 'webgl2' ? GPU.isWebGL2Supported : GPU.isWebGLSupported;
  } catch {
    return false;
  }
}

let shared: GpuInstance | null = null;

/** The process-wide gpu.js instance (one WebGL context shared by every kernel). */
export function getGPU(): GpuInstance {
  if (shared) return shared;
  const mode = webglMode();
  if (!webglAvailable()) throw new NoWebGLContextError(mode);
  try {
    shared = new GPU({ mode });
  } catch (e) {
    throw new NoWebGLContextError(mode, (e as Error).message);
  }
  return shared;
}

/** Destroy the shared instance (its context, kernels and textures). */
export function destroyGPU(): void {
  if (!shared) return;
  const g = shared;
  shared = null;
  try {
    g.destroy();
  } catch {
    // a context already lost has nothing left to free
  }
}
