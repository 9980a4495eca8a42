/**
 * On-device health slices: a small, fixed piece of each model's test split that travels with a plan, so
 * a device with no task data can check that the plan it just activated computes what the app computed.
 *
 * The app cuts the slices (`buildHealthSlices`): per model, the first N samples of the task's test
 * split after a seeded shuffle, and the accuracy the paged runtime measures on them here. A slice keeps
 * the task's stored encoding (uint8 images, int16 features with scale and offset, else float32: the very
 * bytes the task folder holds for those samples), because float32 model input would be 2–4× larger and
 * the slices travel with every rollout. Both sides turn those bytes into model input with one function
 * (`healthSliceInputs`: the task loader's decode, then the bundle's preprocessing as the runtime applies
 * it), so the accuracy expected here and the one the device measures come from bit-identical inputs;
 * only a different CPU's rounding inside the model separates them, hence a small tolerance in points.
 *
 * Files: `health.json` (this module's format) beside `<model>.npy` (the stored values, [n,
 * ...storedShape], dtype as health.json records it) and `<model>.labels.npy` (uint8 class indices, [n]),
 * each listed with its size and hash.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, toError, type Result } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { readNpy, writeNpy } from '../datasets/decode/npy.ts';
import { decodeToFloat32 } from '../datasets/encode.ts';
import { BYTES_PER_VALUE, REBUILD_HINT, type StoredDtype } from '../datasets/format.ts';
import { findTaskDir, readTaskMeta } from '../datasets/load.ts';
import { sampleSize, type Split } from '../datasets/types.ts';
import { writeFolderAtomic } from '../image/atomic.ts';
import { HEX64, sha256Hex } from '../image/hash.ts';
import { MODEL_NAME } from '../image/manifest.ts';
import { loadModelSplit } from './evaluate.ts';
import { preprocessSample, storedLayout } from './preprocess.ts';
import { PagedRuntime, type RuntimeModelInfo } from './runtime.ts';

export const HEALTH_FORMAT = 'weightsep-health';
/** 2: slices in the task's stored encoding (version 1 held float32 model input). */
export const HEALTH_VERSION = 2;
export const HEALTH_FILE = 'health.json';
export const DEFAULT_HEALTH_SAMPLES = 64;
export const DEFAULT_HEALTH_SEED = 1;
/**
 * Default allowed drop, in points. One sample of 64 is 1.56 points: a different CPU's rounding may flip
 * a borderline sample or two, while a broken plan costs far more.
 */
export const DEFAULT_HEALTH_TOLERANCE_POINTS = 3.2;
/** Largest slice a health.json may declare (keeps a hostile file from asking for huge allocations). */
const MAX_HEALTH_SAMPLES = 1 << 20;
const EPSILON_POINTS = 1e-9;

