/**
 * manifest.json, format v2 (v1 still read): its TypeScript shape, how a plan becomes one, and a schema check that turns
 * untrusted JSON into a typed manifest or a list of problems naming the field (docs/FORMAT.md §3).
 */
import type { Preprocessing } from '../datasets/types.ts';
import { HEX64 } from './hash.ts';
import type { ValueType } from './plan.ts';

export const FORMAT_NAME = 'weightsep-bundle';
/**
 * The version our writer emits. v2 added the value type `i8` and the per-page scales (FORMAT.md §2,
 * §3.2); a v1 bundle (f32 only, no scales) is still read, as written.
 */
export const FORMAT_VERSION = 2;
/** Every version this reader understands. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
export type FormatVersion = 1 | 2;
export const MANIFEST_FILE = 'manifest.json';
export const SHARED_FILE = 'shared.bin';
/** Bytes per stored value for value type 'f32'. */
export const F32_BYTES = 4;
/** A manifest larger than this is refused before parsing (a guard against hostile input, not a real limit). */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/**
 * Model names become file names, so they are restricted: a letter or digit first, then letters, digits,
 * '.', '_' or '-', at most 64 characters. Names must also differ when lower-cased (case-insensitive disks).
 */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const graphFile = (model: string): string => `graphs/${model}.onnx`;
export const exclusiveFile = (model: string): string => `exclusive/${model}.bin`;

/**
 * What kind of problem a bundle has: callers (the CLI, the device agent, the app) decide on this, never
 * on a message's text. A closed list; a new check that fits none of these adds a kind here.
 */
export type BundleProblemKind =
  /** The folder does not exist (or is not a folder). */
  | 'no-bundle'
  /** A file the format requires is absent. */
  | 'missing-file'
  /** A file exists but cannot be read. */
  | 'unreadable'
  /** manifest.json is larger than MAX_MANIFEST_BYTES. */
  | 'too-large'
  /** manifest.json is not UTF-8 JSON. */
  | 'not-json'
  /** manifest.json does not say it is a WeightSep bundle. */
  | 'format'
  /** A format version this reader does not understand. */
  | 'version'
  /** A manifest member is missing or has the wrong type. */
  | 'schema'
  /** The plan id is not where a v1 writer puts it. */
  | 'plan-id'
  /** manifest.json does not hash to its plan id: it was edited or corrupted after it was written. */
  | 'manifest-edited'
  /** The manifest breaks its own rules (sizes against counts, names, page tables, tensors). */
  | 'inconsistent'
  /** A file's size differs from the manifest's. */
  | 'size'
  /** A page's or a file's SHA-256 differs from the manifest's. */
  | 'hash'
  /** A file disagrees with an entry of a manifest that fails its plan id: the entry is suspect, not the file. */
  | 'edited-entry'
  /** A graph file does not decode as ONNX. */
  | 'not-onnx'
  /** A graph's inputs or outputs disagree with the manifest. */
  | 'graph-mismatch'
  /** The padding of a model's last (exclusive) page is not zero. */
  | 'padding'
  /** An i8 page file's scales are missing, too few or too many, not finite, ≤ 0 or not float32; or an f32 one has scales. */
  | 'scale'
  /** The check itself failed unexpectedly (hostile input must never crash a reader). */
  | 'internal';

/** One problem found in a bundle: the file it is in, the manifest field it concerns, and what is wrong. */
export interface BundleProblem {
  readonly kind: BundleProblemKind;
  readonly file: string;
  /** A JSON path into the manifest, e.g. `models[2].pageTable[7]`; '' when the whole file is concerned. */
  readonly field: string;
  readonly message: string;
}

export interface PageFile {
  readonly file: string;
  readonly pageCount: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly pageHashes: readonly string[];
  /**
   * i8 only: one scale per page, in file order (FORMAT.md §3.2). As parsed: any JSON numbers
   * (a non-finite one included: 1e999 parses as Infinity), judged by checkManifest.
   */
  readonly scales?: readonly number[];
}

export interface ManifestAccuracy {
  readonly before: number;
  readonly after: number;
}

