/**
 * The planner: the steps of DESIGN.md ("The planner") as a pipeline of stages (./stages/), each a
 * function with a typed input and output that reports its own progress, run in order:
 *
 *   formation → (preflight: can the device hold the plan?) → baseline accuracy → Fisher → separation
 *   → overlap (page tables) → init of the shared pages → optimisation → final accuracy → plan + report
 *
 * Where our method and the reference's differ, a stage asks the strategy object (./strategies/).
 * Every input problem is reported before any long work; the signal cancels between units of work;
 * the test split is evaluated only for the report.
 */
import { attemptAsync, fail, ok, unwrap, type Result } from '../core/errors.ts';
import { noProgress } from '../core/progress.ts';
import { pageCount, type Plan } from '../image/plan.ts';
import type { FisherResult } from './fisher.ts';
import { checkPageSize, formModel, type Formation } from './formation.ts';
import { quantizePagedState, type JointResult } from './optimize.ts';
import {
  STRATEGIES,
  checkPlannerOptions,
  type PlannerOptions,
  type PlannerTask,
  type Strategy,
} from './planner-options.ts';
import type { TimedPlanReport } from './report.ts';
import { packingCeiling, packingCeilingSelfTying } from './separate.ts';
import { OURS } from './strategies/ours.ts';
import { REFERENCE, REFERENCE_CAPPED } from './strategies/reference.ts';
import type { PlannerStrategy } from './strategies/strategy.ts';
import { baselineStage, finalStage, type FinalAccuracy } from './stages/accuracy.ts';
import { stageContexts, type PlannerStage, type StageContext } from './stages/context.ts';
import { fisherByTask, fisherStage } from './stages/fisher.ts';
import { formationStage } from './stages/formation.ts';
import { initStage } from './stages/init.ts';
import { optimisationStage } from './stages/optimisation.ts';
import { overlapStage } from './stages/overlap.ts';
import { assemblePlan } from './stages/report.ts';
import { separationPreflight, separationStage } from './stages/separation.ts';
import type { TaskRunner } from './task-session.ts';
import { openTaskRunners, type TaskToOpen } from './task-workers.ts';

export {
  DEFAULT_PLANNER_OPTIONS,
  plannerOptions,
  withOverrides,
  type PlannerMethod,
  type PlannerOptimisation,
  type PlannerOptions,
  type PlannerOverrides,
  type PlannerRun,
  type PlannerTask,
  type Strategy,
} from './planner-options.ts';

const STRATEGY_OBJECTS: Readonly<Record<Strategy, PlannerStrategy>> = {
  ours: OURS,
  reference: REFERENCE,
  'reference-capped': REFERENCE_CAPPED,
};

/** The strategy object of a method, or a usage error naming the methods there are. */
export function strategyFor(name: string): Result<PlannerStrategy> {
  const found = STRATEGIES.find((s) => s === name);
  return found
    ? ok(STRATEGY_OBJECTS[found])
    : fail('E_USAGE', `Unknown strategy "${name}"; use ${STRATEGIES.join(', ')}.`);
}

export interface PlanResult {
  readonly plan: Plan;
  readonly report: TimedPlanReport;
  readonly fisher: ReadonlyMap<string, FisherResult>;
  readonly optimisation: JointResult;
}

/** What can be said before any long work: page counts, the ceiling, the pool size. */
export interface PlanPreview {
  readonly pageCounts: readonly number[];
  readonly weightCounts: readonly number[];
  readonly totalPages: number;
  readonly ceiling: number;
  readonly ceilingSelfTying?: number;
  readonly originalBytes: number;
}

export function previewPlan(
  tasks: readonly PlannerTask[],
  pageSize: number,
  selfTying: number,
): Result<PlanPreview> {
  const size = checkPageSize(pageSize);
  if (!size.ok) return size;
  const counts: number[] = [];
  const weightCounts: number[] = [];
  let weights = 0;
  for (const t of tasks) {
    const f = formModel(t.model, pageSize);
    if (!f.ok) return fail(f.error.code, `Task ${t.name}: ${f.error.message}`, f.error.hint);
    counts.push(pageCount(f.value.weightCount, pageSize));
    weightCounts.push(f.value.weightCount);
    weights += f.value.weightCount;
  }
  const preview: PlanPreview = {
    pageCounts: counts,
    weightCounts,
    totalPages: counts.reduce((a, b) => a + b, 0),
    ceiling: packingCeiling(counts),
    originalBytes: weights * 4,
  };
  return ok(
    selfTying > 1 ? { ...preview, ceilingSelfTying: packingCeilingSelfTying(counts, selfTying) } : preview,
  );
}

/**
 * Relative cost of each stage (about seconds on the development machine), so that the job's
 * fraction and ETA move evenly: the optimisation dominates, Fisher next.
 */
function stageCosts(tasks: readonly PlannerTask[], o: PlannerOptions): Record<PlannerStage, number> {
  const K = tasks.length;
  const samples = tasks.reduce((a, t) => a + Math.min(o.method.fisherSamples, t.data.train.n), 0);
  return {
    formation: K * 0.005,
    baseline: 2 * K * 0.05,
    fisher: o.run.fisherCache ? 0.01 : samples * 0.001,
    separate: 0.05,
    overlap: 0.5,
    init: 1,
    optimize: Math.max(1, o.optimisation.steps) * K * 0.008,
    final: 2 * K * 0.05,
  };
}

/**
 * Checks the data and opens one session pair per task, in worker threads unless `workers` is 0;
 * nothing long has run yet. Sessions opened before a failure are released by openTaskRunners.
 */
