/**
 * The planner: runs the steps of DESIGN.md ("The planner") in order and assembles the plan.
 *
 *   check inputs → formation → baseline accuracy → Fisher → separate → overlap → page tables
 *   → initialise shared pages → optimise (jointly, or the reference's sequential baseline)
 *   → final accuracy → plan + report
 *
 * Every input problem is reported before any long work; progress is reported as events; the
 * signal cancels between units of work. The test split is evaluated only for the report.
 */
import { attemptAsync, fail, ok, raise, throwIfCancelled, unwrap, type Result } from '../core/errors.ts';
import { ProgressTracker, noProgress, type ProgressEvent, type ProgressSink } from '../core/progress.ts';
import { TRAINABLE_OPS } from '../autodiff/training-graph.ts';
import type { TaskData } from '../datasets/types.ts';
import { DataType, type Model } from '../onnx/types.ts';
import { validateModel } from '../onnx/validate.ts';
import { weightsAsInputs } from '../onnx/weights.ts';
import { DEFAULT_FISHER_SAMPLES, computeFisher, type FisherResult } from './fisher.ts';
import { checkPageSize, formModel, unformWeights, type Formation } from './formation.ts';
import { INIT_KINDS, initSharedPages, randomInit, type InitKind } from './init.ts';
import { evaluatePages, gatherTask, optimizeJointly, type JointResult, type PagedState } from './optimize.ts';
import { optimizeReference } from './optimize-reference.ts';
import { occupancyHistogram, overlap } from './overlap.ts';
import { pageCount, type Budgets, type Plan, type PlannedModel } from '../image/plan.ts';
import { buildReport, storedReport, type TimedPlanReport, type TaskReport } from './report.ts';
import type { DeviceTraits } from '../image/device-profile.ts';
import { packingCeiling, packingCeilingSelfTying, separate } from './separate.ts';
import { REFERENCE_SHARED_PAGES, separateReference } from './separate-reference.ts';
import { buildPageTable, exclusivePagesOf } from './tables.ts';
import type { TaskRunner } from './task-session.ts';
import { openTaskRunners } from './task-workers.ts';
import { equalizeLayerScales } from './equalize.ts';
import type { AugmentSpec } from '../train/augment.ts';

export type Strategy = 'ours' | 'reference';

export interface PlannerTask {
  readonly name: string;
  readonly model: Model;
  readonly data: TaskData;
  /**
   * Label-preserving augmentations for this task's training batches during joint optimisation
   * (the zoo stores its recipe's list in the model's `weightsep.augment` metadata). Without them a
   * small training split is memorised within a few epochs of joint steps.
   */
  readonly augment?: readonly AugmentSpec[];
}

export interface PlannerOptions {
  readonly pageSize: number;
  /** The device's level-1 and level-2 sizes. */
  readonly budgets: Budgets;
  /**
   * The rest of the device (image/device-profile.ts): its table entry width and what its runtime keeps
   * in level 1, which the separation reserves inside the level-1 budget. Default: the stored plan alone.
   */
  readonly device?: DeviceTraits;
  readonly strategy: Strategy;
  /** Pages of one model allowed per slot: 1 = off. */
  readonly selfTying: number;
  readonly fisherSamples: number;
  /** 'auto' picks the candidate with the lowest mean validation loss. */
  readonly init: InitKind | 'auto';
  /** Joint optimisation steps (each step: one batch of every task). */
  readonly steps: number;
  readonly lr: number;
  readonly warmupSteps: number;
  /** Learning-rate schedule of the joint optimisation after warm-up. */
  readonly schedule: 'constant' | 'cosine' | 'plateau';
  /** Equalise the tasks' gradient norms before they are summed on shared pages. */
  readonly balanceTasks: boolean;
  /**
   * Equalise each model's layer weight scales first (equalize.ts: exact for chains of Conv/Gemm
   * with ReLU-like operators; other models are left as they are). The plan's pages hold the
   * equalised weights, which compute the same function.
   */
  readonly equalize?: boolean;
  /** Weight tasks below their validation floor more (JointOptions.focus); 0 = off. */
  readonly focus?: number;
  /** Keep an exponential moving average of the pages (JointOptions.ema); 0 = off. */
  readonly ema?: number;
  readonly batchSize: number;
  /** Apply each task's augmentations (PlannerTask.augment) to its training batches. Default true. */
  readonly augment?: boolean;
  /**
   * Knowledge distillation from each original model during joint optimisation: the loss mixes the
   * labels' cross-entropy (1 − α) with the softened original predictions' (α, temperature T).
   */
  readonly distill?: { readonly alpha: number; readonly temperature: number };
  readonly evalEvery: number;
  readonly patience: number;
  /** Validation accuracy a task may lose during snapshot selection, in points. */
  readonly floorPoints: number;
  readonly seed: number;
  /** λ of the overlap's slot-balance term (undefined: the overlap's default). */
  readonly balance?: number;
  readonly intraOpThreads?: number;
  /**
   * Worker threads that run the tasks' sessions (0: all in this thread). Default: one per core.
   * The result does not depend on it: every task draws its batches from its own seeded sampler.
   */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
  /** Fisher results from an earlier run on the same models (accuracy-target search, frontier). */
  readonly fisherCache?: ReadonlyMap<string, FisherResult>;
  /** Per task, a factor on its priority for the extra exclusive pages (see separate.ts). */
  readonly extraPriority?: readonly number[];
}

