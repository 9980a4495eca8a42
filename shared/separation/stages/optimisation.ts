/**
 * Stage 7 — the optimisation of the pages (DESIGN.md, the planner, step 6), by the strategy's
 * optimiser (ours: jointly, optimize.ts; the reference: sequentially, optimize-reference.ts). Its
 * steps and its evaluations (each task's validation figures) reach the job's progress stream. With 0
 * steps the initial pages are kept and only evaluated.
 */
import { attemptAsync, type Result } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/progress.ts';
import type { FisherResult } from '../fisher.ts';
import { evaluatePages, quantizePagedState, type JointResult, type PagedState } from '../optimize.ts';
import type { PlannerOptions } from '../planner-options.ts';
import type { PlannerStrategy } from '../strategies/strategy.ts';
import type { TaskRunner } from '../task-session.ts';
import type { StageContext } from './context.ts';

export function optimisationStage(
  strategy: PlannerStrategy,
  state: PagedState,
  tasks: readonly TaskRunner[],
  fisher: readonly FisherResult[],
  baselineVal: readonly number[],
  options: PlannerOptions,
  ctx: StageContext,
): Promise<Result<JointResult>> {
  return attemptAsync(async (): Promise<JointResult> => {
    if (options.optimisation.steps === 0) {
      // Int8: the pages evaluated are the pages the plan stores (planner.ts quantises them alike).
      const method = options.method;
      const pages =
        method.valueType === 'i8' ? quantizePagedState(state, method.scaleRule ?? 'max-abs').state : state;
      const valAccuracy = (await evaluatePages(pages, tasks)).map((s) => s.accuracy);
      return { bestStep: 0, history: [], stepsRun: 0, msPerStep: 0, valAccuracy };
    }
    return strategy.optimise(state, tasks, {
      fisher,
      baselineVal,
      // Only the validation splits' sizes: how noisy each task's validation accuracy is.
      valCounts: tasks.map((t) => t.data.val.n),
      options,
      onStep: (step, total) => {
        if (step % 10 === 0 || step === total) ctx.progress(step, total);
      },
      // The optimisers' evaluations (validation figures) join the job's progress stream.
      progress: (e: ProgressEvent) =>
        ctx.progress(e.step, e.total, {
          ...(e.message ? { message: e.message } : {}),
          ...(e.validation ? { validation: e.validation } : {}),
        }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }, 'E_PLAN');
}
