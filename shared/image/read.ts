/**
 * Reading a bundle: every byte is checked before anything is used (docs/FORMAT.md §6) — manifest schema,
 * plan id, internal consistency, file sizes, per-page and per-file SHA-256, graphs — and the Plan is rebuilt.
 * `verifyBundle` runs the same checks and lists every problem; `readBundle` fails on the first, with its
 * `kind` in the error's details; `readResidentBundle` verifies everything but keeps only what level 1
 * holds (manifest, shared pages, graphs), so the exclusive pages are hashed and never held.
 *
 * Page files are streamed: read in chunks and hashed as they come, with an await on every read (the
 * event loop turns between chunks: an app's main process or a device agent stays responsive) and the
 * signal checked before each, so a large bundle's check can be cancelled (E_CANCELLED).
 */
import { createHash, type Hash } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fail, ok, throwIfCancelled, toError, type Result, type WsepError } from '../core/errors.ts';
import type { ProgressSink } from '../core/progress.ts';
import { decodeModel } from '../onnx/codec.ts';
import type { Model } from '../onnx/types.ts';
import type { Plan, PlannedModel } from './plan.ts';
import { readPlanReport } from './report.ts';
import { computePlanId, sha256Hex, storedPlanId } from './hash.ts';
import {
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  SHARED_FILE,
  exclusiveFile,
  graphFile,
  parseManifest,
  type BundleProblem,
  type BundleProblemKind,
  type Manifest,
  type ManifestModel,
  type PageFile,
} from './manifest.ts';
import { checkGraph, checkManifest } from './validate.ts';
import { pageValues, pagesFromBytes, type StoredPages } from './pages.ts';
import { valueBytesOf } from './plan.ts';

/** A verified bundle as the paged runtime keeps it: everything except the exclusive pages (level 2). */
export interface ResidentBundle {
  readonly dir: string;
  readonly planId: string;
  readonly manifest: Manifest;
  /** The shared pages as stored: M × P float32 values, or int8 codes and M scales (i8). */
  readonly shared: StoredPages;
  /** Each model's graph file as stored (sessions are created from these bytes). */
  readonly graphBytes: ReadonlyMap<string, Uint8Array>;
  /** Bytes of all files of the bundle. */
  readonly totalBytes: number;
  /** Bytes of the bundle's files this value holds in memory (all of them but the exclusive pages, here). */
  readonly heldBytes: number;
}

/** A verified bundle with everything in memory, the Plan rebuilt (exclusive pages included). */
export interface LoadedBundle extends ResidentBundle {
  readonly plan: Plan;
}

export interface VerifyReport {
  readonly dir: string;
  /** The plan id, when the manifest could be read far enough to have one. */
  readonly planId?: string;
  readonly problems: readonly BundleProblem[];
}

export interface ReadOptions {
  /** Checked before every chunk; when aborted, the read stops with E_CANCELLED. */
  readonly signal?: AbortSignal;
  /** 'verify' events while hashing: step and total in bytes. */
  readonly progress?: ProgressSink;
}

/** What a failed read carries in `error.details`: the first problem's kind, and every problem found. */
export interface BundleErrorDetails {
  readonly kind: BundleProblemKind;
  readonly problems: readonly BundleProblem[];
}

/** The kind of a failed read's first problem; undefined for errors that are not about a bundle's content. */
export function bundleProblemKind(error: WsepError): BundleProblemKind | undefined {
  const details = error.details as Partial<BundleErrorDetails> | undefined;
  return typeof details === 'object' && details !== null && typeof details.kind === 'string'
    ? details.kind
    : undefined;
}

/** At most this many bad pages are listed per file; the rest are counted in one problem. */
const MAX_PAGE_PROBLEMS = 8;
/** Bytes read and hashed at a time. */
export const READ_CHUNK_BYTES = 1 << 20;

function problem(kind: BundleProblemKind, file: string, field: string, message: string): BundleProblem {
  return { kind, file, field, message: `${file}: ${field ? `${field}: ` : ''}${message}` };
}

