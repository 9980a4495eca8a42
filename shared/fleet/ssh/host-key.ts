/**
 * Host-key fingerprints in the form OpenSSH prints them (`ssh-keygen -lf`, the `ssh` first-contact
 * prompt): `SHA256:` and the unpadded base64 of the SHA-256 of the key blob. A user can compare what
 * `wsep devices add` shows with what the device's own console prints.
 */
import { createHash } from 'node:crypto';
import { fail, ok, type Result } from '../../core/errors.ts';

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** The fingerprint of a raw SSH public-key blob (the wire format: string type, then key data). */
export function fingerprintOf(keyBlob: Uint8Array): string {
  const digest = createHash('sha256').update(keyBlob).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** Whether `text` is a well-formed SHA-256 fingerprint (what a user may paste to pin a device). */
export function isFingerprint(text: string): boolean {
  return FINGERPRINT.test(text);
}

/** The key type named at the start of a key blob (e.g. `ssh-ed25519`), or null if the blob is malformed. */
export function keyTypeOf(keyBlob: Uint8Array): string | null {
  if (keyBlob.byteLength < 4) return null;
  const view = new DataView(keyBlob.buffer, keyBlob.byteOffset, keyBlob.byteLength);
  const length = view.getUint32(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.byteLength) return null;
  const name = Buffer.from(keyBlob.subarray(4, 4 + length)).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(name) ? name : null;
}

/**
 * The fingerprint and key type of one OpenSSH public-key line (`ssh-ed25519 AAAA… comment`, the
 * format of `*.pub` files and `authorized_keys`).
 */
export function parsePublicKeyLine(line: string): Result<{ fingerprint: string; keyType: string }> {
  const [type, data] = line.trim().split(/\s+/);
  const invalid = (why: string): Result<never> =>
    fail(
      'E_USAGE',
      `Not an OpenSSH public key line (${why}): ${JSON.stringify(line.slice(0, 80))}.`,
      'Pass the contents of a .pub file, e.g. /etc/ssh/ssh_host_ed25519_key.pub.',
    );
  if (type === undefined || data === undefined) return invalid('expected "<type> <base64>"');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return invalid('the key is not base64');
  const blob = Buffer.from(data, 'base64');
  const blobType = keyTypeOf(blob);
  if (blobType === null) return invalid('the key data is malformed');
  if (blobType !== type) return invalid(`the line says ${type} but the key is ${blobType}`);
  return ok({ fingerprint: fingerprintOf(blob), keyType: blobType });
}
