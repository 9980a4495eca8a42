/**
 * Step 7 — the planner's report: a JSON-serialisable structure (stored as is in the bundle
 * manifest) and a plain-text rendering for the CLI and logs.
 *
 * Measures, as in the reference and the prototype:
 * - packing ratio = original weight bytes ÷ (shared + exclusive page bytes); page tables excluded;
 * - level-1-only ratio = original weight bytes ÷ level-1 bytes (shared pages + page tables);
 * - ceiling = Σ N_k ÷ max N_k (with self-tying: Σ N_k ÷ max ⌈N_k / t⌉).
 */
import { formatBytes } from '../core/units.ts';

export interface SplitAccuracy {
  /** 0..1. */
  readonly before: number;
  readonly after: number;
}

export interface TaskReport {
  readonly task: string;
  readonly weights: number;
  readonly pages: number;
  readonly exclusivePages: number;
  readonly test: SplitAccuracy;
  readonly val: SplitAccuracy;
}

export interface PlanReport {
  readonly version: 1;
  readonly pageSize: number;
  readonly valueType: 'f32';
  readonly valueBytes: number;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  readonly sharedPageCount: number;
  readonly selfTying: number;
  readonly strategy: string;
  readonly init: string;
  readonly tasks: readonly TaskReport[];
  readonly totals: {
    readonly originalBytes: number;
    readonly sharedBytes: number;
    readonly pageTableBytes: number;
    /** Shared pages + page tables. */
    readonly l1Bytes: number;
    /** Exclusive pages. */
    readonly l2Bytes: number;
    readonly packingRatio: number;
    readonly l1OnlyRatio: number;
    readonly ceiling: number;
  };
  /** histogram[c] = slots with c occupants. */
  readonly occupancyHistogram: readonly number[];
  readonly timing: {
    /** Mean milliseconds per joint optimisation step. */
    readonly stepMs: number;
    readonly steps: number;
    readonly bestStep: number;
    /** Wall time of the stages, seconds. */
    readonly stages: Readonly<Record<string, number>>;
  };
}

export interface ReportInput {
  readonly pageSize: number;
  readonly valueBytes?: number;
  readonly tableEntryBytes?: number;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  readonly sharedPageCount: number;
  readonly selfTying: number;
  readonly strategy: string;
  readonly init: string;
  readonly tasks: readonly TaskReport[];
  readonly occupancyHistogram: readonly number[];
  readonly timing: PlanReport['timing'];
}

/** Fills in the totals from the per-task facts. */
export function buildReport(input: ReportInput): PlanReport {
  const valueBytes = input.valueBytes ?? 4;
  const entryBytes = input.tableEntryBytes ?? 4;
  const pageBytes = input.pageSize * valueBytes;
  const originalBytes = input.tasks.reduce((a, t) => a + t.weights * valueBytes, 0);
  const sharedBytes = input.sharedPageCount * pageBytes;
  const pageTableBytes = input.tasks.reduce((a, t) => a + t.pages * entryBytes, 0);
  const l2Bytes = input.tasks.reduce((a, t) => a + t.exclusivePages * pageBytes, 0);
  const l1Bytes = sharedBytes + pageTableBytes;
  const pages = input.tasks.map((t) => t.pages);
  const maxSlots = pages.length ? Math.max(...pages.map((n) => Math.ceil(n / input.selfTying))) : 0;
  return {
    version: 1,
    pageSize: input.pageSize,
    valueType: 'f32',
    valueBytes,
    budgets: input.budgets,
    sharedPageCount: input.sharedPageCount,
    selfTying: input.selfTying,
    strategy: input.strategy,
    init: input.init,
    tasks: input.tasks,
    totals: {
      originalBytes,
      sharedBytes,
      pageTableBytes,
      l1Bytes,
      l2Bytes,
      packingRatio: sharedBytes + l2Bytes > 0 ? originalBytes / (sharedBytes + l2Bytes) : 0,
      l1OnlyRatio: l1Bytes > 0 ? originalBytes / l1Bytes : 0,
      ceiling: maxSlots > 0 ? pages.reduce((a, b) => a + b, 0) / maxSlots : 1,
    },
    occupancyHistogram: input.occupancyHistogram,
    timing: input.timing,
  };
}

/**
 * The report as a bundle stores it: the same facts without the wall-clock times (`stepMs`, `stages`).
 * The stored report is hashed into the plan id, and times differ between two runs that make the same
 * plan, so keeping them would give equal plans different ids. The CLI shows the full report.
 */
export type StoredPlanReport = Omit<PlanReport, 'timing'> & {
  readonly timing: Pick<PlanReport['timing'], 'steps' | 'bestStep'>;
};

export function storedReport(report: PlanReport): StoredPlanReport {
  const { timing, ...rest } = report;
  return { ...rest, timing: { steps: timing.steps, bestStep: timing.bestStep } };
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

/** The report as plain text: a table per task, then totals, occupancy and timing. */
export function renderReport(report: PlanReport): string {
  const rows = report.tasks.map((t) => [
    t.task,
    String(t.weights),
    String(t.pages),
    String(t.exclusivePages),
    pct(t.test.before),
    pct(t.test.after),
    delta(t.test),
    pct(t.val.before),
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
    ...table(
      ['task', 'weights', 'pages', 'excl', 'test before', 'test after', 'Δ pts', 'val before', 'val after'],
      rows,
      [false, true, true, true, true, true, true, true, true],
    ),
    '',
    `Δ test accuracy: mean ${meanDelta >= 0 ? '+' : '−'}${Math.abs(meanDelta * 100).toFixed(1)} pts${worst ? `, worst ${delta(worst.test)} (${worst.task})` : ''}`,
    `Original weights: ${formatBytes(totals.originalBytes)} (${totals.originalBytes} B)`,
    `Level 1: ${formatBytes(totals.l1Bytes)} (shared ${totals.sharedBytes} B + page tables ${totals.pageTableBytes} B) of ${formatBytes(report.budgets.l1Bytes)}`,
    `Level 2: ${formatBytes(totals.l2Bytes)} (exclusive pages) of ${formatBytes(report.budgets.l2Bytes)}`,
    `Packing: ${totals.packingRatio.toFixed(2)}x (ceiling ${totals.ceiling.toFixed(2)}x); level 1 only: ${totals.l1OnlyRatio.toFixed(2)}x`,
    `Occupancy (occupants:slots): ${hist || 'none'}`,
    `Optimisation: ${report.timing.steps} steps, best at ${report.timing.bestStep}, ${report.timing.stepMs.toFixed(1)} ms per step`,
  ];
  const stages = Object.entries(report.timing.stages);
  if (stages.length) lines.push(`Stages: ${stages.map(([s, sec]) => `${s} ${sec.toFixed(2)} s`).join(', ')}`);
  return lines.join('\n') + '\n';
}
