/**
 * The planner's report as a bundle stores it (manifest `report`, docs/FORMAT.md §10): its type and
 * a parser that turns stored JSON back into it. The store saves it and the app charts it, so it is a
 * contract like the plan; the planner builds it (separation/report.ts) and readers parse it here.
 *
 * Version 3 adds int8 pages: `valueType` "i8", and per task the accuracy of the same pages kept as
 * float32 (`f32Pages`), so that both value types are judged at the same budget. Versions 2 and 1 read
 * as version 3 with f32 pages.
 *
 * Version 2 states the two packing ratios of image/memory.ts and the device profile they are for.
 * Version 1 (older bundles: `packingRatio` without tables, `l1OnlyRatio`, level 1 without runtime,
 * wall-clock times) still parses: its figures were made with no runtime counted, so it reads as a
 * version-2 report for the `stored` device, with empty `initLosses` and `history` when absent.
 */
import { raise, attempt, type Result } from '../core/errors.ts';
import { SELECTION_CRITERIA, type SelectionCriterion } from '../core/progress.ts';
import { STORED_DEVICE, type DeviceTraits, type RuntimeResidency } from './device-profile.ts';
import type { MemoryAccount, RuntimeParts } from './memory.ts';
import type { ValueType } from './plan.ts';

export const PLAN_REPORT_VERSION = 3;

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
  /**
   * i8 plans only: accuracy (0..1) of the same float master pages the int8 pages were quantised
   * from, stored as float32 — what the plan would score at the same budget with f32 pages.
   */
  readonly f32Pages?: { readonly test: number; readonly val: number };
}

/** Byte counts and ratios of image/memory.ts, for the report's device. */
export interface ReportTotals {
  readonly originalBytes: number;
  readonly sharedBytes: number;
  readonly pageTableBytes: number;
  readonly exclusiveBytes: number;
  /** What the device's runtime keeps in level 1 (all 0 for the `stored` device). */
  readonly runtime: RuntimeParts;
  /** Level 1: shared pages + page tables + runtime. */
  readonly l1Bytes: number;
  /** Level 2: exclusive pages. */
  readonly l2Bytes: number;
  /** Original weight bytes ÷ (shared pages + page tables + exclusive pages). */
  readonly storedPacking: number;
  /** Original weight bytes ÷ (shared pages + page tables + exclusive pages + runtime). */
  readonly devicePacking: number;
  /** Σ N_k ÷ max N_k (with self-tying t: Σ N_k ÷ max ⌈N_k / t⌉). */
  readonly ceiling: number;
}

/**
 * One validation evaluation of the joint optimisation (separation/optimize.ts `EvalPoint`). The
 * first five members are in every report; the rest — what the selection rule saw and did — came with
 * issue 12 and are absent from older reports and from the reference strategy's history. Per-task
 * arrays are in task order (the report's `tasks`), accuracies and floors 0..1.
 */
export interface ReportEvalPoint {
  readonly step: number;
  /** Per task, in task order, 0..1. */
  readonly valAccuracy: readonly number[];
  readonly meanValAccuracy: number;
  /** max over tasks of (floor − accuracy), ≤ 0 when every floor holds. */
  readonly worstViolation: number;
  /** Mean over tasks of max(0, floor − accuracy). */
  readonly meanShortfall: number;
  /** Per task, the mean validation loss. */
  readonly valLoss?: readonly number[];
  /** Per task, the accuracy the selection rule read (a trailing mean over recent evaluations). */
  readonly smoothedAccuracy?: readonly number[];
  /** Per task, its floor. */
  readonly floors?: readonly number[];
  /** Per task, the standard error of its validation accuracy (its noise). */
  readonly noise?: readonly number[];
  /** The selection criterion at this point and its value (higher is better within a name). */
  readonly criterion?: { readonly name: SelectionCriterion; readonly value: number };
  /** Whether this point was the snapshot kept as of this evaluation. */
  readonly best?: boolean;
  /** The learning rate of the steps after this evaluation. */
  readonly lr?: number;
  /** Per task, the gradient weight of the steps after this evaluation (task focus). */
  readonly focusWeights?: readonly number[];
  /** Patience ran out here and the kept pages were restored, at a lower rate. */
  readonly restart?: boolean;
}

/** The report's totals: the memory account's figures under the report's names, with the ceiling. */
export function reportTotals(account: MemoryAccount, ceiling: number): ReportTotals {
  return {
    originalBytes: account.originalBytes,
    sharedBytes: account.sharedBytes,
    pageTableBytes: account.pageTableBytes,
    exclusiveBytes: account.exclusiveBytes,
    runtime: account.runtime,
    l1Bytes: account.level1Bytes,
    l2Bytes: account.level2Bytes,
    storedPacking: account.storedPacking,
    devicePacking: account.devicePacking,
    ceiling,
  };
}

