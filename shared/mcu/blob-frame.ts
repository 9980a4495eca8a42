/**
 * The frame every firmware blob shares (resources/firmware/src/blob.h): four little-endian uint32 words,
 * magic, version, total bytes, and the CRC-32 of bytes [16, total). The writers lay out their fields as
 * uint32 words after these; this module seals a finished blob and checks one read back.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { crc32 } from './crc32.ts';

/**
 * The version each kind is written with: the FRAM and storage images went to 2 with int8 pages (value
 * type, scale tables); version-1 images are f32 with the same layout and still read. Descriptors hold
 * no values and stay at 1.
 */
export const BLOB_VERSIONS = { fram: 2, storage: 2, descriptor: 1 } as const;
/** The versions a reader accepts per kind. */
const READABLE: Readonly<Record<string, readonly number[]>> = {
  fram: [1, 2],
  storage: [1, 2],
  descriptor: [1],
};
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
  view.setUint32(4, BLOB_VERSIONS[kind], true);
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
  if (!READABLE[kind]!.includes(view.getUint32(4, true)))
    return bad(
      `is version ${view.getUint32(4, true)}; this code reads version ${READABLE[kind]!.join(' or ')}`,
    );
  const total = view.getUint32(8, true);
  if (total !== bytes.byteLength) return bad(`says it has ${total} bytes but has ${bytes.byteLength}`);
  if (crc32(bytes.subarray(CRC_SKIP)) !== view.getUint32(12, true)) return bad('fails its CRC-32');
  return ok(view);
}

export const align4 = (n: number): number => Math.ceil(n / 4) * 4;
