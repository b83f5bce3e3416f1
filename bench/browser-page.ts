// The page side of `npm run bench:browser` (bench/browser.ts bundles it with esbuild and
// serves it from 127.0.0.1 to headless Chromium): attnc's programs and TensorFlow.js's
// dense attention (matMul · softmax · matMul) on the page's WebGL2 and WebGPU.
//
// One block per (backend, N): every program is bound once (inputs resident: WebGPU's
// bind(), on WebGL the packed q, k, v stay on the device), tfjs's q, k, v are
// uploaded once; then rounds run tfjs's dense attention and each program in turn, so all
// of them see the same machine; a time is one run to its output read back (attnc
// `read()`, tfjs `data()`). Outputs are compared: dense against tfjs, and each program
// against the same program on the other backend when that block ran first.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { bind, compile, run, type CompileResult, type Tensor } from '../index.js';
import { benchCase, PROGRAMS } from './browser-programs.js';

export type PageBackend = 'webgl' | 'webgpu';

export interface BlockSpec {
  backend: PageBackend;
  N: number;
  programs: string[];
  /** Timed rounds (after one warm-up round). */
  repeat: number;
  /** Also time run() (upload, kernels, readback) for each program. */
  e2e: boolean;
}

export interface ProgramResult {
  program: string;
  /** Median ms of one run on resident inputs to the output read back. */
  ms: number | null;
  /** Median ms of run(): uploads included (with `e2e`). */
  e2eMs: number | null;
  /** Median over the rounds of tfjs's dense time / this program's. */
  tfjsOverThis: number | null;
  /** Max |difference| from the same program on the other backend (null: not run there yet). */
  diffOtherBackend: number | null;
  /** dense only: max |difference| from tfjs's output. */
  diffTfjs: number | null;
  error?: string;
}

export interface BlockResult {
  backend: PageBackend;
  N: number;
  device: string;
  tfjsMs: number | null;
  tfjsNote?: string;
  results: ProgramResult[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Outputs of earlier blocks, by `program N backend`, for the cross-backend comparison. */
const outputs = new Map<string, Float32Array>();

interface Bound {
  read(): Promise<Tensor>;
  release(): void;
}

interface Entry {
  name: string;
  program: CompileResult;
  inputs: Record<string, Tensor>;
  bound: Bound | null;
  times: number[];
  e2e: number[];
  result: ProgramResult;
}

async function bindOn(backend: PageBackend, program: CompileResult, inputs: Record<string, Tensor>): Promise<Bound> {
  return bind(program, inputs, { backend });
}

type TfjsDense = { run(): Promise<Float32Array>; dispose(): void } | { note: string };

/** tfjs's dense attention on `backend` over resident q, k, v, or why it cannot run. */
async function tfjsDense(backend: PageBackend, inputs: Record<string, Tensor>, shape: [number, number, number, number]): Promise<TfjsDense> {
  if (!(await tf.setBackend(backend))) return { note: `tfjs has no ${backend} backend here` };
  await tf.ready();
  const [B, H, N, D] = shape;
  if (backend === 'webgpu') {
    const device = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device;
    const scores = B * H * N * N * 4;
    if (scores > device.limits.maxStorageBufferBindingSize) {
      return { note: `over limit: tfjs's scores (${scores} B) exceed maxStorageBufferBindingSize (${device.limits.maxStorageBufferBindingSize} B)` };
    }
  }
  const [q, k, v] = ['q', 'k', 'v'].map((n) => tf.tensor4d(inputs[n]!.data as Float32Array, shape));
  const scale = 1 / Math.sqrt(D);
  return {
    async run(): Promise<Float32Array> {
      const out = tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), scale)), v!));
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
    dispose: () => tf.dispose([q!, k!, v!]),
  };
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const x = await f();
  return [performance.now() - t0, x];
}

