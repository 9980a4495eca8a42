/**
 * Loading a task from the in-repo format (format.ts) into a TaskData: float32 samples in model
 * layout, normalised with statistics of the train split only, with those statistics returned as the
 * task's preprocessing. Everything is checked before use (meta fields, file sizes, hashes, labels);
 * any problem is an E_DATASET / E_NOT_FOUND result naming the file and the field. Never throws.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attempt, fail, ok, type Result } from '../core/errors.ts';
import { decodeToFloat32 } from './encode.ts';
import {
  BYTES_PER_VALUE,
  META_FILE,
  REBUILD_HINT,
  SPLIT_NAMES,
  validateMeta,
  type SplitName,
  type TaskMeta,
} from './format.ts';
import { permuteSamples } from './layout.ts';
import { applyStats, computeStats } from './normalize.ts';
import { sampleSize, type Split, type TaskData } from './types.ts';
import { sha256 } from './write.ts';

/** `resources/data` of this repository, found from this file (shared/datasets/load.ts). */
export const DEFAULT_DATA_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../resources/data');

export interface LoadOptions {
  /** Folder holding one sub-folder per task; defaults to the repository's resources/data. */
  readonly root?: string;
  /**
   * Folders searched in order for the task (the first holding `<task>/meta.json` wins); `root` is
   * ignored when given. Build it with `dataRoots` so the bundled tasks stay reachable.
   */
  readonly roots?: readonly string[];
  /** Check the files' SHA-256 against meta.json (default true; ~50 ms for the largest task). */
  readonly verifyHashes?: boolean;
}

/** The tasks present under `root` (folders with a meta.json), sorted by name. */
export function listTasks(root: string = DEFAULT_DATA_ROOT): Result<string[]> {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return fail(
        'E_NOT_FOUND',
        `No task data folder at ${root}.`,
        'Import your data with `wsep data import <source> --task <id>`, or pass --data with the folder that holds your task folders.',
      );
    return fail('E_IO', `Cannot list ${root}: ${(thrown as Error).message}`);
  }
  const tasks = entries.filter((name) => {
    if (name.startsWith('.')) return false; // temporary folders of an import in progress
    try {
      return statSync(join(root, name, META_FILE)).isFile();
    } catch {
      return false;
    }
  });
  return ok(tasks.sort());
}

/** Reads meta.json of a task folder and validates it. */
export function readTaskMeta(dir: string): Result<TaskMeta> {
  const path = join(dir, META_FILE);
  const text = readFile(path);
  if (!text.ok) return text;
  let json: unknown;
  try {
    json = JSON.parse(text.value.toString('utf8'));
  } catch (thrown) {
    return fail('E_DATASET', `${path} is not valid JSON: ${(thrown as Error).message}`);
  }
  return validateMeta(json, path);
}

export function loadTask(task: string, options: LoadOptions = {}): Result<TaskData> {
  // Belt and braces for "never throws": anything unforeseen becomes an E_DATASET result.
  const result = attempt(() => loadChecked(task, options), 'E_DATASET');
  return result.ok ? result.value : result;
}

/**
 * The folder of `task`: the first of `roots` holding it. A missing task is E_NOT_FOUND listing every
 * folder searched and the tasks each holds.
 */
export function findTaskDir(task: string, roots: readonly string[]): Result<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(task))
    return fail('E_USAGE', `'${task}' is not a task id (letters, digits, _ and - only).`);
  for (const root of roots) {
    const dir = join(root, task);
    if (existsSync(join(dir, META_FILE)) || (roots.length === 1 && existsSync(dir))) return ok(dir);
  }
  const known = new Set<string>();
  for (const root of roots) {
    const listed = listTasks(root);
    if (listed.ok) for (const name of listed.value) known.add(name);
  }
  const list = known.size > 0 ? ` Known tasks: ${[...known].sort().join(', ')}.` : '';
  return fail(
    'E_NOT_FOUND',
    `No task '${task}' in ${roots.join(', ')}.${list}`,
    'Import your data with `wsep data import <source> --task <id>` (it writes ./data/<id>), or pass --data with the folder you imported it into.',
  );
}

