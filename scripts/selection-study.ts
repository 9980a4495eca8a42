/**
 * Selection study (issue 12): the planner on a folder of models at the benchmark's budget rule,
 * once per seed, with each run's full history of evaluations — what the snapshot selection saw at
 * every evaluation (per task: validation accuracy and loss, the accuracy the rule read, floor,
 * noise, focus weight; the criterion, whether the point was kept, the rate) — and a markdown summary
 * of the spread over seeds. Every figure that decides anything is validation; test Δ is reported
 * for the reader only.
 *
 *   node --import tsx scripts/selection-study.ts --models resources/zoo --ratio 8 --seeds 1,2,3,4,5
 *     [--steps 6000] [--share 0.75] [--out plans/selection-study] [--label defaults]
 *     [--set selection=floors-first,smoothing=1,noiseZ=0,minStepsFraction=0,restarts=0]
 *     [--only task,...] [--data dir[,dir]] [--workers n] [--fisher-samples n] [--eval-every n]
 *
 * `--set` overrides members of the planner's optimisation options (planner-options.ts), so one
 * command re-runs an ablation. Writes <out>/<label>/seed-<s>.history.jsonl (one JSON line per
 * evaluation), seed-<s>.report.json (the plan's report) and summary.md, and prints the summary.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { budgetsFor } from '../bench/plan.bench.ts';
import { fail, ok, type Result } from '../shared/core/errors.ts';
import { dataRoots } from '../shared/datasets/roots.ts';
import { STORED_DEVICE, withSizes } from '../shared/image/device-profile.ts';
import { historyJsonLines, type PlanReport } from '../shared/image/report.ts';
import { writeFileAtomic } from '../shared/onnx/io.ts';
import { loadPlannerTasks } from '../shared/separation/inputs.ts';
import {
  DEFAULT_PLANNER_OPTIONS,
  plannerOptions,
  type PlannerOptimisation,
} from '../shared/separation/planner-options.ts';
import { planSeparation, previewPlan } from '../shared/separation/planner.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface StudyOptions {
  readonly models: string;
  /** Target stored packing (the benchmark's rule, bench/plan.bench.ts `budgetsFor`). */
  readonly ratio: number;
  /** Share of the stored pages in the shared pool (the benchmark's 0.75). */
  readonly share: number;
  readonly seeds: readonly number[];
  /** Members of the optimisation options to override (steps among them). */
  readonly optimisation: Partial<PlannerOptimisation>;
  readonly fisherSamples?: number;
  readonly out: string;
  readonly label: string;
  readonly only?: readonly string[];
  readonly roots?: readonly string[];
  readonly workers?: number;
  readonly log?: (line: string) => void;
}

/** One seed's run, as the summary reads it. */
export interface SeedRun {
  readonly seed: number;
  readonly report: PlanReport;
  readonly seconds: number;
}

export interface StudyResult {
  readonly runs: readonly SeedRun[];
  readonly markdown: string;
  readonly folder: string;
}

const points = (x: number) => x * 100;
const signed = (x: number, digits = 2) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

function deltas(report: PlanReport, split: 'val' | 'test'): number[] {
  return report.tasks.map((t) => points(t[split].after - t[split].before));
}

