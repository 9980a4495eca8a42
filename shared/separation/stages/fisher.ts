/**
 * Stage 3 — each model's diagonal Fisher information (fisher.ts), which ranks its own pages for the
 * separation and weighs its weights in the overlap and the init. Models run one after another (each
 * in one onnxruntime session); a result cached from an earlier run on the same weights is reused.
 */
import { attemptAsync, throwIfCancelled, unwrap, type Result } from '../../core/errors.ts';
import { computeFisher, type FisherResult } from '../fisher.ts';
import type { Formation } from '../formation.ts';
import type { PlannerTask } from '../planner-options.ts';
import type { StageContext } from './context.ts';

export interface FisherStageOptions {
  readonly pageSize: number;
  /** Training samples per model. */
  readonly samples: number;
  /** Model k draws its samples with seed + k. */
  readonly seed: number;
  /** Results by task name from an earlier run; used when their length matches the model's weights. */
  readonly cache?: ReadonlyMap<string, FisherResult>;
}

/** Per task, in task order, its Fisher. */
export function fisherStage(
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  options: FisherStageOptions,
  ctx: StageContext,
): Promise<Result<FisherResult[]>> {
  const K = tasks.length;
  const S = options.samples;
  return attemptAsync(async () => {
    const out: FisherResult[] = [];
    for (const [k, t] of tasks.entries()) {
      throwIfCancelled(ctx.signal);
      const cached = options.cache?.get(t.name);
      if (cached && cached.perWeight.length === formations[k]?.weightCount) {
        out.push(cached);
        ctx.progress((k + 1) * S, K * S, { task: t.name, message: 'cached' });
        continue;
      }
      const f = await computeFisher(t.model, t.data.train, {
        pageSize: options.pageSize,
        samples: S,
        seed: options.seed + k,
        task: t.name,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        progress: (e) => ctx.progress(k * S + e.step, K * S, { task: t.name }),
      });
      out.push(unwrap(f));
    }
    return out;
  }, 'E_PLAN');
}

/** The results by task name, as the planner returns them for a later run's cache. */
export function fisherByTask(
  tasks: readonly PlannerTask[],
  fisher: readonly FisherResult[],
): ReadonlyMap<string, FisherResult> {
  const byName = new Map<string, FisherResult>();
  fisher.forEach((f, k) => {
    const t = tasks[k];
    if (t) byName.set(t.name, f);
  });
  return byName;
}
