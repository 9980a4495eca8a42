/**
 * The files of a plan folder as a rollout sends them: every regular file under the folder (the
 * bundle and its health slices), with its '/'-separated relative path, size and SHA-256 — the same
 * shape the agent's `files` command answers, so the two lists compare directly when resuming.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attempt, type Result } from '../core/errors.ts';
import type { StagedFile } from './protocol.ts';

/** Every regular file under `dir`, sorted by path; hidden entries (temporary files) are left out. */
export function listPlanFiles(dir: string): Result<StagedFile[]> {
  return attempt(() => {
    const files: StagedFile[] = [];
    const walk = (rel: string): void => {
      for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue;
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) {
          const bytes = readFileSync(join(dir, path));
          files.push({
            path,
            bytes: bytes.byteLength,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          });
        }
      }
    };
    walk('');
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }, 'E_IO');
}

/** Total bytes of a file list. */
export function totalBytes(files: readonly { readonly bytes: number }[]): number {
  return files.reduce((sum, f) => sum + f.bytes, 0);
}

/**
 * The files of `wanted` a device still needs, given what it already holds complete (`present`, from
 * the agent's `files`): a file is skipped only when its path, size and hash all match.
 */
export function missingFiles(wanted: readonly StagedFile[], present: readonly StagedFile[]): StagedFile[] {
  const have = new Map(present.map((f) => [f.path, f]));
  return wanted.filter((f) => {
    const there = have.get(f.path);
    return !there || there.bytes !== f.bytes || there.sha256 !== f.sha256;
  });
}
