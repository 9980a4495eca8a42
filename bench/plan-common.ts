/**
 * What the planner's bench sections share (plan, plan-fair, plan-ablation, plan-seeds): the zoo, the
 * budgets for a target stored packing, one plan per worker thread with two plans at a time (one per
 * core), and the tables. Each section runs alone (`npm run bench -- --only plan-fair`).
 *
 * Options every planner section reads (bench/run.ts passes them on):
 * - `--quick`: a smoke run (100 joint steps for ours; the reference's schedule cut to 420 steps per
 *   model), never a result;
 * - `--tasks a,b,c`: a subset of the zoo (smoke runs); `--ratio r`: the headline's stored packing
 *   instead of 8x (a subset's ceiling is lower than the zoo's);
 * - `--seeds 1,2,3`: plan-seeds' seeds.
 *
 * Plans are made for the `stored` device, as the reference's are; the budgets target stored packing.
 * Accuracy changes are on the test splits, which no step of the planner reads; validation changes are
 * shown beside them.
 */
import { ok, unwrap, type Result } from '../shared/core/errors.ts';
import { formatBytes } from '../shared/core/units.ts';
import { runInWorker, type JobContext } from '../shared/core/worker-job.ts';
import {
  LINUX_ORT_DEVICE,
  STORED_DEVICE,
  withSizes,
  type DeviceProfile,
} from '../shared/image/device-profile.ts';
import { memoryAccount } from '../shared/image/memory.ts';
import { loadPlannerTasks } from '../shared/separation/inputs.ts';
import {
  PUBLISHED_REFERENCE_SCHEDULE,
  type ReferenceSchedule,
} from '../shared/separation/optimize-reference.ts';
import {
  DEFAULT_PLANNER_OPTIONS,
  plannerOptions,
  type PlannerMethod,
  type PlannerOptimisation,
} from '../shared/separation/planner-options.ts';
import { previewPlan } from '../shared/separation/planner.ts';
import { planSeparation } from '../shared/separation/planner.ts';
import type { PlanReport } from '../shared/separation/report.ts';
import type { BenchContext } from './harness.ts';

export const P = 512;
export const PAGE_BYTES = P * 4;
export const ZOO = new URL('../resources/zoo', import.meta.url).pathname;

/** The headline: 8x stored packing (tables counted), about 75% of the pages shared (issue 12). */
export const HEADLINE_RATIO = 8;
/** Share of the stored pages that are shared pages (docs/BENCHMARKS.md, the 2026-11-26 notes). */
export const POOL_SHARE = 0.75;

/** Ours with --quick: joint steps. */
export const QUICK_STEPS = 100;

/** The reference's schedule with --quick: the published batch and rate, 100 + 10 × 32 steps per model. */
export const QUICK_REFERENCE_SCHEDULE: ReferenceSchedule = {
  ...PUBLISHED_REFERENCE_SCHEDULE,
  formationSteps: 100,
  formationEvalEvery: 50,
  rounds: 10,
  evalEveryRounds: 5,
};

/**
 * Budgets for a target stored packing: the pages that fit ⌊original bytes ÷ ratio⌋ after the page
 * tables, of which about `share` are shared (level 1) and the rest exclusive (level 2), raised to
 * the smallest pool whose forced exclusive pages still fit. On the zoo at 6x, 160 shared + 54
 * exclusive pages beat 128 + 86 and 214 + 0 on validation (docs/BENCHMARKS.md, the 2026-11-26
 * notes). (Before the two labelled ratios, the target was ⌊Σ N_k ÷ ratio⌋ pages, tables not counted.)
 */
export function budgetsFor(
  counts: readonly number[],
  originalBytes: number,
  ratio: number,
  share: number,
  selfTying: number,
): { l1Bytes: number; l2Bytes: number } | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  const pages = Math.floor((Math.floor(originalBytes / ratio) - total * 4) / PAGE_BYTES);
  const forced = (m: number) => counts.reduce((a, n) => a + Math.max(0, n - selfTying * m), 0);
  for (let m = Math.max(1, Math.round(pages * share)); m <= pages; m++) {
    if (m + forced(m) <= pages)
      return { l1Bytes: m * PAGE_BYTES + total * 4, l2Bytes: (pages - m) * PAGE_BYTES };
  }
  return undefined;
}

