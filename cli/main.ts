// The `attnc` command line: a thin shell over compile() and run().
// Exit status: 0 success, 1 diagnostics or a runtime error, 2 a usage error.
// The `run` contract (spec §7) is stable: other tools drive attnc through it.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { SourceFile } from '../dsl/ast.js';
import { AttncError, diag, hasErrors, type Diagnostic } from '../dsl/diagnostics.js';
import { formatAll } from '../dsl/format.js';
import { check } from '../dsl/index.js';
import '../runtime/node/dawn.js'; // WebGPU in Node: Dawn
import { writeNpy } from '../runtime/node/npy-file.js';
import { BACKENDS, bind, chooseBackend, run, type BackendChoice } from '../runtime/run.js';
import type { Tensor } from '../runtime/tensor.js';
import { generateInputs, graphDims, resolveDims, shapeOf } from '../runtime/shapes.js';
import { checkInputLimits, checkSizes, type InputLimits } from '../runtime/limits.js';
import { checkOutputDir, checkSaveDir, MAX_DIM, readInputFiles } from './guards.js';
import { WARM_UP_RUNS } from '../runtime/webgpu/wait.js';
import { compile, type CompileOptions, type CompileResult } from '../compiler/compile.js';
import type { ParamValues } from '../compiler/lower.js';
import { CAPS_PRESETS } from '../compiler/caps.js';
import { findPass, PASS_NAMES } from '../compiler/pipeline.js';
import { printGraph } from '../compiler/print.js';
import type { Graph } from '../compiler/ir.js';
import { layoutFiles, layoutGenerated, npyIn, parseLayouts, type LayoutSpec } from './layouts.js';
import { emitModule } from './module.js';
import { printKernels } from '../compiler/print-kernels.js';
import { printPlan } from './plan.js';
import { tileArtefacts, visited } from './tiles.js';

