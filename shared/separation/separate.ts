/**
 * Step 3 — separation: which pages of each model stay exclusive (level 2) and which go to the shared
 * pool (level 1), under a device's two sizes (its profile: image/device-profile.ts).
 *
 * 1. The pool has M = ⌊(L1 − page tables − the runtime's residency) / page bytes⌋ shared pages (at
 *    most Σ N_k: more slots than pages would stay empty). The arithmetic is image/memory.ts's.
 * 2. A slot holds at most one page of each model (t pages with self-tying), so model k must keep at
 *    least N_k − t·M pages exclusive: its highest-ranked ones ("forced").
 * 3. What is left of the level-2 budget buys extra exclusive pages, granted globally by rank: a
 *    page's share of its own model's Fisher mass. Raw Fisher is never compared across models
 *    (DESIGN.md, the planner, step 2).
 * 4. With self-tying, a model with more sharable pages than M ties its lowest-ranked pages together in
 *    groups of up to t; each group ("unit") occupies one slot, so `overlap` places units, not pages.
 *
 * The runtime's residency (step 1) partly depends on the outcome: the onnxruntime and MCU runtimes
 * hold a read buffer for the largest set of exclusive pages, max E_k. It is sized by iterating to a
 * fixed point (`sizePool`): reserve R pages for that buffer, size the pool, and raise R while a model
 * would hold more than R exclusive pages. R only grows and never exceeds max N_k, so this ends; and
 * it depends on page counts alone until the extra grant, so whether the budgets can work at all is
 * known before any Fisher is computed (the planner checks with zero scores). When raising R for the
 * extra grant would make the budgets fail, R stays and the grant stops a model at R exclusive pages.
 * With the `stored` profile (no runtime) there is nothing to reserve and step 1 is as in the reference.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { formatBytes } from '../core/units.ts';
import { checkPageSize } from './formation.ts';
import { pageCount, valueBytesOf, type Budgets, type ValueType } from '../image/plan.ts';
import { STORED_DEVICE, type DeviceTraits } from '../image/device-profile.ts';
import {
  checkEntryWidth,
  describeRuntimeParts,
  memoryAccount,
  pageBytes as bytesPerPage,
  residencyForecast,
  runtimeParts,
  tableBytes,
  type RuntimeParts,
} from '../image/memory.ts';

export interface SeparationModelInput {
  readonly name: string;
  readonly weightCount: number;
  /** Per-page importance (e.g. the page's summed diagonal Fisher), ≥ 0, one per page. Only the
   * model's own shares are used, so raw or normalised scores give the same separation. */
  readonly pageScores: Float64Array;
}

export interface SeparationOptions {
  readonly pageSize: number;
  readonly budgets: Budgets;
  /** How pages are stored (f32 when absent): i8 pages take P bytes and a 4-byte scale each. */
  readonly valueType?: ValueType;
  /**
   * The device apart from its sizes (which are `budgets`): its page-table entry width and what its
   * runtime keeps in level 1. Default: the stored plan alone (uint32 entries, no runtime).
   */
  readonly device?: DeviceTraits;
  /**
   * Pages of one model that may share a slot: 1 (default) is off; t ≥ 2 lets a model tie up to t of
   * its own lowest-ranked pages on one slot, lifting the ceiling to Σ N_k ÷ max ⌈N_k / t⌉.
   */
  readonly selfTying?: number;
  /**
   * Per model, a factor on its pages' priority for the extra exclusive pages (default 1 each): the
   * planner's rebalancing pass raises it for the tasks that lost most on validation.
   */
  readonly extraPriority?: readonly number[];
}