export interface HealthFile {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

const STORED_DTYPES: readonly StoredDtype[] = ['uint8', 'int16', 'float32'];

/** The inputs file and its encoding, as the task's meta.json gives it: raw = stored · scale + offset. */
export interface HealthInputsFile extends HealthFile {
  readonly dtype: StoredDtype;
  readonly scale: number;
  readonly offset: number;
}

export interface HealthModel {
  readonly model: string;
  readonly task: string;
  readonly samples: number;
  /** Accuracy of the paged runtime on this slice when the app built it, 0..1. */
  readonly expectedAccuracy: number;
  readonly inputs: HealthInputsFile;
  readonly labels: HealthFile;
}

export interface HealthManifest {
  readonly format: typeof HEALTH_FORMAT;
  readonly version: typeof HEALTH_VERSION;
  readonly planId: string;
  readonly tolerancePoints: number;
  readonly models: readonly HealthModel[];
}

export interface HealthSliceOptions {
  /** Samples per model (default 64; fewer when the test split is smaller). */
  readonly samples?: number;
  readonly seed?: number;
  readonly tolerancePoints?: number;
}

/** One model's result (the fleet protocol's HealthModelResult extends it). */
export interface HealthModelResult {
  readonly model: string;
  readonly samples: number;
  /** The accuracy the app measured on this slice when it staged the plan, 0..1. */
  readonly expected: number;
  /** The accuracy measured on the device, 0..1. */
  readonly measured: number;
  /** (expected − measured) × 100; negative when the device did better. */
  readonly dropPoints: number;
  /** dropPoints ≤ tolerancePoints. */
  readonly passed: boolean;
}

export interface HealthResult {
  readonly planId: string;
  readonly tolerancePoints: number;
  readonly models: readonly HealthModelResult[];
  readonly passed: boolean;
}

/** One model's slice as stored: the task's sample bytes, not yet model input. */
export interface StoredSlice {
  readonly n: number;
  /** Per-sample shape as the task data stores it (the source layout). */
  readonly storedShape: readonly number[];
  readonly dtype: StoredDtype;
  readonly scale: number;
  readonly offset: number;
  /** n stored samples, little-endian, exactly as the task folder holds them. */
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

/** A health folder read back and checked: the manifest and each model's stored slice. */
export interface HealthSlices {
  readonly manifest: HealthManifest;
  readonly slices: ReadonlyMap<string, StoredSlice>;
  /** Files read (health.json included) and their bytes. */
  readonly files: number;
  readonly bytes: number;
}

const inputsFile = (model: string): string => `${model}.npy`;
const labelsFile = (model: string): string => `${model}.labels.npy`;

function checkOptions(options: HealthSliceOptions): Result<Required<HealthSliceOptions>> {
  const samples = options.samples ?? DEFAULT_HEALTH_SAMPLES;
  const seed = options.seed ?? DEFAULT_HEALTH_SEED;
  const tolerancePoints = options.tolerancePoints ?? DEFAULT_HEALTH_TOLERANCE_POINTS;
  if (!Number.isInteger(samples) || samples < 1 || samples > MAX_HEALTH_SAMPLES)
    return fail(
      'E_USAGE',
      `The health slice size must be a whole number from 1 to ${MAX_HEALTH_SAMPLES}, got ${samples}.`,
    );
  if (!Number.isInteger(seed))
    return fail('E_USAGE', `The health slice seed must be a whole number, got ${seed}.`);
  if (!checkTolerance(tolerancePoints))
    return fail(
      'E_USAGE',
      `The health tolerance must be a number of points from 0 to 100, got ${tolerancePoints}.`,
    );
  return ok({ samples, seed, tolerancePoints });
}

function checkTolerance(points: number): boolean {
  return Number.isFinite(points) && points >= 0 && points <= 100;
}

/** The values of little-endian stored bytes, for the .npy writer. */
function storedValues(bytes: Uint8Array, dtype: StoredDtype): ArrayLike<number> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'uint8':
      return bytes;
    case 'int16':
      return Int16Array.from({ length: bytes.byteLength / 2 }, (_, i) => view.getInt16(2 * i, true));
    case 'float32':
      return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
  }
}

