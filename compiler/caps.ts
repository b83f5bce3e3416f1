// Device capabilities as data: what a schedule may rely on, filled from a device's limits
// and features (runtime/webgpu/device.ts) or taken from a named preset (`attnc compile
// --caps`, golden tests). Part of the kernel cache key.

export interface DeviceCaps {
  /** `subgroups` feature granted (subgroupBroadcast/subgroupShuffle usable). */
  subgroups: boolean;
  /** Minimum subgroup size the device reports (lavapipe: 8), when known. */
  subgroupSize: number;
  /** Maximum subgroup size the device reports (lavapipe 8, NVIDIA 32, AMD up to 64), when known. */
  subgroupMaxSize?: number;
  maxWorkgroupStorageSize: number;
  maxInvocationsPerWorkgroup: number;
  maxWorkgroupSizeX: number;
  maxWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  /**
   * `shader-f16` granted: f16 tensors (inputs declared `f16`, `f16(…)` results) are stored
   * as f16 on the device (half the bytes moved) and widened to f32 as they are loaded.
   * Absent: false.
   */
  shaderF16?: boolean;
}

/** WebGPU's guaranteed defaults: what a schedule may assume when no device is known. */
export const DEFAULT_CAPS: DeviceCaps = {
  subgroups: false,
  subgroupSize: 4,
  maxWorkgroupStorageSize: 16384,
  maxInvocationsPerWorkgroup: 256,
  maxWorkgroupSizeX: 256,
  maxWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxStorageBuffersPerShaderStage: 8,
};

/** Mesa lavapipe as Dawn reports it (TOOLCHAIN.md): 8-lane subgroups, 32 KiB of workgroup memory. */
export const LAVAPIPE_CAPS: DeviceCaps = {
  subgroups: true,
  subgroupSize: 8,
  subgroupMaxSize: 8,
  maxWorkgroupStorageSize: 32768,
  maxInvocationsPerWorkgroup: 1024,
  maxWorkgroupSizeX: 1024,
  maxWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxStorageBuffersPerShaderStage: 10,
};

/** Named capability sets, for printing kernels without a device (`attnc compile --caps NAME`). */
export const CAPS_PRESETS: Readonly<Record<string, DeviceCaps>> = {
  /** WebGPU's guaranteed limits, no subgroups. */
  default: DEFAULT_CAPS,
  /** lavapipe (the CI device). */
  lavapipe: LAVAPIPE_CAPS,
  /** A discrete GPU with 32-wide subgroups (NVIDIA-like). */
  subgroups32: { ...LAVAPIPE_CAPS, subgroupSize: 32, subgroupMaxSize: 32 },
};

/**
 * What the WebGL schedule may rely on. Tensors are addressed by flat f32 indices inside
 * the shaders, exact for every integer up to 2^24: no texture (and no loop counter) may
 * pass `maxTextureElements`.
 */
export interface WebGLCaps {
  maxTextureElements: number;
  /** Largest scores scratch of one head chunk, in elements (tests force chunking with less). */
  maxScratch?: number;
  /** Force the attention strategy (tests, benchmarks); default `auto` (the cost estimate). */
  strategy?: 'auto' | 'fused' | 'scores';
}

export const DEFAULT_WEBGL_CAPS: WebGLCaps = { maxTextureElements: 2 ** 24 };
