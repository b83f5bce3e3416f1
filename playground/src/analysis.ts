// What the page shows about a program, computed on the main thread on every edit (compile()
// takes about a millisecond): diagnostics, the dims and params it declares, the module
// after each pass, each kernel's WGSL, the dispatch plan and the tile map of each attend —
// all through compile() and the printers the CLI uses, so the page and `attnc compile`
// print the same text.

import { CAPS_PRESETS, type DeviceCaps } from '../../compiler/caps.js';
import { compile, type CompileResult } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir.js';
import { printKernels } from '../../compiler/print-kernels.js';
import { printGraph } from '../../compiler/print.js';
import { printPlan } from '../../cli/plan.js';
import { tileMap, type TileMap } from '../../cli/tilemap.js';
import type { Attention } from '../../dsl/ast.js';
import { graphDims } from '../../runtime/shapes.js';
import type { Dims, Params } from './protocol.js';

/** Which device the kernel IR is scheduled for: a preset of compiler/caps.ts, this browser's device, or WebGL. */
export type Schedule = { kind: 'caps'; name: string; caps: DeviceCaps } | { kind: 'webgl' };

export const PRESET_SCHEDULES: readonly Schedule[] = Object.entries(CAPS_PRESETS).map(([name, caps]) => ({ kind: 'caps', name, caps }));

export interface DimControl {
  name: string;
  value: number;
  /** The program's `dims` default. */
  initial: number;
  /** Bound by an input's shape: only those can change at run time (others keep their default). */
  bound: boolean;
}

export interface ParamControl {
  name: string;
  value: number | boolean;
  initial: number | boolean;
  isFloat: boolean;
}

export interface PassView {
  name: string;
  stage: 'graph' | 'kernel';
  summary: string;
  text: string;
}

export interface Analysis {
  result: CompileResult;
  /** The entry compiled (null: none could be chosen). */
  def: Attention | null;
  dims: DimControl[];
  params: ParamControl[];
  /** Effective dims: every dim the program reads. Empty when compile failed. */
  dimValues: Dims;
  passes: PassView[];
  wgsl: { name: string; source: string }[];
  plan: string;
  maps: TileMap[];
}

/** Params as the program declares them, with the overrides that apply (unknown names are dropped). */
function paramControls(def: Attention | null, overrides: Params): ParamControl[] {
  const out: ParamControl[] = [];
  for (const st of def?.statements ?? []) {
    if (st.kind !== 'param') continue;
    for (const e of st.entries) {
      const given = overrides[e.name.name];
      const value = given !== undefined && typeof given === typeof e.value ? given : e.value;
      out.push({ name: e.name.name, value, initial: e.value, isFloat: e.isFloat });
    }
  }
  return out;
}

/** The names of the dims that some input's shape binds directly (`f32[B, H, N, D]`). */
function boundDims(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const id of g.inputs) for (const e of g.nodes[id]!.shape) if (e.op === 'dim') out.add(e.name);
  return out;
}

export function analyze(source: string, entry: string | undefined, paramOverrides: Params, dimOverrides: Dims, schedule: Schedule): Analysis {
  const passes: PassView[] = [];
  // Compile once without overrides to learn what the program declares, so that overrides
  // of params it no longer has (after an edit) do not become errors of their own.
  const declared = compile(source, { path: 'playground.attn', entry });
  const def = declared.ast?.attentions.find((a) => a.name.name === (entry ?? declared.entries[0])) ?? null;
  const params = paramControls(def, paramOverrides);
  const paramValues = Object.fromEntries(params.filter((p) => p.value !== p.initial).map((p) => [p.name, p.value]));
  const g0 = declared.graph;
  const bound = g0 ? boundDims(g0) : new Set<string>();
  const dims: DimControl[] = g0
    ? graphDims(g0).filter((d) => g0.dimDefaults[d] !== undefined).map((d) => {
      const initial = g0.dimDefaults[d]!;
      const given = dimOverrides[d];
      return { name: d, initial, bound: bound.has(d), value: bound.has(d) && given !== undefined ? given : initial };
    })
    : [];
  const dimValues = Object.fromEntries(dims.map((d) => [d.name, d.value]));
  const result = compile(source, {
    path: 'playground.attn',
    entry,
    params: paramValues,
    dims: dimValues,
    target: schedule.kind === 'webgl' ? 'webgl' : 'wgsl',
    kernels: true,
    ...(schedule.kind === 'caps' ? { caps: schedule.caps } : {}),
    onPass: (p, m) => {
      passes.push({
        name: p.name, stage: p.stage, summary: p.summary,
        text: p.stage === 'kernel' ? printKernels(m.kernels ?? [], m.graph) : printGraph(m.graph, { bodies: true }),
      });
    },
  });
  const g = result.graph;
  const complete = !!g && graphDims(g).every((d) => dimValues[d] !== undefined);
  return {
    result,
    def,
    dims,
    params,
    dimValues: complete ? dimValues : {},
    passes,
    wgsl: result.wgsl ?? [],
    plan: complete && result.kernels && schedule.kind !== 'webgl' ? printPlan(result.kernels, dimValues) : '',
    maps: complete ? g!.nodes.flatMap((n) => (n.op === 'attend' ? [tileMap(g!, n, dimValues)] : [])) : [],
  };
}
