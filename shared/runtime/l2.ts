/**
 * Level 2: a model's exclusive pages on disk. Each file is opened once and read whole with one
 * positioned read into a caller's buffer, so a switch costs one system call (plus retries on short reads).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';

export class ExclusiveFiles {
  private readonly fds: number[] = [];

  private constructor(private readonly paths: readonly string[]) {}

  static open(dir: string, files: readonly string[]): Result<ExclusiveFiles> {
    const l2 = new ExclusiveFiles(files.map((f) => join(dir, ...f.split('/'))));
    try {
      for (const path of l2.paths) l2.fds.push(openSync(path, 'r'));
    } catch (thrown) {
      l2.close();
      return fail('E_IO', `Cannot open an exclusive page file: ${(thrown as Error).message}`);
    }
    return ok(l2);
  }

  /** Reads the first `bytes` bytes of file `index` into `into` (from offset 0). */
  read(index: number, into: Uint8Array, bytes: number): Result<void> {
    let done = 0;
    try {
      while (done < bytes) {
        const n = readSync(this.fds[index]!, into, done, bytes - done, done);
        if (n === 0)
          return fail(
            'E_BUNDLE_CORRUPT',
            `${this.paths[index]} ended after ${done} of ${bytes} bytes: the file shrank after the bundle was opened.`,
          );
        done += n;
      }
    } catch (thrown) {
      return fail('E_IO', `Cannot read ${this.paths[index]}: ${(thrown as Error).message}`);
    }
    return ok(undefined);
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
