/**
 * Planning as a worker-thread job for the app (`computePlan`): the planner's own steps — load the
 * models with their task data, plan for a device of the given sizes, write the bundle — as
 * `wsep plan --quick` runs them, so the main process stays responsive and the job can be cancelled
 * (the planner checks its signal between steps).
 */
import { existsSync } from 'node:fs';
import { fail, type Result } from '../core/errors.ts';
import type { JobContext } from '../core/worker-job.ts';
import { runInWorker, type RunInWorkerOptions } from '../core/worker-job.ts';
import { resolveDevice } from '../image/device-profile.ts';
import { writeBundle } from '../image/write.ts';
import { loadPlannerTasks } from '../separation/inputs.ts';
import { plannerOptions } from '../separation/planner-options.ts';
import { planSeparation } from '../separation/planner.ts';

/** `wsep plan --quick`'s settings (shared/cli/commands/plan.ts QUICK): about 2 minutes on 2 cores. */
export const APP_QUICK = { steps: 1500, evalEvery: 100, patience: 1500, fisherSamples: 256 } as const;

export interface PlanJobInput {
  /** The folder of the models (the zoo, or the user's). */
  readonly modelsDir: string;
  /** Only these models (by name); all of the folder when absent. */
  readonly only?: readonly string[];
  /** Folders with the tasks' data (the user's first, the bundled one last). */
  readonly roots: readonly string[];
  readonly l1Bytes: number;
  readonly l2Bytes: number;
  readonly pageSize?: number;
  readonly valueType: 'f32' | 'i8';
  readonly steps?: number;
  /** The new bundle's folder; must not exist yet. */
  readonly out: string;
}

export interface PlanJobResult {
  readonly out: string;
  readonly planId: string;
}

export async function planJob(input: PlanJobInput, context: JobContext): Promise<Result<PlanJobResult>> {
  if (existsSync(input.out)) return fail('E_USAGE', `The plan folder ${input.out} exists already.`);
  const tasks = loadPlannerTasks(input.modelsDir, {
    roots: input.roots,
    augment: true,
    ...(input.only ? { only: [...input.only] } : {}),
  });
  if (!tasks.ok) return tasks;
  const sizes = { l1Bytes: input.l1Bytes, l2Bytes: input.l2Bytes };
  const device = resolveDevice('stored', process.cwd(), sizes, sizes);
  if (!device.ok) return device;
  const steps = input.steps ?? APP_QUICK.steps;
  const options = plannerOptions(device.value, {
    method: {
      fisherSamples: APP_QUICK.fisherSamples,
      ...(input.pageSize !== undefined ? { pageSize: input.pageSize } : {}),
      ...(input.valueType === 'i8' ? { valueType: 'i8' as const } : {}),
    },
    optimisation: {
      steps,
      evalEvery: Math.min(APP_QUICK.evalEvery, steps),
      patience: Math.min(APP_QUICK.patience, steps),
    },
    run: { seed: 1, signal: context.signal, progress: context.progress },
  });
  const planned = await planSeparation(tasks.value, options);
  if (!planned.ok) return planned;
  const written = await writeBundle(planned.value.plan, input.out);
  if (!written.ok) return written;
  return { ok: true, value: { out: input.out, planId: written.value.planId } };
}

/** Runs `planJob` in a worker thread; abort `options.signal` to cancel it. */
export function runPlanJob(
  input: PlanJobInput,
  options: RunInWorkerOptions = {},
): Promise<Result<PlanJobResult>> {
  return runInWorker<PlanJobInput, PlanJobResult>(new URL(import.meta.url), 'planJob', input, options);
}