async function openTasks(
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  o: PlannerOptions,
): Promise<Result<{ runners: readonly TaskRunner[]; close: () => Promise<void> }>> {
  for (const t of tasks) {
    for (const split of ['train', 'val', 'test'] as const) {
      if (t.data[split].n === 0)
        return fail('E_DATA_MISMATCH', `Task ${t.name}: the ${split} split is empty.`);
    }
  }
  const { optimisation: t, run } = o;
  const toOpen: TaskToOpen[] = [];
  for (const [k, task] of tasks.entries()) {
    const f = formations[k];
    if (!f) return fail('E_INTERNAL', `Task ${task.name} has no formation.`);
    toOpen.push({
      name: task.name,
      model: task.model,
      data: task.data,
      tensors: f.tensors,
      options: {
        batchSize: t.batchSize,
        // Each task its own seeded sampler: the result does not depend on how tasks share threads.
        seed: run.seed * 1000 + k,
        ...(t.augment && task.augment ? { augment: task.augment } : {}),
        ...(t.distill.alpha > 0 ? { distill: t.distill } : {}),
        ...(run.intraOpThreads !== undefined ? { intraOpThreads: run.intraOpThreads } : {}),
      },
    });
  }
  return openTaskRunners(toOpen, run.workers);
}

export async function planSeparation(
  given: readonly PlannerTask[],
  requested: PlannerOptions,
): Promise<Result<PlanResult>> {
  const strategy = strategyFor(requested.method.strategy);
  if (!strategy.ok) return strategy;
  const s = strategy.value;
  const options = s.applicable(requested);
  const checked = checkPlannerOptions(given, options, (device) => s.checkDevice(device));
  if (!checked.ok) return checked;
  const ctx = stageContexts(
    options.run.progress ?? noProgress,
    stageCosts(given, options),
    options.run.signal,
  );
  const formed = formationStage(
    given,
    {
      pageSize: options.method.pageSize,
      equalizeLayerScales: options.optimisation.equalizeLayerScales,
    },
    ctx.formation,
  );
  if (!formed.ok) return formed;
  const { tasks, formations } = formed.value;
  // The separation's feasibility depends only on page counts: refuse a device too small now.
  const fits = separationPreflight(s, tasks, formations, options);
  if (!fits.ok) return fits;
  const opened = await openTasks(tasks, formations, options);
  if (!opened.ok) return opened;
  try {
    return await runStages(s, tasks, formations, opened.value.runners, options, ctx);
  } finally {
    await opened.value.close();
  }
}

/** The stages that need the tasks' sessions, timed one by one for the report. */
async function runStages(
  strategy: PlannerStrategy,
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  sessions: readonly TaskRunner[],
  options: PlannerOptions,
  ctx: Readonly<Record<PlannerStage, StageContext>>,
): Promise<Result<PlanResult>> {
  const stageSeconds: Record<string, number> = {};
  const timed = async <T>(stage: PlannerStage, run: () => Promise<Result<T>> | Result<T>): Promise<T> => {
    const started = performance.now();
    const result = await run();
    stageSeconds[stage] = (performance.now() - started) / 1000;
    return unwrap(result);
  };
  return attemptAsync(async () => {
    const before = await timed('baseline', () => baselineStage(sessions, formations, ctx.baseline));
    const fisher = await timed('fisher', () =>
      fisherStage(
        tasks,
        formations,
        {
          pageSize: options.method.pageSize,
          samples: options.method.fisherSamples,
          seed: options.run.seed,
          ...(options.run.fisherCache ? { cache: options.run.fisherCache } : {}),
        },
        ctx.fisher,
      ),
    );
    const separated = await timed('separate', () =>
      separationStage(strategy, tasks, formations, fisher, options, ctx.separate),
    );
    const paging = await timed('overlap', () =>
      overlapStage(strategy, tasks, formations, fisher, separated, options, ctx.overlap),
    );
    const initialised = await timed('init', () =>
      initStage(strategy, formations, fisher, paging, sessions, options, ctx.init),
    );
    const optimisation = await timed('optimize', () =>
      optimisationStage(
        strategy,
        initialised.state,
        sessions,
        fisher,
        before.map((b) => b.val),
        options,
        ctx.optimize,
      ),
    );
    // Int8: the plan stores the masters quantised; their f32 figure is measured too, for the report.
    const method = options.method;
    const quantized =
      method.valueType === 'i8'
        ? quantizePagedState(initialised.state, method.scaleRule ?? 'max-abs')
        : undefined;
    const { after, f32After } = await timed(
      'final',
      async (): Promise<Result<{ after: FinalAccuracy; f32After?: FinalAccuracy }>> => {
        const stored = await finalStage(quantized ? quantized.state : initialised.state, sessions, ctx.final);
        if (!stored.ok || !quantized) return stored.ok ? ok({ after: stored.value }) : stored;
        const masters = await finalStage(initialised.state, sessions, ctx.final);
        return masters.ok ? ok({ after: stored.value, f32After: masters.value }) : masters;
      },
    );
    const { plan, report } = unwrap(
      assemblePlan({
        ...(quantized && f32After ? { quantized, f32After } : {}),
        tasks,
        formations,
        options,
        strategyLabel: strategy.label,
        budgetObeyed: strategy.budget,
        paging,
        initialised,
        optimisation,
        before,
        after,
        stageSeconds,
      }),
    );
    return { plan, report, fisher: fisherByTask(tasks, fisher), optimisation };
  }, 'E_PLAN');
}
