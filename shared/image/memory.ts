/**
 * The one memory account: every byte count a plan or a device is judged by (docs/FORMAT.md §9).
 * The separation sizes the shared pool with it, the report and `bundle inspect` state both packing
 * ratios from it, and the paged runtime's own account (`PagedRuntime.memory()`) must agree with it.
 *
 * - level 1 = shared pages + page tables + what the profile's runtime keeps resident;
 * - level 2 = exclusive pages;
 * - stored packing = original weight bytes ÷ (shared pages + page tables + exclusive pages);
 * - device packing = original weight bytes ÷ (the same + the runtime's residency).
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { formatBytes } from '../core/units.ts';
import type { DeviceProfile, DeviceTraits, RuntimeResidency } from './device-profile.ts';
import { F32_BYTES } from './manifest.ts';
import { scaleBytesOf, valueBytesOf, type ValueType } from './plan.ts';

/**
 * Bytes of one stored page: P values and, for i8, the page's float32 scale (a page is of no use
 * without it, so it is counted where the page lives: level 1 for shared pages, level 2 for
 * exclusive ones).
 */
export function pageBytes(pageSize: number, valueType: ValueType = 'f32'): number {
  return pageSize * valueBytesOf(valueType) + scaleBytesOf(valueType);
}

/** Bytes of the page tables of `pages` pages in all, at `entryBytes` per entry. */
export function tableBytes(pages: number, entryBytes: number): number {
  return pages * entryBytes;
}

/** Bytes per page of the paged runtime's precomputed gather runs: dst, src, len (int32) and a source flag (uint8). */
export const GATHER_RUN_BYTES_PER_PAGE = 13;

/** The largest page-table entry a uint16 table can hold. */
export const UINT16_ENTRY_LIMIT = 0xffff;

/** What memory accounting needs to know of a plan: sizes only, no values. */
export interface PlanShape {
  readonly pageSize: number;
  /** How pages are stored; f32 when absent. */
  readonly valueType?: ValueType;
  /** M. */
  readonly sharedPageCount: number;
  readonly models: readonly ModelShape[];
}

export interface ModelShape {
  readonly weightCount: number;
  /** E_k. */
  readonly exclusivePageCount: number;
}

/** The shape of a plan held in memory (exclusive pages as values, E_k × P of them). */
export function planShape(plan: {
  readonly pageSize: number;
  readonly valueType?: ValueType;
  readonly sharedPageCount: number;
  readonly models: readonly {
    readonly weightCount: number;
    readonly exclusivePages: { readonly length: number };
  }[];
}): PlanShape {
  return {
    pageSize: plan.pageSize,
    ...(plan.valueType ? { valueType: plan.valueType } : {}),
    sharedPageCount: plan.sharedPageCount,
    models: plan.models.map((m) => ({
      weightCount: m.weightCount,
      exclusivePageCount: m.exclusivePages.length / plan.pageSize,
    })),
  };
}

/** Bytes the runtime keeps in level 1 besides the shared pages and page tables, by part. */
export interface RuntimeParts {
  /** onnxruntime: the precomputed gather runs, GATHER_RUN_BYTES_PER_PAGE per page of every model. */
  readonly gatherRuns: number;
  /** onnxruntime: the gathered weights of the active model, sized for the largest (max n_k float32 values, whatever the pages' type: ORT takes f32). */
  readonly weightBuffer: number;
  /** onnxruntime and mcu: the read buffer for one model's exclusive pages (and their scales, i8), sized for the largest set. */
  readonly exclusiveBuffer: number;
  /** mcu: the activation arena. */
  readonly activationArena: number;
  readonly total: number;
}

/** The sizes the runtime's residency depends on. */
export interface ResidencyInput {
  readonly pageSize: number;
  /** How pages are stored; f32 when absent. */
  readonly valueType?: ValueType;
  readonly weightCounts: readonly number[];
  /** max E_k: the largest set of exclusive pages of one model. */
  readonly maxExclusivePages: number;
}

