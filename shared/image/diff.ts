/**
 * Page-level deltas between two bundles (docs/FORMAT.md §7). A device that holds bundle `old` needs only
 * the pages of `new` whose content (SHA-256) it does not already hold anywhere — in its shared pool or any
 * model's exclusive pages — plus new graphs and the new manifest. Pages are content-addressed, so a page
 * that merely moved (another slot, another exclusive index, shared ↔ exclusive) costs nothing to send.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { writeFolderAtomic, type FolderFile } from './atomic.ts';
import { HEX64, computePlanId, sha256Hex } from './hash.ts';
import { MANIFEST_FILE, graphFile, parseManifest, type Manifest, type PageFile } from './manifest.ts';
import { readBundle, type LoadedBundle } from './read.ts';
import { checkManifest } from './validate.ts';
import { encodePages, storedPageBytes } from './pages.ts';
import { valueBytesOf } from './plan.ts';
import type { BundleInfo } from './write.ts';

export const DELTA_FORMAT = 'weightsep-delta';
export const DELTA_VERSION = 1;
export const DELTA_FILE = 'delta.json';
export const DELTA_PAGES_FILE = 'pages.bin';

/** Positions of a page file whose page differs from the old one at the same position (or is new). */
export interface PageFileDiff {
  readonly oldPageCount: number;
  readonly newPageCount: number;
  readonly changed: readonly number[];
}

export interface ModelDiff {
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed' | 'unchanged';
  /** Absent for removed models. */
  readonly exclusive?: PageFileDiff;
  readonly graphChanged: boolean;
  readonly tableChanged: boolean;
}

export interface BundleDelta {
  readonly from: string;
  readonly to: string;
  readonly pageSize: number;
  readonly shared: PageFileDiff;
  readonly models: readonly ModelDiff[];
  /** The new bundle's manifest, verbatim. */
  readonly manifest: Uint8Array;
  /** Pages of `new` found nowhere in `old`, once each, in first-use order. */
  readonly pages: readonly { readonly hash: string; readonly bytes: Uint8Array }[];
  /** Graph files of `new` whose content is not among `old`'s graphs. */
  readonly graphs: readonly { readonly name: string; readonly bytes: Uint8Array }[];
  /** Bytes a transfer of this delta carries, and bytes of the whole new bundle. */
  readonly transferBytes: number;
  readonly newBundleBytes: number;
}

interface StoredPages {
  /** hash → page bytes */
  readonly pages: Map<string, Uint8Array>;
  /** sha256 → graph bytes */
  readonly graphs: Map<string, Uint8Array>;
}

/**
 * A read plan's pages as their stored bytes (i8: the codes; the values read back lie on their grids,
 * so this is exact). Pages are addressed by the hash of these bytes; an i8 page's scale is not in
 * them but in the manifest, which every delta carries whole.
 */
function pageBytesOf(values: Float32Array, scales: Float32Array | undefined, m: Manifest): Uint8Array {
  const encoded = encodePages(values, m.valueType, scales, m.pageSize);
  if ('problem' in encoded) throw new Error(`A verified bundle's pages do not encode: ${encoded.problem}`);
  return storedPageBytes(encoded.pages);
}

/** Every page and graph a valid bundle holds, addressed by content. */
function storeOf(bundle: LoadedBundle): StoredPages {
  const m = bundle.manifest;
  const pageBytes = m.pageSize * valueBytesOf(m.valueType);
  const pages = new Map<string, Uint8Array>();
  const add = (entry: PageFile, values: Float32Array, scales: Float32Array | undefined): void => {
    const bytes = pageBytesOf(values, scales, m);
    entry.pageHashes.forEach((h, i) => pages.set(h, bytes.subarray(i * pageBytes, (i + 1) * pageBytes)));
  };
  add(m.shared, bundle.plan.sharedPages, bundle.plan.sharedScales);
  m.models.forEach((mm, i) =>
    add(mm.exclusive, bundle.plan.models[i]!.exclusivePages, bundle.plan.models[i]!.exclusiveScales),
  );
  const graphs = new Map<string, Uint8Array>();
  m.models.forEach((mm) => graphs.set(mm.graph.sha256, bundle.graphBytes.get(mm.name)!));
  return { pages, graphs };
}

function diffPages(oldHashes: readonly string[], newHashes: readonly string[]): PageFileDiff {
  const changed: number[] = [];
  newHashes.forEach((h, i) => {
    if (oldHashes[i] !== h) changed.push(i);
  });
  return { oldPageCount: oldHashes.length, newPageCount: newHashes.length, changed };
}

