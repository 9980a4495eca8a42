/**
 * Step 3 — separation: which pages of each model stay exclusive (level 2) and which go to the shared
 * pool (level 1), under byte budgets.
 *
 * 1. The pool has M = ⌊(L1 − page tables − runtime overhead) / page bytes⌋ shared pages (at most
 *    Σ N_k: more slots than pages would stay empty).
 * 2. A slot holds at most one page of each model (t pages with self-tying), so model k must keep at
 *    least N_k − t·M pages exclusive: its highest-ranked ones ("forced").
 * 3. What is left of the level-2 budget buys extra exclusive pages, granted globally by rank: a
 *    page's share of its own model's Fisher mass. Raw Fisher is never compared across models
 *    (DESIGN.md, the planner, step 2).
 * 4. With self-tying, a model with more sharable pages than M ties its lowest-ranked pages together in
 *    groups of up to t; each group ("unit") occupies one slot, so `overlap` places units, not pages.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { formatBytes } from '../core/units.ts';
import { checkPageSize } from './formation.ts';
import { pageCount, type Budgets } from '../image/plan.ts';

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
  /** Bytes per stored value: 4 for f32. */
  readonly valueBytes?: number;
  /** Bytes per page-table entry: 4 (a uint32 per page, as in the bundle). */
  readonly tableEntryBytes?: number;
  /** Level-1 bytes the runtime needs for itself (activations, code, …). Default 0. */
  readonly l1OverheadBytes?: number;
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
  readonly valueBytes: number;
  readonly pageBytes: number;
  readonly tableEntryBytes: number;
  readonly budgets: Budgets;
  /** M. */
  readonly sharedPageCount: number;
  readonly pageTableBytes: number;
  readonly l1OverheadBytes: number;
  /** Level-1 bytes the plan uses: shared pages + page tables + overhead. */
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
  if (total > 0) for (let j = 0; j < share.length; j++) share[j] = pageScores[j] / total;
  const ranking = Int32Array.from(share.keys()).sort((a, b) => share[b] - share[a] || a - b);
  return { share, ranking };
}

export function separate(
  models: readonly SeparationModelInput[],
  options: SeparationOptions,
): Result<Separation> {
  const size = checkPageSize(options.pageSize);
  if (!size.ok) return size;
  const P = options.pageSize;
  const valueBytes = options.valueBytes ?? 4;
  const entryBytes = options.tableEntryBytes ?? 4;
  const overhead = options.l1OverheadBytes ?? 0;
  const t = options.selfTying ?? 1;
  const { l1Bytes, l2Bytes } = options.budgets;
  if (!Number.isInteger(t) || t < 1)
    return fail('E_USAGE', `Self-tying ${t} is not a whole number of pages per slot ≥ 1.`);
  for (const [name, value] of [
    ['level-1 budget', l1Bytes],
    ['level-2 budget', l2Bytes],
    ['level-1 overhead', overhead],
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
      const s = m.pageScores[j];
      if (!Number.isFinite(s) || s < 0)
        return fail(
          'E_PLAN',
          `Model "${m.name}" page ${j} has score ${s}; scores must be finite and ≥ 0.`,
          'Recompute the Fisher information; it must not contain NaN.',
        );
    }
  }

  const pageBytes = P * valueBytes;
  const counts = models.map((m) => pageCount(m.weightCount, P));
  const totalPages = counts.reduce((a, b) => a + b, 0);
  const pageTableBytes = totalPages * entryBytes;

  // 1. The pool size M.
  const l1Free = l1Bytes - pageTableBytes - overhead;
  if (l1Free < 0) {
    return fail(
      'E_BUDGET',
      `The level-1 budget (${formatBytes(l1Bytes)}) is short by ${-l1Free} bytes: the page tables need ${pageTableBytes} bytes and the runtime ${overhead} bytes before any shared page.`,
      'Raise the level-1 budget (--l1), or use larger pages (--page-size) so that the page tables need fewer entries.',
      { budget: 'l1', shortBytes: -l1Free, pageTableBytes, overheadBytes: overhead },
    );
  }
  const M = Math.min(Math.floor(l1Free / pageBytes), totalPages);

  // 2. Forced exclusive pages, and 3. the extra grant.
  const ranked = models.map((m) => rankPages(m.pageScores));
  const forcedCounts = counts.map((N) => Math.max(0, N - t * M));
  const forcedTotal = forcedCounts.reduce((a, b) => a + b, 0);
  const forcedBytes = forcedTotal * pageBytes;
  if (forcedBytes > l2Bytes) {
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
  const isExclusive = counts.map((N) => new Uint8Array(N));
  ranked.forEach((r, k) => {
    for (let i = 0; i < forcedCounts[k]!; i++) isExclusive[k]![r.ranking[i]] = 1;
  });
  const extraBudgetPages = Math.floor((l2Bytes - forcedBytes) / pageBytes);
  const candidates: { k: number; page: number; share: number }[] = [];
  ranked.forEach((r, k) => {
    for (let i = forcedCounts[k]!; i < r.ranking.length; i++) {
      const page = r.ranking[i];
      if (r.share[page] > 0)
        candidates.push({ k, page, share: r.share[page] * (options.extraPriority?.[k] ?? 1) });
    }
  });
  candidates.sort((a, b) => b.share - a.share || a.k - b.k || a.page - b.page);
  const granted = candidates.slice(0, extraBudgetPages);
  const extraCounts = counts.map(() => 0);
  for (const g of granted) {
    isExclusive[g.k]![g.page] = 1;
    extraCounts[g.k]!++;
  }

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

  const exclusiveTotal = separated.reduce((a, m) => a + m.exclusive.length, 0);
  return ok({
    pageSize: P,
    valueBytes,
    pageBytes,
    tableEntryBytes: entryBytes,
    budgets: { l1Bytes, l2Bytes },
    sharedPageCount: M,
    pageTableBytes,
    l1OverheadBytes: overhead,
    l1Bytes: M * pageBytes + pageTableBytes + overhead,
    l2Bytes: exclusiveTotal * pageBytes,
    extraBudgetPages,
    extraGranted: granted.length,
    selfTying: t,
    ceiling: packingCeilingSelfTying(counts, t),
    models: separated,
  });
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