export interface ManifestModel {
  readonly name: string;
  readonly graph: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly inputName: string;
  readonly inputShape: readonly number[];
  readonly outputName: string;
  readonly classes: readonly string[];
  readonly preprocessing: Preprocessing;
  readonly weightCount: number;
  readonly tensors: readonly {
    readonly name: string;
    readonly dims: readonly number[];
    readonly offset: number;
    readonly length: number;
  }[];
  readonly pageTable: readonly number[];
  readonly exclusive: PageFile;
  readonly accuracy: { readonly test: ManifestAccuracy; readonly val: ManifestAccuracy };
}

export interface Manifest {
  readonly format: typeof FORMAT_NAME;
  readonly version: FormatVersion;
  readonly planId: string;
  readonly pageSize: number;
  readonly valueType: ValueType;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  /**
   * The file's member as format v1 names it: a flag (the plan's `selfTied`), not the count of pages
   * per slot, which the report states as its own `selfTying` (docs/FORMAT.md §3.1, §10).
   */
  readonly selfTying: boolean;
  readonly shared: PageFile;
  readonly models: readonly ManifestModel[];
  readonly report: unknown;
}

/** The manifest's bytes: two-space indented JSON and a final newline (UTF-8). Member order is fixed by the objects. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/** Key order matters for byte-identical re-writes, so preprocessing is rebuilt member by member. */
export function canonicalPreprocessing(p: Preprocessing): Preprocessing {
  const out: { scale: number; mean: number[]; std: number[]; axis?: number; layout: string } = {
    scale: p.scale,
    mean: [...p.mean],
    std: [...p.std],
    layout: p.layout,
  };
  if (p.axis !== undefined)
    return { scale: out.scale, mean: out.mean, std: out.std, axis: p.axis, layout: out.layout };
  return out;
}

// ------------------------------------------------------------------------------- schema check

type Json = unknown;

/** Collects schema problems for manifest.json while walking untrusted JSON. */
class SchemaCheck {
  readonly problems: BundleProblem[] = [];

  problem(field: string, message: string, kind: BundleProblemKind = 'schema'): void {
    this.problems.push({
      kind,
      file: MANIFEST_FILE,
      field,
      message: `${MANIFEST_FILE}: ${field}: ${message}`,
    });
  }

  object(v: Json, field: string): Record<string, Json> | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, Json>;
    this.problem(field, `must be an object, found ${describe(v)}.`);
    return undefined;
  }

  array(v: Json, field: string): Json[] | undefined {
    if (Array.isArray(v)) return v;
    this.problem(field, `must be an array, found ${describe(v)}.`);
    return undefined;
  }

  string(v: Json, field: string): string | undefined {
    if (typeof v === 'string') return v;
    this.problem(field, `must be a string, found ${describe(v)}.`);
    return undefined;
  }

  number(v: Json, field: string): number | undefined {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    this.problem(field, `must be a finite number, found ${describe(v)}.`);
    return undefined;
  }

  /** A whole number in [min, 2^53). */
  int(v: Json, field: string, min = 0): number | undefined {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
    this.problem(field, `must be a whole number ≥ ${min}, found ${describe(v)}.`);
    return undefined;
  }

  boolean(v: Json, field: string): boolean | undefined {
    if (typeof v === 'boolean') return v;
    this.problem(field, `must be true or false, found ${describe(v)}.`);
    return undefined;
  }

  hash(v: Json, field: string): string | undefined {
    if (typeof v === 'string' && HEX64.test(v)) return v;
    this.problem(field, `must be 64 lower-case hex digits (a SHA-256), found ${describe(v)}.`);
    return undefined;
  }

  ints(v: Json, field: string, min = 0): number[] | undefined {
    const a = this.array(v, field);
    if (!a) return undefined;
    const out: number[] = [];
    let good = true;
    a.forEach((x, i) => {
      const n = this.int(x, `${field}[${i}]`, min);
      if (n === undefined) good = false;
      else out.push(n);
    });
    return good ? out : undefined;
  }

  numbers(v: Json, field: string): number[] | undefined {
    const a = this.array(v, field);
    if (!a) return undefined;
    const out: number[] = [];
    let good = true;
    a.forEach((x, i) => {
      const n = this.number(x, `${field}[${i}]`);
      if (n === undefined) good = false;
      else out.push(n);
    });
    return good ? out : undefined;
  }

  strings(v: Json, field: string): string[] | undefined {
    const a = this.array(v, field);
    if (!a) return undefined;
    const out: string[] = [];
    let good = true;
    a.forEach((x, i) => {
      const s = this.string(x, `${field}[${i}]`);
      if (s === undefined) good = false;
      else out.push(s);
    });
    return good ? out : undefined;
  }

  hashes(v: Json, field: string): string[] | undefined {
    const a = this.array(v, field);
    if (!a) return undefined;
    const out: string[] = [];
    let good = true;
    a.forEach((x, i) => {
      const s = this.hash(x, `${field}[${i}]`);
      if (s === undefined) good = false;
      else out.push(s);
    });
    return good ? out : undefined;
  }
}