/** The little-endian stored bytes of values read from a .npy (whatever byte order its header named). */
function storedBytes(values: Float64Array, dtype: StoredDtype): Uint8Array {
  if (dtype === 'uint8') return Uint8Array.from(values);
  const out = new Uint8Array(values.length * BYTES_PER_VALUE[dtype]);
  const view = new DataView(out.buffer);
  if (dtype === 'int16') values.forEach((v, i) => view.setInt16(2 * i, v, true));
  else values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

/**
 * The stored bytes and labels of the first `count` test samples of `info`'s task after a shuffle seeded
 * by `seed`. `test` is the split loadModelSplit checked against the bundle; the bytes are read from the
 * same task folder and checked against its meta.json hash.
 */
function cutSlice(
  info: RuntimeModelInfo,
  roots: readonly string[],
  test: Split,
  count: number,
  seed: number,
): Result<StoredSlice> {
  const dir = findTaskDir(info.name, roots);
  if (!dir.ok) return dir;
  const meta = readTaskMeta(dir.value);
  if (!meta.ok) return meta;
  const { dtype, scale, offset } = meta.value.x;
  const path = join(dir.value, meta.value.x.file);
  const file = readBytes(path, 'E_DATASET');
  if (!file.ok) return file;
  const width = sampleSize(meta.value.storedShape) * BYTES_PER_VALUE[dtype];
  const { start, count: testCount } = meta.value.splits.test;
  if (
    testCount !== test.n ||
    file.value.byteLength !== meta.value.counts.total * width ||
    sha256Hex(file.value) !== meta.value.x.sha256
  )
    return fail(
      'E_DATASET',
      `${path} does not match its meta.json (size, hash or test split changed since it was loaded).`,
      REBUILD_HINT,
    );
  const order = new Rng(seed).permutation(test.n).subarray(0, Math.min(count, test.n));
  const x = new Uint8Array(order.length * width);
  const y = new Uint8Array(order.length);
  order.forEach((from, i) => {
    const at = (start + from) * width;
    x.set(file.value.subarray(at, at + width), i * width);
    y[i] = test.y[from]!;
  });
  return ok({ n: order.length, storedShape: meta.value.storedShape, dtype, scale, offset, x, y });
}

/**
 * A stored slice as model input for `info`: decoded like the task loader decodes its sample file, then
 * permuted and normalised with the bundle's preprocessing as the runtime does. The app's expected
 * accuracy and the device's measured one both come from this function.
 */
export function healthSliceInputs(slice: StoredSlice, info: RuntimeModelInfo): Result<Split> {
  const size = sampleSize(info.inputShape);
  if (
    sampleSize(slice.storedShape) !== size ||
    slice.x.byteLength !== slice.n * size * BYTES_PER_VALUE[slice.dtype]
  )
    return fail(
      'E_BUNDLE_CORRUPT',
      `The health slice of model "${info.name}" does not hold ${slice.n} samples of ${size} values, the model's input shape [${info.inputShape.join(', ')}].`,
      HINT,
    );
  const raw = decodeToFloat32(slice.x, slice.dtype, slice.scale, slice.offset);
  const x = new Float32Array(slice.n * size);
  for (let i = 0; i < slice.n; i++) {
    const sample = preprocessSample(
      raw.subarray(i * size, (i + 1) * size),
      'stored',
      info.preprocessing,
      info.inputShape,
    );
    if (!sample.ok) return sample;
    x.set(sample.value, i * size);
  }
  return ok({ n: slice.n, x, y: slice.y.slice() });
}

/**
 * Builds the health slices of the bundle at `bundleDir` from its tasks' test splits (found in `roots`,
 * checked against the bundle like `wsep eval` checks them) and writes them atomically to `healthDir`.
 */
export async function buildHealthSlices(
  bundleDir: string,
  roots: readonly string[],
  healthDir: string,
  options: HealthSliceOptions = {},
): Promise<Result<HealthManifest>> {
  const settings = checkOptions(options);
  if (!settings.ok) return settings;
  const { samples, seed, tolerancePoints } = settings.value;
  const opened = await PagedRuntime.open(bundleDir, { sessions: 'lazy' });
  if (!opened.ok) return opened;
  const runtime = opened.value;
  try {
    const files: { path: string; bytes: Uint8Array }[] = [];
    const models: HealthModel[] = [];
    for (const name of runtime.models) {
      const info = runtime.modelInfo(name)!;
      const data = loadModelSplit(info, roots, 'test');
      if (!data.ok) return data;
      const slice = cutSlice(info, roots, data.value.split, samples, seed);
      if (!slice.ok) return slice;
      if (slice.value.n === 0)
        return fail(
          'E_DATASET',
          `Task data ${data.value.dataDir} has no test samples, so model "${name}" gets no health slice.`,
          'Import the task with a test split.',
        );
      const { n, storedShape, dtype, scale, offset } = slice.value;
      const modelInput = healthSliceInputs(slice.value, info);
      if (!modelInput.ok) return modelInput;
      const switched = await runtime.switchTo(name);
      if (!switched.ok) return switched;
      const predicted = await runtime.predict(modelInput.value);
      if (!predicted.ok) return predicted;
      const inputs = writeNpy({
        dtype,
        shape: [n, ...storedShape],
        values: storedValues(slice.value.x, dtype),
      });
      const labels = writeNpy({ dtype: 'uint8', shape: [n], values: slice.value.y });
      files.push({ path: inputsFile(name), bytes: inputs }, { path: labelsFile(name), bytes: labels });
      models.push({
        model: name,
        task: name,
        samples: n,
        expectedAccuracy: predicted.value.accuracy,
        inputs: {
          file: inputsFile(name),
          sha256: sha256Hex(inputs),
          bytes: inputs.byteLength,
          dtype,
          scale,
          offset,
        },
        labels: { file: labelsFile(name), sha256: sha256Hex(labels), bytes: labels.byteLength },
      });
    }
    const manifest: HealthManifest = {
      format: HEALTH_FORMAT,
      version: HEALTH_VERSION,
      planId: runtime.planId,
      tolerancePoints,
      models,
    };
    files.push({ path: HEALTH_FILE, bytes: encodeHealthManifest(manifest) });
    const written = writeFolderAtomic(healthDir, files, {
      mayReplace: (existing) => existsSync(join(existing, HEALTH_FILE)),
    });
    if (!written.ok) return written;
    return ok(manifest);
  } catch (thrown) {
    return { ok: false, error: toError(thrown, 'E_RUNTIME') };
  } finally {
    await runtime.close();
  }
}

export function encodeHealthManifest(manifest: HealthManifest): Uint8Array {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

const HINT = 'Stage the plan again from the app (wsep rollout), which rebuilds its health slices.';

function exactKeys(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const have = Object.keys(o);
  const extra = have.find((k) => !keys.includes(k));
  if (extra !== undefined) return `has an unknown member "${extra}"`;
  const missing = keys.find((k) => !(k in o));
  return missing === undefined ? undefined : `lacks "${missing}"`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseFile(v: unknown, where: string, expectedName: string): string | HealthFile {
  if (!isObject(v)) return `${where} is not an object`;
  const keys = exactKeys(v, ['file', 'sha256', 'bytes']);
  if (keys) return `${where} ${keys}`;
  if (v.file !== expectedName) return `${where}.file must be "${expectedName}"`;
  if (typeof v.sha256 !== 'string' || !HEX64.test(v.sha256)) return `${where}.sha256 is not 64 hex digits`;
  if (!Number.isSafeInteger(v.bytes) || (v.bytes as number) < 0) return `${where}.bytes is not a byte count`;
  return { file: v.file, sha256: v.sha256, bytes: v.bytes as number };
}

function parseInputsFile(v: unknown, where: string, expectedName: string): string | HealthInputsFile {
  if (!isObject(v)) return `${where} is not an object`;
  const keys = exactKeys(v, ['file', 'sha256', 'bytes', 'dtype', 'scale', 'offset']);
  if (keys) return `${where} ${keys}`;
  const { dtype, scale, offset, ...file } = v;
  const parsed = parseFile(file, where, expectedName);
  if (typeof parsed === 'string') return parsed;
  if (!STORED_DTYPES.includes(dtype as StoredDtype))
    return `${where}.dtype ${JSON.stringify(dtype)} is not one of ${STORED_DTYPES.join(', ')}`;
  // Infinity reaches here from a literal such as 1e999; the decoded values would not be finite.
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0)
    return `${where}.scale is not a finite number above 0`;
  if (typeof offset !== 'number' || !Number.isFinite(offset)) return `${where}.offset is not a finite number`;
  return { ...parsed, dtype: dtype as StoredDtype, scale, offset };
}

function parseModel(v: unknown, i: number): string | HealthModel {
  const where = `models[${i}]`;
  if (!isObject(v)) return `${where} is not an object`;
  const keys = exactKeys(v, ['model', 'task', 'samples', 'expectedAccuracy', 'inputs', 'labels']);
  if (keys) return `${where} ${keys}`;
  if (typeof v.model !== 'string' || !MODEL_NAME.test(v.model)) return `${where}.model is not a model name`;
  if (typeof v.task !== 'string' || !/^[A-Za-z0-9_-]+$/.test(v.task)) return `${where}.task is not a task id`;
  const samples = v.samples;
  if (!Number.isSafeInteger(samples) || (samples as number) < 1 || (samples as number) > MAX_HEALTH_SAMPLES)
    return `${where}.samples is not a whole number from 1 to ${MAX_HEALTH_SAMPLES}`;
  const acc = v.expectedAccuracy;
  if (typeof acc !== 'number' || !(acc >= 0 && acc <= 1)) return `${where}.expectedAccuracy is not in 0..1`;
  const inputs = parseInputsFile(v.inputs, `${where}.inputs`, inputsFile(v.model));
  if (typeof inputs === 'string') return inputs;
  const labels = parseFile(v.labels, `${where}.labels`, labelsFile(v.model));
  if (typeof labels === 'string') return labels;
  return { model: v.model, task: v.task, samples: samples as number, expectedAccuracy: acc, inputs, labels };
}

/** Strict: every member present with its type, nothing else, file names fixed by the model name. */
export function parseHealthManifest(json: unknown, source = HEALTH_FILE): Result<HealthManifest> {
  const problem = (why: string): Result<never> =>
    fail('E_BUNDLE_CORRUPT', `${source} is not a valid health manifest: ${why}.`, HINT);
  if (!isObject(json)) return problem('it is not a JSON object');
  const keys = exactKeys(json, ['format', 'version', 'planId', 'tolerancePoints', 'models']);
  if (keys) return problem(`it ${keys}`);
  if (json.format !== HEALTH_FORMAT) return problem(`format is not "${HEALTH_FORMAT}"`);
  if (json.version !== HEALTH_VERSION) {
    const older = typeof json.version === 'number' && json.version < HEALTH_VERSION;
    return fail(
      'E_BUNDLE_CORRUPT',
      older
        ? `${source} is health format version ${json.version}, from an older app (float32 slices); this code reads only version ${HEALTH_VERSION}.`
        : `${source} is health format version ${JSON.stringify(json.version)}; this code reads only version ${HEALTH_VERSION}.`,
      older ? HINT : 'Update the app and the device agent to the same release, then stage the plan again.',
    );
  }
  if (typeof json.planId !== 'string' || !HEX64.test(json.planId))
    return problem('planId is not 64 hex digits');
  if (typeof json.tolerancePoints !== 'number' || !checkTolerance(json.tolerancePoints))
    return problem('tolerancePoints is not a number of points from 0 to 100');
  if (!Array.isArray(json.models) || json.models.length === 0)
    return problem('models is not a non-empty list');
  const models: HealthModel[] = [];
  const seen = new Set<string>();
  for (const [i, m] of json.models.entries()) {
    const parsed = parseModel(m, i);
    if (typeof parsed === 'string') return problem(parsed);
    if (seen.has(parsed.model)) return problem(`model "${parsed.model}" is listed twice`);
    seen.add(parsed.model);
    models.push(parsed);
  }
  return ok({
    format: HEALTH_FORMAT,
    version: HEALTH_VERSION,
    planId: json.planId,
    tolerancePoints: json.tolerancePoints,
    models,
  });
}

/** A missing health file is E_NOT_FOUND; a missing task file (`missing` = 'E_DATASET') names the task. */
function readBytes(path: string, missing: 'E_NOT_FOUND' | 'E_DATASET' = 'E_NOT_FOUND'): Result<Uint8Array> {
  try {
    return ok(readFileSync(path));
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return fail('E_IO', `Cannot read ${path}: ${(thrown as Error).message}`);
    return missing === 'E_NOT_FOUND'
      ? fail('E_NOT_FOUND', `The health file ${path} is missing.`, HINT)
      : fail('E_DATASET', `Missing file ${path} (named by field 'x.file' of meta.json).`, REBUILD_HINT);
  }
}

function readChecked(dir: string, f: HealthFile): Result<Uint8Array> {
  const path = join(dir, f.file);
  const bytes = readBytes(path);
  if (!bytes.ok) return bytes;
  if (bytes.value.byteLength !== f.bytes)
    return fail(
      'E_BUNDLE_CORRUPT',
      `The health file ${path} has ${bytes.value.byteLength} bytes, but health.json lists ${f.bytes}.`,
      HINT,
    );
  if (sha256Hex(bytes.value) !== f.sha256)
    return fail(
      'E_BUNDLE_CORRUPT',
      `The health file ${path} does not match its SHA-256 in health.json.`,
      HINT,
    );
  return bytes;
}

export function readHealthManifest(healthDir: string): Result<HealthManifest> {
  const read = readManifestFile(healthDir);
  return read.ok ? ok(read.value.manifest) : read;
}

function readManifestFile(healthDir: string): Result<{ manifest: HealthManifest; bytes: number }> {
  const path = join(healthDir, HEALTH_FILE);
  const bytes = readBytes(path);
  if (!bytes.ok) return bytes;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.value).toString('utf8'));
  } catch {
    return fail('E_BUNDLE_CORRUPT', `${path} is not valid JSON.`, HINT);
  }
  const manifest = parseHealthManifest(json, path);
  return manifest.ok ? ok({ manifest: manifest.value, bytes: bytes.value.byteLength }) : manifest;
}