/** The problem for a file that cannot be opened or read. */
function unreadable(file: string, field: string, thrown: unknown): BundleProblem {
  return (thrown as NodeJS.ErrnoException).code === 'ENOENT'
    ? problem('missing-file', file, field, 'the file is missing.')
    : problem('unreadable', file, field, `cannot be read (${(thrown as Error).message}).`);
}

/** A whole small file (the manifest, a graph), or a problem when it cannot be read. */
async function readWhole(
  dir: string,
  file: string,
  problems: BundleProblem[],
  field: string,
): Promise<Uint8Array | undefined> {
  try {
    return await readFile(join(dir, ...file.split('/')));
  } catch (thrown) {
    problems.push(unreadable(file, field, thrown));
    return undefined;
  }
}

/**
 * A file that disagrees with a manifest that fails its own plan id: the manifest's entry is the
 * likely culprit (a hand-edited hash or size), so the problem names the manifest field, not the file.
 */
function suspectEntry(p: BundleProblem): BundleProblem {
  return problem(
    'edited-entry',
    MANIFEST_FILE,
    p.field,
    `does not match ${p.file}; manifest.json fails its plan id, so this entry was probably edited — ${p.file} itself is not known to be bad.`,
  );
}

/** Bytes checked so far against the bytes to check, reported as 'verify' progress; and cancellation. */
class Hashing {
  private done = 0;
  private chunk: Uint8Array | undefined;

  constructor(
    private readonly total: number,
    private readonly options: ReadOptions,
  ) {}

  /** One reusable buffer for files that are hashed but not kept. */
  scratch(): Uint8Array {
    return (this.chunk ??= new Uint8Array(READ_CHUNK_BYTES));
  }

  checkCancelled(): void {
    throwIfCancelled(this.options.signal);
  }

  advance(bytes: number): void {
    this.done += bytes;
    this.options.progress?.({
      stage: 'verify',
      step: this.done,
      total: this.total,
      fraction: this.total > 0 ? Math.min(1, this.done / this.total) : 1,
    });
  }
}

/** What streaming one page file found. */
interface PageFileRead {
  /** The file could not be opened (missing or unreadable): never a fault of the manifest's entry. */
  readonly unreadable?: BundleProblem;
  /** Size and hash problems, judged against the manifest's entry. */
  readonly found: BundleProblem[];
  /** The file's bytes, when asked to keep them and the file has the size the manifest says. */
  readonly bytes?: Uint8Array;
  /** Bytes of the file (its actual size). */
  readonly size: number;
  /** Whether every byte in `zeroRange` was zero (true when no range was given). */
  readonly zeroed: boolean;
}

/**
 * Streams a page file: checks its size, then each page's hash as the bytes arrive, then (when every
 * page matched) the whole file's hash. Bytes are kept only when `keep` (read straight into their own
 * aligned buffer); otherwise they pass through one reusable chunk buffer and are gone.
 */
