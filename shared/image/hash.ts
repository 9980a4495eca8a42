/**
 * The bundle's hashes: SHA-256 of whole files, of each stored page, and the plan id (docs/FORMAT.md §4).
 * All hashes are lower-case hex, so that they compare as strings in JSON and in C.
 */
import { createHash } from 'node:crypto';

export const HEX64 = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The SHA-256 of each `pageBytes`-sized page of `bytes` (whose length must be a multiple of it). */
export function pageHashes(bytes: Uint8Array, pageBytes: number): string[] {
  const out: string[] = [];
  for (let start = 0; start + pageBytes <= bytes.byteLength; start += pageBytes) {
    out.push(sha256Hex(bytes.subarray(start, start + pageBytes)));
  }
  return out;
}

/**
 * The plan id covers every byte of the bundle: the manifest holds the SHA-256 of every other file, and
 * the id is the SHA-256 of the manifest's own bytes with the id's 64 hex digits replaced by ASCII '0'.
 * The digits are found at the first occurrence of `"planId": "`; writers put `planId` before any nested
 * object, so that occurrence is always the top-level member (readers check it is).
 */
export const PLAN_ID_KEY = '"planId": "';
export const ZERO_ID = '0'.repeat(64);

/** Byte offset of the id's first hex digit in the manifest, or -1 when the key is absent. */
export function planIdOffset(manifestBytes: Uint8Array): number {
  const at = Buffer.from(manifestBytes.buffer, manifestBytes.byteOffset, manifestBytes.byteLength).indexOf(
    PLAN_ID_KEY,
    0,
    'latin1',
  );
  return at < 0 || at + PLAN_ID_KEY.length + 64 > manifestBytes.byteLength ? -1 : at + PLAN_ID_KEY.length;
}

/** Computes the plan id of a manifest (whatever id it currently holds). Undefined when the key is absent. */
export function computePlanId(manifestBytes: Uint8Array): string | undefined {
  const at = planIdOffset(manifestBytes);
  if (at < 0) return undefined;
  const copy = Uint8Array.from(manifestBytes);
  copy.fill(0x30, at, at + 64);
  return sha256Hex(copy);
}

/** The id written in the manifest at the id position (as text, unchecked). */
export function storedPlanId(manifestBytes: Uint8Array): string | undefined {
  const at = planIdOffset(manifestBytes);
  return at < 0 ? undefined : Buffer.from(manifestBytes.subarray(at, at + 64)).toString('latin1');
}

/** Returns the manifest bytes with the id digits replaced by `id` (a copy). */
export function sealPlanId(manifestBytes: Uint8Array, id: string): Uint8Array {
  const at = planIdOffset(manifestBytes);
  if (at < 0) throw new Error('The manifest has no planId member.');
  const copy = Uint8Array.from(manifestBytes);
  copy.set(Buffer.from(id, 'latin1'), at);
  return copy;
}
