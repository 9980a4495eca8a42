/**
 * What the paged runtime keeps in level 1 for a plan, computed from the plan alone, so that the planner
 * can subtract the runtime's own needs from the L1 budget before sizing the shared pool (DESIGN.md step 3).
 * `PagedRuntime.memory()` reports the same parts from the buffers it actually holds (a test checks they agree).
 */
import type { Plan } from '../image/plan.ts';

export interface Level1Parts {
  readonly sharedPages: number;
  readonly pageTables: number;
  readonly gatherRuns: number;
  readonly weightBuffer: number;
  readonly exclusiveBuffer: number;
  readonly cache: number;
  readonly total: number;
}

/** Bytes per page of the precomputed gather runs: dst, src, len (int32) and a source flag (uint8). */
export const GATHER_RUN_BYTES_PER_PAGE = 13;

export function level1Parts(
  plan: Pick<Plan, 'pageSize' | 'sharedPageCount'> & {
    readonly models: readonly {
      readonly weightCount: number;
      readonly pageTable: ArrayLike<number>;
      readonly exclusivePages: { readonly length: number };
    }[];
  },
  cacheBytes = 0,
): Level1Parts {
  const sharedPages = plan.sharedPageCount * plan.pageSize * 4;
  const pages = plan.models.reduce((s, m) => s + m.pageTable.length, 0);
  const pageTables = pages * 4;
  const gatherRuns = pages * GATHER_RUN_BYTES_PER_PAGE;
  const weightBuffer = Math.max(0, ...plan.models.map((m) => m.weightCount)) * 4;
  const exclusiveBuffer = Math.max(0, ...plan.models.map((m) => m.exclusivePages.length)) * 4;
  const total = sharedPages + pageTables + gatherRuns + weightBuffer + exclusiveBuffer + cacheBytes;
  return { sharedPages, pageTables, gatherRuns, weightBuffer, exclusiveBuffer, cache: cacheBytes, total };
}
