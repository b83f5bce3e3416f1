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
  /** Its texels as RGBA f32 values, row-major. */
  renderRawOutput(): Float32Array;
  /** Another handle on the same texture: a kernel re-rendering its output detaches from it first. */
  clone(): GpuTexture;
  delete(): void;
  readonly size: ArrayLike<number>;
  readonly context: GLContext;
  readonly texture: unknown;
  framebuffer(): unknown;
}

/** The few calls of a WebGL context this runtime makes itself (a 1-texel readback). */
export interface GLContext {
  readonly FRAMEBUFFER: number;
  readonly COLOR_ATTACHMENT0: number;
  readonly TEXTURE_2D: number;
  readonly RGBA: number;
  readonly FLOAT: number;
  bindFramebuffer(target: number, framebuffer: unknown): void;
  framebufferTexture2D(target: number, attachment: number, texTarget: number, texture: unknown, level: number): void;
  readPixels(x: number, y: number, w: number, h: number, format: number, type: number, out: Float32Array): void;
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
  nativeFunctions?: { name: string; source: string; argumentTypes?: Record<string, string>; returnType?: string }[];
  returnType?: 'Number' | 'Float' | 'Array(4)';
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

interface KernelClass {
  readonly features: { maxTextureSize: number } | null;
}

const { GPU, HeadlessGLKernel, WebGL2Kernel, WebGLKernel } = gpujs as unknown as {
  GPU: GpuStatic; HeadlessGLKernel: KernelClass; WebGL2Kernel: KernelClass; WebGLKernel: KernelClass;
};

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

/** What the plans depend on of this environment's WebGL: its GLSL version and largest texture side. */
export interface WebGLDevice {
  version: 1 | 2;
  maxTextureSize: number;
}

/** The WebGL of this environment (throws NoWebGLContextError without one). */
export function webglDevice(): WebGLDevice {
  getGPU();
  const mode = webglMode();
  const kernel = mode === 'headlessgl' ? HeadlessGLKernel : mode === 'webgl2' ? WebGL2Kernel : WebGLKernel;
  return { version: mode === 'webgl2' ? 2 : 1, maxTextureSize: kernel.features?.maxTextureSize ?? 4096 };
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
