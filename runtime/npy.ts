// NumPy .npy files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
//
// Read: format 1.0, 2.0 (and 3.0, a 2.0 with a UTF-8 header); little-endian `<f4`, `<f8`,
// `<i4` and `<f2` (decoded to float32); C order only. Write: format 1.0 (2.0 only if the
// header would not fit), `<f4`, `<f8`, `<i4` or `<f2`, with the header padded with spaces and a
// final newline so that the data starts at a multiple of 64 bytes, exactly as NumPy does.
// Every error names the file and what is wrong. The codec works on bytes and runs anywhere
// (browsers included); reading and writing files is runtime/node/npy-file.ts (Node only).

import { floatToHalf, halfToFloat } from '../dsl/f16.js';
import { size, type Tensor, type TensorData } from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;

/** Element types this module reads. */
export type NpyReadDtype = '<f4' | '<f8' | '<i4' | '<f2';
/** Element types this module writes. */
export type NpyWriteDtype = '<f4' | '<f8' | '<i4' | '<f2';

export interface NpyHeader {
  version: [number, number];
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** A malformed or unsupported .npy (or an unreadable file): the message names the source. */
export class NpyError extends Error {
  constructor(source: string, what: string) {
    super(`${source}: ${what}`);
    this.name = 'NpyError';
  }
}

// ---- a parser for the header's Python dict literal ----

type PyValue = string | number | boolean | PyValue[] | { tuple: PyValue[] };

function parseHeaderDict(text: string, source: string): Map<string, PyValue> {
  let p = 0;
  const bad = (what: string): never => {
    throw new NpyError(source, `malformed header (${what} at offset ${p}): ${JSON.stringify(text.trim())}`);
  };
  const ws = () => {
    while (p < text.length && /\s/.test(text[p]!)) p++;
  };
  const eat = (c: string): boolean => {
    ws();
    if (text[p] === c) {
      p++;
      return true;
    }
    return false;
  };
  const expect = (c: string) => {
    if (!eat(c)) bad(`expected '${c}'`);
  };
  const value = (): PyValue => {
    ws();
    const c = text[p];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, p + 1);
      if (end < 0) bad('unterminated string');
      const s = text.slice(p + 1, end);
      p = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      p++;
      const items: PyValue[] = [];
      while (!eat(close)) {
        items.push(value());
        if (!eat(',')) {
          expect(close);
          break;
        }
      }
      return c === '(' ? { tuple: items } : items;
    }
    const m = /^(True|False|-?\d+L?)/.exec(text.slice(p));
    if (!m) return bad('unexpected token');
    p += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    return Number(m[0].replace('L', ''));
  };
  const out = new Map<string, PyValue>();
  expect('{');
  while (!eat('}')) {
    const k = value();
    if (typeof k !== 'string') bad('expected a string key');
    expect(':');
    out.set(k as string, value());
    if (!eat(',')) {
      expect('}');
      break;
    }
  }
  ws();
  if (p !== text.length) bad('trailing characters');
  return out;
}

/** Parse the header of an .npy file. */
export function parseNpyHeader(bytes: Uint8Array, source = '<npy>'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw new NpyError(source, 'not a NumPy .npy file (bad magic string; expected \\x93NUMPY)');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(source, 'truncated header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new NpyError(source, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  if (start + headerLen > bytes.length) {
    throw new NpyError(source, `truncated header: it declares ${headerLen} bytes but the file has ${bytes.length - start} after the preamble`);
  }
  const raw = bytes.subarray(start, start + headerLen);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(raw);
  const dict = parseHeaderDict(text, source);
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') {
    throw new NpyError(source, `header must have exactly the keys 'descr', 'fortran_order', 'shape'; found ${[...dict.keys()].map((k) => `'${k}'`).join(', ')}`);
  }
  const descr = dict.get('descr');
  if (typeof descr !== 'string') {
    throw new NpyError(source, `unsupported dtype ${JSON.stringify(descr)} (structured dtypes are not supported; use <f4, <f8, <i4 or <f2)`);
  }
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') throw new NpyError(source, `malformed header: 'fortran_order' must be True or False`);
  const shapeV = dict.get('shape');
  if (typeof shapeV !== 'object' || shapeV === null || !('tuple' in shapeV)) {
    throw new NpyError(source, `malformed header: 'shape' must be a tuple`);
  }
  const shape = shapeV.tuple.map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new NpyError(source, `malformed header: invalid shape entry ${JSON.stringify(d)}`);
    }
    return d;
  });
  return { version: [major, minor], descr, fortranOrder: fortran, shape, dataOffset: start + headerLen };
}

const ITEM: Record<NpyReadDtype, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<f2': 2 };

function checkDescr(descr: string, source: string): NpyReadDtype {
  if (descr in ITEM) return descr as NpyReadDtype;
  const order = descr[0];
  const rest = descr.slice(1);
  if (order === '>' && ('<' + rest) in ITEM) {
    throw new NpyError(source, `big-endian data (${descr}) is not supported; save it little-endian (e.g. x.astype('<${rest}'))`);
  }
  const hint = /^[<=|]?i8$/.test(descr) ? ` (convert with x.astype(np.int32))` : '';
  throw new NpyError(source, `unsupported dtype ${descr}; supported: <f4, <f8, <i4, <f2${hint}`);
}

