// What `attnc run`/`compile` check before doing any work, so hostile or mistyped input is
// refused by name instead of being ignored or failing deep inside: --dims names the
// program does not have, a --save target that is not a directory, and --inputs files that
// are not regular files or are larger than the chosen backend can take (decided from
// their headers, before their data is read).

import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../compiler/ir.js';
import { AttncError, diag, type Diagnostic } from '../dsl/diagnostics.js';
import { checkInputLimits, MAX_ELEMENTS, type InputLimits } from '../runtime/limits.js';
import { readNpy, readNpyHeader, type NpyFileInfo } from '../runtime/node/npy-file.js';
import type { Tensor } from '../runtime/tensor.js';

/** The largest value of a dim: kernels index with 32-bit ints. */
export const MAX_DIM = 2 ** 31 - 1;

/**
 * --save DIR writes DIR/<name>.npy for each output (`out.npy` for a single unnamed one):
 * DIR may be missing (it is made) or a directory; an existing file is overwritten, as
 * numpy.save does, unless it is not a regular file. Anything else is refused before the
 * program runs (`usage(message)`).
 */
export function checkSaveDir(dir: string, names: readonly string[], usage: (m: string) => Error): void {
  checkOutputDir('--save', dir, 'writes DIR/out.npy', usage);
  for (const name of names) {
    const out = join(dir, `${name}.npy`);
    const o = lstatSync(out, { throwIfNoEntry: false });
    if (o && !o.isFile()) throw usage(`--save ${dir}: ${out} exists and is not a regular file; remove it or pick another DIR`);
  }
}

/** An output directory option (`--save`, `compile -o`): missing (it is made) or a directory. */
export function checkOutputDir(flag: string, dir: string, what: string, usage: (m: string) => Error): void {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw usage(`${flag} ${dir}: is a file, not a directory; ${flag} DIR ${what}`);
}

/**
 * Read each input `name` from DIR/name.npy for a backend with `limits`: first every header
 * (every file is checked: a regular file, a valid header, its declared size equal to the
 * file's), then the shapes against the limits, and only then the data. An `<i4` file for
 * a float input is read as floats (exactly, up to 2^24) and reported in `notes`.
 */
export function readInputFiles(graph: Graph, names: string[], dir: string, limits: InputLimits): { inputs: Record<string, Tensor>; notes: string[] } {
  const headers = new Map<string, NpyFileInfo>();
  const problems: Diagnostic[] = [];
  for (const name of names) {
    try {
      headers.set(name, readNpyHeader(join(dir, `${name}.npy`)));
    } catch (e) {
      problems.push(diag('AT703', [name, (e as Error).message]));
    }
  }
  if (problems.length) throw new AttncError(problems);
  for (const [name, h] of headers) {
    if (h.elements > MAX_ELEMENTS) {
      throw new AttncError([diag('AT713', [name, h.shape.join(', '), `${h.elements} elements, more than ${MAX_ELEMENTS}`], undefined,
        'tensors are indexed with 32-bit ints on every backend')]);
    }
  }
  checkInputLimits(Object.fromEntries([...headers].map(([n, h]) => [n, h.shape])), limits);

  const notes: string[] = [];
  const elem = new Map(graph.inputs.map((id) => [graph.nodes[id]!.name!, graph.nodes[id]!.elem]));
  const inputs: Record<string, Tensor> = {};
  for (const [name, h] of headers) {
    inputs[name] = readNpy(join(dir, `${name}.npy`));
    if (h.dtype === '<i4' && elem.get(name) !== 'i32') {
      notes.push(`input \`${name}\` is declared ${elem.get(name)} but ${name}.npy holds <i4 integers: read as floats (exact up to 2^24)`);
    }
  }
  return { inputs, notes };
}
