/**
 * Stored values are little-endian IEEE-754 float32. On little-endian hosts (x86, ARM as run by Linux)
 * the bytes are the Float32Array's own; a big-endian host takes the slow, byte-swapping path.
 */
import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/** The values as little-endian bytes (a copy, so callers may keep or mutate it). */
export function f32ToBytes(values: Float32Array): Uint8Array {
  if (LITTLE)
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** Little-endian bytes (length a multiple of 4) as a fresh, aligned Float32Array. */
export function bytesToF32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength >>> 2);
  if (LITTLE) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** True on little-endian hosts, where a file's bytes can be viewed as Float32Array without conversion. */
export const HOST_IS_LITTLE_ENDIAN = LITTLE;
