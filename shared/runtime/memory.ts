/**
 * What the paged runtime keeps in level 1 for a plan, by the buffer it holds: image/memory.ts's account
 * for the `linux-ort` profile (the same arithmetic the planner reserves with), plus the optional cache.
 * `PagedRuntime.memory()` reports the same parts from the buffers it actually holds (a test checks
 * they agree).
 */
import { LINUX_ORT_DEVICE } from '../image/device-profile.ts';
import { memoryAccount, planShape } from '../image/memory.ts';

export { GATHER_RUN_BYTES_PER_PAGE } from '../image/memory.ts';

export interface Level1Parts {
  readonly sharedPages: number;
  readonly pageTables: number;
  readonly gatherRuns: number;
  readonly weightBuffer: number;
  readonly exclusiveBuffer: number;
  readonly cache: number;
  readonly total: number;
}

export function level1Parts(plan: Parameters<typeof planShape>[0], cacheBytes = 0): Level1Parts {
  const a = memoryAccount(planShape(plan), LINUX_ORT_DEVICE);
  return {
    sharedPages: a.sharedBytes,
    pageTables: a.pageTableBytes,
    gatherRuns: a.runtime.gatherRuns,
    weightBuffer: a.runtime.weightBuffer,
    exclusiveBuffer: a.runtime.exclusiveBuffer,
    cache: cacheBytes,
    total: a.level1Bytes + cacheBytes,
  };
}