async function streamPageFile(
  dir: string,
  entry: PageFile,
  file: string,
  field: string,
  pageBytes: number,
  hashing: Hashing,
  options: {
    readonly keep: boolean;
    readonly fileField: string;
    readonly zeroRange?: readonly [number, number];
  },
): Promise<PageFileRead> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, ...file.split('/')), 'r');
  } catch (thrown) {
    return { unreadable: unreadable(file, options.fileField, thrown), found: [], size: 0, zeroed: true };
  }
  try {
    const size = (await handle.stat()).size;
    if (size !== entry.bytes) {
      const pages = size / pageBytes;
      const found = [
        problem(
          'size',
          file,
          `${field}.bytes`,
          `the file has ${size} bytes (${Number.isInteger(pages) ? `${pages} pages` : `${pages.toFixed(2)} pages: truncated or padded`}) but the manifest says ${entry.bytes} (${entry.pageCount} pages).`,
        ),
      ];
      return { found, size, zeroed: true };
    }
    // An ArrayBuffer of its own (not Buffer's pool), so a Float32Array can view it in place.
    const kept = options.keep ? new Uint8Array(new ArrayBuffer(size)) : undefined;
    const whole = createHash('sha256');
    const pageHashes: string[] = [];
    let page: Hash = createHash('sha256');
    let inPage = 0;
    let zeroed = true;
    const [zeroStart, zeroEnd] = options.zeroRange ?? [0, 0];
    let at = 0;
    while (at < size) {
      hashing.checkCancelled();
      const target = kept ? kept.subarray(at, Math.min(size, at + READ_CHUNK_BYTES)) : hashing.scratch();
      const want = Math.min(target.byteLength, size - at);
      const { bytesRead } = await handle.read(target, 0, want, at);
      if (bytesRead === 0) break; // the file shrank while being read: the hashes below will say so
      const bytes = target.subarray(0, bytesRead);
      whole.update(bytes);
      for (let o = 0; o < bytesRead;) {
        const n = Math.min(pageBytes - inPage, bytesRead - o);
        page.update(bytes.subarray(o, o + n));
        inPage += n;
        o += n;
        if (inPage === pageBytes) {
          pageHashes.push(page.digest('hex'));
          page = createHash('sha256');
          inPage = 0;
        }
      }
      for (let k = Math.max(zeroStart, at); k < Math.min(zeroEnd, at + bytesRead); k++)
        if (bytes[k - at] !== 0) zeroed = false;
      at += bytesRead;
      hashing.advance(bytesRead);
    }
    if (inPage > 0) pageHashes.push(page.digest('hex'));
    // Pages the manifest lists beyond the file's end hash as empty, as a sliced read would.
    const empty = sha256Hex(new Uint8Array(0));
    const found: BundleProblem[] = [];
    let bad = 0;
    entry.pageHashes.forEach((expected, i) => {
      if ((pageHashes[i] ?? empty) === expected) return;
      if (++bad <= MAX_PAGE_PROBLEMS)
        found.push(
          problem(
            'hash',
            file,
            `${field}.pageHashes[${i}]`,
            `page ${i} does not match its SHA-256: the page is corrupt.`,
          ),
        );
    });
    if (bad > MAX_PAGE_PROBLEMS)
      found.push(
        problem(
          'hash',
          file,
          `${field}.pageHashes`,
          `${bad - MAX_PAGE_PROBLEMS} more pages do not match their SHA-256.`,
        ),
      );
    if (bad === 0 && whole.digest('hex') !== entry.sha256)
      found.push(problem('hash', file, `${field}.sha256`, 'the file does not match its SHA-256.'));
    return kept ? { found, bytes: kept, size, zeroed } : { found, size, zeroed };
  } catch (thrown) {
    if (thrown instanceof Error && (thrown as NodeJS.ErrnoException).code !== undefined)
      return { unreadable: unreadable(file, options.fileField, thrown), found: [], size: 0, zeroed: true };
    throw thrown;
  } finally {
    await handle.close();
  }
}

/**
 * The byte range of a model's exclusive file that holds the padding of its last page, when that page
 * is exclusive and not full; checked as the file streams by, judged once the manifest proved valid.
 */
function paddingRange(
  m: ManifestModel,
  sharedPageCount: number,
  P: number,
  valueBytes: number,
): [number, number] | undefined {
  const last = m.pageTable.length - 1;
  const entry = m.pageTable[last];
  const used = m.weightCount - last * P;
  if (entry === undefined || entry < sharedPageCount || used >= P || used <= 0) return undefined;
  const e = entry - sharedPageCount;
  return [(e * P + used) * valueBytes, (e + 1) * P * valueBytes];
}

interface Inspection {
  readonly problems: BundleProblem[];
  readonly planId?: string;
  readonly resident?: ResidentBundle;
  /** Each model's exclusive pages, when asked to keep them and every check passed. */
  readonly exclusive?: ReadonlyMap<string, Uint8Array>;
  readonly graphs?: ReadonlyMap<string, Model>;
}