/** Compares two valid bundles and collects what a holder of `old` needs to rebuild `new`. */
export async function diffBundles(oldDir: string, newDir: string): Promise<Result<BundleDelta>> {
  const [a, b] = await Promise.all([readBundle(oldDir), readBundle(newDir)]);
  if (!a.ok) return a;
  if (!b.ok) return b;
  const oldM = a.value.manifest;
  const newM = b.value.manifest;
  const have = storeOf(a.value);
  const wanted = storeOf(b.value);
  const pages: { hash: string; bytes: Uint8Array }[] = [];
  const seen = new Set<string>();
  const need = (hashes: readonly string[]): void => {
    for (const h of hashes) {
      if (have.pages.has(h) || seen.has(h)) continue;
      seen.add(h);
      pages.push({ hash: h, bytes: wanted.pages.get(h)! });
    }
  };
  need(newM.shared.pageHashes);
  newM.models.forEach((m) => need(m.exclusive.pageHashes));
  const graphs = newM.models
    .filter((m) => !have.graphs.has(m.graph.sha256))
    .map((m) => ({ name: m.name, bytes: b.value.graphBytes.get(m.name)! }));
  const oldByName = new Map(oldM.models.map((m) => [m.name, m]));
  const models: ModelDiff[] = newM.models.map((m) => {
    const o = oldByName.get(m.name);
    if (!o)
      return {
        name: m.name,
        status: 'added',
        exclusive: diffPages([], m.exclusive.pageHashes),
        graphChanged: true,
        tableChanged: true,
      };
    const exclusive = diffPages(o.exclusive.pageHashes, m.exclusive.pageHashes);
    const graphChanged = o.graph.sha256 !== m.graph.sha256;
    const tableChanged =
      o.pageTable.length !== m.pageTable.length || o.pageTable.some((v, i) => v !== m.pageTable[i]);
    const same =
      exclusive.changed.length === 0 &&
      exclusive.oldPageCount === exclusive.newPageCount &&
      !graphChanged &&
      !tableChanged;
    return { name: m.name, status: same ? 'unchanged' : 'changed', exclusive, graphChanged, tableChanged };
  });
  for (const o of oldM.models)
    if (!newM.models.some((m) => m.name === o.name))
      models.push({ name: o.name, status: 'removed', graphChanged: false, tableChanged: false });
  const manifest = readFileSync(join(b.value.dir, MANIFEST_FILE));
  const transferBytes =
    manifest.byteLength +
    pages.reduce((s, p) => s + p.bytes.byteLength, 0) +
    graphs.reduce((s, g) => s + g.bytes.byteLength, 0);
  return ok({
    from: a.value.planId,
    to: b.value.planId,
    pageSize: newM.pageSize,
    shared: diffPages(oldM.shared.pageHashes, newM.shared.pageHashes),
    models,
    manifest,
    pages,
    graphs,
    transferBytes,
    newBundleBytes: b.value.totalBytes,
  });
}

// ---------------------------------------------------------------------------------- on disk

interface DeltaJson {
  readonly format: typeof DELTA_FORMAT;
  readonly version: typeof DELTA_VERSION;
  readonly from: string;
  readonly to: string;
  readonly pageSize: number;
  readonly manifest: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly pages: {
    readonly file: string;
    readonly count: number;
    readonly bytes: number;
    readonly hashes: readonly string[];
  };
  readonly graphs: readonly {
    readonly name: string;
    readonly file: string;
    readonly bytes: number;
    readonly sha256: string;
  }[];
  /** For people and tools; not needed to apply the delta. */
  readonly summary: {
    readonly shared: PageFileDiff;
    readonly models: readonly ModelDiff[];
    readonly transferBytes: number;
    readonly newBundleBytes: number;
  };
}