export async function block(spec: BlockSpec): Promise<BlockResult> {
  const { backend, N } = spec;
  const entries: Entry[] = [];
  for (const name of spec.programs) {
    const program = compile(PROGRAMS[name]!.src, { path: `${name}.attn` });
    const { dims, inputs } = benchCase(name, program.graph!, N);
    const result: ProgramResult = { program: name, ms: null, e2eMs: null, tfjsOverThis: null, diffOtherBackend: null, diffTfjs: null };
    const entry: Entry = { name, program, inputs, bound: null, times: [], e2e: [], result };
    try {
      entry.bound = await bindOn(backend, program, inputs);
    } catch (e) {
      result.error = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    }
    entries.push(entry);
  }
  const denseInputs = benchCase('dense', compile(PROGRAMS.dense!.src).graph!, N).inputs;
  const shape = denseInputs.q!.shape as [number, number, number, number];
  const tfjs = await tfjsDense(backend, denseInputs, shape);
  const tfjsTimes: number[] = [];
  let device: string = backend;
  try {
    // Warm-up round: compiles every shader; checks the outputs.
    const tfOut = 'run' in tfjs ? await tfjs.run() : null;
    for (const e of entries) {
      if (!e.bound) continue;
      try {
        const out = (await e.bound.read()).data as Float32Array;
        const other = outputs.get(`${e.name} ${N} ${backend === 'webgl' ? 'webgpu' : 'webgl'}`);
        if (other) e.result.diffOtherBackend = maxAbsDiff(out, other);
        outputs.set(`${e.name} ${N} ${backend}`, out);
        if (e.name === 'dense' && tfOut) e.result.diffTfjs = maxAbsDiff(out, tfOut);
      } catch (err) {
        e.result.error = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
        e.bound.release();
        e.bound = null;
      }
    }
    for (let r = 0; r < spec.repeat; r++) {
      if ('run' in tfjs) tfjsTimes.push((await timed(() => tfjs.run()))[0]);
      for (const e of entries) if (e.bound) e.times.push((await timed(() => e.bound!.read()))[0]);
    }
    if (spec.e2e) {
      for (const e of entries) {
        if (!e.bound) continue;
        for (let r = 0; r <= spec.repeat; r++) {
          const [ms] = await timed(() => run(e.program, e.inputs, { backend }));
          if (r > 0) e.e2e.push(ms);
        }
      }
    }
    device = backend === 'webgpu' ? await webgpuDevice() : webglDevice();
  } finally {
    for (const e of entries) e.bound?.release();
    if ('dispose' in tfjs) tfjs.dispose();
  }
  for (const e of entries) {
    if (e.times.length === 0) continue;
    e.result.ms = median(e.times);
    e.result.e2eMs = e.e2e.length ? median(e.e2e) : null;
    if (tfjsTimes.length === e.times.length) e.result.tfjsOverThis = median(e.times.map((t, i) => tfjsTimes[i]! / t));
  }
  return { backend, N, device, tfjsMs: tfjsTimes.length ? median(tfjsTimes) : null, tfjsNote: 'note' in tfjs ? tfjs.note : undefined, results: entries.map((e) => e.result) };
}

async function webgpuDevice(): Promise<string> {
  const gpu = (globalThis as unknown as { navigator: { gpu?: GPU } }).navigator.gpu;
  const adapter = await gpu?.requestAdapter();
  return adapter ? `WebGPU ${adapter.info.vendor} ${adapter.info.architecture}`.trim() : 'WebGPU';
}

function webglDevice(): string {
  const doc = (globalThis as unknown as { document: { createElement(t: string): { getContext(k: string): unknown } } }).document;
  const gl = doc.createElement('canvas').getContext('webgl2') as { getParameter(p: number): unknown; RENDERER: number } | null;
  if (!gl) return 'WebGL 1';
  const ext = (gl as unknown as { getExtension(n: string): { UNMASKED_RENDERER_WEBGL: number } | null }).getExtension('WEBGL_debug_renderer_info');
  return `WebGL 2 ${String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER))}`;
}

(globalThis as unknown as { bench: unknown }).bench = { block };
