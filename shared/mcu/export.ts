/**
 * `wsep mcu export`: a plan bundle and its tasks' test slices as the two blobs the firmware loads: the
 * FRAM image (shared pages, page tables) and the storage image (descriptors, exclusive pages, slices),
 * laid out for a device profile, plus `mcu.json`, which says where each blob goes, what the memory map
 * is and what the host's paged runtime predicts on every slice (the firmware must predict the same).
 *
 * The slices are the fleet's health slices (shared/runtime/health-slice.ts: the first N test samples
 * after a seeded shuffle), written beside the blobs in `health/`, and stored in level 2 as the f32 model
 * input the host runtime takes, so both sides classify bit-identical inputs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import type { DeviceProfile } from '../image/device-profile.ts';
import { sha256Hex } from '../image/hash.ts';
import type { Split } from '../datasets/types.ts';
import type { Plan, ValueType } from '../image/plan.ts';
import { readBundle } from '../image/read.ts';
import { buildHealthSlices, healthInputs, readHealthSlices } from '../runtime/health-slice.ts';
import { PagedRuntime } from '../runtime/runtime.ts';
import type { Board } from './board.ts';
import { encodeDescriptor } from './descriptor.ts';
import { encodeFramImage, FRAM_HEADER_BYTES, framLayout, type FramLayout } from './fram-image.ts';
import { compileLayers } from './layers.ts';
import { storedPageBytes, storeOf, type PageStore } from './page-store.ts';
import {
  encodeStorageImage,
  NAME_BYTES,
  storageLayout,
  type StorageLayout,
  type StorageModel,
} from './storage-image.ts';

export const EXPORT_FORMAT = 'weightsep-mcu-export';
/** Version 2 added `valueType` (int8 pages); a version-1 export is f32 and still reads. */
export const EXPORT_VERSION = 2;
export const EXPORT_FILE = 'mcu.json';
export const FRAM_FILE = 'fram.bin';
export const STORAGE_FILE = 'storage.bin';
export const DEFAULT_MCU_SAMPLES = 64;

export interface McuExportOptions {
  readonly board: Board;
  readonly profile: DeviceProfile;
  /** Folders holding task data (the health slices are cut from their test splits). */
  readonly dataRoots: readonly string[];
  readonly samples?: number;
  readonly seed?: number;
  /** Samples per task whose raw logits the firmware prints (0: none). */
  readonly logitsSamples?: number;
}

export interface McuExportModel {
  readonly name: string;
  readonly samples: number;
  readonly classes: number;
  readonly layers: number;
  readonly macs: number;
  readonly weightCount: number;
  readonly exclusivePages: number;
  /** Bytes a switch to this model reads from level 2: its descriptor and exclusive pages (i8: codes and scales). */
  readonly switchBytes: number;
  /**
   * The whole model's weights in the plan's value type: what a switch reads when no page is shared
   * (the baseline). f32: n × 4; i8: n codes and one 4-byte scale per page (N × 4).
   */
  readonly wholeModelBytes: number;
  readonly hostAccuracy: number;
  readonly hostPredictions: readonly number[];
}

export interface McuMemoryMap {
  readonly fram: FramLayout & { readonly budgetBytes: number; readonly base: number };
  readonly l2: StorageLayout & { readonly budgetBytes: number; readonly base: number };
}

export interface McuExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  readonly planId: string;
  /** How the pages are stored in both blobs (absent in version-1 exports: f32). */
  readonly valueType: ValueType;
  readonly exportId: number;
  readonly board: Board;
  readonly profile: DeviceProfile;
  readonly files: {
    readonly fram: {
      readonly file: string;
      readonly address: number;
      readonly bytes: number;
      readonly sha256: string;
    };
    readonly storage: {
      readonly file: string;
      readonly address: number;
      readonly bytes: number;
      readonly sha256: string;
    };
  };
  readonly logitsSamples: number;
  readonly memory: McuMemoryMap;
  readonly models: readonly McuExportModel[];
}

