// The target registry: how the compiler reaches a target without importing it directly.
// A target renders scheduled kernel IR into source text; it makes no schedule decision.
// (WebGL still plans from the graph IR: targets/webgl/plan.ts, run by runtime/webgl.)

import type { Kernel } from '../compiler/kernel.js';
import { renderWgsl } from './wgsl/index.js';

export interface KernelTarget {
  name: string;
  /** One kernel's source (one module, one entry point named `kernel.name`). */
  render(kernel: Kernel): string;
}

export const TARGETS = {
  wgsl: { name: 'wgsl', render: renderWgsl },
} as const satisfies Record<string, KernelTarget>;