class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `attnc — a compiler for attention kernels

Usage:
  attnc check FILE…                 report diagnostics (exit 1 when there are errors)
  attnc compile FILE [options]      print or write the IR and kernels
  attnc run FILE [options]          run a program and print its output shape, time, checksum

Run \`attnc <command> --help\` for the options of a command.`,
  check: `Usage: attnc check FILE…

Parses and checks each file; prints every diagnostic with its code, position and a code
frame. Exit status 1 when any file has errors.`,
  compile: `Usage: attnc compile FILE [--entry NAME] [--emit WHAT] [--target wgsl|webgl]
                     [--caps NAME] [--dims N=512,…] [--param name=value,…] [--inputs DIR]
                     [--no-fusion] [--no-tensor-bounds] [-o DIR]

  --entry NAME     the definition to compile when the file has several
  --emit WHAT      ast | ir | tiles | module | the name of a pass (${PASS_NAMES.join(', ')})
                   (default: ir, or the target's output with --target). A graph pass
                   prints the graph IR after it, a kernel pass the kernel IR (kernels,
                   bindings, schedule, loops). module: a standalone ES module of the
                   kernels (NAME.js + NAME.d.ts; prepare/encode, imports nothing).
                   tiles: the tile map of each attend at
                   --dims (# full, + mixed, . empty, blank: never visited); -o adds an SVG per attend;
                   with --inputs DIR, for the tensors the masks read (DIR/NAME.npy), batch 0, head 0
  --caps NAME      the device the kernels are scheduled for: ${Object.keys(CAPS_PRESETS).join(' | ')}
                   (default: default, WebGPU's guaranteed limits without subgroups)
  --target T       wgsl: print the WGSL kernels and the dispatch plan (workgroups,
                   uniforms, bindings) evaluated at --dims; webgl: print the GLSL that
                   gpu.js generates for each kernel (needs a display: xvfb-run -a)
  --dims D=V,…     sizes for --emit tiles and the dispatch plan (default: the file's dims)
  --param P=V,…    override params (kernels specialise on params)
  --no-fusion      materialised scores instead of fused kernels (the baseline)
  --no-tensor-bounds  masks that read tensors get no bounds from their values (no block
                   summaries: every tile such a mask touches is visited; same results)
  -o, --out DIR    write the artefacts to DIR instead of printing them`,
  run: `Usage: attnc run FILE [--entry NAME] [--backend auto|reference|webgpu|webgl]
                 [--dims N=512,…] [--param name=value,…] [--seed N]
                 [--inputs DIR] [--layout L] [--save DIR] [--repeat N] [--json] [--no-fusion]
                 [--no-tensor-bounds]

  --backend B      auto (default: WebGPU when an adapter answers, else WebGL when a
                   context can be created, else the reference executor), reference,
                   webgpu or webgl
  --inputs DIR     read each input x from DIR/x.npy (<f4, <f8, <i4, <f2; C order);
                   dims are bound from these shapes
  --seed N         seed of the generated inputs (uniform in [-1, 1]; i32 inputs in [0, 8))
  --dims D=V,…     sizes of the generated inputs (default: the file's dims)
  --save DIR       write the output to DIR/out.npy (<f4; several outputs: DIR/<name>.npy
                   each); DIR is made if missing, existing files are overwritten; DIR
                   must not be a file
  --repeat N       run N more times after three warm-up runs; report the median (N ≤ 10000)
  --layout L       inputs as models hold them, read in place: NAME=bnhd (NAME stored
                   [B, N, H, D], = [B, N, H·D]; --inputs: NAME.npy in that shape), or qkv
                   (q, k, v slices of one packed [B, N, (H + Hk)·D + Hk·Dv] projection;
                   --inputs: qkv.npy). Generated inputs: the same values in that layout
  --json           print one JSON line {"backend","entry","shape","ms","kernelMs","visited","checksum"}
                   (kernelMs: on WebGPU with --repeat, the kernels alone on resident inputs;
                   visited: the fraction of 64 × 64 tiles the WGSL kernels compute for these
                   inputs — inside the key ranges and not proved empty — over every b, h)
  --no-tensor-bounds  masks that read tensors get no bounds from their values (see compile)`,
};