/** "Region fram is short by N bytes" when a layout does not fit its budget or the board's window. */
export function checkFits(
  name: 'fram' | 'l2',
  needed: number,
  budget: number,
  window: number,
  parts: string,
): Result<void> {
  if (budget > window)
    return fail(
      'E_BUDGET',
      `The profile gives region ${name} ${budget} bytes, but the board maps only ${window} there.`,
    );
  if (needed > budget)
    return fail(
      'E_BUDGET',
      `Region ${name} is short by ${needed - budget} bytes: the plan needs ${needed} (${parts}), the profile gives ${budget}.`,
      name === 'fram'
        ? 'Plan again with a smaller --l1 (fewer shared pages), or use a profile with more FRAM.'
        : 'Export fewer --samples per task, plan with a smaller --l2, or use a profile with more storage.',
    );
  return ok(undefined);
}

export async function exportMcu(
  bundleDir: string,
  outDir: string,
  options: McuExportOptions,
): Promise<Result<McuExport>> {
  const { board, profile } = options;
  const samples = options.samples ?? DEFAULT_MCU_SAMPLES;
  const logitsSamples = options.logitsSamples ?? 0;
  const loaded = await readBundle(bundleDir);
  if (!loaded.ok) return loaded;
  const { plan, planId } = loaded.value;
  mkdirSync(outDir, { recursive: true });
  const healthDir = join(outDir, 'health');
  const built = await buildHealthSlices(bundleDir, options.dataRoots, healthDir, {
    samples,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  if (!built.ok) return built;
  const health = readHealthSlices(healthDir);
  if (!health.ok) return health;
  const opened = await PagedRuntime.open(bundleDir, { sessions: 'lazy' });
  if (!opened.ok) return opened;
  const runtime = opened.value;
  const slices = new Map<string, Split>();
  const host = new Map<string, HostResult>();
  try {
    const inputs = healthInputs(runtime, health.value);
    if (!inputs.ok) return inputs;
    for (const m of plan.models) {
      const split = inputs.value.get(m.name)!;
      const switched = await runtime.switchTo(m.name);
      if (!switched.ok) return switched;
      const predicted = await runtime.predict(split);
      if (!predicted.ok) return predicted;
      slices.set(m.name, split);
      host.set(m.name, {
        accuracy: predicted.value.accuracy,
        predictions: Array.from(predicted.value.predictions),
      });
    }
  } finally {
    await runtime.close();
  }
  return writeExport(outDir, plan, planId, slices, host, { board, profile, logitsSamples });
}

/** What the host runtime predicted on one model's slice (the firmware must agree). */
export interface HostResult {
  readonly accuracy: number;
  readonly predictions: readonly number[];
}

/**
 * Packs `plan` with the given model-input slices for the profile, and writes the blobs and mcu.json
 * into `outDir`; `host` holds the host runtime's results on the same slices, per model.
 */
export function writeExport(
  outDir: string,
  plan: Plan,
  planId: string,
  slices: ReadonlyMap<string, Split>,
  host: ReadonlyMap<string, HostResult>,
  options: { board: Board; profile: DeviceProfile; logitsSamples: number },
): Result<McuExport> {
  const { board, profile, logitsSamples } = options;
  const packed = packPlan(plan, slices, {
    board,
    profile,
    exportId: Number.parseInt(planId.slice(0, 8), 16),
    logitsSamples,
  });
  if (!packed.ok) return packed;
  const { fram, storage, exportId } = packed.value;
  const models: McuExportModel[] = packed.value.models.map((m) => ({
    ...m,
    hostAccuracy: host.get(m.name)!.accuracy,
    hostPredictions: host.get(m.name)!.predictions,
  }));
  const manifest: McuExport = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    planId,
    valueType: plan.valueType,
    exportId,
    board,
    profile,
    files: {
      fram: {
        file: FRAM_FILE,
        address: board.fram.base,
        bytes: fram.bytes.byteLength,
        sha256: sha256Hex(fram.bytes),
      },
      storage: {
        file: STORAGE_FILE,
        address: board.l2.base,
        bytes: storage.bytes.byteLength,
        sha256: sha256Hex(storage.bytes),
      },
    },
    logitsSamples,
    memory: {
      fram: { ...fram.layout, budgetBytes: profile.l1Bytes, base: board.fram.base },
      l2: { ...storage.layout, budgetBytes: profile.l2Bytes, base: board.l2.base },
    },
    models,
  };
  try {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, FRAM_FILE), fram.bytes);
    writeFileSync(join(outDir, STORAGE_FILE), storage.bytes);
    writeFileSync(join(outDir, EXPORT_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (thrown) {
    return fail('E_IO', `Cannot write the MCU export to ${outDir}: ${(thrown as Error).message}`);
  }
  return ok(manifest);
}

export interface PackedBlobs {
  readonly exportId: number;
  readonly fram: ReturnType<typeof encodeFramImage>;
  readonly storage: ReturnType<typeof encodeStorageImage>;
}

/** The shared pages of a plan as the blobs store them. */
export interface SharedPages {
  readonly pageSize: number;
  readonly sharedPageCount: number;
  readonly shared: PageStore;
}

/**
 * Lays out the two blobs for the profile and checks that each region fits (the pure half of the export:
 * tests feed it their own inputs). `tables` and `models` are in the plan's model order; every model's
 * exclusive pages must be stored as the shared pages are.
 */
export function packBlobs(
  plan: SharedPages,
  models: readonly StorageModel[],
  tables: readonly Uint16Array[],
  activationValues: number,
  descriptorBufferBytes: number,
  options: { board: Board; profile: DeviceProfile; exportId: number; logitsSamples: number },
): Result<PackedBlobs> {
  const { board, profile, exportId, logitsSamples } = options;
  const valueType = plan.shared.valueType;
  const P = plan.pageSize;
  const pagesOf = (e: PageStore): number => (e.valueType === 'f32' ? e.values.length : e.codes.length) / P;
  if (models.some((m) => m.exclusive.valueType !== valueType))
    return fail('E_MCU_BLOB', `Every model's exclusive pages must be ${valueType}, as the shared pages are.`);
  // The buffer holds one model's exclusive pages as stored (i8: codes and their scales), sized for the largest.
  const exclusiveBufferBytes = Math.max(
    0,
    ...models.map((m) => pagesOf(m.exclusive) * storedPageBytes(valueType, P)),
  );
  const frameInput = {
    pageSize: P,
    sharedPageCount: plan.sharedPageCount,
    valueType,
    tables,
    arenaBytes: 2 * activationValues * 4,
    exclusiveBufferBytes,
    descriptorBufferBytes,
  };
  const fl = framLayout(frameInput);
  const framFits = checkFits(
    'fram',
    fl.usedBytes,
    profile.l1Bytes,
    board.fram.window,
    `${valueType} shared pages ${fl.sharedBytes}, page tables ${fl.tablesBytes}, activation arena ${fl.arenaBytes}, exclusive-page buffer ${fl.exclusiveBytes}, descriptor buffer ${fl.descriptorBytes}, header ${FRAM_HEADER_BYTES}`,
  );
  if (!framFits.ok) return framFits;
  const sl = storageLayout({ models });
  const l2Fits = checkFits(
    'l2',
    sl.totalBytes,
    profile.l2Bytes,
    board.l2.window,
    `${valueType} exclusive pages ${sl.exclusiveBytes}, descriptors ${sl.descriptorBytes}, test slices ${sl.sliceBytes}, header and directory ${sl.totalBytes - sl.exclusiveBytes - sl.descriptorBytes - sl.sliceBytes}`,
  );
  if (!l2Fits.ok) return l2Fits;
  const fram = encodeFramImage({
    ...frameInput,
    exportId,
    budgetBytes: profile.l1Bytes,
    shared: plan.shared,
  });
  const storage = encodeStorageImage({
    exportId,
    budgetBytes: profile.l2Bytes,
    logitsSamples,
    valueType,
    models,
  });
  return ok({ exportId, fram, storage });
}

export type PackedModel = Omit<McuExportModel, 'hostAccuracy' | 'hostPredictions'>;

/**
 * Compiles every model of a plan to its descriptor and packs the blobs with the given slices (model
 * input and labels per model): the export without the bundle files and the host runtime.
 */
export function packPlan(
  plan: Pick<Plan, 'pageSize' | 'sharedPageCount' | 'sharedPages' | 'models' | 'valueType' | 'sharedScales'>,
  slices: ReadonlyMap<string, Split>,
  options: { board: Board; profile: DeviceProfile; exportId: number; logitsSamples: number },
): Result<PackedBlobs & { models: readonly PackedModel[] }> {
  const P = plan.pageSize;
  const storageModels: StorageModel[] = [];
  const tables: Uint16Array[] = [];
  const models: PackedModel[] = [];
  let activationValues = 0;
  let descriptorBufferBytes = 0;
  const valueType = plan.valueType;
  // i8 plans hold dequantised values: back to the codes (refused when a value is off its page's grid).
  const shared = storeOf(valueType, plan.sharedPages, plan.sharedScales, P, 'shared pages');
  if (!shared.ok) return shared;
  for (const m of plan.models) {
    const entries = plan.sharedPageCount + m.exclusivePages.length / P;
    if (entries > 0xffff)
      return fail(
        'E_MCU_UNSUPPORTED',
        `Model "${m.name}" names ${entries} pages, more than uint16 page-table entries hold (65,535).`,
      );
    if (Buffer.byteLength(m.name, 'utf8') >= NAME_BYTES)
      return fail(
        'E_MCU_UNSUPPORTED',
        `Model name "${m.name}" is longer than the firmware's ${NAME_BYTES - 1} bytes.`,
      );
    const layers = compileLayers(
      m.graph,
      {
        inputName: m.inputName,
        inputShape: m.inputShape,
        outputName: m.outputName,
        classes: m.classes.length,
      },
      m.tensors,
    );
    if (!layers.ok)
      return { ok: false, error: { ...layers.error, message: `Model "${m.name}": ${layers.error.message}` } };
    const exclusivePages = m.exclusivePages.length / P;
    const descriptor = encodeDescriptor({
      ...layers.value,
      weightCount: m.weightCount,
      pageCount: m.pageTable.length,
      exclusivePages,
    });
    const split = slices.get(m.name);
    if (!split) return fail('E_DATASET', `No test slice for model "${m.name}".`);
    const exclusive = storeOf(
      valueType,
      m.exclusivePages,
      m.exclusiveScales,
      P,
      `exclusive pages of "${m.name}"`,
    );
    if (!exclusive.ok) return exclusive;
    tables.push(Uint16Array.from(m.pageTable));
    storageModels.push({
      name: m.name,
      descriptor,
      exclusive: exclusive.value,
      slice: split.x,
      labels: split.y,
    });
    activationValues = Math.max(activationValues, layers.value.activationValues);
    descriptorBufferBytes = Math.max(descriptorBufferBytes, descriptor.byteLength);
    models.push({
      name: m.name,
      samples: split.n,
      classes: m.classes.length,
      layers: layers.value.layers.length,
      macs: layers.value.macs,
      weightCount: m.weightCount,
      exclusivePages,
      switchBytes: descriptor.byteLength + exclusivePages * storedPageBytes(valueType, P),
      wholeModelBytes: valueType === 'i8' ? m.weightCount + 4 * m.pageTable.length : m.weightCount * 4,
    });
  }
  const packed = packBlobs(
    { pageSize: P, sharedPageCount: plan.sharedPageCount, shared: shared.value },
    storageModels,
    tables,
    activationValues,
    descriptorBufferBytes,
    options,
  );
  return packed.ok ? ok({ ...packed.value, models }) : packed;
}
