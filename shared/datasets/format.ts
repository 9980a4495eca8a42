/**
 * The in-repo task data format, `resources/data/<task>/` (format v1): `meta.json` plus the sample
 * file (`x.u8` | `x.i16` | `x.f32`) and the label file `y.u8`. Samples are stored in split order
 * (train, then val, then test), so each split is one index range recorded in meta.json.
 *
 * This module owns the meta.json schema and its validation; reading the binary files and turning
 * them into model input is load.ts, writing them is write.ts.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { sampleSize } from './types.ts';

export const FORMAT_NAME = 'weightsep-task-data';
export const FORMAT_VERSION = 1;
export const META_FILE = 'meta.json';
export const LABEL_FILE = 'y.u8';

/** How sample values are stored on disk; all little-endian. */
export type StoredDtype = 'uint8' | 'int16' | 'float32';

export const BYTES_PER_VALUE: Readonly<Record<StoredDtype, number>> = { uint8: 1, int16: 2, float32: 4 };
export const SAMPLE_FILE: Readonly<Record<StoredDtype, string>> = {
  uint8: 'x.u8',
  int16: 'x.i16',
  float32: 'x.f32',
};

/**
 * The sample file. Raw (feature) value = stored · scale + offset, computed in float64 then rounded to
 * float32; uint8 and float32 use scale 1, offset 0. int16 is an affine quantisation of float features.
 */
export interface SampleEncoding {
  readonly file: string;
  readonly dtype: StoredDtype;
  readonly scale: number;
  readonly offset: number;
  /** Largest |decoded − source| over all samples, measured at import (0 = lossless). */
  readonly maxAbsError: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface SplitRange {
  readonly start: number;
  readonly count: number;
}

export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** What the loader does to raw values: x' = (x · scale − mean) / std along `axis`, stats from train. */
export interface NormalizationPolicy {
  readonly scale: number;
  /** inputShape axis the statistics are taken per (0 = channel); null = one global mean/std. */
  readonly axis: number | null;
  readonly description: string;
  /**
   * 'none': no statistics, the loader uses mean 0 and std 1 (x' = x · scale). Absent (every
   * bundled task, and the default) means statistics from the train split, so older folders load as
   * they always did.
   */
  readonly method?: 'none';
}

/** What to do about a broken task folder, for both kinds of task. */
export const REBUILD_HINT =
  'Rebuild the task folder: `wsep data import <source> --task <id> --force` for your own data, `node --import tsx scripts/import-data.ts --only <task>` for a bundled task.';

export interface TaskMeta {
  readonly format: typeof FORMAT_NAME;
  readonly version: typeof FORMAT_VERSION;
  readonly task: string;
  readonly title: string;
  readonly classes: readonly string[];
  /** Per-sample shape as stored (source layout). */
  readonly storedShape: readonly number[];
  /** Per-sample model input shape, channels first. */
  readonly inputShape: readonly number[];
  /** Human-readable layout change, e.g. 'HWC->CHW', 'none'. */
  readonly layout: string;
  /** Model tensor = transpose(stored sample, permutation) reshaped to inputShape. */
  readonly permutation: readonly number[];
  readonly x: SampleEncoding;
  readonly y: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly counts: {
    readonly total: number;
    readonly train: number;
    readonly val: number;
    readonly test: number;
    /** Samples per class in each split (index = class). */
    readonly perClass: Readonly<Record<SplitName, readonly number[]>>;
  };
  readonly splits: Readonly<Record<SplitName, SplitRange>>;
  readonly splitMethod: string;
  readonly normalization: NormalizationPolicy;
  /** Where the data came from: package@version + files, or the team dataset's repo@commit + paths. */
  readonly source: string;
  readonly license: string;
  readonly notes: readonly string[];
  /**
   * Per stored sample: its row in the source (team dataset row or npm class-file index), and, where
   * the split used one, its group (fold, subject, speaker). Kept so any split can be audited.
   */
  readonly perSample: {
    readonly sourceIndex: readonly number[];
    readonly groupName?: string;
    readonly group?: readonly (number | string)[];
  };
}

// ---------------------------------------------------------------------------------------------------
// Validation. Every check names the file and the field, so a broken folder says what to fix.

class MetaCheck {
  readonly problems: string[] = [];
  constructor(private readonly file: string) {}