function describe(v: Json): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function pageFile(c: SchemaCheck, v: Json, field: string): PageFile | undefined {
  const o = c.object(v, field);
  if (!o) return undefined;
  const file = c.string(o['file'], `${field}.file`);
  const pageCount = c.int(o['pageCount'], `${field}.pageCount`);
  const bytes = c.int(o['bytes'], `${field}.bytes`);
  const sha256 = c.hash(o['sha256'], `${field}.sha256`);
  const pageHashes = c.hashes(o['pageHashes'], `${field}.pageHashes`);
  let scales: number[] | undefined;
  if (o['scales'] !== undefined) {
    const a = c.array(o['scales'], `${field}.scales`);
    if (!a) return undefined;
    scales = [];
    for (const [i, x] of a.entries()) {
      // Non-finite numbers pass here and are judged with the other scale rules (kind 'scale').
      if (typeof x !== 'number') {
        c.problem(`${field}.scales[${i}]`, `must be a number, found ${describe(x)}.`, 'scale');
        return undefined;
      }
      scales.push(x);
    }
  }
  if (
    file === undefined ||
    pageCount === undefined ||
    bytes === undefined ||
    sha256 === undefined ||
    pageHashes === undefined
  )
    return undefined;
  return scales
    ? { file, pageCount, bytes, sha256, pageHashes, scales }
    : { file, pageCount, bytes, sha256, pageHashes };
}

function accuracy(c: SchemaCheck, v: Json, field: string): ManifestAccuracy | undefined {
  const o = c.object(v, field);
  if (!o) return undefined;
  const before = c.number(o['before'], `${field}.before`);
  const after = c.number(o['after'], `${field}.after`);
  return before === undefined || after === undefined ? undefined : { before, after };
}

function preprocessing(c: SchemaCheck, v: Json, field: string): Preprocessing | undefined {
  const o = c.object(v, field);
  if (!o) return undefined;
  const scale = c.number(o['scale'], `${field}.scale`);
  const mean = c.numbers(o['mean'], `${field}.mean`);
  const std = c.numbers(o['std'], `${field}.std`);
  const axis = o['axis'] === undefined ? undefined : c.int(o['axis'], `${field}.axis`);
  const layout = c.string(o['layout'], `${field}.layout`);
  if (scale === undefined || mean === undefined || std === undefined || layout === undefined)
    return undefined;
  if (o['axis'] !== undefined && axis === undefined) return undefined;
  return canonicalPreprocessing(
    axis === undefined ? { scale, mean, std, layout } : { scale, mean, std, axis, layout },
  );
}