async function inspect(dirInput: string, keepExclusive: boolean, options: ReadOptions): Promise<Inspection> {
  const dir = resolve(dirInput);
  const problems: BundleProblem[] = [];
  throwIfCancelled(options.signal);
  const isFolder = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isFolder) return { problems: [problem('no-bundle', dir, '', 'no bundle folder here.')] };
  // 1. manifest.json: bytes, UTF-8, JSON, schema.
  const manifestSize = await stat(join(dir, MANIFEST_FILE)).then(
    (s) => s.size,
    () => 0,
  );
  if (manifestSize > MAX_MANIFEST_BYTES) {
    return {
      problems: [
        problem(
          'too-large',
          MANIFEST_FILE,
          '',
          `is larger than ${MAX_MANIFEST_BYTES} bytes; refusing to parse it.`,
        ),
      ],
    };
  }
  const manifestBytes = await readWhole(dir, MANIFEST_FILE, problems, '');
  if (!manifestBytes) return { problems };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes));
  } catch (thrown) {
    return {
      problems: [problem('not-json', MANIFEST_FILE, '', `is not valid JSON (${(thrown as Error).message}).`)],
    };
  }
  const parsed = parseManifest(json);
  if (!parsed.manifest) return { problems: parsed.problems };
  const manifest = parsed.manifest;
  // 2. The plan id: the digits at the id position are the parsed id, and they hash the manifest. This
  //    comes before any file is checked against the manifest: when the manifest itself was changed, a
  //    file that disagrees with it is evidence against the manifest, not against the file.
  const stored = storedPlanId(manifestBytes);
  let manifestIntact = true;
  if (stored !== manifest.planId) {
    manifestIntact = false;
    problems.push(
      problem(
        'plan-id',
        MANIFEST_FILE,
        'planId',
        'the first "planId": "…" member is not the top-level plan id (the manifest was not written by a WeightSep writer).',
      ),
    );
  } else if (computePlanId(manifestBytes) !== manifest.planId) {
    manifestIntact = false;
    problems.push(
      problem(
        'manifest-edited',
        MANIFEST_FILE,
        'planId',
        'the manifest does not hash to its plan id: manifest.json was edited or corrupted after it was written, so the sizes and hashes it lists cannot be trusted.',
      ),
    );
  }
  /** File checks against an untrusted manifest: a disagreement points at the manifest's entry. */
  const againstManifest = (found: readonly BundleProblem[]): BundleProblem[] =>
    manifestIntact ? [...found] : found.map(suspectEntry);
  // 3. Internal consistency (sizes, names, tables, tensors).
  problems.push(...checkManifest(manifest));
  // 4. Files: sizes and hashes against the manifest; graphs decode and match their weights. Files are
  //    opened at their canonical paths (derived from valid names), never at paths the manifest supplies.
  const P = manifest.pageSize;
  const M = manifest.shared.pageCount;
  const valueBytes = valueBytesOf(manifest.valueType);
  const pageBytes = P * valueBytes;
  const declared =
    manifest.shared.bytes + manifest.models.reduce((a, m) => a + m.exclusive.bytes + m.graph.bytes, 0);
  const hashing = new Hashing(declared, options);
  const shared = await streamPageFile(dir, manifest.shared, SHARED_FILE, 'shared', pageBytes, hashing, {
    keep: true,
    fileField: 'shared.file',
  });
  if (shared.unreadable) problems.push(shared.unreadable);
  else problems.push(...againstManifest(shared.found));
  const exclusive = new Map<string, Uint8Array>();
  const paddingZeroed = new Map<string, boolean>();
  const graphs = new Map<string, Model>();
  const graphBytes = new Map<string, Uint8Array>();
  let totalBytes = manifestBytes.byteLength + shared.size;
  let heldGraphBytes = 0;
  for (const [i, m] of manifest.models.entries()) {
    const f = `models[${i}]`;
    if (problems.some((p) => p.field === `${f}.name`)) continue; // file names derive from a valid name
    const range = paddingRange(m, M, P, valueBytes);
    const ex = await streamPageFile(
      dir,
      m.exclusive,
      exclusiveFile(m.name),
      `${f}.exclusive`,
      pageBytes,
      hashing,
      {
        keep: keepExclusive,
        fileField: `${f}.exclusive.file`,
        ...(range ? { zeroRange: range } : {}),
      },
    );
    if (ex.unreadable) problems.push(ex.unreadable);
    else {
      totalBytes += ex.size;
      problems.push(...againstManifest(ex.found));
      paddingZeroed.set(m.name, ex.zeroed);
      if (ex.found.length === 0 && ex.bytes) exclusive.set(m.name, ex.bytes);
    }
    hashing.checkCancelled();
    const gb = await readWhole(dir, graphFile(m.name), problems, `${f}.graph.file`);
    if (!gb) continue;
    totalBytes += gb.byteLength;
    hashing.advance(gb.byteLength);
    if (gb.byteLength !== m.graph.bytes) {
      problems.push(
        ...againstManifest([
          problem(
            'size',
            m.graph.file,
            `${f}.graph.bytes`,
            `the file has ${gb.byteLength} bytes but the manifest says ${m.graph.bytes}.`,
          ),
        ]),
      );
      continue;
    }
    if (sha256Hex(gb) !== m.graph.sha256) {
      problems.push(
        ...againstManifest([
          problem(
            'hash',
            m.graph.file,
            `${f}.graph.sha256`,
            'the file does not match its SHA-256: the graph is corrupt.',
          ),
        ]),
      );
      continue;
    }
    const decoded = decodeModel(gb);
    if (!decoded.ok) {
      problems.push(
        problem(
          'not-onnx',
          m.graph.file,
          `${f}.graph.file`,
          `does not decode as ONNX: ${decoded.error.message}`,
        ),
      );
      continue;
    }
    problems.push(...checkGraph(m, decoded.value, f));
    graphs.set(m.name, decoded.value);
    graphBytes.set(m.name, gb);
    heldGraphBytes += gb.byteLength;
  }
  // 5. Padding of a model's last page, when exclusive, is zero in storage (checked while streaming).
  if (problems.length === 0) {
    manifest.models.forEach((m, i) => {
      if (paddingZeroed.get(m.name) !== false) return;
      const last = m.pageTable.length - 1;
      problems.push(
        problem(
          'padding',
          m.exclusive.file,
          `models[${i}].pageTable[${last}]`,
          `the padding of the model's last page (exclusive page ${m.pageTable[last]! - M}) is not zero.`,
        ),
      );
    });
  }
  if (problems.length > 0) return { problems, planId: manifest.planId };
  const exclusiveHeld = [...exclusive.values()].reduce((a, b) => a + b.byteLength, 0);
  const resident: ResidentBundle = {
    dir,
    planId: manifest.planId,
    manifest,
    shared: pagesFromBytes(shared.bytes!, manifest.valueType, manifest.shared.scales),
    graphBytes,
    totalBytes,
    heldBytes: manifestBytes.byteLength + shared.size + heldGraphBytes + exclusiveHeld,
  };
  return { problems, planId: manifest.planId, resident, exclusive, graphs };
}