/** One plan of the bench: the device it is made for, and what differs from the planner's defaults. */
export interface ZooPlan {
  readonly device: DeviceProfile;
  readonly method?: Partial<PlannerMethod>;
  readonly optimisation?: Partial<PlannerOptimisation>;
  readonly seed?: number;
  /** Zoo models to plan (default all). */
  readonly only?: readonly string[];
  readonly workers: number;
}

/** One plan of the zoo, run inside a worker thread (two at a time, one per core). */
export async function planZooJob(
  input: { plan: ZooPlan },
  ctx: JobContext,
): Promise<Result<{ report: PlanReport; seconds: number }>> {
  const t0 = performance.now();
  const { device, method = {}, optimisation = {}, seed, only, workers } = input.plan;
  const tasks = loadPlannerTasks(ZOO, only ? { only: [...only] } : {});
  if (!tasks.ok) return tasks;
  const r = await planSeparation(
    tasks.value,
    plannerOptions(device, {
      method,
      optimisation,
      run: { workers, signal: ctx.signal, ...(seed !== undefined ? { seed } : {}) },
    }),
  );
  if (!r.ok) return r;
  return ok({ report: r.value.report, seconds: (performance.now() - t0) / 1000 });
}

/** The bench's options, as bench/run.ts passes them. */
export interface PlanBenchOptions {
  readonly quick: boolean;
  readonly only?: readonly string[];
  readonly ratio: number;
  readonly seeds: readonly number[];
}

function list(v: string | undefined, what: string): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`--${what} needs a comma-separated list.`);
  return items;
}

/** Reads --tasks, --ratio and --seeds (see the top); throws on a malformed value. */
export function planBenchOptions(ctx: Pick<BenchContext, 'quick' | 'option'>): PlanBenchOptions {
  const only = list(ctx.option('tasks'), 'tasks');
  const ratio = Number(ctx.option('ratio') ?? HEADLINE_RATIO);
  if (!(ratio > 1)) throw new Error(`--ratio must be a packing ratio above 1 (got ${ctx.option('ratio')}).`);
  const seeds = (list(ctx.option('seeds'), 'seeds') ?? ['1', '2', '3']).map(Number);
  if (!seeds.every((s) => Number.isInteger(s) && s >= 0) || new Set(seeds).size !== seeds.length)
    throw new Error(`--seeds must list distinct whole numbers (got ${ctx.option('seeds')}).`);
  return { quick: ctx.quick, ratio, seeds, ...(only ? { only } : {}) };
}

/** The zoo (or its subset) as the budgets see it. */
export interface ZooShape {
  readonly counts: readonly number[];
  readonly originalBytes: number;
  readonly totalPages: number;
  readonly ceiling: number;
  readonly tasks: readonly string[];
}

export function zooShape(only?: readonly string[]): ZooShape {
  const tasks = loadPlannerTasks(ZOO, only ? { only: [...only] } : {});
  if (!tasks.ok) throw new Error(tasks.error.message);
  const preview = previewPlan(tasks.value, P, 1);
  if (!preview.ok) throw new Error(preview.error.message);
  return {
    counts: preview.value.pageCounts,
    originalBytes: preview.value.originalBytes,
    totalPages: preview.value.totalPages,
    ceiling: preview.value.ceiling,
    tasks: tasks.value.map((t) => t.name),
  };
}

/** The stored device at the headline budgets (or --ratio's). */
export function headlineDevice(shape: ZooShape, ratio: number): DeviceProfile {
  const b = budgetsFor(shape.counts, shape.originalBytes, ratio, POOL_SHARE, 1);
  if (!b)
    throw new Error(
      `These models have no budgets for ${ratio}x stored packing (ceiling ${shape.ceiling.toFixed(2)}x); pass a lower --ratio.`,
    );
  return withSizes(STORED_DEVICE, b);
}

