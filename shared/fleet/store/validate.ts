/**
 * Checks of what callers hand the store, before it reaches SQL. Device names and tags are data the user
 * chooses: 1–64 characters, anything printable (shell metacharacters, quotes, spaces, unicode) — the
 * store keeps them as text and the SSH layer quotes them; only control characters are refused, since
 * they hide in terminals and logs. A bad input throws an E_USAGE WsepFailure (callers run inside `call`).
 */
import { raise } from '../../core/errors.ts';
import { HEX64 } from '../../image/hash.ts';

export const NAME_MAX_CHARS = 64;
/** C0 controls, DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
/** In a `u` regex a surrogate pair is one code point, so this matches only lone (ill-formed) halves. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
/** `ssh-keygen -lf` style: SHA256 of the key blob, base64 without padding (32 bytes → 43 characters). */
export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** What `Date.prototype.toISOString` writes (the store's one time format, so times sort as text). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Why `text` is not a valid device name or tag, or null when it is. */
export function nameProblem(text: unknown): string | null {
  if (typeof text !== 'string') return 'it is not text';
  const chars = [...text].length;
  if (chars === 0) return 'it is empty';
  if (chars > NAME_MAX_CHARS) return `it has ${chars} characters, more than ${NAME_MAX_CHARS}`;
  if (CONTROL.test(text)) return 'it contains a control character';
  if (LONE_SURROGATE.test(text)) return 'it is not well-formed Unicode';
  return null;
}

export function checkName(what: 'device name' | 'tag', text: unknown): string {
  const problem = nameProblem(text);
  if (problem !== null) {
    raise(
      'E_USAGE',
      `The ${what} ${JSON.stringify(text)} is not valid: ${problem}.`,
      `Use 1 to ${NAME_MAX_CHARS} characters without control characters; spaces, quotes and symbols are fine.`,
    );
  }
  return text as string;
}

/** Tags as a set: checked, de-duplicated, sorted (so equal sets compare equal). */
export function checkTags(tags: readonly unknown[]): string[] {
  return [...new Set(tags.map((tag) => checkName('tag', tag)))].sort();
}

/** Free text a field needs (host, user, paths): not empty, no control characters. */
export function checkText(field: string, text: unknown, maxChars = 4096): string {
  if (typeof text !== 'string' || text.length === 0 || text.length > maxChars || CONTROL.test(text)) {
    raise(
      'E_USAGE',
      `The ${field} ${JSON.stringify(text)} is not valid.`,
      `Give 1 to ${maxChars} characters without control characters.`,
    );
  }
  return text;
}

export function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    raise('E_USAGE', `The port (${String(port)}) is not valid.`, 'Give a whole number from 1 to 65535.');
  }
  return port;
}

export function checkFingerprint(fingerprint: unknown): string {
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) {
    raise(
      'E_USAGE',
      `The host-key fingerprint ${JSON.stringify(fingerprint)} is not valid.`,
      'Give it as ssh-keygen -lf prints it: SHA256: followed by 43 base64 characters.',
    );
  }
  return fingerprint;
}

export function checkPlanId(id: unknown, field = 'plan id'): string {
  if (typeof id !== 'string' || !HEX64.test(id)) {
    raise(
      'E_USAGE',
      `The ${field} ${JSON.stringify(id)} is not valid.`,
      'A plan id is 64 lower-case hex digits.',
    );
  }
  return id;
}

export function checkTime(field: string, time: unknown): string {
  if (typeof time !== 'string' || !ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) {
    raise(
      'E_USAGE',
      `The ${field} ${JSON.stringify(time)} is not a valid time.`,
      'Give it as new Date().toISOString() writes it, e.g. 2025-01-31T12:00:00.000Z.',
    );
  }
  return time;
}

/** A time from the agent (ISO text or epoch milliseconds) as the store's ISO text. */
export function normalizeTime(field: string, time: unknown): string {
  if (typeof time === 'number' && Number.isFinite(time)) {
    const date = new Date(time);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  if (typeof time === 'string') {
    const ms = Date.parse(time);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  return checkTime(field, time);
}

export function checkCount(field: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    raise(
      'E_USAGE',
      `The ${field} (${String(value)}) is not valid.`,
      `Give a whole number of at least ${min}.`,
    );
  }
  return value;
}

export function checkNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    raise('E_USAGE', `The ${field} (${String(value)}) is not valid.`, `Give a number from ${min} to ${max}.`);
  }
  return value;
}

export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    raise(
      'E_USAGE',
      `The ${field} ${JSON.stringify(value)} is not valid.`,
      `Use one of: ${allowed.join(', ')}.`,
    );
  }
  return value as T;
}

/** A plain JSON object that survives JSON.stringify unchanged (no functions, cycles or non-finite numbers). */
export function checkJsonObject(field: string, value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    raise('E_USAGE', `The ${field} is not a JSON object.`, 'Pass a plain object.');
  }
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (thrown) {
    raise(
      'E_USAGE',
      `The ${field} cannot be stored as JSON: ${(thrown as Error).message}.`,
      'Pass plain data.',
    );
  }
  return text;
}