  fail(field: string, what: string): void {
    this.problems.push(`${this.file}: field '${field}' ${what}`);
  }

  string(obj: Record<string, unknown>, field: string, path = field): string | undefined {
    const v = obj[field];
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(path, v === undefined ? 'is missing' : 'must be a non-empty string');
      return undefined;
    }
    return v;
  }

  int(obj: Record<string, unknown>, field: string, path = field, min = 0): number | undefined {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(
        path,
        v === undefined ? 'is missing' : `must be an integer >= ${min} (got ${JSON.stringify(v)})`,
      );
      return undefined;
    }
    return v;
  }

  finite(obj: Record<string, unknown>, field: string, path = field): number | undefined {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(path, v === undefined ? 'is missing' : `must be a finite number (got ${JSON.stringify(v)})`);
      return undefined;
    }
    return v;
  }

  object(obj: Record<string, unknown>, field: string, path = field): Record<string, unknown> | undefined {
    const v = obj[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(path, v === undefined ? 'is missing' : 'must be an object');
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  intArray(obj: Record<string, unknown>, field: string, path = field, min = 0): number[] | undefined {
    const v = obj[field];
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'number' || !Number.isInteger(e) || e < min)) {
      this.fail(path, v === undefined ? 'is missing' : `must be an array of integers >= ${min}`);
      return undefined;
    }
    return v as number[];
  }
}

/** A simple file name, so meta.json cannot point outside its own folder. */
function isPlainFileName(name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && name !== '.' && name !== '..';
}

/**
 * Checks that `json` (parsed meta.json) is a complete, self-consistent TaskMeta. `file` is the path
 * used in messages. Does not look at the binary files (load.ts checks their sizes and contents).
 */