export interface ReportTiming {
  /** Joint optimisation steps run. */
  readonly steps: number;
  /** The step whose snapshot the plan keeps. */
  readonly bestStep: number;
  /** Mean milliseconds per step: in the CLI's report and older bundles, never stored by new ones. */
  readonly stepMs?: number;
  /** Wall time of the stages, seconds: as `stepMs`. */
  readonly stages?: Readonly<Record<string, number>>;
}

/**
 * Which budget a plan obeys: 'device' — the budgets it was planned for (`budgets`), which its level 1
 * and level 2 fit; 'own' — the method's own footprint, the budgets not applied (the reference
 * strategy's fixed pool and Fisher-mass rule), so its bytes may exceed `budgets`.
 */
export type BudgetObeyed = 'device' | 'own';

export interface PlanReport {
  readonly version: typeof PLAN_REPORT_VERSION;
  readonly pageSize: number;
  readonly valueType: ValueType;
  readonly valueBytes: number;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  /**
   * Which budget the plan obeys. Absent in reports written before it: read as 'own' for the
   * strategy "reference" (which never applied the budgets) and 'device' for any other.
   */
  readonly budgetObeyed: BudgetObeyed;
  /** The device the plan was made for, apart from its sizes (which are `budgets`). */
  readonly device: DeviceTraits;
  readonly sharedPageCount: number;
  /** Pages of one model per slot (1 = self-tying off). */
  readonly selfTying: number;
  readonly strategy: string;
  readonly init: string;
  readonly tasks: readonly TaskReport[];
  readonly totals: ReportTotals;
  /** histogram[c] = slots with c occupants. */
  readonly occupancyHistogram: readonly number[];
  readonly timing: ReportTiming;
  /** Mean validation loss of each shared-page initialisation tried (null: not finite). */
  readonly initLosses: Readonly<Record<string, number | null>>;
  /** The joint optimisation's validation evaluations, in step order. */
  readonly history: readonly ReportEvalPoint[];
}

// ---- The parser ----

type Json = Record<string, unknown>;

function bad(path: string, what: string): never {
  raise('E_BUNDLE', `The plan report's ${path} ${what}.`);
}

function object(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'is not an object');
  return v as Json;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) bad(path, v === undefined ? 'is missing' : 'is not an array');
  return v;
}

function finite(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    bad(path, v === undefined ? 'is missing' : `is ${JSON.stringify(v)}, not a finite number`);
  return v;
}

function whole(v: unknown, path: string): number {
  const n = finite(v, path);
  if (!Number.isSafeInteger(n) || n < 0) bad(path, `is ${n}, not a whole number ≥ 0`);
  return n;
}

function number(o: Json, key: string, path: string): number {
  return finite(o[key], `${path}${key}`);
}

function count(o: Json, key: string, path: string): number {
  return whole(o[key], `${path}${key}`);
}

function text(o: Json, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') bad(`${path}${key}`, v === undefined ? 'is missing' : 'is not a string');
  return v;
}

function split(v: unknown, path: string): SplitAccuracy {
  const o = object(v, path);
  return { before: number(o, 'before', `${path}.`), after: number(o, 'after', `${path}.`) };
}

function runtimeResidency(v: unknown, path: string): RuntimeResidency {
  const o = object(v, path);
  const kind = o['kind'];
  if (kind === 'none' || kind === 'onnxruntime') return { kind };
  if (kind === 'mcu') return { kind, activationArenaBytes: count(o, 'activationArenaBytes', `${path}.`) };
  return bad(`${path}.kind`, `is ${JSON.stringify(kind)}, not "none", "onnxruntime" or "mcu"`);
}

function device(v: unknown): DeviceTraits {
  const o = object(v, 'device');
  const entry = o['tableEntryBytes'];
  if (entry !== 2 && entry !== 4) bad('device.tableEntryBytes', `is ${JSON.stringify(entry)}, not 2 or 4`);
  return {
    name: text(o, 'name', 'device.'),
    tableEntryBytes: entry,
    runtime: runtimeResidency(o['runtime'], 'device.runtime'),
  };
}

function runtimeParts(v: unknown): RuntimeParts {
  const o = object(v, 'totals.runtime');
  const p = 'totals.runtime.';
  return {
    gatherRuns: count(o, 'gatherRuns', p),
    weightBuffer: count(o, 'weightBuffer', p),
    exclusiveBuffer: count(o, 'exclusiveBuffer', p),
    activationArena: count(o, 'activationArena', p),
    total: count(o, 'total', p),
  };
}

