// The whole lowering as one flat, ordered list of named passes. Read it top to bottom;
// `attnc compile --emit <name>` prints the module after any of them. Graph passes run for
// every backend (the reference executor runs their output); kernel passes build the kernel
// IR that the targets render.

import type { Module, Pass, PassOptions } from './pass.js';
import { expandBuiltins } from './passes/expand-builtins.js';
import { fuse } from './passes/fuse.js';
import { simplify } from './passes/simplify.js';
import { tile } from './passes/tile.js';
import { verify } from './passes/verify.js';

export const PIPELINE: readonly Pass[] = [
  verify,
  expandBuiltins,
  simplify,
  fuse,
  tile,
];

export const PASS_NAMES = PIPELINE.map((p) => p.name);

export function findPass(name: string): Pass | undefined {
  return PIPELINE.find((p) => p.name === name);
}

/**
 * Run the pipeline. `stage: 'graph'` stops before the kernel passes (the reference
 * executor needs nothing more). `onPass` sees the module after each pass.
 */
export function runPipeline(
  m: Module,
  opts: PassOptions,
  { stage = 'kernel', onPass }: { stage?: 'graph' | 'kernel'; onPass?: (pass: Pass, m: Module) => void } = {},
): Module {
  for (const pass of PIPELINE) {
    if (stage === 'graph' && pass.stage === 'kernel') break;
    m = pass.run(m, opts);
    onPass?.(pass, m);
  }
  return m;
}
