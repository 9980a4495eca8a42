/**
 * Reading a bundle: every byte is checked before anything is used (docs/FORMAT.md §6) — manifest schema,
 * plan id, internal consistency, file sizes, per-page and per-file SHA-256, graphs — and the Plan is rebuilt.
 * `verifyBundle` runs the same checks and lists every problem; `readBundle` fails on the first.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { decodeModel } from '../onnx/codec.ts';
import type { Model } from '../onnx/types.ts';
import type { Plan, PlannedModel } from './plan.ts';
import { computePlanId, sha256Hex, storedPlanId } from './hash.ts';
import {
  F32_BYTES,
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  SHARED_FILE,
  exclusiveFile,
  graphFile,
  parseManifest,
  type BundleProblem,
  type Manifest,
  type PageFile,
} from './manifest.ts';
import { checkGraph, checkManifest } from './validate.ts';
import { bytesToF32 } from './values.ts';

export interface LoadedBundle {
  readonly dir: string;
  readonly planId: string;
  readonly manifest: Manifest;
  readonly plan: Plan;
  /** Each model's graph file as stored (sessions are created from these bytes). */
  readonly graphBytes: ReadonlyMap<string, Uint8Array>;
  /** Bytes of all files of the bundle. */
  readonly totalBytes: number;
}

export interface VerifyReport {
  readonly dir: string;
  /** The plan id, when the manifest could be read far enough to have one. */
  readonly planId?: string;
  readonly problems: readonly BundleProblem[];
}

/** At most this many bad pages are listed per file; the rest are counted in one problem. */
const MAX_PAGE_PROBLEMS = 8;

function problem(file: string, field: string, message: string): BundleProblem {
  return { file, field, message: `${file}: ${field ? `${field}: ` : ''}${message}` };
}

function readOptional(
  dir: string,
  file: string,
  problems: BundleProblem[],
  field: string,
): Uint8Array | undefined {
  try {
    return readFileSync(join(dir, ...file.split('/')));
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    problems.push(
      problem(
        file,
        field,
        code === 'ENOENT' ? 'the file is missing.' : `cannot be read (${(thrown as Error).message}).`,
      ),
    );
    return undefined;
  }
}

/** Checks a page file's size, then each page's hash, then the whole file's hash. */
function checkPageFile(entry: PageFile, bytes: Uint8Array, field: string, pageSize: number): BundleProblem[] {
  const out: BundleProblem[] = [];
  if (bytes.byteLength !== entry.bytes) {
    const pageBytes = pageSize * F32_BYTES;
    const pages = bytes.byteLength / pageBytes;
    out.push(
      problem(
        entry.file,
        `${field}.bytes`,
        `the file has ${bytes.byteLength} bytes (${Number.isInteger(pages) ? `${pages} pages` : `${pages.toFixed(2)} pages: truncated or padded`}) but the manifest says ${entry.bytes} (${entry.pageCount} pages).`,
      ),
    );
    return out;
  }
  const pageBytes = pageSize * F32_BYTES;
  let bad = 0;
  entry.pageHashes.forEach((expected, i) => {
    if (sha256Hex(bytes.subarray(i * pageBytes, (i + 1) * pageBytes)) === expected) return;
    if (++bad <= MAX_PAGE_PROBLEMS)
      out.push(
        problem(
          entry.file,
          `${field}.pageHashes[${i}]`,
          `page ${i} does not match its SHA-256: the page is corrupt.`,
        ),
      );
  });
  if (bad > MAX_PAGE_PROBLEMS)
    out.push(
      problem(
        entry.file,
        `${field}.pageHashes`,
        `${bad - MAX_PAGE_PROBLEMS} more pages do not match their SHA-256.`,
      ),
    );
  if (bad === 0 && sha256Hex(bytes) !== entry.sha256)
    out.push(problem(entry.file, `${field}.sha256`, 'the file does not match its SHA-256.'));
  return out;
}

/**
 * A file that disagrees with a manifest that fails its own plan id: the manifest's entry is the
 * likely culprit (a hand-edited hash or size), so the problem names the manifest field, not the file.
 */
function suspectEntry(p: BundleProblem): BundleProblem {
  return problem(
    MANIFEST_FILE,
    p.field,
    `does not match ${p.file}; manifest.json fails its plan id, so this entry was probably edited — ${p.file} itself is not known to be bad.`,
  );
}

interface Inspection {
  readonly problems: BundleProblem[];
  readonly planId?: string;
  readonly loaded?: LoadedBundle;
}

