import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { readNpy, readNpz, writeNpy, writeNpz, type NpyArray, type NpyDtype } from './npy.ts';

/** Made by numpy 2.4: np.savez('a.npz', x=np.arange(6, dtype=np.uint8).reshape(2, 3), y=np.array([1, 0])). */
const NUMPY_SAVEZ =
  'UEsDBC0AAAAAAAAAIQB+ntfP//////////8FABQAeC5ucHkBABAAhgAAAAAAAACGAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3x1MScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAECAwQFUEsDBC0AAAAAAAAAIQBx+zmr//////////8FABQAeS5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAQAAAAAAAAAAAAAAAAAAAFBLAQItAy0AAAAAAAAAIQB+ntfPhgAAAIYAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLAQItAy0AAAAAAAAAIQBx+zmrkAAAAJAAAAAFAAAAAAAAAAAAAACAAb0AAAB5Lm5weVBLBQYAAAAAAgACAGYAAACEAQAAAAA=';
/** np.savez_compressed('b.npz', x=np.arange(6, dtype='>f4').reshape(2, 3), y=np.array([True, False])): big-endian, deflated. */
const NUMPY_SAVEZ_COMPRESSED =
  'UEsDBC0AAAAIAAAAIQCe1unq//////////8FABQAeC5ucHkBABAAmAAAAAAAAABYAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6XZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CsaaOgq1CmQDLgYgsG9gYHAA0g5AwgHEXsDAAABQSwMELQAAAAgAAAAhAO4Zu13//////////wUAFAB5Lm5weQEAEACCAAAAAAAAAEYAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXpNkqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjqaOgq1ChQALkYGAFBLAQItAy0AAAAIAAAAIQCe1unqWAAAAJgAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLAQItAy0AAAAIAAAAIQDuGbtdRgAAAIIAAAAFAAAAAAAAAAAAAACAAY8AAAB5Lm5weVBLBQYAAAAAAgACAGYAAAAMAQAAAAA=';
/** np.save('f.npy', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))). */
const NUMPY_FORTRAN =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBAAAAAQAAAoEA=';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** A .npy with a hand-written header dict (format 1.0). */
function rawNpy(dict: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const head = new TextEncoder().encode(dict + '\n');
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + head.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, head.length, true);
  else view.setUint32(8, head.length, true);
  out.set(head, pre);
  out.set(data, pre + head.length);
  return out;
}

const SAMPLES: Record<NpyDtype, number[]> = {
  bool: [1, 0, 1, 1, 0, 0],
  uint8: [0, 1, 127, 128, 254, 255],
  int8: [-128, -1, 0, 1, 100, 127],
  uint16: [0, 1, 300, 40000, 65534, 65535],
  int16: [-32768, -1, 0, 1, 1000, 32767],
  uint32: [0, 1, 70000, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1],
  int32: [-(2 ** 31), -1, 0, 1, 123456, 2 ** 31 - 1],
  int64: [-(2 ** 53), -1, 0, 1, 2 ** 40, 2 ** 53],
  float32: [-1.5, 0, 0.25, 3.5, 1e-3, 1e30].map(Math.fround),
  float64: [-1.5, 0, Math.PI, 1e-300, 1e300, -0.1],
};

describe('npy round trip', () => {
  it.each(Object.keys(SAMPLES) as NpyDtype[])('%s keeps dtype, shape and values', (dtype) => {
    const bytes = writeNpy({ dtype, shape: [2, 3], values: SAMPLES[dtype] });
    // numpy aligns the data to 64 bytes; readers that mmap rely on it.
    expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
    const a = unwrap(readNpy(bytes, 'a.npy'));
    expect(a.dtype).toBe(dtype);
    expect(a.shape).toEqual([2, 3]);
    expect([...a.values]).toEqual(SAMPLES[dtype]);
  });

  it('handles 1-d, scalar and empty shapes', () => {
    expect(
      unwrap(readNpy(writeNpy({ dtype: 'int32', shape: [4], values: [1, 2, 3, 4] }), 'v')).shape,
    ).toEqual([4]);
    const scalar = unwrap(readNpy(writeNpy({ dtype: 'float64', shape: [], values: [7] }), 's'));
    expect(scalar.shape).toEqual([]);
    expect([...scalar.values]).toEqual([7]);
    expect(unwrap(readNpy(writeNpy({ dtype: 'uint8', shape: [0, 5], values: [] }), 'e')).values.length).toBe(
      0,
    );
  });

  it('reads format 2.0 headers and big-endian data', () => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setInt32(0, -5, false);
    new DataView(data.buffer).setInt32(4, 70000, false);
    const a = unwrap(
      readNpy(rawNpy("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", data, 2), 'be'),
    );
    expect([...a.values]).toEqual([-5, 70000]);
  });

  it('npz round trip keeps every array under its key', () => {
    const arrays = {
      x: { dtype: 'float32' as const, shape: [2, 2], values: [1, 2, 3, 4] },
      y: { dtype: 'int64' as const, shape: [2], values: [0, 1] },
    };
    const map = unwrap(readNpz(writeNpz(arrays), 'd.npz'));
    expect([...map.keys()]).toEqual(['x', 'y']);
    expect(map.get('x')!.shape).toEqual([2, 2]);
    expect([...map.get('y')!.values]).toEqual([0, 1]);
  });

  it('reads what numpy writes (savez with zip64 headers, savez_compressed, big-endian)', () => {
    const a = unwrap(readNpz(b64(NUMPY_SAVEZ), 'a.npz'));
    expect(a.get('x')).toEqual<NpyArray>({
      dtype: 'uint8',
      shape: [2, 3],
      values: Float64Array.of(0, 1, 2, 3, 4, 5),
    });
    expect(a.get('y')).toEqual<NpyArray>({ dtype: 'int64', shape: [2], values: Float64Array.of(1, 0) });
    const b = unwrap(readNpz(b64(NUMPY_SAVEZ_COMPRESSED), 'b.npz'));
    expect([...b.get('x')!.values]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.get('y')!.dtype).toBe('bool');
    expect([...b.get('y')!.values]).toEqual([1, 0]);
  });
});

