// Acquire a WebGPU device: `navigator.gpu` in a browser; in Node, the GPU object of a
// provider that the Node entry registers (node.ts → runtime/node/dawn.ts: Dawn, the
// `webgpu` package). This module never imports Dawn itself, so a bundle of the main entry
// holds nothing Node-only. Requests the limits and features the kernels can use (as much
// as the adapter offers) and describes them as DeviceCaps for the tile pass (capsOfDevice:
// also for devices the caller brings, runtime/webgpu/prepare.ts).

import type { DeviceCaps } from '../../compiler/caps.js';
import { NoAdapterError, ValidationError } from './errors.js';

export interface WebGPU {
  adapter: GPUAdapter;
  device: GPUDevice;
  caps: DeviceCaps;
  /** `vendor architecture` of the adapter, e.g. `mesa llvmpipe`. */
  description: string;
  features: ReadonlySet<string>;
  /** The device grants `timestamp-query`: runs can report GPU time (ExecuteOptions.timing). */
  timestamps: boolean;
}

/** Where the GPU object comes from when the page has no `navigator.gpu` (Node: Dawn). */
export type GpuProvider = () => Promise<GPU>;

let current: Promise<WebGPU> | null = null;
let provider: GpuProvider | null = null;
/** The provider's GPU object: kept referenced for the life of the process (Dawn needs it). */
let providedGpu: Promise<GPU> | null = null;

/**
 * Register where a GPU object comes from when there is no `navigator.gpu` — the Node
 * entry registers Dawn. Called once, before the first device is made.
 */
export function provideGpu(p: GpuProvider): void {
  provider = p;
  providedGpu = null;
}

/** The shared device (created on first use; created again if it is lost). */
export function getWebGPU(): Promise<WebGPU> {
  current ??= createWebGPU().catch((e: unknown) => {
    current = null;
    throw e;
  });
  return current;
}

async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!provider) {
    throw new NoAdapterError('no `navigator.gpu` here, and no GPU provider: in Node, import `attnc` (or `attnc/node`), whose Node entry provides Dawn');
  }
  providedGpu ??= provider().catch((e: unknown) => {
    providedGpu = null;
    throw e;
  });
  return providedGpu;
}

/**
 * A new adapter and device from `gpu` (default: `navigator.gpu`, else the provider: Dawn in Node).
 * `getWebGPU()` shares one; this is for callers that manage their own (and for tests).
 */
export async function createWebGPU(entry?: GPU): Promise<WebGPU> {
  const gpu = entry ?? (await gpuEntry());
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  const al = adapter.limits;
  const wanted = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxStorageBuffersPerShaderStage',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of wanted) requiredLimits[k] = al[k];
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new ValidationError('requestDevice', (e as Error).message);
  }
  void device.lost.then(() => {
    if (!entry) current = null;
  });
  const info = adapter.info;
  const features = new Set<string>(device.features as unknown as Iterable<string>);
  const caps = capsOfDevice(device, info);
  return {
    adapter,
    device,
    caps,
    description: [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter',
    features,
    timestamps: features.has('timestamp-query'),
  };
}

/**
 * What a schedule may rely on for `device`: its limits and granted features (not the
 * adapter's: only what was requested is usable), with the subgroup sizes from `info`
 * (default: the device's own `adapterInfo` where the implementation has it).
 */
export function capsOfDevice(device: GPUDevice, info: GPUAdapterInfo | undefined = device.adapterInfo): DeviceCaps {
  const l = device.limits;
  const features = new Set<string>(device.features as unknown as Iterable<string>);
  return {
    subgroups: features.has('subgroups'),
    subgroupSize: info?.subgroupMinSize ?? 4,
    ...(info?.subgroupMaxSize ? { subgroupMaxSize: info.subgroupMaxSize } : {}),
    maxWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    shaderF16: features.has('shader-f16'),
  };
}