/**
 * What a header declares, checked against the file's length (`total` bytes): a supported
 * dtype, C order, and exactly the bytes its shape needs after the header. From the header
 * alone, so a reader can refuse a file before reading (or allocating for) its data.
 */
export function npyDataLayout(h: NpyHeader, total: number, source = '<npy>'): { dtype: NpyReadDtype; elements: number; bytes: number } {
  const dtype = checkDescr(h.descr, source);
  const n = size(h.shape);
  if (h.fortranOrder) {
    throw new NpyError(source, `Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray(x))`);
  }
  const need = n * ITEM[dtype];
  const have = total - h.dataOffset;
  if (have < need) {
    throw new NpyError(source, `truncated data: shape (${h.shape.join(', ')}) of ${h.descr} needs ${need} bytes but the file has ${have}`);
  }
  if (have > need) {
    throw new NpyError(source, `${have - need} unexpected bytes after the data of shape (${h.shape.join(', ')}) of ${h.descr}`);
  }
  return { dtype, elements: n, bytes: need };
}

/**
 * Decode an .npy file's bytes. `<f4` and `<f2` give a Float32Array, `<f8` a Float64Array,
 * `<i4` an Int32Array. `source` names the file in errors.
 */
export function decodeNpy(bytes: Uint8Array, source = '<npy>'): Tensor {
  const h = parseNpyHeader(bytes, source);
  const { dtype, elements: n, bytes: need } = npyDataLayout(h, bytes.length, source);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, need);
  let data: TensorData;
  switch (dtype) {
    case '<f4': {
      const a = new Float32Array(n);
      for (let k = 0; k < n; k++) a[k] = dv.getFloat32(4 * k, true);
      data = a;
      break;
    }
    case '<f8': {
      const a = new Float64Array(n);
      for (let k = 0; k < n; k++) a[k] = dv.getFloat64(8 * k, true);
      data = a;
      break;
    }
    case '<i4': {
      const a = new Int32Array(n);
      for (let k = 0; k < n; k++) a[k] = dv.getInt32(4 * k, true);
      data = a;
      break;
    }
    case '<f2': {
      const a = new Float32Array(n);
      for (let k = 0; k < n; k++) a[k] = halfToFloat(dv.getUint16(2 * k, true));
      data = a;
      break;
    }
  }
  return { data, shape: h.shape };
}

/** The dtype a tensor is written as by default: its own element type. */
export function defaultNpyDtype(t: Tensor): NpyWriteDtype {
  return t.data instanceof Float32Array ? '<f4' : t.data instanceof Int32Array ? '<i4' : '<f8';
}

function header(descr: string, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // NumPy's _wrap_header: pad with spaces, end with '\n', so the preamble + header is a
  // multiple of 64 bytes (padding of 1..64 bytes, never 0).
  for (const [major, lenBytes] of [[1, 2], [2, 4]] as const) {
    const hlen = dict.length + 1;
    const pad = ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ALIGN);
    const total = hlen + pad;
    if (major === 1 && total > 0xffff) continue;
    const out = new Uint8Array(MAGIC.length + 2 + lenBytes + total);
    out.set(MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const dv = new DataView(out.buffer);
    if (lenBytes === 2) dv.setUint16(8, total, true);
    else dv.setUint32(8, total, true);
    const body = dict + ' '.repeat(pad) + '\n';
    const o = MAGIC.length + 2 + lenBytes;
    for (let k = 0; k < body.length; k++) out[o + k] = body.charCodeAt(k);
    return out;
  }
  throw new Error('unreachable');
}

/**
 * Encode a tensor as .npy bytes (C order). `dtype` defaults to the tensor's own element
 * type. Writing `<i4` requires integral values within the int32 range.
 */
export function encodeNpy(t: Tensor, dtype: NpyWriteDtype = defaultNpyDtype(t)): Uint8Array {
  const n = size(t.shape);
  if (t.data.length !== n) {
    throw new Error(`encodeNpy: data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${n}`);
  }
  const item = dtype === '<f8' ? 8 : dtype === '<f2' ? 2 : 4;
  if (!['<f4', '<f8', '<i4', '<f2'].includes(dtype)) throw new Error(`encodeNpy: unsupported dtype ${String(dtype)}; use <f4, <f8, <i4 or <f2`);
  const head = header(dtype, t.shape);
  const out = new Uint8Array(head.length + n * item);
  out.set(head, 0);
  const dv = new DataView(out.buffer, head.length);
  const src = t.data;
  for (let k = 0; k < n; k++) {
    const x = src[k]!;
    if (dtype === '<f4') dv.setFloat32(4 * k, x, true);
    else if (dtype === '<f8') dv.setFloat64(8 * k, x, true);
    else if (dtype === '<f2') dv.setUint16(2 * k, floatToHalf(x), true); // (the nearest f16: exact for f16 values)
    else {
      if (!Number.isInteger(x) || x < -2147483648 || x > 2147483647) {
        throw new Error(`encodeNpy: element ${k} (${x}) is not an int32; cannot write <i4`);
      }
      dv.setInt32(4 * k, x, true);
    }
  }
  return out;
}