/** `inspect`, with anything unexpected turned into a problem (hostile input must never crash a reader); cancellation stays an error. */
async function safeInspect(
  dir: string,
  keepExclusive: boolean,
  options: ReadOptions,
): Promise<Result<Inspection>> {
  try {
    return ok(await inspect(dir, keepExclusive, options));
  } catch (thrown) {
    const error = toError(thrown);
    if (error.code === 'E_CANCELLED') return { ok: false, error };
    return ok({
      problems: [problem('internal', resolve(dir), '', `could not be checked: ${error.message}`)],
    });
  }
}

/** The failure for a bundle with problems: E_NOT_FOUND when there is no bundle, else E_BUNDLE_CORRUPT. */
function failure<T>(dir: string, problems: readonly BundleProblem[]): Result<T> {
  const first = problems[0]!;
  const details: BundleErrorDetails = { kind: first.kind, problems };
  if (first.kind === 'no-bundle' || (first.kind === 'missing-file' && first.file === MANIFEST_FILE)) {
    return fail(
      'E_NOT_FOUND',
      `No bundle at ${resolve(dir)}.`,
      'Pass the folder that holds manifest.json.',
      details,
    );
  }
  const more =
    problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return fail(
    'E_BUNDLE_CORRUPT',
    `Bundle ${resolve(dir)} is invalid: ${first.message}${more}`,
    'Run "wsep bundle verify" for the full list; write or transfer the bundle again.',
    details,
  );
}

