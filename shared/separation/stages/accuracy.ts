/**
 * The two stages that measure accuracy: the original models' ('baseline', before any change) and
 * the plan's ('final', the weights its pages gather). Both evaluate every task's validation and test
 * splits; the test figures are for the report only, no decision reads them. Tasks run concurrently
 * (on their workers) and the results keep task order.
 */
import { attemptAsync, raise, throwIfCancelled, type Result } from '../../core/errors.ts';
import type { Formation } from '../formation.ts';
import { gatherTask, type PagedState } from '../optimize.ts';
import type { TaskRunner } from '../task-session.ts';
import type { StageContext } from './context.ts';

/** A task's accuracy (0..1) on its validation and test splits. */
export interface SplitAccuracies {
  readonly val: number;
  readonly test: number;
}

/** Evaluates task k at `weights[k]`, reporting each task as it finishes. */
async function measure(
  tasks: readonly TaskRunner[],
  weights: readonly Float32Array[],
  ctx: StageContext,
): Promise<SplitAccuracies[]> {
  throwIfCancelled(ctx.signal);
  let finished = 0;
  return Promise.all(
    tasks.map(async (s, k) => {
      const w = weights[k];
      if (!w)
        raise(
          'E_INTERNAL',
          `No weights for task ${s.name} (${weights.length} weight vectors for ${tasks.length} tasks).`,
        );
      const val = await s.evaluate(s.data.val, w);
      const test = await s.evaluate(s.data.test, w);
      ctx.progress(++finished, tasks.length, { task: s.name });
      return { val: val.accuracy, test: test.accuracy };
    }),
  );
}

/** Stage 2 — the original models' accuracy, at their formed weights. */
export function baselineStage(
  tasks: readonly TaskRunner[],
  formations: readonly Formation[],
  ctx: StageContext,
): Promise<Result<SplitAccuracies[]>> {
  return attemptAsync(
    () =>
      measure(
        tasks,
        formations.map((f) => f.flat),
        ctx,
      ),
    'E_PLAN',
  );
}

export interface FinalAccuracy {
  /** Per task, the flat weights its page table gathers from the plan's pages. */
  readonly weights: readonly Float32Array[];
  readonly accuracy: readonly SplitAccuracies[];
}

/** Stage 8 — the plan's accuracy: each task's weights gathered from the pages, then measured. */
export function finalStage(
  state: PagedState,
  tasks: readonly TaskRunner[],
  ctx: StageContext,
): Promise<Result<FinalAccuracy>> {
  return attemptAsync(async () => {
    throwIfCancelled(ctx.signal);
    const weights = tasks.map((s, k) => gatherTask(state, k, s, new Float32Array(s.weightCount)));
    return { weights, accuracy: await measure(tasks, weights, ctx) };
  }, 'E_PLAN');
}
