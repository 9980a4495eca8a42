/**
 * NumPy `.npy` and `.npz` files (format versions 1.0–3.0): the plain numeric arrays that
 * `np.save` / `np.savez` / `np.savez_compressed` write. Values come back as float64 whatever the
 * stored dtype, so a caller has one code path; int64 is accepted only while it is exact in float64.
 * Anything else (Fortran order, structured, object, string, complex, float16 dtypes) is an E_DATASET
 * result naming the file and saying how to re-save it.
 */
import { unzipSync, zipSync } from 'fflate';
import { fail, ok, type Result } from '../../core/errors.ts';

export type NpyDtype =
  'bool' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'int64' | 'float32' | 'float64';

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

/** What writeNpy / writeNpz take: values in C order, one per element. */
export interface NpyInput {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly values: ArrayLike<number>;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** The numpy type code (kind + item size, without the byte-order character) of each dtype. */
const CODE: Readonly<Record<NpyDtype, string>> = {
  bool: 'b1',
  uint8: 'u1',
  int8: 'i1',
  uint16: 'u2',
  int16: 'i2',
  uint32: 'u4',
  int32: 'i4',
  int64: 'i8',
  float32: 'f4',
  float64: 'f8',
};
const BY_CODE = new Map(Object.entries(CODE).map(([dtype, code]) => [code, dtype as NpyDtype]));
const ITEM_SIZE: Readonly<Record<NpyDtype, number>> = {
  bool: 1,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  int64: 8,
  float32: 4,
  float64: 8,
};

const MAX_EXACT = 2 ** 53;
const RESAVE =
  'Re-save it from Python as a plain numeric array, e.g. np.save(path, np.ascontiguousarray(a, dtype=np.float32)).';

/** Why a numpy type code that is not one of ours is refused, in words a user recognises. */
function unsupportedKind(code: string): string {
  const kind = code.replace(/^[<>|=]/, '')[0];
  switch (kind) {
    case 'O':
      return 'object arrays (pickled Python objects)';
    case 'U':
    case 'S':
    case 'a':
      return 'string arrays';
    case 'c':
      return 'complex numbers';
    case 'M':
    case 'm':
      return 'dates and times';
    case 'V':
      return 'structured or void records';
    case 'f':
      return 'this float size (only float32 and float64 are read)';
    case 'u':
      return 'this unsigned integer size (only uint8, uint16 and uint32 are read)';
    case 'i':
      return 'this integer size';
    default:
      return 'an unknown type';
  }
}

interface Header {
  readonly dtype: NpyDtype;
  readonly littleEndian: boolean;
  readonly shape: number[];
  readonly dataStart: number;
}

function parseHeader(bytes: Uint8Array, file: string): Result<Header> {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    return fail(
      'E_DATASET',
      `${file} is not a NumPy .npy file (it does not start with the bytes \\x93NUMPY).`,
      'Save arrays with np.save (one array) or np.savez (several).',
    );
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12)
      return fail('E_DATASET', `${file} is truncated: it ends inside the .npy header.`, RESAVE);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(
      'E_DATASET',
      `${file} is .npy format version ${major}.${bytes[7]}, which this reader does not know (1.0, 2.0 and 3.0 are read).`,
      RESAVE,
    );
  }
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) {
    return fail(
      'E_DATASET',
      `${file} is truncated: its header says ${headerLen} bytes but the file ends after ${bytes.length - headerStart}.`,
      RESAVE,
    );
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );

  if (/'descr'\s*:\s*\[/.test(text))
    return fail('E_DATASET', `${file} holds a structured array (named fields), which is not read.`, RESAVE);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    return fail(
      'E_DATASET',
      `${file} has a malformed .npy header (expected 'descr', 'fortran_order' and 'shape'): ${JSON.stringify(text.trim().slice(0, 120))}.`,
      RESAVE,
    );
  }
  const order = descr[0];
  const code = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  const dtype = BY_CODE.get(code);
  if (!dtype) {
    return fail(
      'E_DATASET',
      `${file} has dtype '${descr}' (${unsupportedKind(descr)}), which is not supported; use one of ${Object.keys(CODE).join(', ')}.`,
      RESAVE,
    );
  }
  if (fortran === 'True') {
    return fail(
      'E_DATASET',
      `${file} is stored in Fortran (column-major) order, which is not read.`,
      'Re-save it in C order: np.save(path, np.ascontiguousarray(a)).',
    );
  }
  const shape: number[] = [];
  for (const part of shapeText.split(',')) {
    const t = part.trim().replace(/L$/, '');
    if (t === '') continue;
    const n = Number(t);
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(n))
      return fail('E_DATASET', `${file} has a malformed shape (${shapeText}) in its .npy header.`, RESAVE);
    shape.push(n);
  }
  return ok({ dtype, littleEndian: order !== '>', shape, dataStart });
}

