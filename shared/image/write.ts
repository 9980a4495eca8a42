/**
 * Writing a plan as a bundle folder (docs/FORMAT.md): the plan is encoded into files, checked against the
 * same rules a reader applies, sealed with its plan id, and written atomically.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import type { Plan } from './plan.ts';
import { writeFolderAtomic, type FolderFile, type WriteStep } from './atomic.ts';
import { ZERO_ID, computePlanId, pageHashes, sealPlanId, sha256Hex } from './hash.ts';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  MANIFEST_FILE,
  SHARED_FILE,
  canonicalPreprocessing,
  encodeManifest,
  exclusiveFile,
  graphFile,
  type Manifest,
  type ManifestModel,
  type PageFile,
} from './manifest.ts';
import { checkGraph, checkManifest } from './validate.ts';
import { encodePages, storedPageBytes, type StoredPages } from './pages.ts';
import { valueBytesOf } from './plan.ts';

export interface BundleInfo {
  /** The bundle's folder (absolute). */
  readonly dir: string;
  readonly planId: string;
  /** Every file written, relative to `dir`, with its size. */
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
  readonly totalBytes: number;
}

export interface WriteBundleOptions {
  /** Test seam: called before each file and before the final rename; throwing simulates a failure there. */
  readonly faultInjection?: (step: WriteStep) => void;
}

export interface EncodedBundle {
  readonly manifest: Manifest;
  readonly planId: string;
  /** manifest.json first, then shared.bin, then per model its exclusive pages and graph. */
  readonly files: readonly FolderFile[];
}

function pageFile(file: string, pages: StoredPages, pageSize: number): PageFile {
  const bytes = storedPageBytes(pages);
  const pageBytes = pageSize * valueBytesOf(pages.valueType);
  const entry: PageFile = {
    file,
    pageCount: bytes.byteLength / pageBytes,
    bytes: bytes.byteLength,
    sha256: sha256Hex(bytes),
    pageHashes: pageHashes(bytes, pageBytes),
  };
  // Scales as JSON numbers: each is a float32, whose shortest decimal form reads back exactly.
  return pages.valueType === 'i8' ? { ...entry, scales: Array.from(pages.scales) } : entry;
}

/**
 * The exclusive pages as stored: a copy in which the padding of the model's last page (when that page
 * is exclusive) is zero, so that equal plans give equal bytes whatever the planner left there.
 */
function storedExclusive(
  values: Float32Array,
  table: Uint32Array,
  M: number,
  P: number,
  weightCount: number,
): Float32Array {
  const copy = values.slice();
  const last = table.length - 1;
  const used = weightCount - last * P;
  const entry = table[last];
  if (entry !== undefined && entry >= M && used < P) {
    const start = (entry - M) * P;
    if (start + P <= copy.length) copy.fill(0, start + used, start + P);
  }
  return copy;
}

function checkPlanShape(plan: Plan): string | undefined {
  const P = plan.pageSize;
  if (plan.valueType !== 'f32' && plan.valueType !== 'i8')
    return `Value type "${String(plan.valueType)}" cannot be written: the format stores f32 and i8.`;
  if (plan.valueType === 'f32' && (plan.sharedScales || plan.models.some((m) => m.exclusiveScales)))
    return 'An f32 plan has page scales: only i8 pages have scales.';
  if (!Number.isSafeInteger(P) || P < 1) return `Page size ${P} is not a positive whole number.`;
  if (!Number.isSafeInteger(plan.sharedPageCount) || plan.sharedPageCount < 0)
    return `Shared page count ${plan.sharedPageCount} is not a whole number.`;
  if (plan.sharedPages.length !== plan.sharedPageCount * P) {
    return `The shared pool holds ${plan.sharedPages.length} values but ${plan.sharedPageCount} pages of ${P} need ${plan.sharedPageCount * P}.`;
  }
  for (const m of plan.models) {
    if (m.exclusivePages.length % P !== 0)
      return `Model "${m.name}" has ${m.exclusivePages.length} exclusive values, not a whole number of pages of ${P}.`;
  }
  return undefined;
}