export interface SeparatedModel {
  readonly name: string;
  readonly weightCount: number;
  readonly pageCount: number;
  /** Each page's share of the model's score mass (all 0 when the model's mass is 0). */
  readonly share: Float64Array;
  /** Page numbers from most to least important (share descending, then page number). */
  readonly ranking: Int32Array;
  /** Exclusive pages, ascending (their order defines the exclusive index in the page table). */
  readonly exclusive: Int32Array;
  /** How many of `exclusive` were forced by the level-1 size; the rest were granted by rank. */
  readonly forced: number;
  readonly extra: number;
  /** Sharable pages, ascending. */
  readonly sharable: Int32Array;
  /**
   * The sharable pages grouped by the slot they will share: each unit goes to one slot. A unit is a
   * single page unless self-tying tied several of the model's lowest-ranked pages together.
   * Ordered by their first page.
   */
  readonly units: readonly Int32Array[];
}

export interface Separation {
  readonly pageSize: number;
  readonly valueType: ValueType;
  readonly valueBytes: number;
  readonly pageBytes: number;
  readonly tableEntryBytes: number;
  readonly budgets: Budgets;
  /** The device profile's name. */
  readonly device: string;
  /** M. */
  readonly sharedPageCount: number;
  readonly pageTableBytes: number;
  /** What the device's runtime keeps in level 1 for this outcome (image/memory.ts). */
  readonly runtime: RuntimeParts;
  /** Pages reserved in level 1 for the runtime's buffer of the largest exclusive set (≥ max E_k). */
  readonly reservedExclusivePages: number;
  /** Level-1 bytes the plan uses on the device: shared pages + page tables + runtime. */
  readonly l1Bytes: number;
  /** Level-2 bytes the plan uses: all exclusive pages. */
  readonly l2Bytes: number;
  /** Extra exclusive pages the level-2 budget allowed, and how many were granted (pages with a zero share are never granted). */
  readonly extraBudgetPages: number;
  readonly extraGranted: number;
  /** Pages of one model per slot (1 = self-tying off). */
  readonly selfTying: number;
  /** The packing ceiling for these page counts (with self-tying when on). */
  readonly ceiling: number;
  readonly models: readonly SeparatedModel[];
}

/** With at most one page of a model per slot, packing cannot exceed Σ N_k ÷ max N_k. */
export function packingCeiling(pageCounts: readonly number[]): number {
  return packingCeilingSelfTying(pageCounts, 1);
}

/** With up to t pages of a model per slot, packing cannot exceed Σ N_k ÷ max ⌈N_k / t⌉. */
export function packingCeilingSelfTying(pageCounts: readonly number[], pagesPerSlot: number): number {
  if (pageCounts.length === 0) return 1;
  const total = pageCounts.reduce((a, b) => a + b, 0);
  const slots = Math.max(...pageCounts.map((n) => Math.ceil(n / pagesPerSlot)));
  return slots > 0 ? total / slots : 1;
}

/** Share of each page in the model's mass, and the pages ranked by it (ties: lower page first). */
export function rankPages(pageScores: Float64Array): { share: Float64Array; ranking: Int32Array } {
  let total = 0;
  for (const s of pageScores) total += s;
  const share = new Float64Array(pageScores.length);
  if (total > 0) for (let j = 0; j < share.length; j++) share[j] = pageScores[j]! / total;
  const ranking = Int32Array.from(share.keys()).sort((a, b) => share[b]! - share[a]! || a - b);
  return { share, ranking };
}