export function runtimeParts(input: ResidencyInput, runtime: RuntimeResidency): RuntimeParts {
  const pages = input.weightCounts.reduce((a, n) => a + Math.ceil(n / input.pageSize), 0);
  const exclusiveBuffer = input.maxExclusivePages * pageBytes(input.pageSize, input.valueType);
  const parts = (p: Omit<RuntimeParts, 'total'>): RuntimeParts => ({
    ...p,
    total: p.gatherRuns + p.weightBuffer + p.exclusiveBuffer + p.activationArena,
  });
  switch (runtime.kind) {
    case 'none':
      return parts({ gatherRuns: 0, weightBuffer: 0, exclusiveBuffer: 0, activationArena: 0 });
    case 'onnxruntime':
      return parts({
        gatherRuns: pages * GATHER_RUN_BYTES_PER_PAGE,
        weightBuffer: Math.max(0, ...input.weightCounts) * F32_BYTES,
        exclusiveBuffer,
        activationArena: 0,
      });
    case 'mcu':
      return parts({
        gatherRuns: 0,
        weightBuffer: 0,
        exclusiveBuffer,
        activationArena: runtime.activationArenaBytes,
      });
  }
}

/**
 * The runtime's residency split into what is known from page counts alone (`fixedBytes`) and what
 * grows with the largest exclusive set (`bytesPerExclusivePage` for each of its pages): the
 * separation decides E_k, so it sizes the pool with this (separate.ts).
 */
export function residencyForecast(
  input: Omit<ResidencyInput, 'maxExclusivePages'>,
  runtime: RuntimeResidency,
): { readonly fixedBytes: number; readonly bytesPerExclusivePage: number } {
  const none = runtimeParts({ ...input, maxExclusivePages: 0 }, runtime);
  const one = runtimeParts({ ...input, maxExclusivePages: 1 }, runtime);
  return { fixedBytes: none.total, bytesPerExclusivePage: one.total - none.total };
}

export interface MemoryAccount {
  /** The device profile's name the account is for. */
  readonly device: string;
  /** Σ n_k × 4: the models' float32 weights stored alone (the originals, whatever the pages' type). */
  readonly originalBytes: number;
  /** M × page bytes (i8: the scales included). */
  readonly sharedBytes: number;
  /** Σ N_k × the profile's entry bytes. */
  readonly pageTableBytes: number;
  /** Σ E_k × page bytes (i8: the scales included). */
  readonly exclusiveBytes: number;
  readonly runtime: RuntimeParts;
  /** Level 1: shared pages + page tables + runtime. */
  readonly level1Bytes: number;
  /** Level 2: exclusive pages. */
  readonly level2Bytes: number;
  /** Shared pages + page tables + exclusive pages: the plan as stored. */
  readonly storedBytes: number;
  /** The stored plan + the runtime's residency. */
  readonly deviceBytes: number;
  /** originalBytes ÷ storedBytes (0 when nothing is stored). */
  readonly storedPacking: number;
  /** originalBytes ÷ deviceBytes (0 when nothing is stored). */
  readonly devicePacking: number;
  /** The largest page-table entry any model has: M + max E_k − 1 (−1 when there are no pages). */
  readonly largestEntry: number;
}

export function memoryAccount(shape: PlanShape, device: DeviceTraits): MemoryAccount {
  const valueType = shape.valueType ?? 'f32';
  const P = shape.pageSize;
  const pb = pageBytes(P, valueType);
  const weightCounts = shape.models.map((m) => m.weightCount);
  const pages = weightCounts.reduce((a, n) => a + Math.ceil(n / P), 0);
  const maxExclusivePages = Math.max(0, ...shape.models.map((m) => m.exclusivePageCount));
  const originalBytes = weightCounts.reduce((a, n) => a + n, 0) * F32_BYTES;
  const sharedBytes = shape.sharedPageCount * pb;
  const pageTableBytes = tableBytes(pages, device.tableEntryBytes);
  const exclusiveBytes = shape.models.reduce((a, m) => a + m.exclusivePageCount, 0) * pb;
  const runtime = runtimeParts({ pageSize: P, valueType, weightCounts, maxExclusivePages }, device.runtime);
  const storedBytes = sharedBytes + pageTableBytes + exclusiveBytes;
  const deviceBytes = storedBytes + runtime.total;
  return {
    device: device.name,
    originalBytes,
    sharedBytes,
    pageTableBytes,
    exclusiveBytes,
    runtime,
    level1Bytes: sharedBytes + pageTableBytes + runtime.total,
    level2Bytes: exclusiveBytes,
    storedBytes,
    deviceBytes,
    storedPacking: storedBytes > 0 ? originalBytes / storedBytes : 0,
    devicePacking: deviceBytes > 0 ? originalBytes / deviceBytes : 0,
    largestEntry: pages > 0 ? shape.sharedPageCount + maxExclusivePages - 1 : -1,
  };
}

