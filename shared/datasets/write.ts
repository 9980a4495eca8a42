/**
 * Packing a task into the in-repo format and writing its folder atomically: samples are reordered
 * into train, val, test; values encoded (encode.ts); counts, hashes and per-sample provenance go into
 * meta.json. A reader sees the old folder or the complete new one, never a half-written one.
 */
import { writeFileSynced } from '../core/durable-fs.ts';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { attempt, type Result } from '../core/errors.ts';
import { encodeFloat32, encodeInt16, encodeUint8, type Encoded } from './encode.ts';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  LABEL_FILE,
  META_FILE,
  SAMPLE_FILE,
  SPLIT_NAMES,
  type NormalizationPolicy,
  type SplitName,
  type StoredDtype,
  type TaskMeta,
} from './format.ts';
import { splitProblems, type SplitAssignment } from './splits.ts';
import { sampleSize } from './types.ts';

/** A task as the importer assembles it: the meta fields that describe it, plus its raw rows. */
export interface TaskSource extends Pick<
  TaskMeta,
  'task' | 'title' | 'classes' | 'storedShape' | 'inputShape' | 'layout' | 'permutation'
> {
  /** All source rows, row-major [rows, ...storedShape]: uint8 pixels or float features. */
  readonly x: Uint8Array | Float32Array;
  readonly y: Uint8Array;
  /** How to store x; uint8 sources must use 'uint8'. */
  readonly dtype: StoredDtype;
  readonly split: SplitAssignment;
  readonly splitMethod: string;
  readonly normalization: NormalizationPolicy;
  readonly source: string;
  readonly license: string;
  readonly notes: readonly string[];
  /** Per source row, the group the split used (fold, subject, speaker), when it used one. */
  readonly groupName?: string;
  readonly groups?: ArrayLike<number | string>;
}

