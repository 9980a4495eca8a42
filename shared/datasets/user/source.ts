/**
 * What every kind of user source (image folder, CSV, NumPy) is read into before labels, splits and
 * encoding are decided: the samples as stored, the raw labels, optional groups, and a way to name
 * where sample i came from (file and line, or file and row) for messages.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';

export type SourceKind = 'images' | 'csv' | 'numpy';

/** A label as the source writes it: a folder or CSV name, or a number from a CSV or NumPy array. */
export type RawLabel = string | number;
export type GroupId = string | number;

export interface RawSource {
  readonly kind: SourceKind;
  /** The path as the user gave it, used in messages and meta.json. */
  readonly path: string;
  readonly n: number;
  /** Row-major [n, ...storedShape]: uint8 pixels (or uint8 NumPy arrays) or float features. */
  readonly x: Uint8Array | Float32Array;
  readonly storedShape: readonly number[];
  readonly inputShape: readonly number[];
  readonly permutation: readonly number[];
  readonly layout: string;
  readonly labels: readonly RawLabel[];
  /** Where sample i is, e.g. `data.csv, line 7` or `y.npy, row 3` or `photos/cat/a.png`. */
  readonly where: (i: number) => string;
  readonly groups?: readonly GroupId[];
  /** What the groups are, for meta.json (e.g. the CSV column name). */
  readonly groupName?: string;
  /** One line for meta.json's `source`. */
  readonly description: string;
  readonly notes: readonly string[];
}

/** Reads a whole file; a missing one is E_NOT_FOUND naming it and what it was for. */
export function readBytes(path: string, cwd: string, what: string): Result<Uint8Array> {
  try {
    return ok(new Uint8Array(readFileSync(resolvePath(path, cwd))));
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('E_NOT_FOUND', `No ${what} at ${path}.`, 'Check the path.');
    if (code === 'EISDIR') return fail('E_USAGE', `${path} is a folder, but ${what} must be a file.`);
    return fail('E_IO', `Cannot read ${path}: ${(thrown as Error).message}`);
  }
}

/** The first `count` bytes of a file (fewer when it is shorter), to tell its kind by content. */
export function readHead(path: string, cwd: string, count: number): Result<Uint8Array> {
  try {
    const fd = openSync(resolvePath(path, cwd), 'r');
    try {
      const head = new Uint8Array(count);
      return ok(head.subarray(0, readSync(fd, head, 0, count, 0)));
    } finally {
      closeSync(fd);
    }
  } catch (thrown) {
    return fail('E_IO', `Cannot read ${path}: ${(thrown as Error).message}`);
  }
}

export function resolvePath(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

export function isDirectory(path: string, cwd: string): boolean {
  try {
    return statSync(resolvePath(path, cwd)).isDirectory();
  } catch {
    return false;
  }
}

export function exists(path: string, cwd: string): boolean {
  try {
    statSync(resolvePath(path, cwd));
    return true;
  } catch {
    return false;
  }
}

/** The first non-finite value of a float array, as [sample, position within it], or null. */
export function firstNonFinite(values: ArrayLike<number>, per: number): [number, number] | null {
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i]!)) return [Math.floor(i / per), i % per];
  return null;
}

export const shapeText = (shape: readonly number[]): string => `[${shape.join(',')}]`;
