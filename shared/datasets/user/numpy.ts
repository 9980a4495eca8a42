/**
 * NumPy arrays as a source: an `.npz` holding `x`, `y` (and optionally `groups`); a folder holding
 * `x.npy`, `y.npy` (and optionally `groups.npy`); or `x.npy` with its labels named by --labels.
 * x is [n, ...sample shape] in the model's layout, or [n, H, W, C] images with --layout hwc.
 */
import { join } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { readNpy, readNpz, type NpyArray } from '../decode/npy.ts';
import { exists, firstNonFinite, isDirectory, readBytes, shapeText, type RawSource } from './source.ts';

export interface NumpySourceOptions {
  /** The labels `.npy` for an `x.npy` source. */
  readonly labels?: string;
  /** 'hwc': samples are [H, W, C] images, moved channels-first for the model. */
  readonly layout?: 'hwc';
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

export function isNpy(bytes: Uint8Array): boolean {
  return NPY_MAGIC.every((b, i) => bytes[i] === b);
}

export function isZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

interface Arrays {
  readonly x: NpyArray;
  readonly y: NpyArray;
  readonly groups?: NpyArray;
  readonly xName: string;
  readonly yName: string;
  readonly groupsName?: string;
}

function npyFile(path: string, cwd: string, what: string): Result<NpyArray> {
  const bytes = readBytes(path, cwd, what);
  if (!bytes.ok) return bytes;
  return readNpy(bytes.value, path);
}

function readArrays(path: string, cwd: string, options: NumpySourceOptions): Result<Arrays> {
  if (isDirectory(path, cwd)) {
    if (options.labels !== undefined)
      return fail('E_USAGE', `--labels is for an x.npy source; the folder ${path} already holds y.npy.`);
    const xName = join(path, 'x.npy');
    const yName = join(path, 'y.npy');
    const x = npyFile(xName, cwd, 'x.npy (the samples)');
    if (!x.ok) return x;
    const y = npyFile(yName, cwd, 'y.npy (the labels)');
    if (!y.ok) return y;
    const groupsName = join(path, 'groups.npy');
    if (!exists(groupsName, cwd)) return ok({ x: x.value, y: y.value, xName, yName });
    const groups = npyFile(groupsName, cwd, 'groups.npy');
    if (!groups.ok) return groups;
    return ok({ x: x.value, y: y.value, groups: groups.value, xName, yName, groupsName });
  }
  const bytes = readBytes(path, cwd, 'NumPy file');
  if (!bytes.ok) return bytes;
  if (isZip(bytes.value)) {
    if (options.labels !== undefined)
      return fail('E_USAGE', `--labels is for an x.npy source; the .npz ${path} holds its labels as 'y'.`);
    const arrays = readNpz(bytes.value, path);
    if (!arrays.ok) return arrays;
    const a = arrays.value;
    const missing = ['x', 'y'].filter((k) => !a.has(k));
    if (missing.length > 0) {
      return fail(
        'E_DATASET',
        `${path} has no array named ${missing.map((k) => `'${k}'`).join(' or ')} (it holds ${[...a.keys()].map((k) => `'${k}'`).join(', ') || 'nothing'}).`,
        'Save it as np.savez(path, x=samples, y=labels) (optionally groups=...).',
      );
    }
    const groups = a.get('groups');
    return ok({
      x: a.get('x')!,
      y: a.get('y')!,
      xName: `${path} 'x'`,
      yName: `${path} 'y'`,
      ...(groups ? { groups, groupsName: `${path} 'groups'` } : {}),
    });
  }
  const x = readNpy(bytes.value, path);
  if (!x.ok) return x;
  if (options.labels === undefined) {
    return fail(
      'E_USAGE',
      `${path} holds the samples only; name the labels with --labels y.npy.`,
      'Or pass a folder holding x.npy and y.npy, or an .npz holding x and y.',
    );
  }
  const y = npyFile(options.labels, cwd, 'labels file');
  if (!y.ok) return y;
  return ok({ x: x.value, y: y.value, xName: path, yName: options.labels });
}

/** A 1-d array, or [n, 1]: the per-sample values of labels or groups. */
function perSample(a: NpyArray, name: string, n: number, xName: string): Result<Float64Array> {
  const flat = a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1);
  if (!flat || a.shape[0] !== n) {
    return fail(
      'E_DATASET',
      `${name} has shape ${shapeText(a.shape)}, but ${xName} holds ${n} samples, so it must be [${n}] (one value per sample).`,
    );
  }
  return ok(a.values);
}