/** A finished plan, with which budget it obeys in words. */
export interface Row {
  readonly label: string;
  /** "device: headline 8x", "own: …": what the row's memory was held to. */
  readonly obeys: string;
  readonly report: PlanReport;
  readonly seconds: number;
}

/** A plan to run; `after` names a job whose row `plan` needs (it then runs once that one is done). */
export interface PlanJob {
  readonly label: string;
  readonly obeys: string | ((done: ReadonlyMap<string, Row>) => string);
  readonly plan: Omit<ZooPlan, 'workers'> | ((done: ReadonlyMap<string, Row>) => Omit<ZooPlan, 'workers'>);
  readonly after?: string;
}

/**
 * Runs the jobs `parallel` at a time (default two: one per core, each plan one worker thread with
 * one intra-op thread), a job only once the one it names in `after` is done; rows by label.
 */
export async function runPlans(
  ctx: Pick<BenchContext, 'log'>,
  jobs: readonly PlanJob[],
  run: (
    label: string,
    plan: Omit<ZooPlan, 'workers'>,
  ) => Promise<{ report: PlanReport; seconds: number }> = runZooPlan(ctx),
  parallel = 2,
): Promise<Map<string, Row>> {
  const labels = new Set(jobs.map((j) => j.label));
  for (const j of jobs)
    if (j.after !== undefined && !labels.has(j.after))
      throw new Error(`The plan "${j.label}" waits for "${j.after}", which is not among the jobs.`);
  const rows = new Map<string, Row>();
  const pending = [...jobs];
  const running = new Set<Promise<void>>();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = pending.findIndex((j) => j.after === undefined || rows.has(j.after));
      if (i < 0) {
        if (pending.length === 0) return;
        if (running.size === 0) throw new Error('The bench’s plans wait for each other in a cycle.');
        await Promise.race(running);
        continue;
      }
      const job = pending.splice(i, 1)[0]!;
      const plan = typeof job.plan === 'function' ? job.plan(rows) : job.plan;
      const obeys = typeof job.obeys === 'function' ? job.obeys(rows) : job.obeys;
      const task = run(job.label, plan).then((r) => {
        rows.set(job.label, { label: job.label, obeys, report: r.report, seconds: r.seconds });
      });
      running.add(task);
      try {
        await task;
      } finally {
        running.delete(task);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return rows;
}

/** Runs one plan in a worker thread, logging its budgets and outcome. */
export function runZooPlan(ctx: Pick<BenchContext, 'log'>) {
  const self = new URL(import.meta.url);
  return async (label: string, o: Omit<ZooPlan, 'workers'>) => {
    ctx.log(`${label}: L1 ${formatBytes(o.device.l1Bytes)}, L2 ${formatBytes(o.device.l2Bytes)}`);
    const r = unwrap(
      await runInWorker<{ plan: ZooPlan }, { report: PlanReport; seconds: number }>(
        self,
        'planZooJob',
        // One worker thread per plan: two plans share the two cores.
        { plan: { ...o, workers: 1 } },
      ),
    );
    const s = summary(r.report);
    ctx.log(
      `${label}: stored packing ${r.report.totals.storedPacking.toFixed(2)}x, mean Δ ${s.mean.toFixed(2)}, worst ${s.worst.toFixed(2)} (${s.worstTask}), ${r.seconds.toFixed(0)} s`,
    );
    return r;
  };
}

/** The row of `rows` named `label` (every job's row exists once runPlans returns). */
export function rowOf(rows: ReadonlyMap<string, Row>, label: string): Row {
  const row = rows.get(label);
  if (!row) throw new Error(`The plan "${label}" has no result.`);
  return row;
}

/** Test Δ in points per task, and their mean and worst; validation Δ mean beside them. */
export function summary(r: Pick<PlanReport, 'tasks'>) {
  const t = r.tasks;
  const deltas = t.map((x) => (x.test.after - x.test.before) * 100);
  const val = t.map((x) => (x.val.after - x.val.before) * 100);
  const mean = deltas.reduce((a, b) => a + b, 0) / Math.max(1, deltas.length);
  const worst = Math.min(...deltas);
  return {
    deltas,
    mean,
    worst,
    worstTask: t[deltas.indexOf(worst)]?.task ?? 'none',
    valMean: val.reduce((a, b) => a + b, 0) / Math.max(1, val.length),
    valWorst: Math.min(...val),
  };
}

export const signed = (x: number, digits = 2) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** Device packing of a stored plan on the linux-ort runtime (image/memory.ts), from the report's facts. */
export function linuxOrtPacking(r: PlanReport): number {
  return memoryAccount(
    {
      pageSize: r.pageSize,
      sharedPageCount: r.sharedPageCount,
      models: r.tasks.map((t) => ({ weightCount: t.weights, exclusivePageCount: t.exclusivePages })),
    },
    LINUX_ORT_DEVICE,
  ).devicePacking;
}

/** Per task: its original test accuracy and each row's test Δ. */
export function perTaskTable(rows: readonly Row[]): string {
  // Every plan is of the same models, so the first row's tasks name every row's.
  const tasks = rows[0]?.report.tasks ?? [];
  const header = `| task | original test % | ${rows.map((r) => `${r.label} Δ`).join(' | ')} |`;
  const sep = `|---|---|${rows.map(() => '---').join('|')}|`;
  const lines = tasks.map((task, k) => {
    const cells = rows.map((r) => {
      const t = r.report.tasks[k];
      return t ? `${((t.test.after - t.test.before) * 100).toFixed(1)}` : '–';
    });
    return `| ${task.task} | ${(task.test.before * 100).toFixed(1)} | ${cells.join(' | ')} |`;
  });
  return [header, sep, ...lines].join('\n');
}

/** One line per plan: which budget it obeys, its memory, packing, accuracy change and run. */
export function totalsTable(rows: readonly Row[]): string {
  const lines = rows.map((row) => {
    const r = row.report;
    const s = summary(r);
    const exclusive = r.tasks.reduce((a, t) => a + t.exclusivePages, 0);
    return `| ${row.label} | ${row.obeys} | ${r.sharedPageCount} + ${exclusive} | ${formatBytes(r.totals.l1Bytes)} | ${formatBytes(r.totals.l2Bytes)} | ${r.totals.storedPacking.toFixed(2)}x | ${linuxOrtPacking(r).toFixed(2)}x | ${signed(s.valMean)} / ${s.valWorst.toFixed(2)} | ${signed(s.mean)} | ${s.worst.toFixed(2)} (${s.worstTask}) | ${r.timing.steps} / ${r.timing.bestStep} | ${(r.timing.stepMs ?? 0).toFixed(0)} | ${(row.seconds / 60).toFixed(1)} |`;
  });
  return [
    '| run | obeys | shared + exclusive pages | L1 (shared + tables) | L2 (exclusive) | stored packing | device packing (linux-ort) | val Δ mean / worst | test Δ mean | test Δ worst | steps / best | ms per step | minutes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

/** The opening line of a section: command, models, steps, seed, and that it was a smoke run. */
export function commandLine(id: string, o: PlanBenchOptions, shape: ZooShape, extra = ''): string {
  const flags = [
    o.quick ? '--quick' : '',
    o.only ? `--tasks ${o.only.join(',')}` : '',
    o.ratio !== HEADLINE_RATIO ? `--ratio ${o.ratio}` : '',
    extra,
  ]
    .filter(Boolean)
    .join(' ');
  const steps = o.quick ? QUICK_STEPS : DEFAULT_PLANNER_OPTIONS.optimisation.steps;
  return [
    `Command: \`npm run bench -- --only ${id}${flags ? ` ${flags}` : ''}\`.`,
    o.quick ? '**Smoke run (--quick): not the recorded figures.**' : '',
    `${shape.tasks.length} zoo models, ${shape.totalPages} pages of ${P} f32 weights (${formatBytes(shape.originalBytes)}); ceiling ${shape.ceiling.toFixed(2)}x. Ours: ${steps} joint steps, batch 32, Fisher from 256 samples. Δ = accuracy change in points against each original model: validation (what every decision reads) and test (read only for this report). Plans ran two at a time, one per core, so the per-step times include that sharing.`,
  ]
    .filter(Boolean)
    .join(' ');
}
