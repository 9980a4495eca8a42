/**
 * Where commands look for task data. A user's own tasks live in folders of their choosing (by default
 * `./data`, where `wsep data import` writes); the bundled zoo tasks live in the repository's
 * resources/data. Commands search the user's folders first and the bundled one last, so a plan can mix
 * the user's models with zoo models without copying data around.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_DATA_ROOT } from './load.ts';

/** The folder `wsep data import` writes to when --data is not given, relative to the working folder. */
export const DEFAULT_USER_DATA = 'data';

/**
 * The folders to search, in order: those named by `option` (a comma-separated list, relative to
 * `cwd`) or else `<cwd>/data` when it exists, then the bundled resources/data.
 */
export function dataRoots(option: unknown, cwd: string): string[] {
  const named =
    typeof option === 'string' && option.length > 0
      ? option
          .split(',')
          .filter(Boolean)
          .map((p) => (isAbsolute(p) ? p : resolve(cwd, p)))
      : [resolve(cwd, DEFAULT_USER_DATA)].filter((p) => existsSync(p));
  return [...new Set([...named, DEFAULT_DATA_ROOT])];
}

/** The folder a new task is written into: the first one named by `option`, else `<cwd>/data`. */
export function importRoot(option: unknown, cwd: string): string {
  const first = typeof option === 'string' ? option.split(',').find(Boolean) : undefined;
  const p = first ?? DEFAULT_USER_DATA;
  return isAbsolute(p) ? p : resolve(cwd, p);
}