const NO_RUNTIME: RuntimeParts = {
  gatherRuns: 0,
  weightBuffer: 0,
  exclusiveBuffer: 0,
  activationArena: 0,
  total: 0,
};

/** Keys in the order the planner writes them (separation/report.ts), so a parsed report re-serialises alike. */
function totals(v: unknown, version: 1 | 2 | 3): ReportTotals {
  const o = object(v, 'totals');
  const p = 'totals.';
  const originalBytes = count(o, 'originalBytes', p);
  const sharedBytes = count(o, 'sharedBytes', p);
  const pageTableBytes = count(o, 'pageTableBytes', p);
  if (version >= 2)
    return {
      originalBytes,
      sharedBytes,
      pageTableBytes,
      exclusiveBytes: count(o, 'exclusiveBytes', p),
      runtime: runtimeParts(o['runtime']),
      l1Bytes: count(o, 'l1Bytes', p),
      l2Bytes: count(o, 'l2Bytes', p),
      storedPacking: number(o, 'storedPacking', p),
      devicePacking: number(o, 'devicePacking', p),
      ceiling: number(o, 'ceiling', p),
    };
  // Version 1: level 1 was shared pages + tables (no runtime), level 2 the exclusive pages.
  const l1Bytes = count(o, 'l1Bytes', p);
  const l2Bytes = count(o, 'l2Bytes', p);
  const stored = l1Bytes + l2Bytes;
  const packing = stored > 0 ? originalBytes / stored : 0;
  return {
    originalBytes,
    sharedBytes,
    pageTableBytes,
    exclusiveBytes: l2Bytes,
    runtime: NO_RUNTIME,
    l1Bytes,
    l2Bytes,
    storedPacking: packing,
    devicePacking: packing,
    ceiling: number(o, 'ceiling', p),
  };
}

function timing(v: unknown): ReportTiming {
  const o = object(v, 'timing');
  const out: { -readonly [K in keyof ReportTiming]: ReportTiming[K] } = {
    steps: count(o, 'steps', 'timing.'),
    bestStep: count(o, 'bestStep', 'timing.'),
  };
  if (o['stepMs'] !== undefined) out.stepMs = number(o, 'stepMs', 'timing.');
  if (o['stages'] !== undefined) {
    const stages = object(o['stages'], 'timing.stages');
    out.stages = Object.fromEntries(Object.keys(stages).map((k) => [k, number(stages, k, 'timing.stages.')]));
  }
  return out;
}

function initLosses(v: unknown): Record<string, number | null> {
  if (v === undefined) return {};
  const o = object(v, 'initLosses');
  return Object.fromEntries(
    Object.keys(o).map((k) => [k, o[k] === null ? null : number(o, k, 'initLosses.')]),
  );
}

function numbers(v: unknown, path: string): number[] {
  return array(v, path).map((a, k) => finite(a, `${path}[${k}]`));
}

function criterion(v: unknown, path: string): { name: SelectionCriterion; value: number } {
  const o = object(v, path);
  const name = SELECTION_CRITERIA.find((c) => c === o['name']);
  if (!name)
    bad(`${path}.name`, `is ${JSON.stringify(o['name'])}, not one of ${SELECTION_CRITERIA.join(', ')}`);
  return { name, value: number(o, 'value', `${path}.`) };
}

function flag(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') bad(path, `is ${JSON.stringify(v)}, not true or false`);
  return v;
}

/** Keys in the order the optimiser writes them (optimize.ts), so a parsed history re-serialises alike. */
function history(v: unknown): ReportEvalPoint[] {
  if (v === undefined) return [];
  return array(v, 'history').map((e, i) => {
    const p = `history[${i}].`;
    const o = object(e, `history[${i}]`);
    const out: { -readonly [K in keyof ReportEvalPoint]: ReportEvalPoint[K] } = {
      step: count(o, 'step', p),
      valAccuracy: numbers(o['valAccuracy'], `${p}valAccuracy`),
      meanValAccuracy: number(o, 'meanValAccuracy', p),
      worstViolation: number(o, 'worstViolation', p),
      meanShortfall: number(o, 'meanShortfall', p),
    };
    // Issue 12's members, each optional: older reports and the reference's history lack them.
    for (const key of ['valLoss', 'smoothedAccuracy', 'floors', 'noise'] as const)
      if (o[key] !== undefined) out[key] = numbers(o[key], `${p}${key}`);
    if (o['criterion'] !== undefined) out.criterion = criterion(o['criterion'], `${p}criterion`);
    if (o['best'] !== undefined) out.best = flag(o['best'], `${p}best`);
    if (o['lr'] !== undefined) out.lr = number(o, 'lr', p);
    if (o['focusWeights'] !== undefined) out.focusWeights = numbers(o['focusWeights'], `${p}focusWeights`);
    if (o['restart'] !== undefined) out.restart = flag(o['restart'], `${p}restart`);
    return out;
  });
}