export function readNumpySource(path: string, cwd: string, options: NumpySourceOptions): Result<RawSource> {
  const arrays = readArrays(path, cwd, options);
  if (!arrays.ok) return arrays;
  const { x, y, groups, xName, yName, groupsName } = arrays.value;
  if (x.shape.length < 2) {
    return fail(
      'E_DATASET',
      `${xName} has shape ${shapeText(x.shape)}; it must be [n, ...sample shape] (e.g. [n, features] or [n, 1, 28, 28]).`,
      'For one feature per sample, reshape to (n, 1).',
    );
  }
  const n = x.shape[0]!;
  const sample = x.shape.slice(1);
  if (n === 0) return fail('E_DATASET', `${xName} holds no samples.`);
  const yValues = perSample(y, yName, n, xName);
  if (!yValues.ok) return yValues;
  if (y.dtype === 'float32' || y.dtype === 'float64') {
    const bad = yValues.value.findIndex((v) => !Number.isInteger(v));
    if (bad >= 0) {
      return fail(
        'E_DATASET',
        `${yName}, row ${bad}: label ${yValues.value[bad]} is not a whole number; labels must be integers (or bool).`,
        'Save the labels as integers: y.astype(np.int64), after mapping them to class numbers.',
      );
    }
  }

  const storedShape = sample;
  let inputShape = sample;
  let permutation = sample.map((_, a) => a);
  let layout = 'none';
  if (options.layout === 'hwc') {
    if (sample.length !== 3) {
      return fail(
        'E_USAGE',
        `--layout hwc needs samples of [H, W, C], but ${xName} holds samples of ${shapeText(sample)}.`,
      );
    }
    inputShape = [sample[2]!, sample[0]!, sample[1]!];
    permutation = [2, 0, 1];
    layout = 'HWC->CHW';
  }
  const per = sample.reduce((a, b) => a * b, 1);
  let xs: Uint8Array | Float32Array;
  if (x.dtype === 'uint8' || x.dtype === 'bool') {
    xs = Uint8Array.from(x.values);
  } else {
    xs = Float32Array.from(x.values);
    const bad = firstNonFinite(xs, per);
    if (bad) {
      return fail(
        'E_DATASET',
        `${xName}: sample ${bad[0]} holds ${xs[bad[0] * per + bad[1]]} at flat position ${bad[1]}${x.dtype === 'float64' ? ' (after conversion to float32)' : ''}; features must be finite.`,
        'Replace NaN and infinite values (np.nan_to_num) or drop those samples.',
      );
    }
  }

  let groupValues: number[] | undefined;
  if (groups) {
    const g = perSample(groups, groupsName!, n, xName);
    if (!g.ok) return g;
    groupValues = [...g.value];
  }

  const notes = [
    `Samples are the rows of ${xName} (dtype ${x.dtype}) in order; perSample.sourceIndex counts them from 0. Labels from ${yName} (dtype ${y.dtype}).`,
  ];
  if (x.dtype === 'float64') notes.push('x was float64 and is kept as float32.');
  return ok({
    kind: 'numpy',
    path,
    n,
    x: xs,
    storedShape,
    inputShape,
    permutation,
    layout,
    labels: [...yValues.value],
    where: (i) => `${yName}, row ${i}`,
    ...(groupValues ? { groups: groupValues, groupName: 'group' } : {}),
    description: `NumPy ${path}: x ${x.dtype} ${shapeText(x.shape)}, y ${y.dtype}${groupsName ? ', groups' : ''}`,
    notes,
  });
}