export interface PackedTask {
  readonly meta: TaskMeta;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

function encodingNote(e: Encoded, pixels: boolean): string {
  if (e.dtype === 'uint8')
    return `Samples stored as uint8${pixels ? ' pixels 0..255' : ''}, exactly as in the source.`;
  if (e.dtype === 'float32') return 'Samples stored as float32 little-endian, exactly as in the source.';
  if (e.maxAbsError === 0)
    return 'Samples stored as int16 little-endian: the source values are integers in int16 range, so this is exact (raw = stored).';
  return `Samples stored as int16 little-endian, an affine quantisation of the float32 source: raw = stored · x.scale + x.offset; max abs error ${e.maxAbsError.toExponential(2)} (half a step of ${e.scale.toExponential(2)}), far below the features' spread.`;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reorders, encodes and describes a task; throws on inconsistent input (a bug in the caller). */
export function packTask(src: TaskSource): PackedTask {
  const per = sampleSize(src.storedShape);
  const rows = src.y.length;
  if (src.x.length !== rows * per)
    throw new Error(`${src.task}: x holds ${src.x.length} values, expected ${rows} × ${per}`);
  const problems = splitProblems(src.split, rows);
  if (problems.length > 0) throw new Error(`${src.task}: bad split: ${problems.join('; ')}`);
  for (const i of [...src.split.train, ...src.split.val, ...src.split.test]) {
    if (src.y[i]! >= src.classes.length)
      throw new Error(
        `${src.task}: row ${i} has label ${src.y[i]} but there are ${src.classes.length} classes`,
      );
  }

  const order = [...src.split.train, ...src.split.val, ...src.split.test];
  const n = order.length;
  const y = new Uint8Array(n);
  order.forEach((row, k) => (y[k] = src.y[row]!));

  let encoded: Encoded;
  if (src.x instanceof Uint8Array) {
    if (src.dtype !== 'uint8') throw new Error(`${src.task}: uint8 source must be stored as uint8`);
    const x = new Uint8Array(n * per);
    order.forEach((row, k) => x.set(src.x.subarray(row * per, (row + 1) * per), k * per));
    encoded = encodeUint8(x);
  } else {
    const x = new Float32Array(n * per);
    order.forEach((row, k) => x.set(src.x.subarray(row * per, (row + 1) * per), k * per));
    if (src.dtype === 'uint8') throw new Error(`${src.task}: float source cannot be stored as uint8`);
    encoded = src.dtype === 'int16' ? encodeInt16(x) : encodeFloat32(x);
  }

  const splits = {} as Record<SplitName, { start: number; count: number }>;
  const perClass = {} as Record<SplitName, number[]>;
  let start = 0;
  for (const name of SPLIT_NAMES) {
    const count = src.split[name].length;
    splits[name] = { start, count };
    const hist = new Array<number>(src.classes.length).fill(0);
    for (let k = start; k < start + count; k++) hist[y[k]!]!++;
    perClass[name] = hist;
    start += count;
  }

  const meta: TaskMeta = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    task: src.task,
    title: src.title,
    classes: [...src.classes],
    storedShape: [...src.storedShape],
    inputShape: [...src.inputShape],
    layout: src.layout,
    permutation: [...src.permutation],
    x: {
      file: SAMPLE_FILE[encoded.dtype],
      dtype: encoded.dtype,
      scale: encoded.scale,
      offset: encoded.offset,
      maxAbsError: encoded.maxAbsError,
      bytes: encoded.bytes.byteLength,
      sha256: sha256(encoded.bytes),
    },
    y: { file: LABEL_FILE, bytes: y.byteLength, sha256: sha256(y) },
    counts: { total: n, train: splits.train.count, val: splits.val.count, test: splits.test.count, perClass },
    splits,
    splitMethod: src.splitMethod,
    normalization: src.normalization,
    source: src.source,
    license: src.license,
    notes: [...src.notes, encodingNote(encoded, src.x instanceof Uint8Array)],
    perSample: {
      sourceIndex: order,
      ...(src.groups && src.groupName
        ? { groupName: src.groupName, group: order.map((row) => src.groups![row]!) }
        : {}),
    },
  };
  return { meta, x: encoded.bytes, y };
}

/**
 * Writes `<root>/<task>/` atomically: the files go to a temporary sibling folder which then replaces
 * the old one by rename (the old one is moved aside first and removed after).
 */
export function writeTaskDir(root: string, packed: PackedTask): Result<string> {
  return attempt(() => {
    mkdirSync(root, { recursive: true });
    const final = join(root, packed.meta.task);
    const temp = join(root, `.${packed.meta.task}.tmp-${process.pid}`);
    const old = join(root, `.${packed.meta.task}.old-${process.pid}`);
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(temp);
    try {
      writeFileSynced(join(temp, packed.meta.x.file), packed.x);
      writeFileSynced(join(temp, packed.meta.y.file), packed.y);
      writeFileSynced(join(temp, META_FILE), new TextEncoder().encode(formatMeta(packed.meta)));
      if (existsSync(final)) renameSync(final, old);
      renameSync(temp, final);
      rmSync(old, { recursive: true, force: true });
    } catch (thrown) {
      rmSync(temp, { recursive: true, force: true });
      // The old folder was moved aside but the new one never arrived: put the old one back.
      if (!existsSync(final) && existsSync(old)) renameSync(old, final);
      throw new Error(`Cannot write ${final}: ${(thrown as Error).message}`);
    }
    return final;
  }, 'E_IO');
}

/**
 * meta.json with two-space indentation, except that number arrays (shapes, counts, per-sample
 * provenance) and long lists stay on one line each, so the file is readable and diffs stay small.
 */
export function formatMeta(meta: TaskMeta): string {
  const text = JSON.stringify(
    meta,
    (_key, value: unknown) => {
      const numbers = Array.isArray(value) && value.every((v) => typeof v === 'number');
      const manyStrings =
        Array.isArray(value) &&
        value.length > 12 &&
        value.every((v) => typeof v === 'string' || typeof v === 'number');
      if (Array.isArray(value) && value.length > 0 && (numbers || manyStrings)) {
        return `\u0000${JSON.stringify(value)}\u0000`;
      }
      return value;
    },
    2,
  );
  // Unwrap the placeholders: "\u0000[...]\u0000" (a JSON string) back to the raw array text.
  return (
    text.replace(/"\\u0000(.*?)\\u0000"/g, (_m, inner: string) => JSON.parse(`"${inner}"`) as string) + '\n'
  );
}