export function separate(
  models: readonly SeparationModelInput[],
  options: SeparationOptions,
): Result<Separation> {
  const size = checkPageSize(options.pageSize);
  if (!size.ok) return size;
  const P = options.pageSize;
  const valueType = options.valueType ?? 'f32';
  const valueBytes = valueBytesOf(valueType);
  const device = options.device ?? STORED_DEVICE;
  const entryBytes = device.tableEntryBytes;
  const t = options.selfTying ?? 1;
  const { l1Bytes, l2Bytes } = options.budgets;
  if (!Number.isInteger(t) || t < 1)
    return fail('E_USAGE', `Self-tying ${t} is not a whole number of pages per slot ≥ 1.`);
  for (const [name, value] of [
    ['level-1 budget', l1Bytes],
    ['level-2 budget', l2Bytes],
    ['value size', valueBytes],
    ['page-table entry size', entryBytes],
  ] as const) {
    if (!Number.isFinite(value) || value < 0)
      return fail('E_USAGE', `The ${name} (${value}) must be a non-negative number of bytes.`);
  }
  if (models.length === 0) return fail('E_USAGE', 'Separation needs at least one model.');
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name))
      return fail('E_USAGE', `Model name "${m.name}" is used twice.`, 'Give every model a distinct name.');
    names.add(m.name);
    const N = pageCount(m.weightCount, P);
    if (m.pageScores.length !== N) {
      return fail(
        'E_PLAN',
        `Model "${m.name}" has ${N} pages of ${P} but ${m.pageScores.length} page scores.`,
      );
    }
    for (let j = 0; j < N; j++) {
      const s = m.pageScores[j]!;
      if (!Number.isFinite(s) || s < 0)
        return fail(
          'E_PLAN',
          `Model "${m.name}" page ${j} has score ${s}; scores must be finite and ≥ 0.`,
          'Recompute the Fisher information; it must not contain NaN.',
        );
    }
  }

  const pageBytes = bytesPerPage(P, valueType);
  const counts = models.map((m) => pageCount(m.weightCount, P));
  const weightCounts = models.map((m) => m.weightCount);
  const totalPages = counts.reduce((a, b) => a + b, 0);
  const pageTableBytes = tableBytes(totalPages, entryBytes);
  const forecast = residencyForecast({ pageSize: P, valueType, weightCounts }, device.runtime);
  const residency = (reserved: number) =>
    runtimeParts({ pageSize: P, valueType, weightCounts, maxExclusivePages: reserved }, device.runtime);
  const forcedFor = (M: number) => counts.map((N) => Math.max(0, N - t * M));

  // 1. The pool size M, with R pages reserved for the runtime's exclusive-page buffer (see the top).
  const pool = sizePool(counts, t, pageBytes, l1Bytes - pageTableBytes, forecast);
  if (!pool.ok) {
    const reserve = residency(pool.reserved);
    const short = pool.shortBytes;
    return fail(
      'E_BUDGET',
      `The level-1 budget (${formatBytes(l1Bytes)}) is short by ${short} bytes on device ${device.name}: the page tables need ${pageTableBytes} bytes${reserve.total > 0 ? ` and the runtime ${reserve.total} bytes (${describeRuntimeParts(reserve)})` : ''} before any shared page.`,
      reserve.total > 0
        ? 'Raise the level-1 budget (--l1), use larger pages (--page-size), or plan for a device whose runtime needs less level 1 (--device).'
        : 'Raise the level-1 budget (--l1), or use larger pages (--page-size) so that the page tables need fewer entries.',
      { budget: 'l1', shortBytes: short, pageTableBytes, runtimeBytes: reserve.total, device: device.name },
    );
  }
  let { M, reserved } = pool;
  let forcedCounts = forcedFor(M);
  const forcedBytesOf = (forced: readonly number[]) => forced.reduce((a, b) => a + b, 0) * pageBytes;
  if (forcedBytesOf(forcedCounts) > l2Bytes) {
    const forcedTotal = forcedCounts.reduce((a, b) => a + b, 0);
    const forcedBytes = forcedTotal * pageBytes;
    const worst = counts.indexOf(Math.max(...counts));
    return fail(
      'E_BUDGET',
      `The level-2 budget (${formatBytes(l2Bytes)}) is short by ${forcedBytes - l2Bytes} bytes: with ${M} shared pages, ${forcedTotal} pages (${forcedBytes} bytes) must stay exclusive because they do not fit the shared pool (largest model "${models[worst]!.name}": ${counts[worst]} pages).`,
      t === 1
        ? 'Raise the level-2 budget (--l2), raise the level-1 budget (--l1, more shared pages), or turn on self-tying (--self-tying 2).'
        : 'Raise the level-2 budget (--l2), raise the level-1 budget (--l1, more shared pages), or allow more pages per slot (a larger --self-tying).',
      { budget: 'l2', shortBytes: forcedBytes - l2Bytes, forcedPages: forcedTotal, sharedPageCount: M },
    );
  }

  // uint16 entries: the largest entry M + max E_k − 1 is bounded by M + max N_k − 1 (M only shrinks
  // from here), checked now so that the answer does not depend on the scores.
  const entries = checkEntryWidth(M + Math.max(...counts) - 1, entryBytes, device.name);
  if (!entries.ok) return entries;

  // 2. Forced exclusive pages, and 3. the extra grant; raising the reservation while it is feasible.
  const ranked = models.map((m) => rankPages(m.pageScores));
  let grant = grantExtra(ranked, forcedCounts, l2Bytes, pageBytes, options.extraPriority, Infinity);
  while (forecast.bytesPerExclusivePage > 0 && grant.maxExclusive > reserved) {
    const raised = sizePool(counts, t, pageBytes, l1Bytes - pageTableBytes, forecast, grant.maxExclusive);
    const raisedForced = raised.ok ? forcedFor(raised.M) : [];
    if (!raised.ok || forcedBytesOf(raisedForced) > l2Bytes) {
      // Raising would break a budget: keep the pool and stop each model at R exclusive pages.
      grant = grantExtra(ranked, forcedCounts, l2Bytes, pageBytes, options.extraPriority, reserved);
      break;
    }
    ({ M, reserved } = raised);
    forcedCounts = raisedForced;
    grant = grantExtra(ranked, forcedCounts, l2Bytes, pageBytes, options.extraPriority, Infinity);
  }
  const { isExclusive, extraCounts, extraBudgetPages, granted } = grant;

  // 4. Sharable pages and their units.
  const separated: SeparatedModel[] = models.map((m, k) => {
    const flags = isExclusive[k]!;
    const exclusive: number[] = [];
    const sharable: number[] = [];
    flags.forEach((f, j) => (f ? exclusive : sharable).push(j));
    return {
      name: m.name,
      weightCount: m.weightCount,
      pageCount: counts[k]!,
      share: ranked[k]!.share,
      ranking: ranked[k]!.ranking,
      exclusive: Int32Array.from(exclusive),
      forced: forcedCounts[k]!,
      extra: extraCounts[k]!,
      sharable: Int32Array.from(sharable),
      units: tieUnits(sharable, ranked[k]!.ranking, M, t),
    };
  });

  const account = memoryAccount(
    {
      pageSize: P,
      valueType,
      sharedPageCount: M,
      models: separated.map((m) => ({ weightCount: m.weightCount, exclusivePageCount: m.exclusive.length })),
    },
    device,
  );
  return ok({
    pageSize: P,
    valueType,
    valueBytes,
    pageBytes,
    tableEntryBytes: entryBytes,
    budgets: { l1Bytes, l2Bytes },
    device: device.name,
    sharedPageCount: M,
    pageTableBytes,
    runtime: account.runtime,
    reservedExclusivePages: reserved,
    l1Bytes: account.level1Bytes,
    l2Bytes: account.level2Bytes,
    extraBudgetPages,
    extraGranted: granted,
    selfTying: t,
    ceiling: packingCeilingSelfTying(counts, t),
    models: separated,
  });
}

