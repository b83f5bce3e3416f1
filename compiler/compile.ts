// compile(): source text → diagnostics, AST, graph IR and (for a target) kernels.
// Never throws on a user error: everything wrong with the program comes back as
// diagnostics. The CLI is a thin shell over this.

import type { Attention, Program, SourceFile } from '../dsl/ast.js';
import { diag, hasErrors, type Diagnostic } from '../dsl/diagnostics.js';
import { check } from '../dsl/index.js';
import { closest } from '../dsl/builtins.js';
import { dimsOf, type Graph } from './ir.js';
import type { Kernel } from './kernel.js';
import { lowerAttention, type ParamValues } from './lower.js';
import { DEFAULT_CAPS, type DeviceCaps } from './caps.js';
import type { Module, Pass, PassOptions } from './pass.js';
import { runPipeline } from './pipeline.js';
import { SpecializationError } from './passes/fuse.js';
import { printGraph } from './print.js';
import { TARGETS } from '../targets/index.js';

/** `wgsl` runs the kernel passes and renders them; `webgl` plans from the graph at run time (targets/webgl). */
export type Target = 'none' | 'wgsl' | 'webgl';

export interface CompileOptions {
  /** Path shown in diagnostics. Default `<input>`. */
  path?: string;
  /** Which definition, when the file has several. */
  entry?: string;
  /** Param overrides (`--param window=256`). */
  params?: ParamValues;
  /** `none`: stop after the graph passes (enough for the reference executor). */
  target?: Target;
  /** Run the kernel passes even without a kernel target (to print the kernel IR). */
  kernels?: boolean;
  /** false: materialised scores instead of fused kernels (the benchmark baseline). */
  fusion?: boolean;
  /** Sizes to specialise kernels on (head dims); default: the program's `dims`. */
  dims?: Record<string, number>;
  /** Device capabilities the schedule may use. Default: WebGPU's guaranteed limits. */
  caps?: DeviceCaps;
  /** Force the subgroup path's rows per invocation (tests). */
  rowsPerThread?: number;
  /** false: masks that read tensors are not bounded through their values (PassOptions.tensorBounds). */
  tensorBounds?: boolean;
  /** Sees the module after each pass (for `--emit <pass>`). */
  onPass?: (pass: Pass, m: Module) => void;
}

export interface CompileResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  file: SourceFile;
  ast: Program | null;
  /** Names of every definition in the file. */
  entries: string[];
  graph: Graph | null;
  kernels: Kernel[] | null;
  /** With `target: 'wgsl'`: each kernel's WGSL source, in dispatch order. */
  wgsl: { name: string; source: string }[] | null;
  /** What the kernels were built with; part of the cache key. */
  passOptions: PassOptions;
  /** Hash of the optimised graph and pass options: equal keys mean equal kernels. */
  key: string;
}