/** Reads health.json and every slice, checking sizes, hashes and shapes (not yet against a bundle). */
export function readHealthSlices(healthDir: string): Result<HealthSlices> {
  const read = readManifestFile(healthDir);
  if (!read.ok) return read;
  const { manifest } = read.value;
  const slices = new Map<string, StoredSlice>();
  let bytes = read.value.bytes;
  for (const m of manifest.models) {
    const inputs = readChecked(healthDir, m.inputs);
    if (!inputs.ok) return inputs;
    const labels = readChecked(healthDir, m.labels);
    if (!labels.ok) return labels;
    bytes += m.inputs.bytes + m.labels.bytes;
    const x = readNpy(inputs.value, join(healthDir, m.inputs.file));
    if (!x.ok) return { ok: false, error: { ...x.error, code: 'E_BUNDLE_CORRUPT', hint: HINT } };
    const y = readNpy(labels.value, join(healthDir, m.labels.file));
    if (!y.ok) return { ok: false, error: { ...y.error, code: 'E_BUNDLE_CORRUPT', hint: HINT } };
    const { dtype, scale, offset } = m.inputs;
    const shapeProblem =
      x.value.dtype !== dtype || x.value.shape.length < 2 || x.value.shape[0] !== m.samples
        ? `${m.inputs.file} is ${x.value.dtype} [${x.value.shape.join(', ')}], not ${dtype} with ${m.samples} samples as health.json lists`
        : y.value.dtype !== 'uint8' || y.value.shape.length !== 1 || y.value.shape[0] !== m.samples
          ? `${m.labels.file} is not uint8 [${m.samples}]`
          : undefined;
    if (shapeProblem)
      return fail(
        'E_BUNDLE_CORRUPT',
        `The health slice of model "${m.model}" is malformed: ${shapeProblem}.`,
        HINT,
      );
    slices.set(m.model, {
      n: m.samples,
      storedShape: x.value.shape.slice(1),
      dtype,
      scale,
      offset,
      x: storedBytes(x.value.values, dtype),
      y: Uint8Array.from(y.value.values),
    });
  }
  return ok({ manifest, slices, files: 1 + 2 * manifest.models.length, bytes });
}