/**
 * A history as JSON lines (`wsep plan --history`, scripts/selection-study.ts): one evaluation per
 * line, each naming the tasks its per-task arrays follow, so that a line reads on its own.
 */
export function historyJsonLines(tasks: readonly string[], points: readonly ReportEvalPoint[]): string {
  return points.map(({ step, ...rest }) => JSON.stringify({ step, tasks, ...rest }) + '\n').join('');
}

function budgetObeyed(v: unknown, strategy: string): BudgetObeyed {
  if (v === undefined) return strategy === 'reference' ? 'own' : 'device';
  if (v !== 'device' && v !== 'own') bad('budgetObeyed', `is ${JSON.stringify(v)}, not "device" or "own"`);
  return v;
}

/**
 * Checks a stored report (untrusted JSON) member by member and returns it typed; E_BUNDLE names the
 * first member that is wrong. Members it does not know are dropped; version 1 gets the defaults above.
 */
export function parsePlanReport(json: unknown): Result<PlanReport> {
  return attempt(() => {
    const o = object(json, 'top level');
    const version = o['version'];
    if (version !== 1 && version !== 2 && version !== 3)
      bad('version', `is ${JSON.stringify(version)}; this reader knows versions 1, 2 and 3`);
    const valueType = o['valueType'];
    // Int8 pages came with version 3.
    if (valueType !== 'f32' && !(version === 3 && valueType === 'i8'))
      bad('valueType', `is ${JSON.stringify(valueType)}, not ${version === 3 ? '"f32" or "i8"' : '"f32"'}`);
    const budgets = object(o['budgets'], 'budgets');
    const strategy = text(o, 'strategy', '');
    const tasks = array(o['tasks'], 'tasks').map((t, i): TaskReport => {
      const p = `tasks[${i}].`;
      const r = object(t, `tasks[${i}]`);
      const task: TaskReport = {
        task: text(r, 'task', p),
        weights: count(r, 'weights', p),
        pages: count(r, 'pages', p),
        exclusivePages: count(r, 'exclusivePages', p),
        test: split(r['test'], `${p}test`),
        val: split(r['val'], `${p}val`),
      };
      // Present exactly for i8 pages: a figure of f32 pages would be the plan's own, and a missing one
      // would hide the comparison the report exists to make.
      if (valueType === 'i8') {
        const f = object(r['f32Pages'], `${p}f32Pages`);
        return {
          ...task,
          f32Pages: { test: number(f, 'test', `${p}f32Pages.`), val: number(f, 'val', `${p}f32Pages.`) },
        };
      }
      if (r['f32Pages'] !== undefined) bad(`${p}f32Pages`, 'is present, but the pages are f32');
      return task;
    });
    return {
      version: PLAN_REPORT_VERSION,
      pageSize: count(o, 'pageSize', ''),
      valueType,
      valueBytes: count(o, 'valueBytes', ''),
      budgets: {
        l1Bytes: count(budgets, 'l1Bytes', 'budgets.'),
        l2Bytes: count(budgets, 'l2Bytes', 'budgets.'),
      },
      budgetObeyed: budgetObeyed(o['budgetObeyed'], strategy),
      device: version >= 2 ? device(o['device']) : STORED_DEVICE,
      sharedPageCount: count(o, 'sharedPageCount', ''),
      selfTying: count(o, 'selfTying', ''),
      strategy,
      init: text(o, 'init', ''),
      tasks,
      totals: totals(o['totals'], version),
      occupancyHistogram: array(o['occupancyHistogram'], 'occupancyHistogram').map((slots, c) =>
        whole(slots, `occupancyHistogram[${c}]`),
      ),
      timing: timing(o['timing']),
      initLosses: initLosses(o['initLosses']),
      history: history(o['history']),
    };
  }, 'E_BUNDLE');
}

/**
 * The report a bundle reader gives: the stored report parsed, or null when there is none or it is
 * not one of ours (the manifest keeps it as it was; docs/FORMAT.md §3.1: the report is informative).
 */
export function readPlanReport(stored: unknown): PlanReport | null {
  if (stored === null || stored === undefined) return null;
  const parsed = parsePlanReport(stored);
  return parsed.ok ? parsed.value : null;
}
