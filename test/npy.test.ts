import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, parseNpyHeader } from '../runtime/npy.js';
import { halfToFloat } from '../dsl/f16.js';
import { readNpy, writeNpy } from '../runtime/node/npy-file.js';
import { tensor } from '../runtime/tensor.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A format-1.0 file with the given header dict (padded to 64) and data bytes. */
function npyFile(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const pad = 64 - ((pre + dict.length + 1) % 64);
  const header = dict + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, ...ascii('NUMPY'), major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(ascii(header), pre);
  out.set(data, pre + header.length);
  return out;
}

test('round trip f4, f8, i4', (t) => {
  const cases = [
    tensor([2, 3], Float32Array.from([0, 1.5, -2, 3.25, 1e-8, -0])),
    tensor([3, 1, 2], Float64Array.from([Math.PI, -Math.E, 1e300, -1e-300, Infinity, NaN])),
    tensor([4], Int32Array.from([0, -1, 2147483647, -2147483648])),
    tensor([], Float64Array.from([42])),
    tensor([0, 5], new Float32Array(0)),
  ];
  for (const x of cases) {
    const back = decodeNpy(encodeNpy(x));
    t.deepEqual(back.shape, x.shape);
    t.is(back.data.constructor, x.data.constructor);
    t.deepEqual(Array.from(back.data), Array.from(x.data));
    t.true(back.data.every((v, k) => Object.is(v, x.data[k])));
  }
});

test('explicit dtypes on write', (t) => {
  const x = tensor([3], [0.1, 2, -3]);
  const f4 = decodeNpy(encodeNpy(x, '<f4'));
  t.true(f4.data instanceof Float32Array);
  t.deepEqual(Array.from(f4.data), [Math.fround(0.1), 2, -3]);
  const i4 = decodeNpy(encodeNpy(tensor([2], [7, -8]), '<i4'));
  t.deepEqual(Array.from(i4.data), [7, -8]);
  t.throws(() => encodeNpy(x, '<i4'), { message: /not an int32/ });
});

test('header: NumPy dict, space padding, newline, 64-byte alignment (format 1.0)', (t) => {
  for (const shape of [[2, 3], [5], [], [1, 2, 3, 4, 5, 6, 7, 8], [123456789, 0]]) {
    const bytes = encodeNpy(tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1))));
    const h = parseNpyHeader(bytes);
    t.deepEqual(h.version, [1, 0]);
    t.is(h.dataOffset % 64, 0);
    const hlen = new DataView(bytes.buffer).getUint16(8, true);
    t.is(10 + hlen, h.dataOffset);
    t.is(bytes[h.dataOffset - 1], 0x0a);
    const text = new TextDecoder('latin1').decode(bytes.subarray(10, h.dataOffset));
    const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    t.true(text.startsWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`), text);
    t.regex(text, /} +\n$/);
  }
});

test('reads a file written by NumPy 2.4 (f4, with its growth padding)', (t) => {
  // np.save(np.arange(6, dtype='<f4').reshape(2, 3))
  const bytes = hex(
    '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f0000004000004040000080400000a040',
  );
  const x = decodeNpy(bytes);
  t.deepEqual(x.shape, [2, 3]);
  t.deepEqual(Array.from(x.data), [0, 1, 2, 3, 4, 5]);
});

test('reads f2 (half) files as float32', (t) => {
  // hand-constructed: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), inf, NaN, -0, 0.333
  const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00, 0x8000, 0x3555];
  const data = new Uint8Array(halves.length * 2);
  halves.forEach((h, k) => new DataView(data.buffer).setUint16(2 * k, h, true));
  const x = decodeNpy(npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 4), }", data));
  t.true(x.data instanceof Float32Array);
  t.deepEqual(x.shape, [2, 4]);
  const v = Array.from(x.data);
  t.deepEqual(v.slice(0, 5), [1, -2, 65504, 2 ** -24, Infinity]);
  t.true(Number.isNaN(v[5]!));
  t.true(Object.is(v[6], -0));
  t.is(v[7], Math.fround(0.333251953125));
  t.is(halfToFloat(0x0400), 2 ** -14);
  // and NumPy's own: np.array([1.5, -2, 65504, 6e-8, inf], dtype='<f2')
  const np = decodeNpy(
    hex(
      '934e554d5059010076007b276465736372273a20273c6632272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028352c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a003e00c0ff7b0100007c',
    ),
  );
  t.deepEqual(Array.from(np.data), [1.5, -2, 65504, 2 ** -24, Infinity]);
});

test('reads format 2.0 and old-style headers', (t) => {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setFloat64(0, 2.5, true);
  const x = decodeNpy(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data, 2));
  t.deepEqual(Array.from(x.data), [2.5]);
  // Python 2 long suffixes, double quotes, other key order
  const y = decodeNpy(npyFile(`{"shape": (1L,), "fortran_order": False, "descr": "<f8"}`, data));
  t.deepEqual(Array.from(y.data), [2.5]);
});

test('errors name the file and the problem', (t) => {
  const f4 = new Uint8Array(8);
  const src = 'in/q.npy';
  t.throws(() => decodeNpy(ascii('PK\x03\x04 not numpy'), src), { message: /^in\/q\.npy: not a NumPy \.npy file \(bad magic/ });
  t.throws(() => decodeNpy(npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f4), src), {
    message: /^in\/q\.npy: big-endian data \(>f4\) is not supported/,
  });
  t.throws(() => decodeNpy(npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", f4), src), {
    message: /^in\/q\.npy: unsupported dtype <i8; supported: <f4, <f8, <i4, <f2 \(convert with x\.astype\(np\.int32\)\)/,
  });
  t.throws(() => decodeNpy(npyFile("{'descr': '|u1', 'fortran_order': False, 'shape': (8,), }", f4), src), { message: /unsupported dtype \|u1/ });
  t.throws(() => decodeNpy(npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f4), src), {
    message: /structured dtypes are not supported/,
  });
  t.throws(() => decodeNpy(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", f4), src), {
    message: /^in\/q\.npy: Fortran-order arrays are not supported/,
  });
  t.throws(() => decodeNpy(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4), src), {
    message: /^in\/q\.npy: truncated data: shape \(3\) of <f4 needs 12 bytes but the file has 8/,
  });
  t.throws(() => decodeNpy(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4), src), {
    message: /4 unexpected bytes after the data/,
  });
  t.throws(() => decodeNpy(npyFile("{'descr': '<f4', 'shape': (2,), }", f4), src), { message: /exactly the keys/ });
  t.throws(() => decodeNpy(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, }", f4), src), { message: /malformed header/ });
  const v9 = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4);
  v9[6] = 9;
  t.throws(() => decodeNpy(v9, src), { message: /unsupported \.npy format version 9\.0/ });
  const cut = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4).subarray(0, 40);
  t.throws(() => decodeNpy(cut, src), { message: /^in\/q\.npy: truncated header/ });
});

test('readNpy / writeNpy on disk', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-npy-'));
  const p = join(dir, 'x.npy');
  const x = tensor([2, 2], Float64Array.from([1, 2, 3, 4]));
  writeNpy(p, x, '<f4');
  const y = readNpy(p);
  t.true(y.data instanceof Float32Array);
  t.deepEqual(Array.from(y.data), [1, 2, 3, 4]);
  t.is(readFileSync(p).length, 128 + 16);
  t.throws(() => readNpy(join(dir, 'missing.npy')), { message: /missing\.npy: no such file/ });
  writeFileSync(join(dir, 'bad.npy'), 'hello');
  t.throws(() => readNpy(join(dir, 'bad.npy')), { message: /bad\.npy: not a NumPy/ });
});