const withoutUnitAxes = (shape: readonly number[]): string => shape.filter((d) => d !== 1).join(',');

/**
 * Checks that the slices fit the bundle `runtime` has open: same plan, known models, and samples stored
 * in the layout the model's preprocessing permutes from.
 */
export function checkSlicesFit(runtime: PagedRuntime, health: HealthSlices): Result<void> {
  const { manifest } = health;
  if (manifest.planId !== runtime.planId)
    return fail(
      'E_BUNDLE_CORRUPT',
      `The health slices were built for plan ${manifest.planId.slice(0, 12)}…, but the bundle is plan ${runtime.planId.slice(0, 12)}….`,
      HINT,
    );
  for (const m of manifest.models) {
    const info = runtime.modelInfo(m.model);
    if (!info)
      return fail(
        'E_BUNDLE_CORRUPT',
        `The health slices name model "${m.model}", which the bundle lacks.`,
        HINT,
      );
    const layout = storedLayout(info.preprocessing, info.inputShape);
    if (!layout.ok) return layout;
    const { storedShape } = health.slices.get(m.model)!;
    if (withoutUnitAxes(storedShape) !== withoutUnitAxes(layout.value.storedShape))
      return fail(
        'E_BUNDLE_CORRUPT',
        `The health slice of model "${m.model}" holds samples of shape [${storedShape.join(', ')}], but the model's layout "${info.preprocessing.layout}" reads [${layout.value.storedShape.join(', ')}].`,
        HINT,
      );
  }
  const missing = runtime.models.filter((name) => !manifest.models.some((m) => m.model === name));
  if (missing.length > 0)
    return fail(
      'E_BUNDLE_CORRUPT',
      `The health slices lack model${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')} of the bundle.`,
      HINT,
    );
  return ok(undefined);
}

