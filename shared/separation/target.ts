/**
 * Accuracy-target mode (`wsep plan --max-drop 0.5`): the smallest level-1 budget whose plan keeps
 * every task within the given drop of validation accuracy, found by bisection over the number of
 * shared pages M (more pages, fewer occupants per page, less to recover). Fisher is computed once and
 * reused. Every probe is kept: together they are the frontier (bytes against accuracy change).
 * The decision uses validation accuracy only; test accuracy is reported, never used.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { DeviceTraits } from '../image/device-profile.ts';
import type { ValueType } from '../image/plan.ts';
import { pageBytes as bytesPerPage, residencyForecast, tableBytes } from '../image/memory.ts';
import type { FisherResult } from './fisher.ts';
import { withOverrides, type PlannerOptions, type PlannerTask } from './planner-options.ts';
import { planSeparation, previewPlan, type PlanResult } from './planner.ts';

export interface FrontierPoint {
  readonly l1Bytes: number;
  readonly l2Bytes: number;
  readonly sharedPageCount: number;
  /** image/memory.ts: original weight bytes ÷ (shared + tables + exclusive pages). */
  readonly storedPacking: number;
  /** The same with the device's runtime residency added. */
  readonly devicePacking: number;
  readonly meanValDrop: number;
  readonly worstValDrop: number;
  readonly meanTestDelta: number;
  readonly worstTestDelta: number;
  readonly meets: boolean;
}

export interface TargetResult {
  readonly best: PlanResult | undefined;
  readonly frontier: readonly FrontierPoint[];
}

export interface TargetOptions {
  /** Largest validation drop allowed for any task, in points. */
  readonly maxDropPoints: number;
  /** Plans to try at most. Default 6. */
  readonly probes?: number;
}

export function frontierPoint(result: PlanResult, maxDropPoints: number): FrontierPoint {
  const r = result.report;
  const valDrops = r.tasks.map((t) => (t.val.before - t.val.after) * 100);
  const testDeltas = r.tasks.map((t) => (t.test.after - t.test.before) * 100);
  return {
    l1Bytes: r.totals.l1Bytes,
    l2Bytes: r.totals.l2Bytes,
    sharedPageCount: r.sharedPageCount,
    storedPacking: r.totals.storedPacking,
    devicePacking: r.totals.devicePacking,
    meanValDrop: valDrops.reduce((a, b) => a + b, 0) / valDrops.length,
    worstValDrop: Math.max(...valDrops),
    meanTestDelta: testDeltas.reduce((a, b) => a + b, 0) / testDeltas.length,
    worstTestDelta: Math.min(...testDeltas),
    meets: Math.max(...valDrops) <= maxDropPoints,
  };
}

/**
 * The level-1 budget for a pool of m shared pages on the device (image/memory.ts): page tables, m
 * pages, and the runtime's residency with its exclusive-page buffer sized for the pages forced at m.
 * separate.ts sizes the pool from it to at least m pages (fewer only when it raises the buffer for
 * extra exclusive pages, which it does only while the budgets still hold).
 */
export function level1BudgetFor(
  m: number,
  shape: {
    readonly pageSize: number;
    /** How pages are stored; f32 when absent (i8 pages take P + 4 bytes with their scale). */
    readonly valueType?: ValueType;
    readonly weightCounts: readonly number[];
    readonly selfTying: number;
    readonly device: DeviceTraits;
  },
): number {
  const P = shape.pageSize;
  const counts = shape.weightCounts.map((n) => Math.ceil(n / P));
  const forecast = residencyForecast(
    {
      pageSize: P,
      weightCounts: shape.weightCounts,
      ...(shape.valueType ? { valueType: shape.valueType } : {}),
    },
    shape.device.runtime,
  );
  const forcedMax = Math.max(0, ...counts.map((n) => n - shape.selfTying * m));
  return (
    tableBytes(
      counts.reduce((a, b) => a + b, 0),
      shape.device.tableEntryBytes,
    ) +
    m * bytesPerPage(P, shape.valueType) +
    forecast.fixedBytes +
    forcedMax * forecast.bytesPerExclusivePage
  );
}

export async function planForAccuracy(
  tasks: readonly PlannerTask[],
  options: PlannerOptions,
  target: TargetOptions,
): Promise<Result<TargetResult>> {
  if (!(target.maxDropPoints >= 0))
    return fail('E_USAGE', `--max-drop must be 0 or more points, got ${target.maxDropPoints}.`);
  const { device, method } = options;
  const preview = previewPlan(tasks, method.pageSize, method.selfTying);
  if (!preview.ok) return preview;
  const P = method.pageSize;
  const pageBytes = bytesPerPage(P, method.valueType);
  const l2Pages = Math.floor(device.l2Bytes / pageBytes);
  const counts = preview.value.pageCounts;
  const level1For = (m: number) =>
    level1BudgetFor(m, {
      pageSize: P,
      ...(method.valueType ? { valueType: method.valueType } : {}),
      weightCounts: preview.value.weightCounts,
      selfTying: method.selfTying,
      device,
    });
  // The smallest M the level-2 budget allows: the pages beyond M of each model must fit level 2.
  let lo = 1;
  while (
    lo < Math.max(...counts) &&
    counts.reduce((a, n) => a + Math.max(0, n - method.selfTying * lo), 0) > l2Pages
  )
    lo++;
  let hi = preview.value.totalPages;
  const frontier: FrontierPoint[] = [];
  let best: PlanResult | undefined;
  let fisherCache: ReadonlyMap<string, FisherResult> | undefined;
  const probes = target.probes ?? 6;
  // First probe: enough slots for the largest model (no forced exclusive pages), then bisect.
  let m = Math.min(hi, Math.max(lo, Math.max(...counts)));
  for (let i = 0; i < probes && lo <= hi; i++) {
    // Only the level-1 size varies; Fisher is computed by the first probe and reused.
    const probe = withOverrides(
      { ...options, device: { ...device, l1Bytes: level1For(m) } },
      {
        run: fisherCache ? { fisherCache } : {},
      },
    );
    const run = await planSeparation(tasks, probe);
    if (!run.ok) return run;
    fisherCache = run.value.fisher;
    const point = frontierPoint(run.value, target.maxDropPoints);
    frontier.push(point);
    if (point.meets) {
      if (!best || point.l1Bytes < best.report.totals.l1Bytes) best = run.value;
      hi = m - 1;
    } else {
      lo = m + 1;
    }
    m = Math.floor((lo + hi) / 2);
  }
  frontier.sort((a, b) => a.l1Bytes - b.l1Bytes);
  return ok({ best, frontier });
}