export function compile(source: string | SourceFile, options: CompileOptions = {}): CompileResult {
  const file: SourceFile = typeof source === 'string' ? { path: options.path ?? '<input>', text: source } : source;
  const passOptions: PassOptions = {
    target: options.target === 'webgl' ? 'webgl' : 'wgsl',
    fusion: options.fusion ?? true, caps: options.caps ?? DEFAULT_CAPS, dims: options.dims ?? {},
    ...(options.rowsPerThread !== undefined ? { rowsPerThread: options.rowsPerThread } : {}),
    ...(options.tensorBounds === false ? { tensorBounds: false } : {}),
  };
  const result: CompileResult = {
    ok: false, diagnostics: [], file, ast: null, entries: [], graph: null, kernels: null, wgsl: null, passOptions, key: '',
  };
  const fail = (diags: Diagnostic[]): CompileResult => {
    result.diagnostics.push(...diags.map((d) => ({ ...d, file: d.file ?? file })));
    return result;
  };

  const checked = check(file, { params: options.params });
  result.ast = checked.program;
  result.entries = checked.program.attentions.map((a) => a.name.name);

  const defs = checked.program.attentions;
  let def: Attention | undefined = defs[0];
  if (options.entry !== undefined) {
    def = defs.find((a) => a.name.name === options.entry);
    if (!def) return fail([...checked.diagnostics, diag('AT606', [options.entry, listNames(result.entries)])]);
  } else if (hasErrors(checked.diagnostics)) {
    return fail(checked.diagnostics);
  } else if (defs.length > 1) {
    return fail([diag('AT607', [listNames(result.entries)])]);
  }
  if (!def) return fail([diag('AT605', [])]);
  if (hasErrors(checked.diagnostics)) {
    // With --entry, errors inside the other definitions do not stop this one: they are
    // reported as warnings (that definition is not compiled). Anything of this one, or
    // of no definition (junk between definitions, a duplicated name), still stops it.
    const others = otherDefinitions(checked.diagnostics, defs, def);
    if (!others) return fail(checked.diagnostics);
    result.diagnostics.push(...others);
  }

  const lowered = lowerAttention(def, options.params);
  if (!lowered.graph) return fail(lowered.diagnostics);
  const unknown = unknownDims(lowered.graph, options.dims ?? {});
  if (unknown.length) return fail(unknown);

  let m: Module;
  try {
    m = runPipeline({ graph: lowered.graph, kernels: null }, passOptions, {
      to: options.target === 'wgsl' || options.kernels ? 'kernel' : 'graph',
      onPass: options.onPass,
    });
  } catch (e) {
    if (!(e instanceof SpecializationError)) throw e;
    const hint = `give \`${e.dim}\` a default in \`dims\`, or pass its size (--dims ${e.dim}=64)`;
    return fail([diag(e.every ? 'AT705' : 'AT712', [e.dim], undefined, e.every ? `the WebGL target specialises on every dim: ${hint}` : hint)]);
  }
  result.graph = m.graph;
  result.kernels = m.kernels;
  result.wgsl = options.target === 'wgsl' && m.kernels ? m.kernels.map((k) => ({ name: k.name, source: TARGETS.wgsl.render(k) })) : null;
  result.key = cacheKey(m.graph, passOptions);
  result.ok = true;
  return result;
}

/**
 * The diagnostics as warnings when every one lies inside a definition other than `def`
 * (whose name is not also `def`'s), each naming that definition in its hint; else null.
 */
function otherDefinitions(diags: Diagnostic[], defs: Attention[], def: Attention): Diagnostic[] | null {
  const out: Diagnostic[] = [];
  for (const d of diags) {
    const home = d.span && defs.find((a) => a.span.start <= d.span!.start && d.span!.end <= a.span.end);
    if (!home || home === def || home.name.name === def.name.name) return null;
    const note = `in \`${home.name.name}\`, which is not the entry: it is not compiled`;
    out.push({ ...d, severity: 'warning', hint: d.hint ? `${d.hint}; ${note}` : note });
  }
  return out;
}

/**
 * `dims` given for names the program does not have (a typo, another program's dims): AT714
 * each, with the closest name as a hint. A program's dims are its `dims` defaults and the
 * dims of its inputs' shapes (every other dim would have no size anyway: AT705).
 */
function unknownDims(g: Graph, dims: Readonly<Record<string, number>>): Diagnostic[] {
  const known = new Set(Object.keys(g.dimDefaults));
  for (const id of g.inputs) for (const e of g.nodes[id]!.shape) dimsOf(e, known);
  const names = [...known];
  return Object.keys(dims).filter((d) => !known.has(d)).map((d) => {
    const near = names.find((k) => k.toLowerCase() === d.toLowerCase()) ?? (d.length > 1 ? closest(d, names) : undefined);
    return diag('AT714', [g.name, d, names.join(', ') || '(none)'], undefined, near ? `did you mean ${near}?` : undefined);
  });
}

function listNames(names: string[]): string {
  return names.map((n) => `\`${n}\``).join(', ');
}

/** Key for caches of compiled artefacts: the optimised graph, the options, the device caps. */
export function cacheKey(g: Graph, opts: PassOptions): string {
  return fnv1a(`${printGraph(g, { bodies: true })}\n${JSON.stringify(opts)}`);
}

/** 64-bit FNV-1a as hex: small, dependency-free, and the same in Node and browsers. */
function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let k = 0; k < text.length; k++) {
    h ^= BigInt(text.charCodeAt(k));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