/** Every model's slice as its model input (after `checkSlicesFit`), for an open runtime. */
export function healthInputs(
  runtime: PagedRuntime,
  health: HealthSlices,
): Result<ReadonlyMap<string, Split>> {
  const fits = checkSlicesFit(runtime, health);
  if (!fits.ok) return fits;
  const inputs = new Map<string, Split>();
  for (const m of health.manifest.models) {
    const split = healthSliceInputs(health.slices.get(m.model)!, runtime.modelInfo(m.model)!);
    if (!split.ok) return split;
    inputs.set(m.model, split.value);
  }
  return ok(inputs);
}

/** Runs every model of an open runtime on its slice and compares with the expected accuracy. */
export async function runHealthCheck(
  runtime: PagedRuntime,
  health: HealthSlices,
  tolerancePoints: number = health.manifest.tolerancePoints,
): Promise<Result<HealthResult>> {
  if (!checkTolerance(tolerancePoints))
    return fail(
      'E_USAGE',
      `The health tolerance must be a number of points from 0 to 100, got ${tolerancePoints}.`,
    );
  const inputs = healthInputs(runtime, health);
  if (!inputs.ok) return inputs;
  const models: HealthModelResult[] = [];
  for (const m of health.manifest.models) {
    const switched = await runtime.switchTo(m.model);
    if (!switched.ok) return switched;
    const predicted = await runtime.predict(inputs.value.get(m.model)!);
    if (!predicted.ok) return predicted;
    const dropPoints = (m.expectedAccuracy - predicted.value.accuracy) * 100;
    models.push({
      model: m.model,
      samples: m.samples,
      expected: m.expectedAccuracy,
      measured: predicted.value.accuracy,
      dropPoints,
      passed: dropPoints <= tolerancePoints + EPSILON_POINTS,
    });
  }
  return ok({ planId: runtime.planId, tolerancePoints, models, passed: models.every((m) => m.passed) });
}