function loadChecked(task: string, options: LoadOptions): Result<TaskData> {
  const found = findTaskDir(task, options.roots ?? [options.root ?? DEFAULT_DATA_ROOT]);
  if (!found.ok) return found;
  const dir = found.value;
  const metaResult = readTaskMeta(dir);
  if (!metaResult.ok) return metaResult;
  const meta = metaResult.value;
  const metaPath = join(dir, META_FILE);
  if (meta.task !== task)
    return fail('E_DATASET', `${metaPath}: field 'task' is '${meta.task}' but the folder is '${task}'.`);

  const per = sampleSize(meta.storedShape);
  const n = meta.counts.total;

  const xPath = join(dir, meta.x.file);
  const xBytes = readFile(xPath, 'x.file');
  if (!xBytes.ok) return xBytes;
  const expectedX = n * per * BYTES_PER_VALUE[meta.x.dtype];
  if (xBytes.value.byteLength !== expectedX) {
    return fail(
      'E_DATASET',
      `${xPath} has ${xBytes.value.byteLength} bytes, expected ${expectedX} (counts.total ${n} × storedShape [${meta.storedShape}] × ${BYTES_PER_VALUE[meta.x.dtype]} bytes of ${meta.x.dtype}).`,
      `The file is truncated or from another import. ${REBUILD_HINT}`,
    );
  }
  const yPath = join(dir, meta.y.file);
  const yBytes = readFile(yPath, 'y.file');
  if (!yBytes.ok) return yBytes;
  if (yBytes.value.byteLength !== n) {
    return fail(
      'E_DATASET',
      `${yPath} has ${yBytes.value.byteLength} labels, expected counts.total = ${n}.`,
      REBUILD_HINT,
    );
  }
  if (options.verifyHashes !== false) {
    if (sha256(xBytes.value) !== meta.x.sha256)
      return fail(
        'E_DATASET',
        `${xPath}: content does not match field 'x.sha256' of ${metaPath} (corrupted or edited).`,
      );
    if (sha256(yBytes.value) !== meta.y.sha256)
      return fail(
        'E_DATASET',
        `${yPath}: content does not match field 'y.sha256' of ${metaPath} (corrupted or edited).`,
      );
  }
  const y = new Uint8Array(yBytes.value);
  const badLabel = y.findIndex((c) => c >= meta.classes.length);
  if (badLabel >= 0) {
    return fail(
      'E_DATASET',
      `${yPath}: sample ${badLabel} has label ${y[badLabel]}, out of range for the ${meta.classes.length} classes in field 'classes' of ${metaPath}.`,
    );
  }
  for (const name of SPLIT_NAMES) {
    const { start, count } = meta.splits[name];
    const hist = new Array<number>(meta.classes.length).fill(0);
    for (let k = start; k < start + count; k++) hist[y[k]!]!++;
    if (hist.some((v, c) => v !== meta.counts.perClass[name][c])) {
      return fail(
        'E_DATASET',
        `${yPath}: the class counts of the ${name} split do not match field 'counts.perClass.${name}' of ${metaPath}.`,
      );
    }
  }

  return attempt(() => build(meta, xBytes.value, y), 'E_DATASET');
}

function build(meta: TaskMeta, xBytes: Uint8Array, y: Uint8Array): TaskData {
  const n = meta.counts.total;
  const per = sampleSize(meta.storedShape);
  const raw = decodeToFloat32(xBytes, meta.x.dtype, meta.x.scale, meta.x.offset);
  const x = new Float32Array(n * per);
  permuteSamples(raw, x, n, meta.storedShape, meta.permutation);

  const { scale, axis, method } = meta.normalization;
  const train = meta.splits.train;
  const statCount = axis === null ? 1 : meta.inputShape[axis]!;
  const stats =
    method === 'none'
      ? { mean: new Array<number>(statCount).fill(0), std: new Array<number>(statCount).fill(1) }
      : computeStats(
          x.subarray(train.start * per, (train.start + train.count) * per),
          train.count,
          meta.inputShape,
          axis,
          scale,
        );
  applyStats(x, n, meta.inputShape, axis, scale, stats);

  // The three splits are views into one buffer (no copies); consumers must not write past their split.
  const split = (name: SplitName): Split => {
    const { start, count } = meta.splits[name];
    return {
      n: count,
      x: x.subarray(start * per, (start + count) * per),
      y: y.subarray(start, start + count),
    };
  };
  return {
    task: meta.task,
    title: meta.title,
    inputShape: meta.inputShape,
    classes: meta.classes,
    train: split('train'),
    val: split('val'),
    test: split('test'),
    preprocessing: {
      scale,
      mean: stats.mean,
      std: stats.std,
      layout: meta.layout,
      ...(axis === null || axis === 0 ? {} : { axis }),
    },
    splitMethod: meta.splitMethod,
    source: meta.source,
    license: meta.license,
  };
}

function readFile(path: string, field?: string): Result<Buffer> {
  try {
    return ok(readFileSync(path));
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return fail(
        'E_DATASET',
        `Missing file ${path}${field ? ` (named by field '${field}' of meta.json)` : ''}.`,
        REBUILD_HINT,
      );
    return fail('E_IO', `Cannot read ${path}: ${(thrown as Error).message}`);
  }
}
