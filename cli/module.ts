// `attnc compile FILE --emit module`: a self-contained ES module of a program's kernels, for
// apps that want the kernels without the compiler. It imports nothing: the WGSL of each
// kernel as a string, the bindings, the uniform block and the dispatch grid as code (the
// kernel IR's size expressions rendered to JavaScript), and the same prepare/encode
// interface as attnc's prepare() (runtime/webgpu/prepare.ts), on the caller's device,
// encoder and buffers. Two schedules are embedded: one for devices that grant `subgroups`
// with subgroups of at least 8 lanes (lowered for lavapipe's capabilities: correct on any
// wider subgroup), and a portable one for WebGPU's guaranteed limits; prepare picks by the
// device's features and adapter info.

import { DEFAULT_CAPS, type DeviceCaps } from '../compiler/caps.js';
import type { CompileResult } from '../compiler/compile.js';
import type { Expr, Graph } from '../compiler/ir.js';
import type { Kernel } from '../compiler/kernel.js';
import { lowerToKernels } from '../compiler/pipeline.js';
import { TARGETS } from '../targets/index.js';

/** A size expression (ints over dims) as JavaScript over `d`, with the language's floor division. */
export function jsSize(e: Expr): string {
  const r = jsSize;
  switch (e.op) {
    case 'const': return String(e.value);
    case 'dim': return `d[${JSON.stringify(e.name)}]`;
    case 'neg': return `(-${r(e.a)})`;
    case 'add': return `(${r(e.a)} + ${r(e.b)})`;
    case 'sub': return `(${r(e.a)} - ${r(e.b)})`;
    case 'mul': return `(${r(e.a)} * ${r(e.b)})`;
    case 'div': return `Math.floor(${r(e.a)} / ${r(e.b)})`;
    case 'mod': return `fmod(${r(e.a)}, ${r(e.b)})`;
    case 'select': return `(${jsBool(e.c)} ? ${r(e.a)} : ${r(e.b)})`;
    case 'call':
      if (e.fn === 'min' || e.fn === 'max') return `Math.${e.fn}(${e.args.map(r).join(', ')})`;
      break;
    default: break;
  }
  throw new Error(`internal: ${e.op} in a size expression of the standalone module`);
}

