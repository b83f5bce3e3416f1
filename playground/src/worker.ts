// The playground's worker: runs the program on WebGPU (navigator.gpu, which workers have)
// or WebGL2 (gpu.js on an OffscreenCanvas), times it against dense attention at the same
// shape, runs the float64 reference executor on the same generated inputs and compares;
// evaluates the exact mask for the element-level block map; renders the WebGL kernels'
// GLSL. Long synchronous work (the reference, the mask) would freeze a page: here it only
// delays the next answer. Every failure is answered as a message the page shows.

import { compile, type CompileResult } from '../../compiler/compile.js';
import { compileBool } from '../../compiler/evaluate.js';
import { some, upTo, type Graph, type NodeOf } from '../../compiler/ir.js';
import { formatAll } from '../../dsl/format.js';
import { executeReference, runReference } from '../../runtime/reference/index.js';
import { bind, run } from '../../runtime/run.js';
import { generateInputs, shapeOf } from '../../runtime/shapes.js';
import type { Tensor } from '../../runtime/tensor.js';
import { planWebGL, printWebGL, webglAvailable } from '../../runtime/webgl/index.js';
import { getWebGPU } from '../../runtime/webgpu/device.js';
import { WARM_UP_RUNS } from '../../runtime/webgpu/wait.js';
import { SEED, type DeviceReport, type MaskReport, type ProgramRef, type Reply, type Request, type RunReport } from './protocol.js';

/** The worker's global scope, typed here: the page's tsconfig has the DOM's, not a worker's. */
const scope = globalThis as unknown as {
  postMessage(message: Reply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<{ id: number; request: Request }>) => void) | null;
};
const post = (reply: Reply, transfer: Transferable[] = []) => scope.postMessage(reply, transfer);

/** Dense attention, the baseline every run is compared with (at the program's output shape). */
const DENSE = 'attention dense {\n  input q, k, v: f32[B, H, N, D]\n  return attend(q, k, v)\n}\n';