type PoolSize =
  | { readonly ok: true; readonly M: number; readonly reserved: number }
  | { readonly ok: false; readonly reserved: number; readonly shortBytes: number };

/**
 * The pool size M for `l1Free` bytes (level 1 less the page tables), with `reserved` pages — at
 * least `minReserved` — held for the runtime's exclusive-page buffer: the least R ≥ minReserved that
 * covers the forced pages at the pool it leaves, found by raising R to max forced_k until it holds
 * (forced_k grows as R shrinks the pool, so iterating from below reaches the least such R).
 */
function sizePool(
  counts: readonly number[],
  t: number,
  pageBytes: number,
  l1Free: number,
  forecast: { readonly fixedBytes: number; readonly bytesPerExclusivePage: number },
  minReserved = 0,
): PoolSize {
  const totalPages = counts.reduce((a, b) => a + b, 0);
  let reserved = forecast.bytesPerExclusivePage > 0 ? minReserved : 0;
  for (;;) {
    const free = l1Free - forecast.fixedBytes - reserved * forecast.bytesPerExclusivePage;
    if (free < 0) return { ok: false, reserved, shortBytes: -free };
    const M = Math.min(Math.floor(free / pageBytes), totalPages);
    if (forecast.bytesPerExclusivePage === 0) return { ok: true, M, reserved: 0 };
    const forcedMax = Math.max(0, ...counts.map((N) => N - t * M));
    if (forcedMax <= reserved) return { ok: true, M, reserved };
    reserved = forcedMax; // > the previous R, and ≤ max N_k: the loop ends
  }
}