function model(c: SchemaCheck, v: Json, field: string): ManifestModel | undefined {
  const o = c.object(v, field);
  if (!o) return undefined;
  const name = c.string(o['name'], `${field}.name`);
  const g = c.object(o['graph'], `${field}.graph`);
  const graph = g && {
    file: c.string(g['file'], `${field}.graph.file`),
    bytes: c.int(g['bytes'], `${field}.graph.bytes`),
    sha256: c.hash(g['sha256'], `${field}.graph.sha256`),
  };
  const inputName = c.string(o['inputName'], `${field}.inputName`);
  const inputShape = c.ints(o['inputShape'], `${field}.inputShape`, 1);
  const outputName = c.string(o['outputName'], `${field}.outputName`);
  const classes = c.strings(o['classes'], `${field}.classes`);
  const pre = preprocessing(c, o['preprocessing'], `${field}.preprocessing`);
  const weightCount = c.int(o['weightCount'], `${field}.weightCount`, 1);
  const ts = c.array(o['tensors'], `${field}.tensors`);
  const tensors: ManifestModel['tensors'][number][] = [];
  let tensorsOk = ts !== undefined;
  ts?.forEach((t, i) => {
    const f = `${field}.tensors[${i}]`;
    const to = c.object(t, f);
    const tname = to && c.string(to['name'], `${f}.name`);
    const dims = to && c.ints(to['dims'], `${f}.dims`);
    const offset = to && c.int(to['offset'], `${f}.offset`);
    const length = to && c.int(to['length'], `${f}.length`);
    if (tname === undefined || dims === undefined || offset === undefined || length === undefined)
      tensorsOk = false;
    else tensors.push({ name: tname, dims, offset, length });
  });
  const pageTable = c.ints(o['pageTable'], `${field}.pageTable`);
  const exclusive = pageFile(c, o['exclusive'], `${field}.exclusive`);
  const acc = c.object(o['accuracy'], `${field}.accuracy`);
  const test = acc && accuracy(c, acc['test'], `${field}.accuracy.test`);
  const val = acc && accuracy(c, acc['val'], `${field}.accuracy.val`);
  if (
    name === undefined ||
    !graph ||
    graph.file === undefined ||
    graph.bytes === undefined ||
    graph.sha256 === undefined ||
    inputName === undefined ||
    inputShape === undefined ||
    outputName === undefined ||
    classes === undefined ||
    pre === undefined ||
    weightCount === undefined ||
    !tensorsOk ||
    pageTable === undefined ||
    exclusive === undefined ||
    !test ||
    !val
  ) {
    return undefined;
  }
  return {
    name,
    graph: { file: graph.file, bytes: graph.bytes, sha256: graph.sha256 },
    inputName,
    inputShape,
    outputName,
    classes,
    preprocessing: pre,
    weightCount,
    tensors,
    pageTable,
    exclusive,
    accuracy: { test, val },
  };
}

/**
 * Checks that parsed JSON has the v1 manifest's shape and types (not yet its internal consistency,
 * which `checkManifest` in validate.ts does). Returns the manifest or the problems.
 */
export function parseManifest(json: Json): { manifest?: Manifest; problems: BundleProblem[] } {
  const c = new SchemaCheck();
  const o = c.object(json, '$');
  if (!o) return { problems: c.problems };
  if (o['format'] !== FORMAT_NAME) {
    c.problem(
      'format',
      `must be "${FORMAT_NAME}", found ${describe(o['format'])}: this folder is not a WeightSep bundle.`,
      'format',
    );
    return { problems: c.problems };
  }
  const version = o['version'];
  if (version !== 1 && version !== 2) {
    c.problem(
      'version',
      `is ${describe(version)}, but this reader understands versions ${READABLE_VERSIONS.join(' and ')} only.`,
      'version',
    );
    return { problems: c.problems };
  }
  const planId = c.hash(o['planId'], 'planId');
  const pageSize = c.int(o['pageSize'], 'pageSize', 1);
  const valueType = o['valueType'];
  // Format v1 knew f32 only.
  const valueTypes = version === 1 ? ['f32'] : ['f32', 'i8'];
  if (typeof valueType !== 'string' || !valueTypes.includes(valueType))
    c.problem(
      'valueType',
      `must be ${valueTypes.map((t) => `"${t}"`).join(' or ')} in format v${version}, found ${describe(valueType)}.`,
    );
  const b = c.object(o['budgets'], 'budgets');
  const l1Bytes = b && c.int(b['l1Bytes'], 'budgets.l1Bytes');
  const l2Bytes = b && c.int(b['l2Bytes'], 'budgets.l2Bytes');
  const selfTying = c.boolean(o['selfTying'], 'selfTying');
  const shared = pageFile(c, o['shared'], 'shared');
  const ms = c.array(o['models'], 'models');
  const models: ManifestModel[] = [];
  ms?.forEach((m, i) => {
    const parsed = model(c, m, `models[${i}]`);
    if (parsed) models.push(parsed);
  });
  if (!('report' in o)) c.problem('report', 'is missing (write null when the planner made no report).');
  if (
    c.problems.length > 0 ||
    planId === undefined ||
    pageSize === undefined ||
    l1Bytes === undefined ||
    l2Bytes === undefined
  ) {
    return { problems: c.problems };
  }
  if (selfTying === undefined || shared === undefined) return { problems: c.problems };
  return {
    manifest: {
      format: FORMAT_NAME,
      version,
      planId,
      pageSize,
      valueType: valueType as ValueType,
      budgets: { l1Bytes, l2Bytes },
      selfTying,
      shared,
      models,
      report: o['report'],
    },
    problems: [],
  };
}
