/**
 * The reference's separation, kept as a baseline (reference-algorithm.md §4): a fixed pool of 128
 * shared pages; each model's exclusive pages are the shortest prefix of its pages ranked by Fisher
 * share whose cumulative share exceeds 0.9, plus the overflow pages that do not fit the pool.
 * Budgets are not solved for — the report shows what this costs in bytes.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { pageCount } from '../image/plan.ts';
import { rankPages, type SeparationModelInput } from './separate.ts';

export const REFERENCE_SHARED_PAGES = 128;
export const REFERENCE_MASS = 0.9;

export interface ReferenceSeparatedModel {
  readonly name: string;
  readonly exclusive: Int32Array;
  readonly sharable: Int32Array;
  readonly units: readonly Int32Array[];
}

export function separateReference(
  models: readonly SeparationModelInput[],
  pageSize: number,
  sharedPageCount = REFERENCE_SHARED_PAGES,
  mass = REFERENCE_MASS,
): Result<{ sharedPageCount: number; models: ReferenceSeparatedModel[] }> {
  if (models.length === 0) return fail('E_USAGE', 'Separation needs at least one model.');
  const total = models.reduce((a, m) => a + pageCount(m.weightCount, pageSize), 0);
  const M = Math.min(sharedPageCount, total);
  return ok({
    sharedPageCount: M,
    models: models.map((m) => {
      const N = pageCount(m.weightCount, pageSize);
      const { share, ranking } = rankPages(m.pageScores);
      const flags = new Uint8Array(N);
      let cumulative = 0;
      let taken = 0;
      // Add pages while the cumulative share is ≤ mass: the first prefix that exceeds it.
      while (taken < N && cumulative <= mass && share[ranking[taken]!]! > 0) {
        cumulative += share[ranking[taken]!]!;
        flags[ranking[taken]!] = 1;
        taken++;
      }
      // Overflow: keep adding by rank until the sharable pages fit the pool.
      while (N - taken > M) flags[ranking[taken++]!] = 1;
      const exclusive: number[] = [];
      const sharable: number[] = [];
      flags.forEach((f, j) => (f ? exclusive : sharable).push(j));
      return {
        name: m.name,
        exclusive: Int32Array.from(exclusive),
        sharable: Int32Array.from(sharable),
        units: sharable.map((j) => Int32Array.of(j)),
      };
    }),
  });
}