function inspect(dirInput: string): Inspection {
  const dir = resolve(dirInput);
  const problems: BundleProblem[] = [];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { problems: [problem(dir, '', 'no bundle folder here.')] };
  }
  // 1. manifest.json: bytes, UTF-8, JSON, schema.
  const manifestPath = join(dir, MANIFEST_FILE);
  if (existsSync(manifestPath) && statSync(manifestPath).size > MAX_MANIFEST_BYTES) {
    return {
      problems: [
        problem(MANIFEST_FILE, '', `is larger than ${MAX_MANIFEST_BYTES} bytes; refusing to parse it.`),
      ],
    };
  }
  const manifestBytes = readOptional(dir, MANIFEST_FILE, problems, '');
  if (!manifestBytes) return { problems };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes));
  } catch (thrown) {
    return { problems: [problem(MANIFEST_FILE, '', `is not valid JSON (${(thrown as Error).message}).`)] };
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
        MANIFEST_FILE,
        'planId',
        'the first "planId": "…" member is not the top-level plan id (the manifest was not written by a v1 writer).',
      ),
    );
  } else if (computePlanId(manifestBytes) !== manifest.planId) {
    manifestIntact = false;
    problems.push(
      problem(
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
  const sharedBytes = readOptional(dir, SHARED_FILE, problems, 'shared.file');
  if (sharedBytes)
    problems.push(...againstManifest(checkPageFile(manifest.shared, sharedBytes, 'shared', P)));
  const exclusive = new Map<string, Uint8Array>();
  const graphs = new Map<string, Model>();
  const graphBytes = new Map<string, Uint8Array>();
  let totalBytes = manifestBytes.byteLength + (sharedBytes?.byteLength ?? 0);
  manifest.models.forEach((m, i) => {
    const f = `models[${i}]`;
    if (problems.some((p) => p.field === `${f}.name`)) return; // file names derive from a valid name
    const ex = readOptional(dir, exclusiveFile(m.name), problems, `${f}.exclusive.file`);
    if (ex) {
      totalBytes += ex.byteLength;
      const found = checkPageFile(m.exclusive, ex, `${f}.exclusive`, P);
      problems.push(...againstManifest(found));
      if (found.length === 0) exclusive.set(m.name, ex);
    }
    const gb = readOptional(dir, graphFile(m.name), problems, `${f}.graph.file`);
    if (!gb) return;
    totalBytes += gb.byteLength;
    if (gb.byteLength !== m.graph.bytes) {
      problems.push(
        ...againstManifest([
          problem(
            m.graph.file,
            `${f}.graph.bytes`,
            `the file has ${gb.byteLength} bytes but the manifest says ${m.graph.bytes}.`,
          ),
        ]),
      );
      return;
    }
    if (sha256Hex(gb) !== m.graph.sha256) {
      problems.push(
        ...againstManifest([
          problem(
            m.graph.file,
            `${f}.graph.sha256`,
            'the file does not match its SHA-256: the graph is corrupt.',
          ),
        ]),
      );
      return;
    }
    const decoded = decodeModel(gb);
    if (!decoded.ok) {
      problems.push(
        problem(m.graph.file, `${f}.graph.file`, `does not decode as ONNX: ${decoded.error.message}`),
      );
      return;
    }
    problems.push(...checkGraph(m, decoded.value, f));
    graphs.set(m.name, decoded.value);
    graphBytes.set(m.name, gb);
  });
  // 5. Padding of a model's last page, when exclusive, is zero in storage.
  if (problems.length === 0) {
    manifest.models.forEach((m, i) => {
      const last = m.pageTable.length - 1;
      const used = m.weightCount - last * P;
      const entry = m.pageTable[last]!;
      if (entry < manifest.shared.pageCount || used === P) return;
      const values = bytesToF32(exclusive.get(m.name)!);
      const start = (entry - manifest.shared.pageCount) * P;
      for (let k = start + used; k < start + P; k++) {
        if (!Object.is(values[k], 0)) {
          problems.push(
            problem(
              m.exclusive.file,
              `models[${i}].pageTable[${last}]`,
              `the padding of the model's last page (exclusive page ${entry - manifest.shared.pageCount}) is not zero.`,
            ),
          );
          return;
        }
      }
    });
  }
  if (problems.length > 0) return { problems, planId: manifest.planId };
  const models: PlannedModel[] = manifest.models.map((m) => ({
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
    exclusivePages: bytesToF32(exclusive.get(m.name)!),
    accuracy: { test: { ...m.accuracy.test }, val: { ...m.accuracy.val } },
  }));
  const plan: Plan = {
    pageSize: P,
    valueType: 'f32',
    budgets: { ...manifest.budgets },
    sharedPageCount: manifest.shared.pageCount,
    sharedPages: bytesToF32(sharedBytes!),
    selfTying: manifest.selfTying,
    models,
    report: manifest.report,
  };
  return {
    problems,
    planId: manifest.planId,
    loaded: { dir, planId: manifest.planId, manifest, plan, graphBytes, totalBytes },
  };
}

/** `inspect`, with anything unexpected turned into a problem: hostile input must never crash a reader. */
function safeInspect(dir: string): Inspection {
  try {
    return inspect(dir);
  } catch (thrown) {
    return { problems: [problem(resolve(dir), '', `could not be checked: ${(thrown as Error).message}`)] };
  }
}

/** Reads and validates a bundle; fails with E_BUNDLE_CORRUPT naming the first problem (all are in `details`). */
export async function readBundle(dir: string): Promise<Result<LoadedBundle>> {
  const found = safeInspect(dir);
  if (found.loaded) return ok(found.loaded);
  const first = found.problems[0]!;
  const noManifest = first.file === MANIFEST_FILE && first.message.endsWith('the file is missing.');
  if ((first.field === '' && first.message.endsWith('no bundle folder here.')) || noManifest) {
    return fail('E_NOT_FOUND', `No bundle at ${resolve(dir)}.`, 'Pass the folder that holds manifest.json.');
  }
  const more =
    found.problems.length > 1
      ? ` (and ${found.problems.length - 1} more problem${found.problems.length > 2 ? 's' : ''})`
      : '';
  return fail(
    'E_BUNDLE_CORRUPT',
    `Bundle ${resolve(dir)} is invalid: ${first.message}${more}`,
    'Run "wsep bundle verify" for the full list; write or transfer the bundle again.',
    {
      problems: found.problems,
    },
  );
}

/** Checks a bundle completely and lists every problem found (empty when the bundle is valid). */
export async function verifyBundle(dir: string): Promise<VerifyReport> {
  const found = safeInspect(dir);
  return found.planId === undefined
    ? { dir: resolve(dir), problems: found.problems }
    : { dir: resolve(dir), planId: found.planId, problems: found.problems };
}
