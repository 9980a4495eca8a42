/** Durable file writes: the bytes reach the disk (fsync) before the caller renames or reports success. */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Writes the whole buffer and fsyncs it. `flag` 'wx' refuses to overwrite an existing file. */
export function writeFileSynced(path: string, bytes: Uint8Array, flag: 'w' | 'wx' = 'w'): void {
  const fd = openSync(path, flag);
  try {
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a folder makes the names in it (new files, renames) durable. */
export function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