const COMMON: ParseArgsConfig['options'] = {
  help: { type: 'boolean', short: 'h' },
  entry: { type: 'string' },
  dims: { type: 'string', multiple: true },
  param: { type: 'string', multiple: true },
  'no-fusion': { type: 'boolean' },
  'no-tensor-bounds': { type: 'boolean' },
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined: case '-h': case '--help': case 'help':
        console.log(HELP.main);
        return command === undefined ? 2 : 0;
      case 'check': return cmdCheck(rest);
      case 'compile': return await cmdCompile(rest);
      case 'run': return await cmdRun(rest);
      default:
        throw new UsageError(`unknown command \`${command}\`; expected check, compile or run`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`attnc: ${(e as Error).message}\n\n${HELP[command ?? 'main'] ?? HELP.main}`);
      return 2;
    }
    if (e instanceof AttncError) {
      console.error(formatAll(e.diagnostics));
      return 1;
    }
    // Runtime errors (no adapter, a limit exceeded, a bad .npy file) carry their own
    // message; a stack trace only with ATTNC_DEBUG=1.
    console.error(`error: ${(e as Error).message ?? String(e)}`);
    if (process.env.ATTNC_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

function parse(command: string, args: string[], options: ParseArgsConfig['options']) {
  return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
}

function readSource(path: string): SourceFile {
  try {
    return { path, text: readFileSync(path, 'utf8') };
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function cmdCheck(args: string[]): number {
  const { values, positionals } = parse('check', args, {});
  if (values.help) return help('check');
  if (positionals.length === 0) throw new UsageError('check needs at least one FILE');
  let failed = false;
  for (const path of positionals) {
    const file = readSource(path);
    const { program, diagnostics } = check(file);
    if (diagnostics.length) console.error(formatAll(diagnostics.map((d) => ({ ...d, file: d.file ?? file }))));
    if (hasErrors(diagnostics)) failed = true;
    else console.log(`${path}: ok (${program.attentions.map((a) => a.name.name).join(', ')})`);
  }
  return failed ? 1 : 0;
}

/** Compile FILE with the options every command shares; diagnostics become an AttncError. */
function compileFile(
  values: Record<string, unknown>,
  path: string,
  extra: Partial<CompileOptions> = {},
): CompileResult {
  const result = compile(readSource(path), {
    entry: values.entry as string | undefined,
    params: parseParams(values.param as string[] | undefined),
    fusion: !values['no-fusion'],
    tensorBounds: !values['no-tensor-bounds'],
    ...extra,
  });
  // An unknown --dims name is a usage error (exit 2), as `run` reports it.
  const dim = result.diagnostics.find((d) => d.code === 'AT714');
  if (dim) throw new UsageError(`--dims ${/has no dim `(\w+)`/.exec(dim.message)?.[1]}: ${dim.message}${dim.hint ? ` (${dim.hint})` : ''}`);
  if (!result.ok) throw new AttncError(result.diagnostics);
  // Warnings: errors in definitions other than --entry's (compile() did not compile them).
  if (result.diagnostics.length) console.error(formatAll(result.diagnostics));
  return result;
}

async function cmdCompile(args: string[]): Promise<number> {
  const { values, positionals } = parse('compile', args, {
    emit: { type: 'string' },
    target: { type: 'string' },
    caps: { type: 'string' },
    inputs: { type: 'string' },
    out: { type: 'string', short: 'o' },
  });
  if (values.help) return help('compile');
  const path = single(positionals, 'compile');
  const explicit = values.emit as string | undefined;
  const emit = explicit ?? 'ir';
  if (emit !== 'ast' && emit !== 'ir' && emit !== 'tiles' && emit !== 'module' && !PASS_NAMES.includes(emit)) {
    throw new UsageError(`--emit ${emit || '(empty)'}: expected ast, ir, tiles, module or a pass name (${PASS_NAMES.join(', ')})`);
  }
  const target = values.target as string | undefined;
  if (target !== undefined && target !== 'wgsl' && target !== 'webgl') {
    throw new UsageError(`--target ${target}: expected wgsl or webgl`);
  }
  const capsName = (values.caps as string | undefined) ?? 'default';
  const caps = CAPS_PRESETS[capsName];
  if (!caps) throw new UsageError(`--caps ${capsName}: expected ${Object.keys(CAPS_PRESETS).join(', ')}`);
  const pass = findPass(emit);
  if (values.inputs !== undefined && emit !== 'tiles') throw new UsageError('--inputs is for --emit tiles (the tile map for these tensors)');

  const dumps: string[] = [];
  const result = compileFile(values, path, {
    dims: parseDims(values.dims as string[] | undefined),
    target: target === 'wgsl' || target === 'webgl' ? target : 'none',
    caps,
    kernels: pass?.stage === 'kernel',
    onPass: (p, m) => {
      if (p.name !== emit) return;
      dumps.push(`// after ${p.name}: ${p.summary}\n` +
        (p.stage === 'kernel'
          ? `// device: --caps ${capsName}${target === 'webgl' ? ' (target webgl: specialised on every dim at --dims)' : ''}\n${printKernels(m.kernels ?? [], m.graph)}`
          : printGraph(m.graph, { bodies: true })));
    },
  });
  const graph = result.graph!;
  const artefacts: [string, string | Uint8Array][] = [];
  if (emit === 'ast') artefacts.push(['ast.json', JSON.stringify(result.ast, null, 2) + '\n']);
  else if (pass) artefacts.push([`${graph.name}.${emit}.txt`, dumps.join('\n')]);
  else if (emit === 'module') {
    // A standalone ES module of the kernels (cli/module.ts): imports nothing from attnc.
    const { js, dts } = emitModule(result);
    artefacts.push([`${graph.name}.js`, js], [`${graph.name}.d.ts`, dts]);
  } else if (emit === 'tiles') {
    artefacts.push(...tileArtefacts(graph, path, parseDims(values.dims as string[] | undefined), values.inputs as string | undefined));
  } else if (target === 'wgsl' && explicit === undefined) {
    // The plan shows workgroup counts symbolically where a dim has no size (only head dims
    // are compiled in, and compile had them), evaluated where every dim it reads has one.
    const dims = knownDims(graph, parseDims(values.dims as string[] | undefined));
    for (const k of result.wgsl!) artefacts.push([`${k.name}.wgsl`, k.source]);
    artefacts.push([`${graph.name}.plan.txt`, printPlan(result.kernels!, dims)]);
  } else if (target === 'webgl' && explicit === undefined) {
    const dims = resolveDims(graph, parseDims(values.dims as string[] | undefined));
    const { planWebGL, printWebGL, webglAvailable } = await import('../runtime/webgl/index.js');
    // The GLSL comes from gpu.js, which needs a WebGL context; without one, show the
    // kernels' JavaScript (what gpu.js translates) and say how to get the GLSL.
    artefacts.push([`${graph.name}.webgl.txt`, webglAvailable()
      ? printWebGL(graph, dims)
      : `// no WebGL context (run under xvfb-run -a for the GLSL); gpu.js kernel sources:\n` +
        planWebGL(graph, dims).kernels.map((k) => `// ==== ${k.name}\n${k.source}\n`).join('\n')]);
  } else artefacts.push([`${graph.name}.ir.txt`, printGraph(graph)]);

  const out = values.out as string | undefined;
  if (out) {
    checkOutputDir('-o', out, 'writes the artefacts into DIR (overwriting files of the same names)', (m) => new UsageError(m));
    mkdirSync(out, { recursive: true });
    for (const [name, text] of artefacts) writeFileSync(join(out, name), text);
    console.log(`wrote ${artefacts.map(([n]) => join(out, n)).join(', ')}`);
  } else {
    for (const [, text] of artefacts) if (typeof text === 'string') process.stdout.write(text);
  }
  return 0;
}

async function cmdRun(args: string[]): Promise<number> {
  const { values, positionals } = parse('run', args, {
    backend: { type: 'string' },
    seed: { type: 'string' },
    inputs: { type: 'string' },
    save: { type: 'string' },
    repeat: { type: 'string' },
    json: { type: 'boolean' },
    layout: { type: 'string', multiple: true },
  });
  if (values.help) return help('run');
  const path = single(positionals, 'run');
  const backend = (values.backend as string | undefined) ?? 'auto';
  if (!BACKENDS.includes(backend as BackendChoice)) {
    throw new UsageError(`--backend ${backend}: expected ${BACKENDS.join(', ')}`);
  }
  const seed = intOption(values.seed as string | undefined, '--seed', 0);
  const repeat = intOption(values.repeat as string | undefined, '--repeat', 0, MAX_REPEAT);

  const layouts = parseLayouts(values.layout as string[] | undefined, (m) => new UsageError(m));
  const dimsGiven = parseDims(values.dims as string[] | undefined);
  // (An unknown --dims name is refused by compile: AT714, a usage error here.)
  const program = compileFile(values, path, { dims: dimsGiven });
  const graph = program.graph!;
  if (values.save) checkSaveDir(values.save as string, graph.outputs.map((o) => o.name), (m) => new UsageError(m));
  // The limits of the backend that will run, so inputs too large for it are refused from
  // their shapes: before .npy data is read, before inputs are generated.
  const { limits } = await chooseBackend(backend as BackendChoice);
  const inputs = values.inputs ? readLaidOut(graph, values.inputs as string, layouts, dimsGiven, limits)
    : layoutGenerated(graph, generated(graph, resolveDims(graph, dimsGiven), seed, limits), layouts);

  // With --repeat, warm-ups first (the pipelines compile, the WebGPU wait learns).
  const warmups = repeat > 0 ? WARM_UP_RUNS : 0;
  const times: number[] = [];
  let result;
  for (let k = 0; k < Math.max(1, warmups + repeat); k++) {
    const t0 = performance.now();
    result = await run(program, inputs, { backend: backend as BackendChoice, fusion: !values['no-fusion'], tensorBounds: !values['no-tensor-bounds'] });
    times.push(performance.now() - t0);
  }
  const { output, outputs, backend: ran, note } = result!;
  const ms = repeat > 0 ? median(times.slice(warmups)) : times[0]!;
  // On WebGPU with --repeat, also the kernels alone on resident inputs: where the time goes.
  const lowering = { fusion: !values['no-fusion'], tensorBounds: !values['no-tensor-bounds'] };
  const kernelMs = ran === 'webgpu' && repeat > 0 ? await timeKernels(program, inputs, lowering, warmups, repeat) : null;
  const sum = (t: Tensor): number => {
    let total = 0;
    for (const x of t.data) total += x;
    return total;
  };
  const checksum = sum(output);
  const several = graph.outputs.length > 1;
  const files = graph.outputs.map((o) => join((values.save as string | undefined) ?? '', `${o.name}.npy`));

  if (values.save) {
    mkdirSync(values.save as string, { recursive: true });
    // (`f16(…)` outputs as <f2: their values are f16 values.)
    graph.outputs.forEach((o, k) => writeNpy(files[k]!, outputs[o.name]!, graph.nodes[o.node]!.elem === 'f16' ? '<f2' : '<f4'));
  }
  if (values.json) {
    // The tiles the WGSL kernels compute for these inputs (with tensor bounds unless turned off).
    const seen = visited(graph, inputs, result!.dims, !values['no-tensor-bounds']);
    console.log(JSON.stringify({
      backend: ran, entry: graph.name, shape: output.shape, ms: round(ms), kernelMs: kernelMs === null ? null : round(kernelMs),
      visited: seen === null ? null : Math.round(seen * 1e4) / 1e4, checksum,
      ...(several ? { outputs: graph.outputs.map((o) => ({ name: o.name, shape: outputs[o.name]!.shape, checksum: sum(outputs[o.name]!) })) } : {}),
    }));
  } else {
    console.log(`backend:  ${ran}${note ? ` (${note})` : ''}`);
    console.log(`entry:    ${graph.name}`);
    if (!several) console.log(`shape:    [${output.shape.join(', ')}]`);
    console.log(`time:     ${round(ms)} ms${repeat > 0 ? ` (median of ${repeat} after ${warmups} warm-up runs)` : ''}`);
    if (kernelMs !== null) console.log(`kernels:  ${round(kernelMs)} ms (on resident inputs, median of ${repeat})`);
    if (several) {
      for (const o of graph.outputs) console.log(`output ${o.name}: shape [${outputs[o.name]!.shape.join(', ')}], checksum ${sum(outputs[o.name]!)}`);
    } else {
      console.log(`checksum: ${checksum}`);
    }
    if (values.save) console.log(`saved:    ${files.join(', ')}`);
  }
  return 0;
}

/** The median time of the kernels alone (bind() once, then dispatch) after warm-ups. */
async function timeKernels(
  program: CompileResult, inputs: Record<string, Tensor>, lowering: { fusion: boolean; tensorBounds: boolean }, warmups: number, repeat: number,
): Promise<number> {
  const bound = await bind(program, inputs, lowering);
  try {
    const times: number[] = [];
    for (let k = 0; k < warmups + repeat; k++) {
      const t0 = performance.now();
      await bound.dispatch();
      times.push(performance.now() - t0);
    }
    return median(times.slice(warmups));
  } finally {
    bound.release();
  }
}

/** The inputs from DIR: those named by --layout read in their layouts, the rest as NAME.npy. */
function readLaidOut(graph: Graph, dir: string, layouts: LayoutSpec, dims: Record<string, number>, limits: InputLimits): Record<string, Tensor> {
  const viewed = new Set([...layouts.bnhd, ...(layouts.packed ? ['q', 'k', 'v'] : [])]);
  const names = graph.inputs.map((id) => graph.nodes[id]!.name!).filter((n) => !viewed.has(n));
  const { inputs: rest, notes } = readInputFiles(graph, names, dir, limits);
  for (const n of notes) console.error(`attnc: note: ${n}`);
  if (!viewed.size) return rest;
  try {
    return { ...rest, ...layoutFiles(graph, dir, layouts, { ...graph.dimDefaults, ...dims }, npyIn(dir)) };
  } catch (e) {
    if (e instanceof AttncError) throw e;
    throw new AttncError([diag('AT703', ['(layout)', (e as Error).message])]);
  }
}

/**
 * Seeded inputs at `dims`, refused by name when a tensor is beyond what any backend (or
 * the chosen one) takes, before anything is allocated; host memory running out while
 * allocating is an error naming the input too.
 */
function generated(graph: Graph, dims: Record<string, number>, seed: number, limits: InputLimits): Record<string, Tensor> {
  checkSizes(graph, dims);
  checkInputLimits(Object.fromEntries(graph.inputs.map((id) => [graph.nodes[id]!.name!, shapeOf(graph.nodes[id]!, dims)])), limits);
  try {
    return generateInputs(graph, dims, seed);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const bytes = graph.inputs.reduce((a, id) => a + 4 * shapeOf(graph.nodes[id]!, dims).reduce((x, y) => x * y, 1), 0);
    throw new Error(`cannot allocate the generated inputs (${bytes} bytes) in host memory: ${e.message}; use smaller --dims`);
  }
}

/** The program's dims with a size (its defaults, then --dims); others are left out. */
function knownDims(graph: Graph, given: Record<string, number>): Record<string, number> {
  const all = { ...graph.dimDefaults, ...given };
  return Object.fromEntries(graphDims(graph).filter((d) => all[d] !== undefined).map((d) => [d, all[d]!]));
}

function parseList(items: string[] | undefined, flag: string): [string, string][] {
  return (items ?? []).flatMap((item) => item.split(',')).filter(Boolean).map((kv) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$/.exec(kv);
    if (!m) throw new UsageError(`${flag} ${kv}: expected name=value`);
    return [m[1]!, m[2]!];
  });
}

function parseDims(items: string[] | undefined): Record<string, number> {
  return Object.fromEntries(parseList(items, '--dims').map(([k, v]) => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--dims ${k}=${v}: a dim is a positive integer`);
    if (Number(v) > MAX_DIM) throw new UsageError(`--dims ${k}=${v}: a dim is at most ${MAX_DIM} (kernels index with 32-bit ints)`);
    return [k, Number(v)];
  }));
}

function parseParams(items: string[] | undefined): ParamValues {
  return Object.fromEntries(parseList(items, '--param').map(([k, v]) => {
    if (v === 'true' || v === 'false') return [k, v === 'true'];
    if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new UsageError(`--param ${k}=${v}: expected a number, true or false`);
    return [k, Number(v)];
  }));
}

function intOption(v: string | undefined, flag: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} ${v}: expected a non-negative integer`);
  if (Number(v) > max) throw new UsageError(`${flag} ${v}: at most ${max}`);
  return Number(v);
}

/** --repeat: runs beyond this are surely a typo (10 000 runs of a 25 ms program take four minutes). */
const MAX_REPEAT = 10000;

function single(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one FILE`);
  return positionals[0]!;
}

function help(command: string): number {
  console.log(HELP[command]);
  return 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
