/**
 * The planner on the ten-task zoo (f32 pages of 512 weights), in one run:
 * - ours at the headline budget, and the reference strategy on the same models;
 * - the frontier: packing ratio against accuracy change at several budget pairs, with and
 *   without self-tying.
 * Packing = original weight bytes ÷ (shared + exclusive page bytes), the reference's measure
 * (it reached 2,682 KB → 454 KB, 5.9x, mean −0.22 points). Accuracy changes are on the test splits,
 * which no step of the planner reads.
 */
import { formatBytes } from '../shared/core/units.ts';
import type { FisherResult } from '../shared/separation/fisher.ts';
import { loadPlannerTasks } from '../shared/separation/inputs.ts';
import { DEFAULT_PLANNER_OPTIONS, planSeparation, previewPlan, type PlannerOptions, type PlanResult } from '../shared/separation/planner.ts';
import type { BenchContext, BenchReport, BenchSection } from './harness.ts';

const P = 512;
const PAGE_BYTES = P * 4;
const ZOO = new URL('../resources/zoo', import.meta.url).pathname;

/** Budgets for a target packing ratio: the largest pool whose forced + `extra` exclusive pages still fit. */
export function budgetsFor(counts: readonly number[], ratio: number, extra: number, selfTying: number): { l1Bytes: number; l2Bytes: number } | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  const pages = Math.floor(total / ratio);
  for (let m = Math.max(...counts); m >= 1; m--) {
    const forced = counts.reduce((a, n) => a + Math.max(0, n - selfTying * m), 0);
    if (m + forced + extra <= pages) return { l1Bytes: m * PAGE_BYTES + total * 4, l2Bytes: (pages - m) * PAGE_BYTES };
  }
  return undefined;
}

interface Row {
  readonly label: string;
  readonly result: PlanResult;
  readonly seconds: number;
}

function summary(r: PlanResult) {
  const t = r.report.tasks;
  const deltas = t.map((x) => (x.test.after - x.test.before) * 100);
  const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
  const worst = Math.min(...deltas);
  return { mean, worst, worstTask: t[deltas.indexOf(worst)]!.task };
}

function perTaskTable(rows: readonly Row[]): string {
  const tasks = rows[0]!.result.report.tasks.map((t) => t.task);
  const header = `| task | original test % | ${rows.map((r) => `${r.label} Δ`).join(' | ')} |`;
  const sep = `|---|---|${rows.map(() => '---').join('|')}|`;
  const lines = tasks.map((task, k) => {
    const before = rows[0]!.result.report.tasks[k]!.test.before * 100;
    const cells = rows.map((r) => {
      const t = r.result.report.tasks[k]!;
      return `${((t.test.after - t.test.before) * 100).toFixed(1)}`;
    });
    return `| ${task} | ${before.toFixed(1)} | ${cells.join(' | ')} |`;
  });
  return [header, sep, ...lines].join('\n');
}