/**
 * The extra exclusive pages the level-2 budget left after the forced ones buys, by rank (a page's
 * share of its model's mass, times the model's priority); pages with a zero share are never granted,
 * and no model goes beyond `cap` exclusive pages.
 */
function grantExtra(
  ranked: readonly { share: Float64Array; ranking: Int32Array }[],
  forcedCounts: readonly number[],
  l2Bytes: number,
  pageBytes: number,
  extraPriority: readonly number[] | undefined,
  cap: number,
): {
  isExclusive: Uint8Array[];
  extraCounts: number[];
  extraBudgetPages: number;
  granted: number;
  maxExclusive: number;
} {
  const forcedBytes = forcedCounts.reduce((a, b) => a + b, 0) * pageBytes;
  const isExclusive = ranked.map((r) => new Uint8Array(r.ranking.length));
  ranked.forEach((r, k) => {
    for (let i = 0; i < forcedCounts[k]!; i++) isExclusive[k]![r.ranking[i]!] = 1;
  });
  const extraBudgetPages = Math.floor((l2Bytes - forcedBytes) / pageBytes);
  const candidates: { k: number; page: number; share: number }[] = [];
  ranked.forEach((r, k) => {
    for (let i = forcedCounts[k]!; i < r.ranking.length; i++) {
      const page = r.ranking[i]!;
      const share = r.share[page]!;
      if (share > 0) candidates.push({ k, page, share: share * (extraPriority?.[k] ?? 1) });
    }
  });
  candidates.sort((a, b) => b.share - a.share || a.k - b.k || a.page - b.page);
  const extraCounts = forcedCounts.map(() => 0);
  let granted = 0;
  for (const c of candidates) {
    if (granted >= extraBudgetPages) break;
    if (forcedCounts[c.k]! + extraCounts[c.k]! >= cap) continue;
    isExclusive[c.k]![c.page] = 1;
    extraCounts[c.k]!++;
    granted++;
  }
  const maxExclusive = Math.max(0, ...forcedCounts.map((f, k) => f + extraCounts[k]!));
  return { isExclusive, extraCounts, extraBudgetPages, granted, maxExclusive };
}

/**
 * Groups sharable pages into at most M units. Without need (≤ M pages) every page is its own unit;
 * otherwise the lowest-ranked pages are tied in groups of up to t (least important first), just
 * enough to bring the unit count down to M.
 */
export function tieUnits(
  sharable: readonly number[],
  ranking: Int32Array,
  slots: number,
  pagesPerSlot: number,
): Int32Array[] {
  let surplus = sharable.length - slots; // pages that must be absorbed into groups
  if (surplus <= 0 || pagesPerSlot < 2) return sharable.map((j) => Int32Array.of(j));
  const isSharable = new Set(sharable);
  const leastFirst = Array.from(ranking)
    .reverse()
    .filter((j) => isSharable.has(j));
  const units: number[][] = [];
  let i = 0;
  while (surplus > 0) {
    const size = Math.min(pagesPerSlot, surplus + 1);
    units.push(leastFirst.slice(i, i + size).sort((a, b) => a - b));
    i += size;
    surplus -= size - 1;
  }
  for (; i < leastFirst.length; i++) units.push([leastFirst[i]!]);
  return units.sort((a, b) => a[0]! - b[0]!).map((u) => Int32Array.from(u));
}
