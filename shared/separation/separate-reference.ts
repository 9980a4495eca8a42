/**
 * The reference's separation, kept as a baseline (reference-algorithm.md §4), in two forms:
 *
 * - `separateReference` — as published, at its own footprint: a fixed pool of 128 shared pages; each
 *   model's exclusive pages are the shortest prefix of its pages ranked by Fisher share whose
 *   cumulative share exceeds 0.9, plus the overflow pages that do not fit the pool. No budget is
 *   solved for; the report says so (`budgetObeyed: 'own'`) and states what it costs in bytes.
 * - `separateReferenceCapped` — the same rule held to a device's two budgets, so that it can be
 *   compared with ours at equal memory: the pool is the one our separation sizes for the level-1
 *   budget, and the exclusive pages the rule wants are granted by Fisher share (a page's share of
 *   its own model's mass, across models) until the level-2 budget is full. Pages the pool cannot
 *   hold stay exclusive first; a device whose budgets cannot hold even those is refused, with our
 *   separation's own message.
 *
 * One choice is the reference's and is kept: a page's share comes from the model's page scores (our
 * Fisher, summed per page); the reference min–max normalised its Fisher first, which moves a share
 * by at most the page's weight count × the model's smallest Fisher value, i.e. practically nothing.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { checkFits, memoryAccount } from '../image/memory.ts';
import { STORED_DEVICE, type DeviceTraits } from '../image/device-profile.ts';
import { pageCount, type Budgets } from '../image/plan.ts';
import { rankPages, separate, type SeparationModelInput } from './separate.ts';

export const REFERENCE_SHARED_PAGES = 128;
export const REFERENCE_MASS = 0.9;

export interface ReferenceSeparatedModel {
  readonly name: string;
  /** Pages in the Fisher-mass prefix: the shortest prefix by rank whose share exceeds the mass. */
  readonly massPages: number;
  /** Pages the rule wants exclusive: max(mass pages, overflow), its top-ranked ones. */
  readonly wanted: number;
  /** Exclusive pages, ascending (their order defines the exclusive index in the page table). */
  readonly exclusive: Int32Array;
  readonly sharable: Int32Array;
  /** One unit per sharable page: the reference never ties a model's pages together. */
  readonly units: readonly Int32Array[];
}

export interface ReferenceSeparation {
  readonly sharedPageCount: number;
  readonly models: readonly ReferenceSeparatedModel[];
}

/**
 * The number of top-ranked pages whose cumulative share first exceeds `mass` (the reference adds a
 * page while the share so far is ≤ mass); pages of zero share are never added.
 */
export function massPrefix(share: Float64Array, ranking: Int32Array, mass: number): number {
  let cumulative = 0;
  let taken = 0;
  while (taken < ranking.length && cumulative <= mass && share[ranking[taken]!]! > 0) {
    cumulative += share[ranking[taken]!]!;
    taken++;
  }
  return taken;
}

function model(
  name: string,
  ranking: Int32Array,
  massPages: number,
  wanted: number,
  exclusiveCount: number,
): ReferenceSeparatedModel {
  const flags = new Uint8Array(ranking.length);
  for (let i = 0; i < exclusiveCount; i++) flags[ranking[i]!] = 1;
  const exclusive: number[] = [];
  const sharable: number[] = [];
  flags.forEach((f, j) => (f ? exclusive : sharable).push(j));
  return {
    name,
    massPages,
    wanted,
    exclusive: Int32Array.from(exclusive),
    sharable: Int32Array.from(sharable),
    units: sharable.map((j) => Int32Array.of(j)),
  };
}

export function separateReference(
  models: readonly SeparationModelInput[],
  pageSize: number,
  sharedPageCount = REFERENCE_SHARED_PAGES,
  mass = REFERENCE_MASS,
): Result<ReferenceSeparation> {
  if (models.length === 0) return fail('E_USAGE', 'Separation needs at least one model.');
  const total = models.reduce((a, m) => a + pageCount(m.weightCount, pageSize), 0);
  const M = Math.min(sharedPageCount, total);
  return ok({
    sharedPageCount: M,
    models: models.map((m) => {
      const N = pageCount(m.weightCount, pageSize);
      const { share, ranking } = rankPages(m.pageScores);
      const massPages = massPrefix(share, ranking, mass);
      // Overflow: keep adding by rank until the sharable pages fit the pool.
      const wanted = Math.max(massPages, N - M);
      return model(m.name, ranking, massPages, wanted, wanted);
    }),
  });
}