function compiled(p: ProgramRef): CompileResult {
  const program = compile(p.source, { path: 'playground.attn', params: p.params, entry: p.entry, dims: p.dims });
  if (!program.ok || !program.graph) throw new Error(formatAll(program.diagnostics));
  return program;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Max |got − want| and the worst ratio to the spec's tolerance 1e-4 + 1e-4·|want| (NaN = NaN). */
function compare(got: ArrayLike<number>, want: ArrayLike<number>): { maxAbsError: number; worstRatio: number } {
  let maxAbsError = 0;
  let worstRatio = 0;
  for (let k = 0; k < want.length; k++) {
    const w = want[k]!;
    const g = got[k]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    const e = Math.abs(g - w);
    const r = e / (1e-4 + 1e-4 * Math.abs(w));
    maxAbsError = Math.max(maxAbsError, Number.isNaN(e) ? Infinity : e);
    worstRatio = Math.max(worstRatio, Number.isNaN(r) ? Infinity : r);
  }
  return { maxAbsError, worstRatio };
}

let deviceWatched = false;

/** The shared WebGPU device, reporting its errors and loss to the page (not only the console). */
async function webgpu() {
  const gpu = await getWebGPU();
  if (!deviceWatched) {
    deviceWatched = true;
    gpu.device.addEventListener('uncapturederror', (e) => {
      post({ id: -1, kind: 'device-error', message: `WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}` });
    });
    void gpu.device.lost.then((info) => {
      deviceWatched = false;
      post({ id: -1, kind: 'device-error', message: `WebGPU device lost (${info.reason}): ${info.message}` });
    });
  }
  return gpu;
}

function webglRenderer(): string {
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return 'WebGL2 (no context)';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return `WebGL2 ${String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER))}`;
}

interface Timed {
  /** One run; resolves to its GPU ms where known. */
  once(): Promise<number | null>;
  output(): Promise<Tensor>;
  release(): void;
}

async function timedWebGPU(program: CompileResult, inputs: Record<string, Tensor>): Promise<Timed> {
  const bound = await bind(program, inputs);
  return { once: () => bound.dispatch(), output: () => bound.read(), release: () => bound.release() };
}

function timedWebGL(program: CompileResult, inputs: Record<string, Tensor>): Timed {
  let last: Tensor | null = null;
  return {
    once: async () => {
      last = (await run(program, inputs, { backend: 'webgl' })).output;
      return null;
    },
    output: async () => last ?? (await run(program, inputs, { backend: 'webgl' })).output,
    release: () => {},
  };
}

async function runProgram(req: Extract<Request, { kind: 'run' }>, progress: (f: number, stage: string) => void): Promise<RunReport> {
  progress(0.02, 'compiling');
  const program = compiled(req.program);
  const graph = program.graph!;
  const dims = req.program.dims;
  const inputs = generateInputs(graph, dims, SEED);
  const shape = shapeOf(graph.nodes[graph.output]!, dims);
  // Dense attention with the output's shape: [B, H, N, Dv] for q, k and v.
  const denseShape = shape.length === 4 ? shape : [1, 1, shape[shape.length - 2] ?? 1, shape[shape.length - 1] ?? 1];
  const [B, H, N, D] = denseShape as [number, number, number, number];
  const dense = compile(DENSE, { dims: { B, H, N, D } });
  const denseInputs = generateInputs(dense.graph!, { B, H, N, D }, SEED);

  let device: string;
  let a: Timed;
  let d: Timed;
  progress(0.05, `uploading inputs (${req.backend})`);
  if (req.backend === 'webgpu') {
    device = `WebGPU ${(await webgpu()).description}`;
    a = await timedWebGPU(program, inputs);
    d = await timedWebGPU(dense, denseInputs);
  } else {
    device = webglRenderer();
    a = timedWebGL(program, inputs);
    d = timedWebGL(dense, denseInputs);
  }
  try {
    // The first run builds the pipelines (shaders compile). WebGPU runs then learn how long
    // to sleep before asking the device (runtime/webgpu/wait.ts): the runtime's number of
    // warm-ups; gpu.js has nothing to learn after its first run.
    const warmUps = req.backend === 'webgpu' ? WARM_UP_RUNS : 2;
    // Progress messages repaint the page, and on a software GPU (SwiftShader) a repaint
    // competes with the kernels — tens of ms of noise: the last one comes before the last
    // warm-up, none during the timed runs.
    for (let w = 0; w < warmUps; w++) {
      const last = w === warmUps - 1;
      progress(0.05 + (0.3 * w) / warmUps, w === 0 ? 'first run: compiling shaders' : last ? `timing ${req.runs} runs of each, alternated` : `warm-up ${w + 1} of ${warmUps}`);
      await a.once();
      await d.once();
    }
    // Alternate program and dense so that a machine whose speed drifts affects both alike.
    const ta: number[] = [], td: number[] = [], ga: number[] = [], gd: number[] = [];
    for (let r = 0; r < req.runs; r++) {
      let t0 = performance.now();
      const g = await a.once();
      ta.push(performance.now() - t0);
      t0 = performance.now();
      const h = await d.once();
      td.push(performance.now() - t0);
      if (g !== null && h !== null) {
        ga.push(g);
        gd.push(h);
      }
    }
    progress(0.78, 'reading the output back');
    const out = await a.output();
    progress(0.82, 'reference executor (float64)');
    const want = executeReference(graph, inputs);
    progress(0.97, 'comparing');
    return {
      backend: req.backend, device, runs: req.runs, ms: median(ta), gpuMs: ga.length === req.runs ? median(ga) : null,
      denseMs: median(td), speedup: median(td.map((t, k) => t / ta[k]!)), denseShape,
      gpuSpeedup: ga.length === req.runs ? median(gd.map((t, k) => t / ga[k]!)) : null,
      ...compare(out.data, want.data), shape: out.shape,
      timing: req.backend === 'webgpu'
        ? 'kernels on inputs already on the device, submit to finish (bind().dispatch())'
        : 'one run() through gpu.js: upload, kernels and readback',
    };
  } finally {
    a.release();
    d.release();
  }
}

/**
 * The exact mask of one attend at batch 0 and one head, with the evaluator the reference
 * executor uses; a mask that reads tensors (routing's clusters, a document table) reads the
 * values the reference computes for the nodes before it on the generated inputs.
 */
function maskOf(req: Extract<Request, { kind: 'mask' }>): MaskReport {
  const program = compiled(req.program);
  const graph = program.graph!;
  const dims = req.program.dims;
  const node = graph.nodes[req.node] as NodeOf<'attend'> | undefined;
  if (node?.op !== 'attend') throw new Error(`%${req.node} is not an attend`);
  const [, H, n] = shapeOf(graph.nodes[node.q]!, dims) as [number, number, number];
  const [, Hk, m] = shapeOf(graph.nodes[node.k]!, dims) as [number, number, number];
  const reads = some(node.mask, (x) => x.op === 'load');
  const tensors = reads ? prefixValues(graph, node.id, generateInputs(graph, dims, SEED)) : undefined;
  const f = compileBool(node.mask, { dims, scope: 'mask', lengths: { N: n, M: m }, tensors, tensorName: (id) => graph.nodes[id]?.name ?? `%${id}` });
  const h = Math.min(req.head, H - 1);
  const hk = Hk > 0 ? Math.floor(h / (H / Hk)) : 0;
  const allowed = new Uint8Array(n * m);
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      if (f({ b: 0, h, hk, i, j, s: NaN })) {
        allowed[i * m + j] = 1;
        count++;
      }
    }
  }
  const note = reads ? `the mask reads tensors: shown for the generated inputs (seed ${SEED})` : undefined;
  return { node: node.id, head: h, n, m, allowed, count, ...(note ? { note } : {}) };
}

/** Every node's value before `id`, from the reference executor on `inputs`. */
function prefixValues(graph: Graph, id: number, inputs: Record<string, Tensor>): Tensor[] {
  return runReference(upTo(graph, id), inputs).values;
}

function webglSource(p: ProgramRef): string {
  const graph = compiled(p).graph!;
  if (webglAvailable()) return printWebGL(graph, p.dims);
  return '// no WebGL2 context in this browser: the gpu.js kernel functions (JavaScript) instead of their GLSL\n' +
    planWebGL(graph, p.dims).kernels.map((k) => `// ==== ${k.name}\n${k.source}\n`).join('\n');
}

async function device(): Promise<DeviceReport> {
  try {
    const gpu = await webgpu();
    return { webgpu: { description: gpu.description, caps: gpu.caps, features: [...gpu.features] } };
  } catch (e) {
    return { webgpu: { error: (e as Error).message } };
  }
}

async function answer(id: number, req: Request): Promise<void> {
  const progress = (fraction: number, stage: string) => post({ id, kind: 'progress', fraction, stage });
  try {
    switch (req.kind) {
      case 'run':
        post({ id, kind: 'done', result: await runProgram(req, progress) });
        break;
      case 'mask': {
        progress(0.1, 'evaluating the mask pair by pair');
        const result = maskOf(req);
        post({ id, kind: 'done', result }, [result.allowed.buffer]);
        break;
      }
      case 'webgl-source':
        post({ id, kind: 'done', result: webglSource(req.program) });
        break;
      case 'device':
        post({ id, kind: 'done', result: await device() });
        break;
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ id, kind: 'error', name: err.name, message: err.message });
  }
}

scope.onmessage = (e) => void answer(e.data.id, e.data.request);