/** Reads one `.npy` file; `file` names it in messages. */
export function readNpy(bytes: Uint8Array, file: string): Result<NpyArray> {
  const header = parseHeader(bytes, file);
  if (!header.ok) return header;
  const { dtype, littleEndian, shape, dataStart } = header.value;
  const count = shape.reduce((a, b) => a * b, 1);
  const size = ITEM_SIZE[dtype];
  const have = bytes.length - dataStart;
  if (have !== count * size) {
    return fail(
      'E_DATASET',
      `${file} holds ${have} bytes of data, but its header (${dtype}, shape [${shape.join(', ')}]) needs ${count * size}; the file is ${have < count * size ? 'truncated' : 'longer than its header says'}.`,
      RESAVE,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, have);
  const values = new Float64Array(count);
  const le = littleEndian;
  switch (dtype) {
    case 'bool':
    case 'uint8':
      for (let i = 0; i < count; i++) values[i] = view.getUint8(i);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) values[i] = view.getInt8(i);
      break;
    case 'uint16':
      for (let i = 0; i < count; i++) values[i] = view.getUint16(2 * i, le);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) values[i] = view.getInt16(2 * i, le);
      break;
    case 'uint32':
      for (let i = 0; i < count; i++) values[i] = view.getUint32(4 * i, le);
      break;
    case 'int32':
      for (let i = 0; i < count; i++) values[i] = view.getInt32(4 * i, le);
      break;
    case 'int64':
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, le);
        if (v > BigInt(MAX_EXACT) || v < -BigInt(MAX_EXACT)) {
          return fail(
            'E_DATASET',
            `${file} holds the int64 value ${v} at flat index ${i}, beyond 2^53, which cannot be read exactly.`,
            'Store labels and groups as small integers (np.int32), or features as float32.',
          );
        }
        values[i] = Number(v);
      }
      break;
    case 'float32':
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(4 * i, le);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) values[i] = view.getFloat64(8 * i, le);
      break;
  }
  if (dtype === 'bool') for (let i = 0; i < count; i++) values[i] = values[i] !== 0 ? 1 : 0;
  return ok({ dtype, shape, values });
}

/** Reads an `.npz` archive (stored or deflated members); keys are member names without `.npy`. */
export function readNpz(bytes: Uint8Array, file: string): Result<Map<string, NpyArray>> {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (thrown) {
    return fail(
      'E_DATASET',
      `${file} is not a readable .npz (zip) archive: ${(thrown as Error).message.replace(/\.$/, '')}.`,
      'Write it with np.savez(path, x=x, y=y) or np.savez_compressed.',
    );
  }
  const arrays = new Map<string, NpyArray>();
  for (const name of Object.keys(members).sort()) {
    if (!name.endsWith('.npy')) continue;
    const a = readNpy(members[name]!, `${file} (member ${name})`);
    if (!a.ok) return a;
    arrays.set(name.slice(0, -4), a.value);
  }
  return ok(arrays);
}

function checkInput(a: NpyInput): void {
  const count = a.shape.reduce((x, y) => x * y, 1);
  if (a.shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new RangeError(`shape [${a.shape.join(', ')}] must hold non-negative integers`);
  if (a.values.length !== count)
    throw new RangeError(`shape [${a.shape.join(', ')}] holds ${count} values, got ${a.values.length}`);
}

/** A `.npy` file (format 1.0, little-endian, C order) for `a`; throws on a shape/values mismatch. */
export function writeNpy(a: NpyInput): Uint8Array {
  checkInput(a);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  const size = ITEM_SIZE[a.dtype];
  const order = size === 1 ? '|' : '<';
  const dict = `{'descr': '${order}${CODE[a.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads the header with spaces so the data starts on a 64-byte boundary, ending in '\n'.
  const unpadded = 10 + dict.length + 1;
  const headerText = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + headerText.length + a.values.length * size);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, headerText.length, true);
  for (let i = 0; i < headerText.length; i++) out[10 + i] = headerText.charCodeAt(i);
  const base = 10 + headerText.length;
  for (let i = 0; i < a.values.length; i++) {
    const v = Number(a.values[i]);
    const at = base + i * size;
    switch (a.dtype) {
      case 'bool':
        view.setUint8(at, v !== 0 ? 1 : 0);
        break;
      case 'uint8':
        view.setUint8(at, v);
        break;
      case 'int8':
        view.setInt8(at, v);
        break;
      case 'uint16':
        view.setUint16(at, v, true);
        break;
      case 'int16':
        view.setInt16(at, v, true);
        break;
      case 'uint32':
        view.setUint32(at, v, true);
        break;
      case 'int32':
        view.setInt32(at, v, true);
        break;
      case 'int64':
        view.setBigInt64(at, BigInt(Math.trunc(v)), true);
        break;
      case 'float32':
        view.setFloat32(at, v, true);
        break;
      case 'float64':
        view.setFloat64(at, v, true);
        break;
    }
  }
  return out;
}

/** An `.npz` archive (deflated members `<key>.npy`), as np.savez_compressed writes. */
export function writeNpz(arrays: Readonly<Record<string, NpyInput>>): Uint8Array {
  const members: Record<string, Uint8Array> = {};
  for (const [key, a] of Object.entries(arrays)) members[`${key}.npy`] = writeNpy(a);
  return zipSync(members, { level: 6, mtime: new Date(1980, 0, 1) });
}