/**
 * Reads and validates a bundle and rebuilds its Plan; fails with E_BUNDLE_CORRUPT naming the first
 * problem (its kind and every problem are in `details`: BundleErrorDetails), E_NOT_FOUND when there
 * is no bundle, E_CANCELLED when the signal fires.
 */
export async function readBundle(dir: string, options: ReadOptions = {}): Promise<Result<LoadedBundle>> {
  const found = await safeInspect(dir, true, options);
  if (!found.ok) return found;
  const { resident, exclusive, graphs } = found.value;
  if (!resident || !exclusive || !graphs) return failure(dir, found.value.problems);
  const { manifest } = resident;
  const P = manifest.pageSize;
  const models: PlannedModel[] = manifest.models.map((m) => {
    const stored = pagesFromBytes(exclusive.get(m.name)!, manifest.valueType, m.exclusive.scales);
    const planned: PlannedModel = {
      name: m.name,
      graph: graphs.get(m.name)!,
      inputName: m.inputName,
      inputShape: [...m.inputShape],
      outputName: m.outputName,
      classes: [...m.classes],
      preprocessing: m.preprocessing,
      tensors: m.tensors.map((t) => ({ ...t, dims: [...t.dims] })),
      weightCount: m.weightCount,
      pageTable: Uint32Array.from(m.pageTable),
      exclusivePages: pageValues(stored, P),
      accuracy: { test: { ...m.accuracy.test }, val: { ...m.accuracy.val } },
    };
    return stored.valueType === 'i8' ? { ...planned, exclusiveScales: stored.scales } : planned;
  });
  const shared = resident.shared;
  const plan: Plan = {
    pageSize: P,
    valueType: manifest.valueType,
    budgets: { ...manifest.budgets },
    sharedPageCount: manifest.shared.pageCount,
    sharedPages: pageValues(shared, P),
    ...(shared.valueType === 'i8' ? { sharedScales: shared.scales } : {}),
    selfTied: manifest.selfTying,
    models,
    report: readPlanReport(manifest.report),
  };
  return ok({ ...resident, plan });
}

/**
 * Verifies every byte of a bundle as readBundle does, but keeps only what the paged runtime holds in
 * level 1 (manifest, shared pages, graphs): the exclusive pages are hashed as they stream by and never
 * held. Fails as readBundle does.
 */
export async function readResidentBundle(
  dir: string,
  options: ReadOptions = {},
): Promise<Result<ResidentBundle>> {
  const found = await safeInspect(dir, false, options);
  if (!found.ok) return found;
  return found.value.resident ? ok(found.value.resident) : failure(dir, found.value.problems);
}

/**
 * Checks a bundle completely and lists every problem found (empty when the bundle is valid); fails
 * only with E_CANCELLED, when the signal fires.
 */
export async function verifyBundle(dir: string, options: ReadOptions = {}): Promise<Result<VerifyReport>> {
  const found = await safeInspect(dir, false, options);
  if (!found.ok) return found;
  const { planId, problems } = found.value;
  return ok(planId === undefined ? { dir: resolve(dir), problems } : { dir: resolve(dir), planId, problems });
}