describe('npy corrupt input', () => {
  const good = writeNpy({ dtype: 'float32', shape: [3, 2], values: [1, 2, 3, 4, 5, 6] });

  it('bad magic names the file', () => {
    const e = failureOf(readNpy(new TextEncoder().encode('just some text, not numpy'), 'data/x.npy'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain('data/x.npy is not a NumPy .npy file');
  });

  it('a truncated header', () => {
    const e = failureOf(readNpy(good.subarray(0, 40), 'x.npy'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toMatch(/x\.npy is truncated: its header says \d+ bytes/);
  });

  it('a wrong byte count, short or long', () => {
    const short = failureOf(readNpy(good.subarray(0, good.length - 3), 'x.npy'));
    expect(short.message).toContain(
      'x.npy holds 21 bytes of data, but its header (float32, shape [3, 2]) needs 24',
    );
    expect(short.message).toContain('truncated');
    const long = new Uint8Array(good.length + 4);
    long.set(good);
    expect(failureOf(readNpy(long, 'x.npy')).message).toContain('longer than its header says');
  });

  it.each([
    ['<U5', 'string arrays'],
    ['|O', 'object arrays'],
    ['<c8', 'complex numbers'],
    ['<f2', 'float size'],
    ['<u8', 'unsigned integer size'],
  ])('unsupported dtype %s names the dtype and the file', (descr, words) => {
    const e = failureOf(
      readNpy(rawNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }`), 'odd.npy'),
    );
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain(`odd.npy has dtype '${descr}'`);
    expect(e.message).toContain(words);
  });

  it('structured arrays are refused', () => {
    const e = failureOf(
      readNpy(
        rawNpy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }"),
        's.npy',
      ),
    );
    expect(e.message).toContain('s.npy holds a structured array');
  });

  it('Fortran order (as numpy writes it) is refused with the fix', () => {
    const e = failureOf(readNpy(b64(NUMPY_FORTRAN), 'f.npy'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain('f.npy is stored in Fortran (column-major) order');
    expect(e.hint).toContain('np.ascontiguousarray');
  });

  it('int64 beyond 2^53 is refused', () => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setBigInt64(0, 2n ** 60n, true);
    const e = failureOf(
      readNpy(rawNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data), 'big.npy'),
    );
    expect(e.message).toContain(
      'big.npy holds the int64 value 1152921504606846976 at flat index 0, beyond 2^53',
    );
  });

  it('a malformed header dict and an unknown version', () => {
    expect(failureOf(readNpy(rawNpy('{nonsense}'), 'm.npy')).message).toContain(
      'm.npy has a malformed .npy header',
    );
    const v9 = new Uint8Array(good);
    v9[6] = 9;
    expect(failureOf(readNpy(v9, 'v.npy')).message).toContain('v.npy is .npy format version 9.0');
  });

  it('a corrupt .npz and a corrupt member name the archive (and the member)', () => {
    const zip = writeNpz({ x: { dtype: 'uint8', shape: [2], values: [1, 2] } });
    const e = failureOf(readNpz(zip.subarray(0, zip.length - 10), 'd.npz'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain('d.npz is not a readable .npz (zip) archive');
    expect(failureOf(readNpz(new TextEncoder().encode('plain text'), 'p.npz')).message).toContain(
      'p.npz is not a readable .npz',
    );
    const bad = zipSync({ 'x.npy': new TextEncoder().encode('not npy') });
    expect(failureOf(readNpz(bad, 'd.npz')).message).toContain(
      'd.npz (member x.npy) is not a NumPy .npy file',
    );
  });
});
