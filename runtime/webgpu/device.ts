// Acquire a WebGPU device: `navigator.gpu` in a browser, Dawn (`webgpu` package) in Node.
// Requests the limits and features the kernels can use (as much as the adapter offers) and
// describes them as DeviceCaps for the tile pass.

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

let current: Promise<WebGPU> | null = null;
/** Dawn's GPU object in Node: kept referenced for the life of the process. */
let nodeGpu: GPU | null = null;

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
  if (nodeGpu) return nodeGpu;
  let mod: { create: (o: string[]) => GPU; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new NoAdapterError(`the \`webgpu\` package could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  nodeGpu = mod.create([]);
  return nodeGpu;
}

/**
 * A new adapter and device from `gpu` (default: `navigator.gpu`, else Dawn in Node).
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
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new ValidationError('requestDevice', (e as Error).message);
  }
  void device.lost.then(() => {
    if (!entry) current = null;
  });
  const l = device.limits;
  const info = adapter.info;
  const features = new Set<string>(device.features as unknown as Iterable<string>);
  const caps: DeviceCaps = {
    subgroups: features.has('subgroups'),
    subgroupSize: info.subgroupMinSize ?? 4,
    ...(info.subgroupMaxSize ? { subgroupMaxSize: info.subgroupMaxSize } : {}),
    maxWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
  return {
    adapter,
    device,
    caps,
    description: [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter',
    features,
    timestamps: features.has('timestamp-query'),
  };
}