/**
 * The device's health check: opens the bundle at `bundleDir` in the paged runtime (every byte
 * verified), runs each model on its slice from `healthDir` and compares. A failed comparison is an ok
 * result with `passed` false; unreadable or mismatched files are failures.
 */
export async function checkHealth(
  bundleDir: string,
  healthDir: string,
  options: { readonly tolerancePoints?: number } = {},
): Promise<Result<HealthResult>> {
  const health = readHealthSlices(healthDir);
  if (!health.ok) return health;
  const opened = await PagedRuntime.open(bundleDir, { sessions: 'lazy' });
  if (!opened.ok) return opened;
  try {
    return await runHealthCheck(opened.value, health.value, options.tolerancePoints);
  } catch (thrown) {
    return { ok: false, error: toError(thrown, 'E_RUNTIME') };
  } finally {
    await opened.value.close();
  }
}

/** The first failing model, in words: which model, expected vs measured. */
export function describeHealthFailure(result: HealthResult): string | undefined {
  const bad = result.models.find((m) => !m.passed);
  if (!bad) return undefined;
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  return `Model "${bad.model}" measured ${pct(bad.measured)} on its ${bad.samples}-sample health slice, expected ${pct(bad.expected)} (a drop of ${bad.dropPoints.toFixed(1)} points, more than the ${result.tolerancePoints} allowed).`;
}