export function validateMeta(json: unknown, file: string): Result<TaskMeta> {
  const c = new MetaCheck(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail('E_DATASET', `${file}: must hold a JSON object.`);
  }
  const m = json as Record<string, unknown>;
  if (m.format !== FORMAT_NAME)
    c.fail('format', `must be '${FORMAT_NAME}' (got ${JSON.stringify(m.format)})`);
  if (m.version !== FORMAT_VERSION) {
    c.fail('version', `must be ${FORMAT_VERSION} (got ${JSON.stringify(m.version)}); re-import the task`);
  }
  c.string(m, 'task');
  c.string(m, 'title');
  c.string(m, 'layout');
  c.string(m, 'splitMethod');
  c.string(m, 'source');
  c.string(m, 'license');

  const classes = m.classes;
  let classCount: number | undefined;
  if (
    !Array.isArray(classes) ||
    classes.length < 2 ||
    classes.length > 256 ||
    classes.some((e) => typeof e !== 'string')
  ) {
    c.fail('classes', classes === undefined ? 'is missing' : 'must be an array of 2..256 class names');
  } else classCount = classes.length;

  const storedShape = c.intArray(m, 'storedShape', 'storedShape', 1);
  const inputShape = c.intArray(m, 'inputShape', 'inputShape', 1);
  const permutation = c.intArray(m, 'permutation');
  if (storedShape && inputShape && sampleSize(storedShape) !== sampleSize(inputShape)) {
    c.fail('inputShape', `[${inputShape}] must hold as many values as storedShape [${storedShape}]`);
  }
  if (storedShape && permutation) {
    const sorted = [...permutation].sort((a, b) => a - b);
    if (sorted.length !== storedShape.length || sorted.some((v, i) => v !== i)) {
      c.fail(
        'permutation',
        `[${permutation}] must be a permutation of the ${storedShape.length} stored axes`,
      );
    }
  }

  const x = c.object(m, 'x');
  if (x) {
    const dtype = x.dtype;
    if (dtype !== 'uint8' && dtype !== 'int16' && dtype !== 'float32') {
      c.fail('x.dtype', `must be 'uint8', 'int16' or 'float32' (got ${JSON.stringify(dtype)})`);
    }
    const name = c.string(x, 'file', 'x.file');
    if (name !== undefined && !isPlainFileName(name))
      c.fail('x.file', 'must be a plain file name in the task folder');
    const scale = c.finite(x, 'scale', 'x.scale');
    if (scale !== undefined && scale <= 0) c.fail('x.scale', 'must be > 0');
    c.finite(x, 'offset', 'x.offset');
    c.finite(x, 'maxAbsError', 'x.maxAbsError');
    c.int(x, 'bytes', 'x.bytes');
    c.string(x, 'sha256', 'x.sha256');
  }
  const y = c.object(m, 'y');
  if (y) {
    const name = c.string(y, 'file', 'y.file');
    if (name !== undefined && !isPlainFileName(name))
      c.fail('y.file', 'must be a plain file name in the task folder');
    c.int(y, 'bytes', 'y.bytes');
    c.string(y, 'sha256', 'y.sha256');
  }

  const counts = c.object(m, 'counts');
  const total = counts ? c.int(counts, 'total', 'counts.total', 1) : undefined;
  const splits = c.object(m, 'splits');
  if (splits) {
    // Splits are consecutive ranges in the order train, val, test, covering every sample once.
    let next = 0;
    for (const name of SPLIT_NAMES) {
      const r = c.object(splits, name, `splits.${name}`);
      if (!r) continue;
      const start = c.int(r, 'start', `splits.${name}.start`);
      const count = c.int(r, 'count', `splits.${name}.count`, 1);
      if (start === undefined || count === undefined) continue;
      if (start !== next)
        c.fail(
          `splits.${name}.start`,
          `is ${start} but the previous split ends at ${next} (splits must be consecutive: train, val, test)`,
        );
      next = start + count;
      if (counts && counts[name] !== count)
        c.fail(`counts.${name}`, `is ${JSON.stringify(counts[name])} but splits.${name}.count is ${count}`);
    }
    if (total !== undefined && next !== total)
      c.fail('splits', `cover ${next} samples but counts.total is ${total}`);
  }
  if (counts && classCount !== undefined) {
    const perClass = c.object(counts, 'perClass', 'counts.perClass');
    if (perClass) {
      for (const name of SPLIT_NAMES) {
        const a = c.intArray(perClass, name, `counts.perClass.${name}`);
        if (a && a.length !== classCount)
          c.fail(`counts.perClass.${name}`, `has ${a.length} entries for ${classCount} classes`);
      }
    }
  }

  const norm = c.object(m, 'normalization');
  if (norm) {
    const scale = c.finite(norm, 'scale', 'normalization.scale');
    if (scale !== undefined && scale <= 0) c.fail('normalization.scale', 'must be > 0');
    const axis = norm.axis;
    if (
      axis !== null &&
      (typeof axis !== 'number' ||
        !Number.isInteger(axis) ||
        axis < 0 ||
        (inputShape !== undefined && axis >= inputShape.length))
    ) {
      c.fail('normalization.axis', `must be null or an axis of inputShape (got ${JSON.stringify(axis)})`);
    }
    c.string(norm, 'description', 'normalization.description');
    if (norm.method !== undefined && norm.method !== 'none')
      c.fail('normalization.method', `must be 'none' or absent (got ${JSON.stringify(norm.method)})`);
  }

  if (!Array.isArray(m.notes) || m.notes.some((e) => typeof e !== 'string'))
    c.fail('notes', m.notes === undefined ? 'is missing' : 'must be an array of strings');
  const perSample = c.object(m, 'perSample');
  if (perSample) {
    const idx = c.intArray(perSample, 'sourceIndex', 'perSample.sourceIndex');
    if (idx && total !== undefined && idx.length !== total)
      c.fail('perSample.sourceIndex', `has ${idx.length} entries for ${total} samples`);
    if (
      perSample.group !== undefined &&
      (!Array.isArray(perSample.group) || (total !== undefined && perSample.group.length !== total))
    ) {
      c.fail('perSample.group', `must be an array with one entry per sample`);
    }
  }

  if (c.problems.length > 0) {
    const [first, ...rest] = c.problems;
    const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    return fail('E_DATASET', `${first}${more}.`, REBUILD_HINT, { problems: c.problems });
  }
  return ok(json as TaskMeta);
}
