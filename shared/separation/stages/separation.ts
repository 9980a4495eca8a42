/**
 * Stage 4 — separation (DESIGN.md, the planner, step 3): which pages of each model stay exclusive
 * and which go to the shared pool, by the strategy's rule (ours: the device's budgets, separate.ts;
 * the reference: a fixed pool and a Fisher-mass rule, separate-reference.ts).
 *
 * The rule's feasibility depends on page counts alone, so `separationPreflight` runs it with zero
 * scores right after formation: a device the plan cannot fit is refused before any session opens.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import { pageCount } from '../../image/plan.ts';
import type { FisherResult } from '../fisher.ts';
import type { Formation } from '../formation.ts';
import type { PlannerOptions, PlannerTask } from '../planner-options.ts';
import type { SeparationModelInput } from '../separate.ts';
import type { PlannerStrategy, Separated } from '../strategies/strategy.ts';
import type { StageContext } from './context.ts';

/** The separation's input per task: its weight count and its pages' scores. */
function separationInputs(
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  scores: (formation: Formation, k: number) => Float64Array | undefined,
): Result<SeparationModelInput[]> {
  const out: SeparationModelInput[] = [];
  for (const [k, t] of tasks.entries()) {
    const f = formations[k];
    const pageScores = f && scores(f, k);
    if (!f || !pageScores)
      return fail('E_INTERNAL', `The separation has no ${f ? 'Fisher' : 'formation'} for task ${t.name}.`);
    out.push({ name: t.name, weightCount: f.weightCount, pageScores });
  }
  return ok(out);
}

/** Whether the strategy can separate these models on the device at all (page counts only). */
export function separationPreflight(
  strategy: PlannerStrategy,
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  options: PlannerOptions,
): Result<void> {
  const zero = separationInputs(
    tasks,
    formations,
    (f) => new Float64Array(pageCount(f.weightCount, options.method.pageSize)),
  );
  if (!zero.ok) return zero;
  const s = strategy.separate(zero.value, options);
  return s.ok ? ok(undefined) : s;
}

export function separationStage(
  strategy: PlannerStrategy,
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  fisher: readonly FisherResult[],
  options: PlannerOptions,
  ctx: StageContext,
): Result<Separated> {
  const scored = separationInputs(tasks, formations, (_, k) => fisher[k]?.pageScores);
  if (!scored.ok) return scored;
  const s = strategy.separate(scored.value, options);
  if (s.ok) ctx.progress(1, 1, { message: `${s.value.sharedPageCount} shared pages` });
  return s;
}
