/**
 * The frame every firmware blob shares (resources/firmware/src/blob.h): four little-endian uint32 words,
 * magic, version, total bytes, and the CRC-32 of bytes [16, total). The writers lay out their fields as
 * uint32 words after these; this module seals a finished blob and checks one read back.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { crc32 } from './crc32.ts';

export const BLOB_VERSION = 1;
/** Bytes the CRC skips: magic, version, total bytes and the CRC itself. */
export const CRC_SKIP = 16;

export const MAGIC = {
  fram: 0x31465357, // "WSF1"
  storage: 0x324c5357, // "WSL2"
  descriptor: 0x31445357, // "WSD1"
} as const;

export type BlobKind = keyof typeof MAGIC;

/** Writes the frame into `bytes` (whose length is the blob's total) and returns them. */
export function sealBlob(kind: BlobKind, bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, MAGIC[kind], true);
  view.setUint32(4, BLOB_VERSION, true);
  view.setUint32(8, bytes.byteLength, true);
  view.setUint32(12, crc32(bytes.subarray(CRC_SKIP)), true);
  return bytes;
}

/** Checks the frame of a blob read back: the same rules, in the same order, as the firmware. */
export function checkBlob(kind: BlobKind, bytes: Uint8Array, headerBytes: number): Result<DataView> {
  const bad = (why: string): Result<never> =>
    fail('E_MCU_BLOB', `The ${kind} blob ${why}.`, 'Export it again with `wsep mcu export`.');
  if (bytes.byteLength < headerBytes) return bad(`has ${bytes.byteLength} bytes, less than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC[kind]) return bad('has a bad magic');
  if (view.getUint32(4, true) !== BLOB_VERSION)
    return bad(`is version ${view.getUint32(4, true)}; this code reads version ${BLOB_VERSION}`);
  const total = view.getUint32(8, true);
  if (total !== bytes.byteLength) return bad(`says it has ${total} bytes but has ${bytes.byteLength}`);
  if (crc32(bytes.subarray(CRC_SKIP)) !== view.getUint32(12, true)) return bad('fails its CRC-32');
  return ok(view);
}

export const align4 = (n: number): number => Math.ceil(n / 4) * 4;