/** Writes a delta as a folder: delta.json, manifest.json (the new one), pages.bin, graphs/<model>.onnx. */
export function writeDelta(delta: BundleDelta, dir: string): Result<{ dir: string; bytes: number }> {
  // Pages are of the new bundle's value type (P × 4 bytes for f32, P for i8), all of one size.
  const pageBytes = delta.pages[0]?.bytes.byteLength ?? 0;
  const blob = new Uint8Array(delta.pages.length * pageBytes);
  delta.pages.forEach((p, i) => blob.set(p.bytes, i * pageBytes));
  const json: DeltaJson = {
    format: DELTA_FORMAT,
    version: DELTA_VERSION,
    from: delta.from,
    to: delta.to,
    pageSize: delta.pageSize,
    manifest: { file: MANIFEST_FILE, bytes: delta.manifest.byteLength, sha256: sha256Hex(delta.manifest) },
    pages: {
      file: DELTA_PAGES_FILE,
      count: delta.pages.length,
      bytes: blob.byteLength,
      hashes: delta.pages.map((p) => p.hash),
    },
    graphs: delta.graphs.map((g) => ({
      name: g.name,
      file: graphFile(g.name),
      bytes: g.bytes.byteLength,
      sha256: sha256Hex(g.bytes),
    })),
    summary: {
      shared: delta.shared,
      models: delta.models,
      transferBytes: delta.transferBytes,
      newBundleBytes: delta.newBundleBytes,
    },
  };
  const files: FolderFile[] = [
    { path: DELTA_FILE, bytes: Buffer.from(`${JSON.stringify(json, null, 2)}\n`) },
    { path: MANIFEST_FILE, bytes: delta.manifest },
    { path: DELTA_PAGES_FILE, bytes: blob },
    ...delta.graphs.map((g) => ({ path: graphFile(g.name), bytes: g.bytes })),
  ];
  const written = writeFolderAtomic(dir, files, {
    mayReplace: (existing) => existsSync(join(existing, DELTA_FILE)),
  });
  if (!written.ok) return written;
  return ok({ dir: resolve(dir), bytes: files.reduce((s, f) => s + f.bytes.byteLength, 0) });
}

function deltaProblem(message: string): Result<never> {
  return fail('E_BUNDLE_CORRUPT', `Delta: ${message}`, 'Create the delta again from the two bundles.');
}

/** Reads a delta folder, checking every file against delta.json's sizes and hashes. */
export async function readDelta(dir: string): Promise<Result<BundleDelta>> {
  const path = join(dir, DELTA_FILE);
  if (!existsSync(path)) return fail('E_NOT_FOUND', `No delta at ${resolve(dir)} (no ${DELTA_FILE}).`);
  let json: DeltaJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as DeltaJson;
  } catch (thrown) {
    return deltaProblem(`${DELTA_FILE} is not valid JSON (${(thrown as Error).message}).`);
  }
  if (json?.format !== DELTA_FORMAT || json.version !== DELTA_VERSION)
    return deltaProblem(`${DELTA_FILE} is not a version ${DELTA_VERSION} WeightSep delta.`);
  if (
    !HEX64.test(String(json.from)) ||
    !HEX64.test(String(json.to)) ||
    !Number.isSafeInteger(json.pageSize) ||
    json.pageSize < 1
  ) {
    return deltaProblem(`${DELTA_FILE}: from, to or pageSize is malformed.`);
  }
  const read = (file: string): Uint8Array | undefined => {
    try {
      return readFileSync(join(dir, ...file.split('/')));
    } catch {
      return undefined;
    }
  };
  const manifest = read(MANIFEST_FILE);
  if (
    !manifest ||
    manifest.byteLength !== json.manifest?.bytes ||
    sha256Hex(manifest) !== json.manifest.sha256
  ) {
    return deltaProblem(`${MANIFEST_FILE} is missing or does not match its size and SHA-256.`);
  }
  // The pages' size follows the new bundle's value type, which its manifest states.
  let valueType: unknown;
  try {
    valueType = (JSON.parse(Buffer.from(manifest).toString('utf8')) as { valueType?: unknown }).valueType;
  } catch {
    return deltaProblem(`${MANIFEST_FILE} is not valid JSON.`);
  }
  if (valueType !== 'f32' && valueType !== 'i8')
    return deltaProblem(`${MANIFEST_FILE} has value type ${JSON.stringify(valueType)}, not "f32" or "i8".`);
  const pageBytes = json.pageSize * valueBytesOf(valueType);
  const blob = read(DELTA_PAGES_FILE);
  const hashes = Array.isArray(json.pages?.hashes) ? json.pages.hashes : undefined;
  if (!blob || !hashes || blob.byteLength !== hashes.length * pageBytes)
    return deltaProblem(`${DELTA_PAGES_FILE} is missing or its size does not match ${DELTA_FILE}.`);
  const pages: { hash: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < hashes.length; i++) {
    const bytes = blob.subarray(i * pageBytes, (i + 1) * pageBytes);
    if (sha256Hex(bytes) !== hashes[i])
      return deltaProblem(`page ${i} of ${DELTA_PAGES_FILE} does not match its SHA-256.`);
    pages.push({ hash: hashes[i]!, bytes });
  }
  const graphs: { name: string; bytes: Uint8Array }[] = [];
  for (const g of Array.isArray(json.graphs) ? json.graphs : []) {
    const bytes = typeof g.name === 'string' && g.file === graphFile(g.name) ? read(g.file) : undefined;
    if (!bytes || bytes.byteLength !== g.bytes || sha256Hex(bytes) !== g.sha256)
      return deltaProblem(`graph ${String(g.file)} is missing or does not match its SHA-256.`);
    graphs.push({ name: g.name, bytes });
  }
  const s = json.summary;
  return ok({
    from: json.from,
    to: json.to,
    pageSize: json.pageSize,
    shared: s?.shared ?? { oldPageCount: 0, newPageCount: 0, changed: [] },
    models: s?.models ?? [],
    manifest,
    pages,
    graphs,
    transferBytes: s?.transferBytes ?? 0,
    newBundleBytes: s?.newBundleBytes ?? 0,
  });
}

