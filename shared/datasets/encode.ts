/**
 * Sample value encodings. Images stay uint8. Float features are stored as int16 when that is lossless
 * (integer accelerometer counts) or as an affine int16 quantisation when its error is far below the
 * features' own spread (log-mel, MFCC: max error ~1e-4 of the range), which halves the repository
 * size against float32; anything else stays float32.
 */
import type { StoredDtype } from './format.ts';

export interface Encoded {
  readonly dtype: StoredDtype;
  readonly bytes: Uint8Array;
  readonly scale: number;
  readonly offset: number;
  readonly maxAbsError: number;
}

const I16_MAX = 32767;

export function encodeUint8(values: Uint8Array): Encoded {
  return { dtype: 'uint8', bytes: values, scale: 1, offset: 0, maxAbsError: 0 };
}

export function encodeFloat32(values: Float32Array): Encoded {
  return { dtype: 'float32', bytes: littleEndianBytes(values), scale: 1, offset: 0, maxAbsError: 0 };
}

/**
 * int16 with raw = q · scale + offset. Integer data that fits is stored exactly (scale 1, offset 0);
 * otherwise the range [min, max] is mapped onto [−32767, 32767].
 */
export function encodeInt16(values: Float32Array): Encoded {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`a sample value is ${v}; features must be finite`);
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && !Number.isInteger(v)) integral = false;
  }
  if (values.length === 0) min = max = 0;
  const exact = integral && min >= -I16_MAX && max <= I16_MAX;
  const offset = exact ? 0 : (min + max) / 2;
  const scale = exact ? 1 : max > min ? (max - min) / (2 * I16_MAX) : 1;
  const q = new Int16Array(values.length);
  let maxAbsError = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const k = Math.max(-I16_MAX, Math.min(I16_MAX, Math.round((v - offset) / scale)));
    q[i] = k;
    const err = Math.abs(Math.fround(k * scale + offset) - v);
    if (err > maxAbsError) maxAbsError = err;
  }
  return { dtype: 'int16', bytes: littleEndianBytes(q), scale, offset, maxAbsError };
}

/** Decodes stored bytes into raw float values (raw = stored · scale + offset). */
export function decodeToFloat32(
  bytes: Uint8Array,
  dtype: StoredDtype,
  scale: number,
  offset: number,
): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'uint8': {
      // A plain loop: Float32Array.from with a map callback is ~50x slower on 15M values.
      const out = new Float32Array(bytes.byteLength);
      out.set(bytes); // native conversion
      if (scale !== 1 || offset !== 0) for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale + offset;
      return out;
    }
    case 'int16': {
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) * scale + offset;
      return out;
    }
    case 'float32': {
      const out = new Float32Array(bytes.byteLength / 4);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true) * scale + offset;
      return out;
    }
  }
}

/** The little-endian bytes of a typed array (copied through a DataView, so big-endian hosts work too). */
function littleEndianBytes(values: Int16Array | Float32Array): Uint8Array {
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  if (values instanceof Int16Array) values.forEach((v, i) => view.setInt16(2 * i, v, true));
  else values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}