export const DEFAULT_PLANNER_OPTIONS: Omit<PlannerOptions, 'budgets'> = {
  pageSize: 512,
  strategy: 'ours',
  selfTying: 1,
  fisherSamples: DEFAULT_FISHER_SAMPLES,
  init: 'auto',
  // Measured on the ten-task zoo (one seed each; docs/BENCHMARKS.md, the 2026-11-26 notes): batch 32
  // and lr 2e-3 recover faster per second than batch 64 / lr 1e-3; cosine decay and task balancing
  // did not help. At 5.9x, distillation from the original models, the zoo recipes' augmentations,
  // equal layer scales and an average of the pages each lowered the validation loss of accuracy,
  // and 6000 steps beat 3000 (val mean −1.56 against −2.16 points); weighting the tasks below their
  // floor (focus 0.2) then lifted the worst task's validation from −7.1 to −4.7 points.
  steps: 6000,
  lr: 2e-3,
  warmupSteps: 50,
  schedule: 'constant',
  balanceTasks: false,
  batchSize: 32,
  augment: true,
  distill: { alpha: 0.8, temperature: 2 },
  equalize: true,
  ema: 0.999,
  focus: 0.2,
  evalEvery: 200,
  patience: 3000,
  floorPoints: 1,
  seed: 1,
};

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
  const preview: { -readonly [K in keyof PlanPreview]: PlanPreview[K] } = {
    pageCounts: counts,
    weightCounts,
    totalPages: counts.reduce((a, b) => a + b, 0),
    ceiling: packingCeiling(counts),
    originalBytes: weights * 4,
  };
  if (selfTying > 1) preview.ceilingSelfTying = packingCeilingSelfTying(counts, selfTying);
  return ok(preview);
}

