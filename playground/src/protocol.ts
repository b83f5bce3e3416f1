// Messages between the page (main.ts, through worker-client.ts) and the worker
// (worker.ts). Everything that runs kernels, runs the float64 reference or evaluates the
// mask pair by pair happens in the worker, so typing, scrolling and the views stay
// responsive while it works; the page only compiles (≈ 1 ms) and draws.

import type { DeviceCaps } from '../../compiler/caps.js';

export type Params = Record<string, number | boolean>;
export type Dims = Record<string, number>;

/** What the worker needs to rebuild the program: it compiles the source itself. */
export interface ProgramRef {
  source: string;
  /** The definition, when the file has several. */
  entry?: string;
  params: Params;
  /** The effective dims (every dim the program reads). */
  dims: Dims;
}

export type Request =
  | { kind: 'run'; program: ProgramRef; backend: 'webgpu' | 'webgl'; runs: number }
  | { kind: 'mask'; program: ProgramRef; node: number; head: number }
  | { kind: 'webgl-source'; program: ProgramRef }
  | { kind: 'device' };

export interface RunReport {
  backend: 'webgpu' | 'webgl';
  /** The adapter (WebGPU) or the WebGL renderer that ran. */
  device: string;
  runs: number;
  /** Median wall-clock ms of one run of the program (see `timing`). */
  ms: number;
  /** Median GPU ms from timestamp queries (WebGPU with `timestamp-query`), else null. */
  gpuMs: number | null;
  /** Median ms of dense attention at the output's shape, timed alternating with the program. */
  denseMs: number;
  /** The median of the per-pair ratios dense / program (wall-clock). */
  speedup: number;
  /** The same from GPU times (timestamp queries), else null. */
  gpuSpeedup: number | null;
  /** The dense attention compared against: its q, k, v shape. */
  denseShape: number[];
  /** max |out − ref| over the output. */
  maxAbsError: number;
  /** max |out − ref| / (1e-4 + 1e-4·|ref|): ≤ 1 is within the specification's tolerance. */
  worstRatio: number;
  shape: number[];
  /** What one timed run includes. */
  timing: string;
}

export interface MaskReport {
  node: number;
  head: number;
  n: number;
  m: number;
  /** n × m, row-major: 1 where query i may attend to key j (batch 0, the given head). */
  allowed: Uint8Array;
  /** How many pairs are allowed. */
  count: number;
  /** Set when the mask reads tensors: they come from the generated inputs (seed). */
  note?: string;
}

export interface DeviceReport {
  webgpu: { description: string; caps: DeviceCaps; features: string[] } | { error: string };
}

export type Reply =
  | { id: number; kind: 'progress'; fraction: number; stage: string }
  | { id: number; kind: 'done'; result: unknown }
  | { id: number; kind: 'error'; name: string; message: string }
  /** Not an answer: the shared device reported an error or was lost. */
  | { id: -1; kind: 'device-error'; message: string };

/** Seed of the generated inputs, for runs and for masks that read tensors. */
export const SEED = 1;
/** Largest n × m the page asks the exact mask for (element zoom). */
export const ELEMENT_LIMIT = 512 * 512;