function jsBool(e: Expr): string {
  switch (e.op) {
    case 'const': return String(e.value);
    case 'and': return `(${jsBool(e.a)} && ${jsBool(e.b)})`;
    case 'or': return `(${jsBool(e.a)} || ${jsBool(e.b)})`;
    case 'not': return `(!${jsBool(e.a)})`;
    case 'eq': case 'ne': case 'lt': case 'le': case 'gt': case 'ge': {
      const op = { eq: '===', ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=' }[e.op];
      return `(${jsSize(e.a)} ${op} ${jsSize(e.b)})`;
    }
    default: throw new Error(`internal: ${e.op} in a size condition of the standalone module`);
  }
}

const product = (es: readonly Expr[]) => (es.length ? es.map(jsSize).join(' * ') : '1');

/** One kernel as data and code: source, uniform dims, bindings (what each reads, its bytes), grid. */
function kernelEntry(k: Kernel, g: Graph): string {
  const bindings = k.bindings.map((b) => {
    const what = b.buffer.kind === 'scratch'
      ? { own: `scratch:${b.buffer.id}` }
      : b.buffer.node === g.output
        ? { arg: 'out' }
        : g.nodes[b.buffer.node]!.op === 'input' ? { arg: g.nodes[b.buffer.node]!.name! } : { own: `node:${b.buffer.node}` };
    const elems = b.buffer.kind === 'scratch' ? jsSize(b.buffer.elems) : product(b.shape);
    return `      { ${Object.entries(what).map(([key, v]) => `${key}: ${JSON.stringify(v)}`).join(', ')}, access: ${JSON.stringify(b.access)}, bytes: (d) => 4 * ${elems} },`;
  });
  return [
    '    {',
    `      name: ${JSON.stringify(k.name)},`,
    `      wgsl: ${JSON.stringify(TARGETS.wgsl.render(k))},`,
    `      uniforms: ${JSON.stringify(k.uniforms)},`,
    `      workgroups: (d) => ${jsSize(k.workgroups)},`,
    '      bindings: [',
    ...bindings.map((l) => `  ${l}`),
    '      ],',
    '    },',
  ].join('\n');
}

/** The module's JavaScript and its type declarations, for the compiled program `r`. */
export function emitModule(r: CompileResult): { js: string; dts: string } {
  const g = r.graph!;
  const variant = (caps: DeviceCaps) => {
    const kernels = lowerToKernels(g, { fusion: r.passOptions.fusion, caps, dims: r.passOptions.dims });
    return { kernels, text: kernels.map((k) => kernelEntry(k, g)).join('\n') };
  };
  const portable = variant(DEFAULT_CAPS);
  // Subgroups of at least 8 lanes, otherwise WebGPU's guaranteed limits (workgroup fallbacks fit every device).
  const subgroups = variant({ ...DEFAULT_CAPS, subgroups: true, subgroupSize: 8, subgroupMaxSize: 8 });
  const headDims = Object.assign({}, ...portable.kernels.map((k) => k.specialized)) as Record<string, number>;
  const inputs = g.inputs.map((id) => {
    const n = g.nodes[id]!;
    return { name: n.name!, elem: n.elem === 'i32' ? 'i32' : 'f32', shape: n.shape.map((e) => (e.op === 'dim' ? e.name : e.op === 'const' ? Number(e.value) : '?')) };
  });
  const out = g.nodes[g.output]!;
  const outShape = out.shape.map((e) => jsSize(e));
  const returned = out.op === 'input' ? out.name! : null;
  const js = `// attnc standalone kernel module for \`${g.name}\` (generated by \`attnc compile --emit module\`; do not edit).
// Imports nothing. prepare({ device }) → { inputs, output, headDims, bytes(dims), encode(encoder, inputs, { out }, dims),
// release() }: attnc's kernels recorded into your command encoder over your buffers (f32/i32, C order), no submit of
// its own. Head dims are compiled in: ${JSON.stringify(headDims)}.

export const name = ${JSON.stringify(g.name)};
export const inputs = ${JSON.stringify(inputs)};
export const output = { elem: ${JSON.stringify(out.elem === 'i32' ? 'i32' : 'f32')}, shape: ${JSON.stringify(out.shape.map((e) => (e.op === 'dim' ? e.name : '…')))} };
export const headDims = ${JSON.stringify(headDims)};
const dimDefaults = ${JSON.stringify(g.dimDefaults)};
const returnedInput = ${JSON.stringify(returned)};
const fmod = (a, b) => a - b * Math.floor(a / b);
const outBytes = (d) => 4 * ${outShape.length ? outShape.join(' * ') : '1'};

const SCHEDULES = {
  // WebGPU's guaranteed limits: runs on every device.
  portable: [
${portable.text}
  ],
  // Devices that grant 'subgroups' with subgroups of at least 8 lanes.
  subgroups: [
${subgroups.text}
  ],
};

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, UNIFORM = 0x40, COMPUTE = 0x4;

class EncodeError extends Error {
  constructor(message) { super(message); this.name = 'EncodeError'; }
}

/** Prepare the kernels for \`device\` (compiles the pipelines). */
export async function prepare({ device }) {
  const info = device.adapterInfo;
  const sub = device.features.has('subgroups') && (info?.subgroupMinSize ?? 0) >= 8;
  const kernels = SCHEDULES[sub ? 'subgroups' : 'portable'];
  const layouts = kernels.map((k) => device.createBindGroupLayout({
    entries: [{ binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } },
      ...k.bindings.map((b, i) => ({ binding: i + 1, visibility: COMPUTE, buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' } }))],
  }));
  // createComputePipeline, not …Async: Dawn under Node 20 can crash in the async form (futex error).
  device.pushErrorScope('validation');
  const pipelines = kernels.map((k, i) => device.createComputePipeline({
    label: k.name, layout: device.createPipelineLayout({ bindGroupLayouts: [layouts[i]] }),
    compute: { module: device.createShaderModule({ code: k.wgsl, label: k.name }), entryPoint: k.name },
  }));
  const failed = await device.popErrorScope();
  if (failed) throw new EncodeError(\`the kernels of \${name} do not build on this device: \${failed.message}\`);
  const own = new Map();
  const uniforms = new Map();
  const retired = [];
  let released = false;
  const ownBuffer = (key, bytes) => {
    let b = own.get(key);
    if (!b || b.size < bytes) {
      if (b) retired.push(b);
      b = device.createBuffer({ label: key, size: Math.max(16, Math.ceil(bytes * 1.5 / 16) * 16), usage: STORAGE });
      own.set(key, b);
    }
    return b;
  };
  const dimsOf = (given) => {
    const d = { ...dimDefaults, ...given };
    for (const [h, v] of Object.entries(headDims)) {
      if (d[h] !== v) throw new EncodeError(\`head dim \${h} is compiled in as \${v}, got \${d[h]}\`);
    }
    for (const t of inputs) for (const s of t.shape) {
      if (typeof s === 'string' && !(Number.isSafeInteger(d[s]) && d[s] >= 0)) throw new EncodeError(\`dim \${s} (of input \${t.name}) needs a size\`);
    }
    return d;
  };
  const bytes = (given) => {
    const d = dimsOf(given);
    const out = { out: outBytes(d) };
    for (const t of inputs) out[t.name] = 4 * t.shape.reduce((a, s) => a * (typeof s === 'string' ? d[s] : s), 1);
    return out;
  };
  const check = (label, buf, need, usage) => {
    if (!buf || typeof buf.size !== 'number') throw new EncodeError(\`\${label}: a GPUBuffer is needed\`);
    if (buf.size < need) throw new EncodeError(\`\${label}: \${need} bytes needed, the buffer has \${buf.size}\`);
    if ((buf.usage & usage) !== usage) throw new EncodeError(\`\${label}: the buffer lacks usage 0x\${usage.toString(16)}\`);
  };
  return {
    name, inputs, output, headDims,
    kernels: kernels.map((k) => k.name),
    bytes,
    encode(encoder, given, { out }, dims) {
      if (released) throw new EncodeError('the prepared program was released');
      const d = dimsOf(dims);
      const need = bytes(dims);
      for (const t of inputs) check(\`input \${t.name}\`, given[t.name], need[t.name], returnedInput === t.name ? COPY_SRC : STORAGE);
      check('output out', out, need.out, returnedInput ? COPY_DST : STORAGE);
      if (returnedInput) { encoder.copyBufferToBuffer(given[returnedInput], 0, out, 0, need.out); return; }
      const max = device.limits.maxComputeWorkgroupsPerDimension;
      kernels.forEach((k, i) => {
        const total = k.workgroups(d);
        if (total <= 0) return;
        const u = new Int32Array(Math.max(4, Math.ceil(k.uniforms.length / 4) * 4));
        k.uniforms.forEach((n, j) => { u[j] = d[n]; });
        // One uniform buffer per kernel and dims, made with its contents: never rewritten,
        // so encodes with other dims can share an encoder.
        const ukey = i + ':' + u.join(',');
        let ubuf = uniforms.get(ukey);
        if (!ubuf) {
          ubuf = device.createBuffer({ size: u.byteLength, usage: UNIFORM, mappedAtCreation: true });
          new Int32Array(ubuf.getMappedRange()).set(u);
          ubuf.unmap();
          uniforms.set(ukey, ubuf);
        }
        const entries = [{ binding: 0, resource: { buffer: ubuf } }, ...k.bindings.map((b, j) => {
          const size = Math.max(16, Math.ceil(b.bytes(d) / 16) * 16);
          const buffer = b.arg ? (b.arg === 'out' ? out : given[b.arg]) : ownBuffer(b.own, size);
          return { binding: j + 1, resource: { buffer, offset: 0, size: Math.min(size, buffer.size) } };
        })];
        const y = total <= max ? 1 : Math.ceil(total / max);
        const pass = encoder.beginComputePass({ label: k.name });
        pass.setPipeline(pipelines[i]);
        pass.setBindGroup(0, device.createBindGroup({ layout: layouts[i], entries }));
        pass.dispatchWorkgroups(Math.ceil(total / y), y);
        pass.end();
      });
    },
    release() {
      released = true;
      for (const b of [...own.values(), ...uniforms.values(), ...retired]) b.destroy();
      own.clear();
      uniforms.clear();
    },
  };
}
`;
  const dts = `// Types of the attnc standalone kernel module for \`${g.name}\`.
export declare const name: string;
export declare const inputs: { name: string; elem: 'f32' | 'i32'; shape: (string | number)[] }[];
export declare const output: { elem: 'f32' | 'i32'; shape: string[] };
export declare const headDims: Record<string, number>;
export interface PreparedKernels {
  readonly name: string;
  readonly kernels: string[];
  bytes(dims: Record<string, number>): Record<string, number>;
  encode(encoder: GPUCommandEncoder, inputs: Record<string, GPUBuffer>, outputs: { out: GPUBuffer }, dims: Record<string, number>): void;
  release(): void;
}
export declare function prepare(options: { device: GPUDevice }): Promise<PreparedKernels>;
`;
  return { js, dts };
}