function checkOptions(tasks: readonly PlannerTask[], o: PlannerOptions): Result<void> {
  const size = checkPageSize(o.pageSize);
  if (!size.ok) return size;
  if (tasks.length === 0) return fail('E_USAGE', 'Planning needs at least one model.');
  const names = new Set<string>();
  for (const t of tasks) {
    if (names.has(t.name))
      return fail('E_USAGE', `Two models are named "${t.name}".`, 'Give every model a distinct name.');
    names.add(t.name);
  }
  if (o.strategy === 'ours') {
    if (!(o.budgets.l1Bytes > 0))
      return fail(
        'E_BUDGET',
        `The level-1 budget must be more than 0 bytes (got ${o.budgets.l1Bytes}).`,
        'Pass --l1 with a size such as 256KiB.',
      );
    if (!(o.budgets.l2Bytes >= 0))
      return fail('E_BUDGET', `The level-2 budget must be 0 bytes or more (got ${o.budgets.l2Bytes}).`);
  }
  const positive: Array<[string, number]> = [
    ['steps', o.steps],
    ['batch size', o.batchSize],
    ['evaluation interval', o.evalEvery],
    ['Fisher samples', o.fisherSamples],
  ];
  for (const [what, v] of positive) {
    if (!Number.isInteger(v) || v < (what === 'steps' ? 0 : 1))
      return fail('E_USAGE', `The ${what} must be a positive whole number (got ${v}).`);
  }
  if (!(o.lr > 0)) return fail('E_USAGE', `The learning rate must be positive (got ${o.lr}).`);
  if (!Number.isInteger(o.selfTying) || o.selfTying < 1)
    return fail('E_USAGE', `Self-tying takes a whole number of pages per slot ≥ 1 (got ${o.selfTying}).`);
  if (o.distill && !(o.distill.alpha >= 0 && o.distill.alpha <= 1 && o.distill.temperature > 0))
    return fail(
      'E_USAGE',
      `Distillation needs a weight from 0 to 1 and a positive temperature (got ${o.distill.alpha}, ${o.distill.temperature}).`,
    );
  if (o.ema !== undefined && !(o.ema >= 0 && o.ema < 1))
    return fail('E_USAGE', `The page-average decay must be in [0, 1) (got ${o.ema}).`);
  if (o.focus !== undefined && !(o.focus >= 0 && o.focus <= 2))
    return fail('E_USAGE', `The task focus must be from 0 to 2 (got ${o.focus}).`);
  if (o.workers !== undefined && !(Number.isInteger(o.workers) && o.workers >= 0))
    return fail('E_USAGE', `The worker count must be a whole number ≥ 0 (got ${o.workers}).`);
  if (o.init !== 'auto' && !INIT_KINDS.includes(o.init))
    return fail('E_USAGE', `Unknown init "${o.init}"; use auto, ${INIT_KINDS.join(', ')}.`);
  return ok(undefined);
}

/** Validates each model and forms its weights into pages (cheap: no session, no data pass). */
function formTasks(tasks: readonly PlannerTask[], pageSize: number): Formation[] {
  return tasks.map((t) => {
    const valid = validateModel(t.model, { supportedOps: TRAINABLE_OPS, source: t.name });
    if (!valid.ok) raise(valid.error.code, valid.error.message, valid.error.hint);
    const f = formModel(t.model, pageSize);
    if (!f.ok) raise(f.error.code, `Task ${t.name}: ${f.error.message}`, f.error.hint);
    return f.value;
  });
}

/**
 * Checks the data and opens one session pair per task, in worker threads unless `workers` is 0;
 * nothing long has run yet. Sessions opened before a failure are released by openTaskRunners.
 */
async function openTasks(
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  o: PlannerOptions,
): Promise<{ runners: readonly TaskRunner[]; close: () => Promise<void> }> {
  for (const t of tasks) {
    for (const split of ['train', 'val', 'test'] as const) {
      if (t.data[split].n === 0) raise('E_DATA_MISMATCH', `Task ${t.name}: the ${split} split is empty.`);
    }
  }
  const opened = await openTaskRunners(
    tasks.map((t, k) => ({
      name: t.name,
      model: t.model,
      data: t.data,
      tensors: formations[k]!.tensors,
      options: {
        batchSize: o.batchSize,
        seed: o.seed * 1000 + k,
        ...(o.augment !== false && t.augment ? { augment: t.augment } : {}),
        ...(o.distill && o.distill.alpha > 0 ? { distill: o.distill } : {}),
        ...(o.intraOpThreads !== undefined ? { intraOpThreads: o.intraOpThreads } : {}),
      },
    })),
    o.workers,
  );
  return unwrap(opened);
}

export async function planSeparation(
  given: readonly PlannerTask[],
  requested: PlannerOptions,
): Promise<Result<PlanResult>> {
  // The reference strategy is the reference's method as published: none of our additions.
  const options: PlannerOptions =
    requested.strategy === 'reference'
      ? { ...requested, augment: false, equalize: false, ema: 0, focus: 0, distill: undefined }
      : requested;
  const checked = checkOptions(given, options);
  if (!checked.ok) return checked;
  // Function-preserving: every later step (baseline included) sees the equalised weights.
  const tasks = options.equalize
    ? given.map((t) => ({ ...t, model: equalizeLayerScales(t.model).model }))
    : given;
  let close: (() => Promise<void>) | undefined;
  const result = await attemptAsync(async () => {
    const formations = formTasks(tasks, options.pageSize);
    // Budgets depend only on page counts: check them before any long work.
    if (options.strategy === 'ours') {
      const feasible = separate(
        tasks.map((t, k) => ({
          name: t.name,
          weightCount: formations[k]!.weightCount,
          pageScores: new Float64Array(pageCount(formations[k]!.weightCount, options.pageSize)),
        })),
        {
          pageSize: options.pageSize,
          budgets: options.budgets,
          selfTying: options.selfTying,
          ...(options.device ? { device: options.device } : {}),
        },
      );
      unwrap(feasible);
    }
    const opened = await openTasks(tasks, formations, options);
    close = opened.close;
    return runPlanner(tasks, options, formations, opened.runners);
  }, 'E_PLAN');
  await close?.();
  return result;
}