export interface CappedOptions {
  readonly pageSize: number;
  readonly budgets: Budgets;
  /** The device apart from its sizes; default the stored plan alone. */
  readonly device?: DeviceTraits;
  readonly mass?: number;
}

/** The capped form's outcome: what the rule wanted against what the budgets let it keep. */
export interface CappedReferenceSeparation extends ReferenceSeparation {
  /** Exclusive pages the level-2 budget holds. */
  readonly exclusiveCapacity: number;
  /** Σ wanted: the exclusive pages the uncapped rule would keep with this pool. */
  readonly wantedPages: number;
  /** Σ exclusive pages kept. */
  readonly exclusivePages: number;
}

export function separateReferenceCapped(
  models: readonly SeparationModelInput[],
  options: CappedOptions,
): Result<CappedReferenceSeparation> {
  const P = options.pageSize;
  const device = options.device ?? STORED_DEVICE;
  const mass = options.mass ?? REFERENCE_MASS;
  // Our separation sizes the pool for the level-1 budget (page tables and the runtime's residency
  // first) and refuses, with its own message and hint, budgets that cannot hold the overflow pages.
  const ours = separate(models, { pageSize: P, budgets: options.budgets, device, selfTying: 1 });
  if (!ours.ok) return ours;
  const M = ours.value.sharedPageCount;
  const pageBytes = ours.value.pageBytes;
  const capacity = Math.floor(options.budgets.l2Bytes / pageBytes);
  // A runtime that buffers one model's exclusive pages in level 1 had room reserved for the largest
  // set our separation made; no model may exceed it, or level 1 would overflow.
  const perModelCap = ours.value.runtime.exclusiveBuffer > 0 ? ours.value.reservedExclusivePages : Infinity;

  const ranked = models.map((m) => rankPages(m.pageScores));
  const counts = models.map((m) => pageCount(m.weightCount, P));
  const massPages = ranked.map((r) => massPrefix(r.share, r.ranking, mass));
  const wanted = counts.map((N, k) => Math.max(massPages[k]!, N - M));
  const kept = counts.map((N) => Math.max(0, N - M)); // the overflow pages must stay exclusive
  let used = kept.reduce((a, b) => a + b, 0);
  // The rest of each model's wish, pooled across models by share (ties: model, then rank). Within a
  // model the shares fall with rank, so every model still keeps a top-ranked prefix.
  const candidates: { k: number; rank: number; share: number }[] = [];
  ranked.forEach((r, k) => {
    for (let i = kept[k]!; i < wanted[k]!; i++)
      candidates.push({ k, rank: i, share: r.share[r.ranking[i]!]! });
  });
  candidates.sort((a, b) => b.share - a.share || a.k - b.k || a.rank - b.rank);
  for (const c of candidates) {
    if (used >= capacity) break;
    if (kept[c.k]! >= perModelCap || c.rank !== kept[c.k]) continue;
    kept[c.k]!++;
    used++;
  }
  const separated = models.map((m, k) =>
    model(m.name, ranked[k]!.ranking, massPages[k]!, wanted[k]!, kept[k]!),
  );
  // Never hand on a plan that breaks the budgets it claims to obey.
  const account = memoryAccount(
    {
      pageSize: P,
      valueType: ours.value.valueType,
      sharedPageCount: M,
      models: models.map((m, k) => ({ weightCount: m.weightCount, exclusivePageCount: kept[k]! })),
    },
    device,
  );
  const fits = checkFits(account, { ...device, ...options.budgets });
  if (!fits.ok)
    return fail('E_INTERNAL', `The capped reference separation broke a budget: ${fits.error.message}`);
  return ok({
    sharedPageCount: M,
    models: separated,
    exclusiveCapacity: capacity,
    wantedPages: wanted.reduce((a, b) => a + b, 0),
    exclusivePages: used,
  });
}
