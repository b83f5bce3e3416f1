// .npy files on disk (Node only): the byte codec is runtime/npy.ts, which the browser
// build keeps; this module is what needs `node:fs`, so only the Node entry exports it.
//
// Reading is bounded by what the file declares: it is opened without blocking (a FIFO
// would wait for a writer forever), refused unless it is a regular file (a symlink to
// /dev/zero would never end), and its header is read and checked — magic, dtype, C order,
// and the declared data size against the file's size (fstat) — before any data is read.
// `readNpyHeader` stops there, so callers can refuse a file by its shape (a device limit)
// without reading it.

import { closeSync, constants, fstatSync, openSync, readSync, writeFileSync, type Stats } from 'node:fs';
import { decodeNpy, encodeNpy, npyDataLayout, NpyError, parseNpyHeader, type NpyHeader, type NpyReadDtype, type NpyWriteDtype } from '../npy.js';
import type { Tensor } from '../tensor.js';

/** Headers longer than this are refused (NumPy writes a few hundred bytes; format 1.0 allows 65 535). */
export const MAX_HEADER_BYTES = 1 << 20;

/** What an .npy file declares, checked against its size. */
export interface NpyFileInfo {
  header: NpyHeader;
  dtype: NpyReadDtype;
  shape: number[];
  elements: number;
  /** Bytes of data after the header. */
  dataBytes: number;
  /** The file's size. */
  fileBytes: number;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Open `path` for reading without blocking; a regular file or an NpyError naming what it is. */
function openRegular(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NpyError(path, code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new NpyError(path, `is ${kindOf(st)}, not a regular file; an input must be an .npy file`);
  }
  return { fd, size: st.size };
}

/** Exactly `n` bytes at `position` (fewer only if the file shrank meanwhile: an error). */
function readAt(fd: number, path: string, n: number, position: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = readSync(fd, buf, got, n - got, position + got);
    if (k === 0) throw new NpyError(path, `the file ended after ${position + got} bytes while reading it (was it changed?)`);
    got += k;
  }
  return buf;
}

/** The header of an open file and what it declares, checked against the file's size. */
function header(fd: number, size: number, path: string): NpyFileInfo {
  const pre = readAt(fd, path, Math.min(size, 12), 0);
  const npy = pre.length >= 10 && [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59].every((b, k) => pre[k] === b);
  // Not an .npy file, or an unknown version: parseNpyHeader says which.
  if (!npy || !(pre[6] === 1 || pre[6] === 2 || pre[6] === 3)) parseNpyHeader(pre, path);
  // The header length field: 2 bytes at 8 (format 1.0), 4 bytes (2.0 and 3.0).
  const dv = new DataView(pre.buffer);
  const headerLen = pre.length >= 10 && pre[6] === 1 ? dv.getUint16(8, true) : pre.length >= 12 ? dv.getUint32(8, true) : 0;
  if (headerLen > MAX_HEADER_BYTES) throw new NpyError(path, `the header declares ${headerLen} bytes; at most ${MAX_HEADER_BYTES} are read`);
  const start = pre[6] === 1 ? 10 : 12;
  const head = readAt(fd, path, Math.min(size, start + headerLen), 0);
  // parseNpyHeader checks the magic and version, and that the header fits the file.
  const h = parseNpyHeader(head, path);
  const { dtype, elements, bytes } = npyDataLayout(h, size, path);
  return { header: h, dtype, shape: h.shape, elements, dataBytes: bytes, fileBytes: size };
}

/** What an .npy file declares (dtype, shape, sizes), read and checked without reading its data. */
export function readNpyHeader(path: string): NpyFileInfo {
  const { fd, size } = openRegular(path);
  try {
    return header(fd, size, path);
  } finally {
    closeSync(fd);
  }
}

/** Read an .npy file. Errors name the file. */
export function readNpy(path: string): Tensor {
  const { fd, size } = openRegular(path);
  try {
    header(fd, size, path); // refuse a bad file before reading its data
    return decodeNpy(readAt(fd, path, size, 0), path);
  } finally {
    closeSync(fd);
  }
}

/** Write a tensor to an .npy file (`dtype` defaults to the tensor's own element type). */
export function writeNpy(path: string, t: Tensor, dtype?: NpyWriteDtype): void {
  writeFileSync(path, encodeNpy(t, dtype));
}
