/**
 * Step 7 — the planner's report: built from the per-task facts (the type and its parser are the
 * bundle's contract, image/report.ts), and rendered as plain text for the CLI and logs.
 *
 * Measures (image/memory.ts; docs/FORMAT.md §9):
 * - stored packing = original weight bytes ÷ (shared pages + page tables + exclusive pages);
 * - device packing = original weight bytes ÷ (the same + what the device's runtime keeps in level 1);
 * - ceiling = Σ N_k ÷ max N_k (with self-tying: Σ N_k ÷ max ⌈N_k / t⌉).
 */
import { formatBytes } from '../core/units.ts';
import { STORED_DEVICE, describeRuntime, type DeviceTraits } from '../image/device-profile.ts';
import { describeLevel1, memoryAccount } from '../image/memory.ts';
import { valueBytesOf, type ValueType } from '../image/plan.ts';
import {
  PLAN_REPORT_VERSION,
  reportTotals,
  type BudgetObeyed,
  type PlanReport,
  type ReportEvalPoint,
  type ReportTiming,
  type SplitAccuracy,
  type TaskReport,
} from '../image/report.ts';

export type { PlanReport, SplitAccuracy, TaskReport } from '../image/report.ts';

/** The report as the planner returns it to its caller: with the wall-clock times, which are not stored. */
export type TimedPlanReport = PlanReport & {
  readonly timing: ReportTiming & {
    /** Mean milliseconds per joint optimisation step. */
    readonly stepMs: number;
    /** Wall time of the stages, seconds. */
    readonly stages: Readonly<Record<string, number>>;
  };
};

export interface ReportInput {
  readonly pageSize: number;
  /** How pages are stored; f32 when absent. i8 tasks carry `f32Pages`. */
  readonly valueType?: ValueType;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  /** Which budget the plan obeys: the device's, or the method's own footprint (the strategy's `budget`). */
  readonly budgetObeyed: BudgetObeyed;
  /** The device planned for; default the stored plan alone. */
  readonly device?: DeviceTraits;
  readonly sharedPageCount: number;
  readonly selfTying: number;
  readonly strategy: string;
  readonly init: string;
  readonly tasks: readonly TaskReport[];
  readonly occupancyHistogram: readonly number[];
  readonly timing: TimedPlanReport['timing'];
  readonly initLosses?: Readonly<Record<string, number | null>>;
  readonly history?: readonly ReportEvalPoint[];
}

/** Fills in the totals from the per-task facts, with image/memory.ts's account for the device. */
export function buildReport(input: ReportInput): TimedPlanReport {
  const valueType = input.valueType ?? 'f32';
  const device = input.device ?? STORED_DEVICE;
  const account = memoryAccount(
    {
      pageSize: input.pageSize,
      valueType,
      sharedPageCount: input.sharedPageCount,
      models: input.tasks.map((t) => ({ weightCount: t.weights, exclusivePageCount: t.exclusivePages })),
    },
    device,
  );
  const pages = input.tasks.map((t) => t.pages);
  const maxSlots = pages.length ? Math.max(...pages.map((n) => Math.ceil(n / input.selfTying))) : 0;
  return {
    version: PLAN_REPORT_VERSION,
    pageSize: input.pageSize,
    valueType,
    valueBytes: valueBytesOf(valueType),
    budgets: input.budgets,
    budgetObeyed: input.budgetObeyed,
    device,
    sharedPageCount: input.sharedPageCount,
    selfTying: input.selfTying,
    strategy: input.strategy,
    init: input.init,
    tasks: input.tasks,
    totals: reportTotals(account, maxSlots > 0 ? pages.reduce((a, b) => a + b, 0) / maxSlots : 1),
    occupancyHistogram: input.occupancyHistogram,
    timing: input.timing,
    initLosses: input.initLosses ?? {},
    history: input.history ?? [],
  };
}

/**
 * The report as a bundle stores it: the same facts without the wall-clock times (`stepMs`, `stages`).
 * The stored report is hashed into the plan id, and times differ between two runs that make the same
 * plan, so keeping them would give equal plans different ids. The CLI shows the full report.
 */
export function storedReport(report: PlanReport): PlanReport {
  // Spreading keeps `timing` in its place, so the stored members keep the order readers parse them in.
  return { ...report, timing: { steps: report.timing.steps, bestStep: report.timing.bestStep } };
}

