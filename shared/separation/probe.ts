/**
 * Probe and reprioritise (`wsep plan --probe-reprioritise`): two passes. A short probe plan measures
 * how much each task loses on validation; the full plan then grants the extra exclusive pages with
 * each task's priority raised in proportion to its loss (PlannerMethod.extraPriority, separate.ts),
 * so that the tasks that suffer most from sharing keep more of their own pages. The probe's Fisher
 * is reused.
 *
 * Measured (docs/BENCHMARKS.md): at 8x it lifted the worst task's validation but lowered the mean,
 * and at 5.9x with the current defaults it stopped early and did worse; it stays an option, not the
 * default.
 */
import type { Result } from '../core/errors.ts';
import { withOverrides, type PlannerOptions, type PlannerTask } from './planner-options.ts';
import { planSeparation, type PlanResult } from './planner.ts';

/** Steps of the probe plan when the caller does not choose: the measured runs used 1000. */
export const DEFAULT_PROBE_STEPS = 1000;

export async function probeAndReprioritise(
  tasks: readonly PlannerTask[],
  options: PlannerOptions,
  probeSteps = Math.min(DEFAULT_PROBE_STEPS, options.optimisation.steps),
): Promise<Result<PlanResult>> {
  const probe = await planSeparation(tasks, withOverrides(options, { optimisation: { steps: probeSteps } }));
  if (!probe.ok) return probe;
  return planSeparation(
    tasks,
    withOverrides(options, {
      method: { extraPriority: reprioritise(probe.value.report.tasks) },
      run: { fisherCache: probe.value.fisher },
    }),
  );
}

/**
 * Each task's priority for the extra exclusive pages: 1 + its validation drop over the mean drop
 * (drops in points, gains counted as 0; every priority 1 when no task dropped).
 */
export function reprioritise(
  tasks: readonly { readonly val: { readonly before: number; readonly after: number } }[],
): number[] {
  const drops = tasks.map((t) => Math.max(0, (t.val.before - t.val.after) * 100));
  const mean = drops.reduce((a, b) => a + b, 0) / drops.length || 1;
  return drops.map((d) => 1 + d / mean);
}