async function runPlanner(
  tasks: readonly PlannerTask[],
  o: PlannerOptions,
  formations: Formation[],
  sessions: readonly TaskRunner[],
): Promise<PlanResult> {
  const K = tasks.length;
  const P = o.pageSize;
  const progress = o.progress ?? noProgress;
  const fisherCost = tasks.reduce((a, t) => a + Math.min(o.fisherSamples, t.data.train.n), 0) * 0.001;
  const tracker = new ProgressTracker(progress, [
    ['baseline', 2 * K * 0.05],
    ['fisher', o.fisherCache ? 0.01 : fisherCost],
    ['overlap', 0.5],
    ['init', 1],
    ['optimize', Math.max(1, o.steps) * K * 0.008],
    ['final', 2 * K * 0.05],
  ]);
  const stageSeconds: Record<string, number> = {};
  let stageStart = performance.now();
  const endStage = (name: string) => {
    stageSeconds[name] = (performance.now() - stageStart) / 1000;
    stageStart = performance.now();
  };

  // Baseline accuracy of the original models (test kept for the report only).
  // Tasks run concurrently (on their workers); the results keep task order.
  throwIfCancelled(o.signal);
  let baselined = 0;
  const before = await Promise.all(
    sessions.map(async (s, k) => {
      const flat = formations[k]!.flat;
      const val = await s.evaluate(s.data.val, flat);
      const test = await s.evaluate(s.data.test, flat);
      tracker.report('baseline', ++baselined, K, { task: s.name });
      return { val: val.accuracy, test: test.accuracy };
    }),
  );
  endStage('baseline');

  // Fisher per model (ranks each model's own pages).
  const fisher = new Map<string, FisherResult>();
  for (const [k, t] of tasks.entries()) {
    throwIfCancelled(o.signal);
    const cached = o.fisherCache?.get(t.name);
    if (cached && cached.perWeight.length === formations[k]!.weightCount) {
      fisher.set(t.name, cached);
      continue;
    }
    const f = await computeFisher(t.model, t.data.train, {
      pageSize: P,
      samples: o.fisherSamples,
      seed: o.seed + k,
      task: t.name,
      ...(o.signal ? { signal: o.signal } : {}),
      progress: (e) =>
        tracker.report('fisher', k * o.fisherSamples + e.step, K * o.fisherSamples, { task: t.name }),
    });
    fisher.set(t.name, unwrap(f));
  }
  endStage('fisher');

  // Separate and overlap.
  const sepInputs = tasks.map((t, k) => ({
    name: t.name,
    weightCount: formations[k]!.weightCount,
    pageScores: fisher.get(t.name)!.pageScores,
  }));
  let M: number;
  let units: (readonly Int32Array[])[];
  let selfTying = o.selfTying;
  if (o.strategy === 'reference') {
    const sep = unwrap(separateReference(sepInputs, P, REFERENCE_SHARED_PAGES));
    M = sep.sharedPageCount;
    units = sep.models.map((m) => m.units);
    selfTying = 1;
  } else {
    const sep = unwrap(
      separate(sepInputs, {
        pageSize: P,
        budgets: o.budgets,
        selfTying: o.selfTying,
        ...(o.device ? { device: o.device } : {}),
        ...(o.extraPriority ? { extraPriority: o.extraPriority } : {}),
      }),
    );
    M = sep.sharedPageCount;
    units = sep.models.map((m) => m.units);
  }
  const placed = unwrap(
    overlap(
      tasks.map((t, k) => ({
        name: t.name,
        values: formations[k]!.flat,
        fisher: fisher.get(t.name)!.perWeight,
        units: units[k]!,
      })),
      {
        sharedPageCount: M,
        pageSize: P,
        strategy: o.strategy === 'reference' ? 'reference' : 'balanced',
        seed: o.seed,
        ...(o.balance !== undefined ? { balance: o.balance } : {}),
      },
    ),
  );
  const tables = placed.models.map((m) => unwrap(buildPageTable(m.pageSlots, M)));
  tracker.report('overlap', 1, 1);
  endStage('overlap');

  // Initialise the shared pages; the exclusive pages start as the original weights.
  const exclusive = tables.map((table, k) =>
    unwrap(
      exclusivePagesOf(
        table,
        {
          sharedPageCount: M,
          pageSize: P,
          weightCount: formations[k]!.weightCount,
          selfTying: selfTying > 1,
        },
        formations[k]!.flat,
      ),
    ),
  );
  const initInputs = tasks.map((t, k) => ({
    values: formations[k]!.flat,
    fisher: fisher.get(t.name)!.perWeight,
    pageTable: tables[k]!,
  }));
  const state: PagedState = {
    pageSize: P,
    sharedPageCount: M,
    shared: new Float32Array(M * P),
    exclusive,
    tables,
    selfTying: selfTying > 1,
  };
  let initChosen: string;
  const initScores: Record<string, number> = {};
  if (o.strategy === 'reference') {
    state.shared.set(randomInit(M, P, o.seed, 0.01));
    initChosen = 'random';
  } else {
    const kinds = o.init === 'auto' ? INIT_KINDS : [o.init];
    let bestLoss = Infinity;
    let best: Float32Array | undefined;
    initChosen = kinds[0]!;
    for (const [i, kind] of kinds.entries()) {
      throwIfCancelled(o.signal);
      const candidate = unwrap(
        initSharedPages(kind, initInputs, { sharedPageCount: M, pageSize: P, seed: o.seed }),
      );
      state.shared.set(candidate);
      const scores = kinds.length > 1 ? await evaluatePages(state, sessions) : [];
      const loss = scores.length ? scores.reduce((a, s) => a + s.loss, 0) / K : 0;
      initScores[kind] = loss;
      if (loss < bestLoss || !best) {
        bestLoss = loss;
        best = candidate;
        initChosen = kind;
      }
      tracker.report('init', i + 1, kinds.length, { message: kind });
    }
    state.shared.set(best!);
  }
  endStage('init');

  // Optimise.
  const baselineVal = before.map((b) => b.val);
  const onStep = (step: number, total: number) => {
    if (step % 10 === 0 || step === total) tracker.report('optimize', step, total);
  };
  const common = {
    baselineVal,
    floorPoints: o.floorPoints,
    onStep,
    // The optimisers' evaluations (validation figures) join the job's progress stream.
    progress: (e: ProgressEvent) =>
      tracker.report('optimize', e.step, e.total, {
        ...(e.message ? { message: e.message } : {}),
        ...(e.validation ? { validation: e.validation } : {}),
      }),
    ...(o.signal ? { signal: o.signal } : {}),
  };
  let optimisation: JointResult;
  if (o.steps === 0) {
    const valAccuracy = (await evaluatePages(state, sessions)).map((s) => s.accuracy);
    optimisation = { bestStep: 0, history: [], stepsRun: 0, msPerStep: 0, valAccuracy };
  } else if (o.strategy === 'reference') {
    const normalizedFisher = tasks.map((t) => minMaxNormalise(fisher.get(t.name)!.perWeight));
    // The reference's own hyper-parameters: Adam 1e-3, 32-step chunks, λ = 0.1.
    optimisation = await optimizeReference(state, sessions, {
      ...common,
      steps: o.steps,
      chunkSteps: 32,
      lr: 1e-3,
      lambda: 0.1,
      normalizedFisher,
    });
  } else {
    optimisation = await optimizeJointly(state, sessions, {
      ...common,
      steps: o.steps,
      lr: o.lr,
      warmupSteps: o.warmupSteps,
      schedule: o.schedule,
      balanceTasks: o.balanceTasks,
      ...(o.focus ? { focus: o.focus } : {}),
      ...(o.ema ? { ema: o.ema } : {}),
      evalEvery: o.evalEvery,
      patience: o.patience,
    });
  }
  endStage('optimize');

  // Final accuracy with the plan's weights.
  throwIfCancelled(o.signal);
  const gathered = sessions.map((s, k) =>
    gatherTask(state, k, s, new Float32Array(formations[k]!.weightCount)),
  );
  let finished = 0;
  const after = await Promise.all(
    sessions.map(async (s, k) => {
      const val = await s.evaluate(s.data.val, gathered[k]!);
      const test = await s.evaluate(s.data.test, gathered[k]!);
      tracker.report('final', ++finished, K, { task: s.name });
      return { val: val.accuracy, test: test.accuracy };
    }),
  );
  endStage('final');

  const taskReports: TaskReport[] = tasks.map((t, k) => ({
    task: t.name,
    weights: formations[k]!.weightCount,
    pages: pageCount(formations[k]!.weightCount, P),
    exclusivePages: exclusive[k]!.length / P,
    test: { before: before[k]!.test, after: after[k]!.test },
    val: { before: before[k]!.val, after: after[k]!.val },
  }));
  const report = buildReport({
    pageSize: P,
    budgets: o.budgets,
    ...(o.device ? { device: o.device } : {}),
    sharedPageCount: M,
    selfTying,
    strategy: o.strategy === 'reference' ? 'reference' : `ours (balanced overlap, joint optimisation)`,
    init: initChosen,
    tasks: taskReports,
    occupancyHistogram: occupancyHistogram(placed.occupancy),
    timing: {
      stepMs: optimisation.msPerStep,
      steps: optimisation.stepsRun,
      bestStep: optimisation.bestStep,
      stages: stageSeconds,
    },
    initLosses: initScores,
    history: optimisation.history,
  });

  const models: PlannedModel[] = tasks.map((t, k) => {
    const tensors = formations[k]!.tensors;
    const weights = unwrap(unformWeights(gathered[k]!, tensors));
    const graph = weightsAsInputs(t.model, weights).model;
    const weightNames = new Set(tensors.map((x) => x.name));
    const initNames = new Set(graph.graph.initializers.map((x) => x.name));
    const input = graph.graph.inputs.find(
      (i) => !weightNames.has(i.name) && !initNames.has(i.name) && i.elemType === DataType.FLOAT,
    )!;
    return {
      name: t.name,
      graph,
      inputName: input.name,
      inputShape: [...t.data.inputShape],
      outputName: graph.graph.outputs[0]!.name,
      classes: [...t.data.classes],
      preprocessing: t.data.preprocessing,
      tensors,
      weightCount: formations[k]!.weightCount,
      pageTable: tables[k]!,
      exclusivePages: exclusive[k]!,
      accuracy: {
        test: { before: before[k]!.test, after: after[k]!.test },
        val: { before: before[k]!.val, after: after[k]!.val },
      },
    };
  });
  const plan: Plan = {
    pageSize: P,
    valueType: 'f32',
    budgets: o.budgets,
    sharedPageCount: M,
    sharedPages: state.shared,
    selfTying: selfTying > 1,
    models,
    // Stored without wall-clock times, so that the same inputs and seed give the same plan id.
    report: storedReport(report),
  };
  return { plan, report, fisher, optimisation };
}

/** The reference's normalisation: min–max over the model's whole Fisher vector, to [0, 1]. */
export function minMaxNormalise(values: Float64Array | Float32Array): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Float32Array(values.length);
  const range = max - min;
  if (range > 0) for (let i = 0; i < values.length; i++) out[i] = (values[i]! - min) / range;
  return out;
}

/**
 * Two passes: a short plan measures how much each task loses on validation, then the full plan
 * grants the extra exclusive pages with priority raised in proportion to those losses, so the
 * tasks that suffer most from sharing keep more of their own pages.
 */
export async function planWithRebalance(
  tasks: readonly PlannerTask[],
  options: PlannerOptions,
  probeSteps: number,
): Promise<Result<PlanResult>> {
  const probe = await planSeparation(tasks, { ...options, steps: probeSteps });
  if (!probe.ok) return probe;
  const drops = probe.value.report.tasks.map((t) => Math.max(0, (t.val.before - t.val.after) * 100));
  const mean = drops.reduce((a, b) => a + b, 0) / drops.length || 1;
  const extraPriority = drops.map((d) => 1 + d / mean);
  return planSeparation(tasks, { ...options, extraPriority, fisherCache: probe.value.fisher });
}