/** "weight buffer 260424 B, gather runs 3315 B" — the runtime's parts that are not 0, for messages. */
export function describeRuntimeParts(r: RuntimeParts): string {
  return [
    r.weightBuffer ? `weight buffer ${r.weightBuffer} B` : '',
    r.exclusiveBuffer ? `exclusive-page buffer ${r.exclusiveBuffer} B` : '',
    r.gatherRuns ? `gather runs ${r.gatherRuns} B` : '',
    r.activationArena ? `activation arena ${r.activationArena} B` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** "shared 1024 B + page tables 64 B + runtime 300 B (…)" — level 1 by part, for messages. */
export function describeLevel1(a: Pick<MemoryAccount, 'sharedBytes' | 'pageTableBytes' | 'runtime'>): string {
  const parts = describeRuntimeParts(a.runtime);
  return `shared ${a.sharedBytes} B + page tables ${a.pageTableBytes} B${parts ? ` + runtime ${a.runtime.total} B (${parts})` : ''}`;
}

/**
 * Whether a plan fits a device: level 1 and level 2 within the profile's sizes, and every page-table
 * entry within the profile's entry width. E_BUDGET names the memory, the numbers and the flags.
 */
export function checkFits(account: MemoryAccount, profile: DeviceProfile): Result<void> {
  if (account.level1Bytes > profile.l1Bytes)
    return fail(
      'E_BUDGET',
      `On device ${profile.name} the plan needs ${formatBytes(account.level1Bytes)} of level 1 (${describeLevel1(account)}) but the device has ${formatBytes(profile.l1Bytes)}: ${account.level1Bytes - profile.l1Bytes} bytes short.`,
      'Plan for this device (wsep plan --device with this profile), or raise its level-1 size (--l1).',
      { budget: 'l1', shortBytes: account.level1Bytes - profile.l1Bytes, device: profile.name },
    );
  if (account.level2Bytes > profile.l2Bytes)
    return fail(
      'E_BUDGET',
      `On device ${profile.name} the plan needs ${formatBytes(account.level2Bytes)} of level 2 (exclusive pages) but the device has ${formatBytes(profile.l2Bytes)}: ${account.level2Bytes - profile.l2Bytes} bytes short.`,
      'Plan for this device (wsep plan --device with this profile), or raise its level-2 size (--l2).',
      { budget: 'l2', shortBytes: account.level2Bytes - profile.l2Bytes, device: profile.name },
    );
  const entries = checkEntryWidth(account.largestEntry, profile.tableEntryBytes, profile.name);
  if (!entries.ok) return entries;
  return ok(undefined);
}

/** Whether the largest page-table entry fits the entry width (uint16 entries hold at most 65,535). */
export function checkEntryWidth(largestEntry: number, entryBytes: number, device: string): Result<void> {
  if (entryBytes === 2 && largestEntry > UINT16_ENTRY_LIMIT)
    return fail(
      'E_BUDGET',
      `Device ${device} stores page-table entries as uint16, but the plan has an entry of ${largestEntry} (at most ${UINT16_ENTRY_LIMIT}).`,
      'Use larger pages (--page-size) so that there are fewer of them, or a profile with 4-byte entries (--device).',
      { budget: 'entries', largestEntry },
    );
  return ok(undefined);
}