function meanOf(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function worstOf(report: PlanReport, split: 'val' | 'test'): { delta: number; task: string } {
  const d = deltas(report, split);
  const worst = Math.min(...d);
  return { delta: worst, task: report.tasks[d.indexOf(worst)]?.task ?? 'none' };
}

/** The kept point's row of the history, when the report has one. */
function keptPoint(report: PlanReport) {
  return report.history.find((p) => p.step === report.timing.bestStep && p.best !== false);
}

/** The summary: one row per seed, then per task over seeds, then the issue's checks. */
export function summaryMarkdown(options: StudyOptions, runs: readonly SeedRun[]): string {
  const first = runs[0]?.report;
  if (!first) return 'No runs.\n';
  const steps = options.optimisation.steps ?? DEFAULT_PLANNER_OPTIONS.optimisation.steps;
  const overrides = Object.entries(options.optimisation)
    .filter(([key]) => key !== 'steps')
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const head = [
    `### Selection study: ${options.label}`,
    '',
    `Models: ${options.models} (${first.tasks.length} tasks); budgets by the benchmark's rule at ${options.ratio}x stored packing, ${options.share} of the pages shared (${first.sharedPageCount} shared pages, L1 ${first.budgets.l1Bytes} B, L2 ${first.budgets.l2Bytes} B; stored packing ${first.totals.storedPacking.toFixed(2)}x); ${steps} steps; seeds ${runs.map((r) => r.seed).join(', ')}; options: ${overrides.length ? overrides.join(', ') : 'the planner’s defaults'}.`,
    'Δ in points against each original model. Validation decided everything; test is for the reader. "Kept" is the step whose snapshot the plan holds; "early" marks a snapshot from before half the run.',
    '',
    '| seed | steps run / kept | restarts | val Δ mean | val Δ worst | below floor at kept (val) | test Δ mean | test Δ worst | minutes |',
    '|---|---|---:|---:|---:|---|---:|---:|---:|',
  ];
  const rows = runs.map(({ seed, report, seconds }) => {
    const vw = worstOf(report, 'val');
    const tw = worstOf(report, 'test');
    const early = report.timing.bestStep < steps / 2 ? ' (early)' : '';
    const kept = keptPoint(report);
    const below =
      kept?.floors && kept.smoothedAccuracy
        ? report.tasks
            .filter((_, k) => kept.smoothedAccuracy![k]! < kept.floors![k]!)
            .map((t) => t.task)
            .join(', ') || 'none'
        : '–';
    const restarts = report.history.filter((p) => p.restart).length;
    return `| ${seed} | ${report.timing.steps} / ${report.timing.bestStep}${early} | ${restarts} | ${signed(meanOf(deltas(report, 'val')))} | ${signed(vw.delta)} (${vw.task}) | ${below} | ${signed(meanOf(deltas(report, 'test')))} | ${signed(tw.delta)} (${tw.task}) | ${(seconds / 60).toFixed(1)} |`;
  });
  const seedCols = runs.map((r) => `seed ${r.seed}`);
  const perTask = [
    '',
    `| task | original test % | ${seedCols.join(' | ')} | mean | worst | range |`,
    `|---|---:|${seedCols.map(() => '---:').join('|')}|---:|---:|---:|`,
    ...first.tasks.map((task, k) => {
      const d = runs.map((r) => {
        const t = r.report.tasks[k]!;
        return points(t.test.after - t.test.before);
      });
      return `| ${task.task} | ${points(task.test.before).toFixed(1)} | ${d.map((x) => signed(x, 1)).join(' | ')} | ${signed(meanOf(d))} | ${signed(Math.min(...d))} | ${(Math.max(...d) - Math.min(...d)).toFixed(2)} |`;
    }),
  ];
  const means = runs.map((r) => meanOf(deltas(r.report, 'test')));
  const worsts = runs.map((r) => worstOf(r.report, 'test').delta);
  const early = runs.filter((r) => r.report.timing.bestStep < steps / 2).map((r) => r.seed);
  const checks = [
    '',
    `Issue 12's bar (test): every seed's mean Δ ≥ −0.5 — ${means.every((m) => m >= -0.5) ? 'met' : 'not met'} (lowest ${signed(Math.min(...means))}); every seed's worst task ≥ −2 — ${worsts.every((w) => w >= -2) ? 'met' : 'not met'} (lowest ${signed(Math.min(...worsts))}); snapshots from before half the run: ${early.length ? `seeds ${early.join(', ')} (allowed only when validation says better by more than its noise)` : 'none'}.`,
    `Histories: ${join(options.out, options.label)}/seed-<s>.history.jsonl, one JSON line per evaluation.`,
  ];
  return [...head, ...rows, ...perTask, ...checks].join('\n') + '\n';
}

export async function runSelectionStudy(options: StudyOptions): Promise<Result<StudyResult>> {
  const log = options.log ?? (() => {});
  const tasks = loadPlannerTasks(options.models, {
    ...(options.roots ? { roots: options.roots } : {}),
    ...(options.only ? { only: options.only } : {}),
  });
  if (!tasks.ok) return tasks;
  const preview = previewPlan(tasks.value, DEFAULT_PLANNER_OPTIONS.method.pageSize, 1);
  if (!preview.ok) return preview;
  const budgets = budgetsFor(
    preview.value.pageCounts,
    preview.value.originalBytes,
    options.ratio,
    options.share,
    1,
  );
  if (!budgets)
    return fail(
      'E_BUDGET',
      `No budgets reach ${options.ratio}x stored packing for these models (ceiling ${preview.value.ceiling.toFixed(2)}x).`,
    );
  const folder = join(options.out, options.label);
  mkdirSync(folder, { recursive: true });
  const runs: SeedRun[] = [];
  for (const seed of options.seeds) {
    const started = performance.now();
    log(`seed ${seed}: L1 ${budgets.l1Bytes} B, L2 ${budgets.l2Bytes} B`);
    const planned = await planSeparation(
      tasks.value,
      plannerOptions(withSizes(STORED_DEVICE, budgets), {
        ...(options.fisherSamples ? { method: { fisherSamples: options.fisherSamples } } : {}),
        optimisation: options.optimisation,
        run: { seed, ...(options.workers !== undefined ? { workers: options.workers } : {}) },
      }),
    );
    if (!planned.ok)
      return fail(planned.error.code, `Seed ${seed}: ${planned.error.message}`, planned.error.hint);
    const report = planned.value.report;
    const names = report.tasks.map((t) => t.task);
    const encode = (text: string) => new TextEncoder().encode(text);
    const written = [
      writeFileAtomic(
        join(folder, `seed-${seed}.history.jsonl`),
        encode(historyJsonLines(names, report.history)),
      ),
      writeFileAtomic(
        join(folder, `seed-${seed}.report.json`),
        encode(JSON.stringify(report, null, 2) + '\n'),
      ),
    ].find((r) => !r.ok);
    if (written) return written as Result<never>;
    const seconds = (performance.now() - started) / 1000;
    runs.push({ seed, report, seconds });
    log(
      `seed ${seed}: ${report.timing.steps} steps, kept ${report.timing.bestStep}; test Δ mean ${signed(meanOf(deltas(report, 'test')))}, worst ${signed(worstOf(report, 'test').delta)} (${seconds.toFixed(0)} s)`,
    );
  }
  const markdown = summaryMarkdown(options, runs);
  const summary = writeFileAtomic(join(folder, 'summary.md'), new TextEncoder().encode(markdown));
  if (!summary.ok) return summary;
  return ok({ runs, markdown, folder });
}

/** `--set a=1,b=x`: values are numbers, true/false, or text. */
export function parseOverrides(text: string): Result<Partial<PlannerOptimisation>> {
  const out: Record<string, unknown> = {};
  const known = new Set(Object.keys(DEFAULT_PLANNER_OPTIONS.optimisation));
  for (const pair of text.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (eq < 0 || !known.has(key))
      return fail('E_USAGE', `--set ${pair}: not an optimisation option (${[...known].join(', ')}).`);
    out[key] =
      raw === 'true'
        ? true
        : raw === 'false'
          ? false
          : raw !== '' && Number.isFinite(Number(raw))
            ? Number(raw)
            : raw;
  }
  return ok(out as Partial<PlannerOptimisation>);
}

/** Reads the command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const set = parseOverrides(arg('set') ?? '');
  if (!set.ok) {
    process.stderr.write(`selection-study: ${set.error.message}\n`);
    return 2;
  }
  const steps = arg('steps');
  const evalEvery = arg('eval-every');
  const only = arg('only');
  const workers = arg('workers');
  const fisher = arg('fisher-samples');
  const r = await runSelectionStudy({
    models: resolve(arg('models') ?? join(REPO, 'resources/zoo')),
    ratio: Number(arg('ratio') ?? 8),
    share: Number(arg('share') ?? 0.75),
    seeds: (arg('seeds') ?? '1,2,3,4,5').split(',').map(Number),
    optimisation: {
      ...set.value,
      ...(steps ? { steps: Number(steps) } : {}),
      ...(evalEvery ? { evalEvery: Number(evalEvery) } : {}),
    },
    ...(fisher ? { fisherSamples: Number(fisher) } : {}),
    out: resolve(arg('out') ?? join(REPO, 'plans/selection-study')),
    label: arg('label') ?? 'defaults',
    ...(only ? { only: only.split(',') } : {}),
    roots: dataRoots(arg('data'), process.cwd()),
    ...(workers !== undefined ? { workers: Number(workers) } : {}),
    log: (line) => process.stderr.write(`selection-study: ${line}\n`),
  });
  if (!r.ok) {
    process.stderr.write(`selection-study: ${r.error.message}\n`);
    return r.error.code === 'E_USAGE' ? 2 : 1;
  }
  process.stdout.write(r.value.markdown);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
