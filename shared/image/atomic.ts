/**
 * Writes a folder atomically: everything goes into a temporary sibling folder, each file and folder is
 * fsynced, and only then is the folder renamed to its final name. An existing folder is renamed aside
 * first and removed after the new one is in place, so at every instant the final name holds either the
 * complete old folder or the complete new one (or, for an instant between two renames, nothing — never
 * a half-written one). On any failure the temporary folder is removed and the old folder restored.
 */
import { fsyncDir, writeFileSynced } from '../core/durable-fs.ts';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';

export interface FolderFile {
  /** Relative path with '/' separators, e.g. 'graphs/a.onnx'. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** A point in the write where a test may inject a failure (by throwing, e.g. an ENOSPC error). */
export type WriteStep =
  { readonly kind: 'file'; readonly path: string; readonly index: number } | { readonly kind: 'rename' };

export interface AtomicWriteOptions {
  /** Called before each file is written and before the final rename; throwing simulates a failure there. */
  readonly faultInjection?: (step: WriteStep) => void;
  /**
   * An existing folder at the final name is replaced only when this accepts it (e.g. "it is a bundle"),
   * so that a mistyped path never deletes an unrelated folder.
   */
  readonly mayReplace?: (existingDir: string) => boolean;
}

export { fsyncDir };

function uniqueSibling(finalDir: string, tag: string): string {
  return join(
    dirname(finalDir),
    `.${basename(finalDir)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

export function writeFolderAtomic(
  dir: string,
  files: readonly FolderFile[],
  options: AtomicWriteOptions = {},
): Result<void> {
  const finalDir = resolve(dir);
  const parent = dirname(finalDir);
  const temp = uniqueSibling(finalDir, 'tmp');
  let aside: string | undefined;
  try {
    mkdirSync(parent, { recursive: true });
    if (existsSync(finalDir)) {
      if (!statSync(finalDir).isDirectory())
        return fail('E_IO', `${finalDir} exists and is a file; refusing to replace it with a folder.`);
      const empty = readdirSync(finalDir).length === 0;
      if (!empty && options.mayReplace && !options.mayReplace(finalDir)) {
        return fail(
          'E_IO',
          `${finalDir} exists and is not a bundle; refusing to replace it.`,
          'Choose a new folder name or remove the folder yourself.',
        );
      }
    }
    mkdirSync(temp);
    const folders = new Set<string>();
    files.forEach((file, index) => {
      options.faultInjection?.({ kind: 'file', path: file.path, index });
      const target = join(temp, ...file.path.split('/'));
      const folder = dirname(target);
      if (!folders.has(folder)) {
        mkdirSync(folder, { recursive: true });
        folders.add(folder);
      }
      writeFileSynced(target, file.bytes, 'wx');
    });
    for (const folder of folders) if (folder !== temp) fsyncDir(folder);
    fsyncDir(temp);
    options.faultInjection?.({ kind: 'rename' });
    if (existsSync(finalDir)) {
      aside = uniqueSibling(finalDir, 'old');
      renameSync(finalDir, aside);
    }
    try {
      renameSync(temp, finalDir);
    } catch (thrown) {
      if (aside) renameSync(aside, finalDir); // put the old folder back before reporting
      aside = undefined;
      throw thrown;
    }
    fsyncDir(parent);
  } catch (thrown) {
    rmSync(temp, { recursive: true, force: true });
    const e = thrown as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') {
      return fail(
        'E_IO',
        `The disk is full: cannot write ${finalDir}. Nothing was changed; the partial copy was removed.`,
        'Free some space and write it again.',
      );
    }
    return fail('E_IO', `Cannot write ${finalDir}: ${e.message}. Nothing was changed.`);
  }
  // The new folder is in place; removing the old one can fail without harm (a stray hidden folder).
  if (aside) rmSync(aside, { recursive: true, force: true });
  return ok(undefined);
}