const pct = (x: number) => (x * 100).toFixed(1);
const delta = (s: SplitAccuracy) => {
  const d = (s.after - s.before) * 100;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)}`;
};

function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAlign: readonly boolean[],
): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (rightAlign[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/**
 * "Packing: stored 7.87x (shared + tables + exclusive pages), device 5.02x on linux-ort (+ runtime)":
 * both labelled ratios, as every figure of the repository states them.
 */
export function packingLine(report: Pick<PlanReport, 'totals' | 'device'>): string {
  const t = report.totals;
  return `Packing: stored ${t.storedPacking.toFixed(2)}x (shared + tables + exclusive pages), device ${t.devicePacking.toFixed(2)}x on ${report.device.name} (+ runtime ${t.runtime.total} B)`;
}

/**
 * Which budget the plan obeys, in words: a plan at its method's own footprint says so, and by how
 * much it exceeds the budgets it was given, so that nobody reads its bytes as the device's.
 */
export function budgetLine(report: Pick<PlanReport, 'budgetObeyed' | 'budgets' | 'totals'>): string {
  if (report.budgetObeyed === 'device') return 'Budget: the device budgets (level 1 and level 2 fit them)';
  const over = [
    report.totals.l1Bytes > report.budgets.l1Bytes
      ? `level 1 over by ${formatBytes(report.totals.l1Bytes - report.budgets.l1Bytes)}`
      : '',
    report.totals.l2Bytes > report.budgets.l2Bytes
      ? `level 2 over by ${formatBytes(report.totals.l2Bytes - report.budgets.l2Bytes)}`
      : '',
  ].filter(Boolean);
  return `Budget: the method's own footprint; the device budgets were not applied (${over.length ? over.join(', ') : 'it happens to fit them'})`;
}

/** The report as plain text: a table per task, then totals, occupancy and timing. */
export function renderReport(report: PlanReport): string {
  // i8 plans: the same float master pages as f32 next to the int8 figure ("after"), same budget.
  const i8 = report.valueType === 'i8';
  const rows = report.tasks.map((t) => [
    t.task,
    String(t.weights),
    String(t.pages),
    String(t.exclusivePages),
    pct(t.test.before),
    ...(i8 ? [t.f32Pages ? pct(t.f32Pages.test) : '-'] : []),
    pct(t.test.after),
    delta(t.test),
    pct(t.val.before),
    ...(i8 ? [t.f32Pages ? pct(t.f32Pages.val) : '-'] : []),
    pct(t.val.after),
  ]);
  const meanDelta = report.tasks.length
    ? report.tasks.reduce((a, t) => a + (t.test.after - t.test.before), 0) / report.tasks.length
    : 0;
  const worst = report.tasks.reduce<TaskReport | undefined>(
    (w, t) => (!w || t.test.after - t.test.before < w.test.after - w.test.before ? t : w),
    undefined,
  );
  const { totals } = report;
  const hist = report.occupancyHistogram
    .map((slots, c) => (slots > 0 ? `${c}:${slots}` : ''))
    .filter(Boolean)
    .join(' ');
  const lines = [
    `Plan: ${report.tasks.length} tasks, page ${report.pageSize} × ${report.valueType}, ${report.sharedPageCount} shared pages, strategy ${report.strategy}, init ${report.init}${report.selfTying > 1 ? `, self-tying ${report.selfTying} per slot` : ''}`,
    '',
    ...(i8
      ? table(
          [
            'task',
            'weights',
            'pages',
            'excl',
            'test before',
            'test f32 pages',
            'test i8 pages',
            'Δ pts',
            'val before',
            'val f32 pages',
            'val i8 pages',
          ],
          rows,
          [false, true, true, true, true, true, true, true, true, true, true],
        )
      : table(
          [
            'task',
            'weights',
            'pages',
            'excl',
            'test before',
            'test after',
            'Δ pts',
            'val before',
            'val after',
          ],
          rows,
          [false, true, true, true, true, true, true, true, true],
        )),
    '',
    `Δ test accuracy: mean ${meanDelta >= 0 ? '+' : '−'}${Math.abs(meanDelta * 100).toFixed(1)} pts${worst ? `, worst ${delta(worst.test)} (${worst.task})` : ''}`,
    `Original weights: ${formatBytes(totals.originalBytes)} (${totals.originalBytes} B)`,
    `Device: ${report.device.name} (${describeRuntime(report.device.runtime)}; ${report.device.tableEntryBytes}-byte table entries)`,
    `Level 1: ${formatBytes(totals.l1Bytes)} (${describeLevel1(totals)}) of ${formatBytes(report.budgets.l1Bytes)}`,
    `Level 2: ${formatBytes(totals.l2Bytes)} (exclusive pages) of ${formatBytes(report.budgets.l2Bytes)}`,
    budgetLine(report),
    `${packingLine(report)}; ceiling ${totals.ceiling.toFixed(2)}x`,
    `Occupancy (occupants:slots): ${hist || 'none'}`,
    `Optimisation: ${report.timing.steps} steps, best at ${report.timing.bestStep}${report.timing.stepMs !== undefined ? `, ${report.timing.stepMs.toFixed(1)} ms per step` : ''}`,
  ];
  const stages = Object.entries(report.timing.stages ?? {});
  if (stages.length) lines.push(`Stages: ${stages.map(([s, sec]) => `${s} ${sec.toFixed(2)} s`).join(', ')}`);
  return lines.join('\n') + '\n';
}