/** Encodes a plan into the bundle's files (in memory) and checks them; nothing is written. */
export function encodeBundle(plan: Plan): Result<EncodedBundle> {
  const shapeProblem = checkPlanShape(plan);
  if (shapeProblem) return fail('E_PLAN', shapeProblem);
  const P = plan.pageSize;
  const M = plan.sharedPageCount;
  const sharedPages = encodePages(plan.sharedPages, plan.valueType, plan.sharedScales, P);
  if ('problem' in sharedPages)
    return fail(
      'E_PLAN',
      `The plan's shared pages cannot be stored as ${plan.valueType}: ${sharedPages.problem}.`,
    );
  const files: FolderFile[] = [{ path: SHARED_FILE, bytes: storedPageBytes(sharedPages.pages) }];
  const models: ManifestModel[] = [];
  const graphs: Uint8Array[] = [];
  for (const m of plan.models) {
    const exclusivePages = encodePages(
      storedExclusive(m.exclusivePages, m.pageTable, M, P, m.weightCount),
      plan.valueType,
      m.exclusiveScales,
      P,
    );
    if ('problem' in exclusivePages)
      return fail(
        'E_PLAN',
        `Model "${m.name}"'s exclusive pages cannot be stored as ${plan.valueType}: ${exclusivePages.problem}.`,
      );
    const exclusive = exclusivePages.pages;
    const graph = encodeModel(m.graph);
    graphs.push(graph);
    files.push(
      { path: exclusiveFile(m.name), bytes: storedPageBytes(exclusive) },
      { path: graphFile(m.name), bytes: graph },
    );
    models.push({
      name: m.name,
      graph: { file: graphFile(m.name), bytes: graph.byteLength, sha256: sha256Hex(graph) },
      inputName: m.inputName,
      inputShape: [...m.inputShape],
      outputName: m.outputName,
      classes: [...m.classes],
      preprocessing: canonicalPreprocessing(m.preprocessing),
      weightCount: m.weightCount,
      tensors: m.tensors.map((t) => ({
        name: t.name,
        dims: [...t.dims],
        offset: t.offset,
        length: t.length,
      })),
      pageTable: Array.from(m.pageTable),
      exclusive: pageFile(exclusiveFile(m.name), exclusive, P),
      accuracy: {
        test: { before: m.accuracy.test.before, after: m.accuracy.test.after },
        val: { before: m.accuracy.val.before, after: m.accuracy.val.after },
      },
    });
  }
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    planId: ZERO_ID, // sealed below, once the bytes exist
    pageSize: P,
    valueType: plan.valueType,
    budgets: { l1Bytes: plan.budgets.l1Bytes, l2Bytes: plan.budgets.l2Bytes },
    selfTying: plan.selfTied,
    shared: pageFile(SHARED_FILE, sharedPages.pages, P),
    models,
    // A round trip through JSON drops what JSON cannot hold, so the stored report is what readers get back.
    report: plan.report === undefined ? null : JSON.parse(JSON.stringify(plan.report)),
  };
  const problems = checkManifest(manifest);
  plan.models.forEach((m, i) => problems.push(...checkGraph(models[i]!, m.graph, `models[${i}]`)));
  if (problems.length > 0) {
    return fail('E_PLAN', `The plan cannot be written as a bundle: ${problems[0]!.message}`, undefined, {
      problems,
    });
  }
  const unsealed = encodeManifest(manifest);
  const planId = computePlanId(unsealed)!;
  files.unshift({ path: MANIFEST_FILE, bytes: sealPlanId(unsealed, planId) });
  return ok({ manifest: { ...manifest, planId }, planId, files });
}

/** Writes `plan` as a bundle folder at `dir`, atomically; an existing bundle there is replaced as a whole. */
export async function writeBundle(
  plan: Plan,
  dir: string,
  options: WriteBundleOptions = {},
): Promise<Result<BundleInfo>> {
  const encoded = encodeBundle(plan);
  if (!encoded.ok) return encoded;
  const written = writeFolderAtomic(dir, encoded.value.files, {
    ...(options.faultInjection ? { faultInjection: options.faultInjection } : {}),
    mayReplace: (existing) => existsSync(join(existing, MANIFEST_FILE)),
  });
  if (!written.ok) return written;
  const files = encoded.value.files.map((f) => ({ path: f.path, bytes: f.bytes.byteLength }));
  return ok({
    dir: resolve(dir),
    planId: encoded.value.planId,
    files,
    totalBytes: files.reduce((a, f) => a + f.bytes, 0),
  });
}
