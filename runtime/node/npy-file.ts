// .npy files on disk (Node only): the byte codec is runtime/npy.ts, which the browser
// build keeps; this module is what needs `node:fs`, so only the Node entry exports it.

import { readFileSync, writeFileSync } from 'node:fs';
import { decodeNpy, encodeNpy, NpyError, type NpyWriteDtype } from '../npy.js';
import type { Tensor } from '../tensor.js';

/** Read an .npy file. Errors name the file. */
export function readNpy(path: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NpyError(path, code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`);
  }
  return decodeNpy(bytes, path);
}

/** Write a tensor to an .npy file (`dtype` defaults to the tensor's own element type). */
export function writeNpy(path: string, t: Tensor, dtype?: NpyWriteDtype): void {
  writeFileSync(path, encodeNpy(t, dtype));
}
