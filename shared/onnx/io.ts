/** Loading and saving .onnx files: reads are checked, writes are atomic (temporary file, fsync, rename). */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileSynced } from '../core/durable-fs.ts';
import { attempt, fail, ok, type Result } from '../core/errors.ts';
import { decodeModel, encodeModel } from './codec.ts';
import type { Model } from './types.ts';
import { validateModel, type ValidateOptions } from './validate.ts';

/** The bytes of a model file, with a message that names the file when it cannot be read. */
export function readModelBytes(path: string): Result<Buffer> {
  try {
    return ok(readFileSync(path));
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('E_NOT_FOUND', `No model file at ${path}.`);
    if (code === 'EISDIR') return fail('E_IO', `${path} is a folder, not an .onnx file.`);
    return fail('E_IO', `Cannot read ${path}: ${(thrown as Error).message}`);
  }
}

export function readModelFile(path: string): Result<Model> {
  const bytes = readModelBytes(path);
  if (!bytes.ok) return bytes;
  const decoded = decodeModel(bytes.value);
  if (!decoded.ok)
    return fail(
      decoded.error.code,
      `${path}: ${decoded.error.message}`,
      decoded.error.hint,
      decoded.error.details,
    );
  return decoded;
}

/** Reads a model and checks it is one the engine can plan and run. */
export function loadModel(path: string, options: ValidateOptions = {}): Result<Model> {
  const model = readModelFile(path);
  if (!model.ok) return model;
  return validateModel(model.value, { ...options, source: options.source ?? basename(path) });
}

/** Writes bytes to `path` atomically: a reader sees the old file or the whole new one, never a part. */
export function writeFileAtomic(path: string, bytes: Uint8Array): Result<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  return attempt(() => {
    try {
      writeFileSynced(temp, bytes);
      renameSync(temp, path);
    } catch (thrown) {
      rmSync(temp, { force: true });
      const e = thrown as NodeJS.ErrnoException;
      if (e.code === 'ENOSPC')
        throw Object.assign(new Error(`The disk is full: cannot write ${path}; nothing was changed.`));
      throw new Error(`Cannot write ${path}: ${e.message}`);
    }
  }, 'E_IO');
}

export function saveModel(path: string, model: Model): Result<void> {
  return writeFileAtomic(path, encodeModel(model));
}