function totalsTable(rows: readonly Row[]): string {
  const lines = rows.map((row) => {
    const r = row.result.report;
    const s = summary(row.result);
    return `| ${row.label} | ${r.sharedPageCount} | ${formatBytes(r.totals.l1Bytes)} | ${formatBytes(r.totals.l2Bytes)} | ${r.totals.packingRatio.toFixed(2)}x | ${r.totals.l1OnlyRatio.toFixed(2)}x | ${r.totals.ceiling.toFixed(2)}x | ${s.mean >= 0 ? '+' : ''}${s.mean.toFixed(2)} | ${s.worst.toFixed(2)} (${s.worstTask}) | ${r.timing.steps} / ${r.timing.bestStep} | ${r.timing.stepMs.toFixed(0)} | ${(row.seconds / 60).toFixed(1)} |`;
  });
  return [
    '| run | M | L1 (shared + tables) | L2 (exclusive) | packing | L1-only | ceiling | mean Δ test pts | worst Δ pts | steps / best | ms per step | minutes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

export const planBench: BenchSection = {
  id: 'plan',
  title: 'Planner: packing ratio and accuracy on the ten-task zoo',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const tasks = loadPlannerTasks(ZOO);
    if (!tasks.ok) throw new Error(tasks.error.message);
    const preview = previewPlan(tasks.value, P, 1);
    if (!preview.ok) throw new Error(preview.error.message);
    const counts = preview.value.pageCounts;
    const steps = ctx.quick ? 100 : DEFAULT_PLANNER_OPTIONS.steps;
    let fisherCache: ReadonlyMap<string, FisherResult> | undefined;
    const run = async (label: string, o: Partial<PlannerOptions> & Pick<PlannerOptions, 'budgets'>): Promise<Row> => {
      ctx.log(`${label}: L1 ${formatBytes(o.budgets.l1Bytes)}, L2 ${formatBytes(o.budgets.l2Bytes)}`);
      const t0 = performance.now();
      const r = await planSeparation(tasks.value, { ...DEFAULT_PLANNER_OPTIONS, steps, ...(fisherCache ? { fisherCache } : {}), ...o });
      if (!r.ok) throw new Error(`${label}: ${r.error.message}`);
      fisherCache = r.value.fisher;
      const seconds = (performance.now() - t0) / 1000;
      const s = summary(r.value);
      ctx.log(`${label}: ${r.value.report.totals.packingRatio.toFixed(2)}x, mean Δ ${s.mean.toFixed(2)}, worst ${s.worst.toFixed(2)} (${s.worstTask}), ${seconds.toFixed(0)} s`);
      return { label, result: r.value, seconds };
    };

    const headline = budgetsFor(counts, 8, 16, 1)!;
    const rows: Row[] = [];
    rows.push(await run('ours 8x', { budgets: headline }));
    rows.push(await run('reference', { budgets: headline, strategy: 'reference' }));
    const frontier: Row[] = [rows[0]!];
    for (const ratio of ctx.quick ? [4] : [4, 6, 9]) {
      const b = budgetsFor(counts, ratio, 16, 1);
      if (b) frontier.push(await run(`ours ${ratio}x`, { budgets: b }));
    }
    for (const ratio of ctx.quick ? [10] : [10, 12, 14]) {
      const b = budgetsFor(counts, ratio, 16, 2);
      if (b) frontier.push(await run(`ours ${ratio}x, self-tying 2`, { budgets: b, selfTying: 2 }));
    }
    frontier.sort((a, b) => a.result.report.totals.packingRatio - b.result.report.totals.packingRatio);

    const h = summary(rows[0]!.result);
    const ref = summary(rows[1]!.result);
    const markdown = [
      `Command: \`npm run bench -- --only plan\`${ctx.quick ? ' --quick (smoke run: 100 steps; not the recorded figures)' : ''}. Ten zoo models, ${preview.value.totalPages} pages of ${P} f32 weights (${formatBytes(preview.value.originalBytes)}); ceiling ${preview.value.ceiling.toFixed(2)}x with one page of a model per slot. ${steps} joint steps, Fisher from 256 samples, seed 1; Δ = test accuracy change in points (test splits are read only for this report).`,
      '',
      '### Ours vs the reference strategy, same models, same run',
      '',
      totalsTable(rows),
      '',
      perTaskTable(rows),
      '',
      `Ours: ${rows[0]!.result.report.totals.packingRatio.toFixed(2)}x with mean Δ ${h.mean.toFixed(2)} and worst ${h.worst.toFixed(2)} points; the reference strategy on the same models: ${rows[1]!.result.report.totals.packingRatio.toFixed(2)}x with mean Δ ${ref.mean.toFixed(2)} and worst ${ref.worst.toFixed(2)}. (Reference figures in its paper: 5.9x, mean −0.22.)`,
      '',
      '### Frontier: packing ratio vs accuracy change, with and without self-tying',
      '',
      totalsTable(frontier),
      '',
      perTaskTable(frontier),
    ].join('\n');
    return {
      markdown,
      figures: {
        packingRatio: rows[0]!.result.report.totals.packingRatio,
        meanDelta: h.mean,
        worstDelta: h.worst,
        referencePackingRatio: rows[1]!.result.report.totals.packingRatio,
        referenceMeanDelta: ref.mean,
        stepMs: rows[0]!.result.report.timing.stepMs,
      },
    };
  },
};