/**
 * Rebuilds the new bundle at `outDir` from the bundle at `oldDir` and a delta (in memory or a folder).
 * Every file is assembled from pages found by hash, checked against the new manifest, written atomically,
 * and the result is read back with all of readBundle's checks before this reports success.
 */
export async function applyDelta(
  oldDir: string,
  delta: BundleDelta | string,
  outDir: string,
): Promise<Result<BundleInfo>> {
  const d = typeof delta === 'string' ? await readDelta(delta) : ok(delta);
  if (!d.ok) return d;
  const old = await readBundle(oldDir);
  if (!old.ok) return old;
  if (old.value.planId !== d.value.from) {
    return fail(
      'E_BUNDLE',
      `The delta applies to plan ${d.value.from.slice(0, 12)}…, but ${resolve(oldDir)} holds plan ${old.value.planId.slice(0, 12)}….`,
      'Send the full bundle, or a delta made from the plan the device holds.',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(d.value.manifest).toString('utf8'));
  } catch {
    return deltaProblem('the new manifest is not valid JSON.');
  }
  const parsed = parseManifest(json);
  if (!parsed.manifest) return deltaProblem(`the new manifest is invalid: ${parsed.problems[0]?.message}`);
  const manifest: Manifest = parsed.manifest;
  // The manifest names the files to write; its rules (safe names, fixed paths) must hold before any write.
  const broken = checkManifest(manifest);
  if (broken.length > 0) return deltaProblem(`the new manifest is invalid: ${broken[0]!.message}`);
  if (manifest.planId !== d.value.to || computePlanId(d.value.manifest) !== d.value.to)
    return deltaProblem('the new manifest does not hash to the plan id the delta names.');
  const store = storeOf(old.value);
  for (const p of d.value.pages) store.pages.set(p.hash, p.bytes);
  const pageBytes = manifest.pageSize * valueBytesOf(manifest.valueType);
  const assemble = (entry: PageFile): Uint8Array | string => {
    const out = new Uint8Array(entry.pageHashes.length * pageBytes);
    for (const [i, h] of entry.pageHashes.entries()) {
      const page = store.pages.get(h);
      if (!page || page.byteLength !== pageBytes)
        return `page ${i} of ${entry.file} is neither in the old bundle nor in the delta`;
      out.set(page, i * pageBytes);
    }
    return sha256Hex(out) === entry.sha256 ? out : `${entry.file} does not match its SHA-256 after assembly`;
  };
  const files: FolderFile[] = [{ path: MANIFEST_FILE, bytes: d.value.manifest }];
  const entries: PageFile[] = [manifest.shared, ...manifest.models.map((m) => m.exclusive)];
  for (const entry of entries) {
    const bytes = assemble(entry);
    if (typeof bytes === 'string') return deltaProblem(bytes);
    files.push({ path: entry.file, bytes });
  }
  const newGraphs = new Map(d.value.graphs.map((g) => [sha256Hex(g.bytes), g.bytes]));
  for (const m of manifest.models) {
    const bytes = newGraphs.get(m.graph.sha256) ?? store.graphs.get(m.graph.sha256);
    if (!bytes) return deltaProblem(`graph ${m.graph.file} is neither in the old bundle nor in the delta.`);
    files.push({ path: m.graph.file, bytes });
  }
  const written = writeFolderAtomic(outDir, files, {
    mayReplace: (existing) => existsSync(join(existing, MANIFEST_FILE)),
  });
  if (!written.ok) return written;
  const check = await readBundle(outDir);
  if (!check.ok) return check;
  const sizes = files.map((f) => ({ path: f.path, bytes: f.bytes.byteLength }));
  return ok({
    dir: resolve(outDir),
    planId: check.value.planId,
    files: sizes,
    totalBytes: sizes.reduce((s, f) => s + f.bytes, 0),
  });
}
