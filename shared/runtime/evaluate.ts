/**
 * Re-measuring a bundle on its tasks' data: each model runs through the paged runtime on a split of
 * its task, and the accuracy is compared with the one the planner stored in the manifest. A health
 * check of the whole chain — files, gather, sessions, data — that `wsep eval` renders and the device
 * agent reuses.
 *
 * All data is loaded and checked against the bundle (classes, input shape, preprocessing) before any
 * model runs, so a wrong data folder is reported at once and never as a drop in accuracy.
 */
import { fail, ok, toError, type Result } from '../core/errors.ts';
import { noProgress, ProgressTracker, type ProgressSink } from '../core/progress.ts';
import { findTaskDir, loadTask } from '../datasets/load.ts';
import type { Split } from '../datasets/types.ts';
import { preprocessingDifference } from './preprocess.ts';
import { PagedRuntime, type RuntimeModelInfo, type RuntimeOptions } from './runtime.ts';

export type EvalSplit = 'test' | 'val';

export const DEFAULT_TOLERANCE_POINTS = 0.1;

export interface EvaluateOptions {
  /** Folders searched for task data, in order (build with `dataRoots`). */
  readonly roots: readonly string[];
  /** Default 'test'. */
  readonly split?: EvalSplit;
  /** The models to evaluate (default: all, in bundle order). */
  readonly models?: readonly string[];
  /** Largest |measured − stored| accuracy, in percentage points, still counted as agreeing (default 0.1). */
  readonly tolerancePoints?: number;
  readonly batchSize?: number;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** For `evaluateBundle`'s own runtime; default: lazy sessions, every read checked against its hash. */
  readonly runtime?: RuntimeOptions;
}

export interface ModelEvaluation {
  readonly model: string;
  /** The task folder the data came from. */
  readonly dataDir: string;
  readonly samples: number;
  /** The manifest's accuracy after separation on this split, 0..1. */
  readonly stored: number;
  /** The manifest's accuracy of the original model on this split, 0..1 (for context). */
  readonly storedBefore: number;
  readonly measured: number;
  /** (measured − stored) × 100. */
  readonly deltaPoints: number;
  /** |deltaPoints| ≤ tolerance. */
  readonly ok: boolean;
}

export interface BundleEvaluation {
  readonly planId: string;
  readonly split: EvalSplit;
  readonly tolerancePoints: number;
  readonly models: readonly ModelEvaluation[];
  /** Every model within tolerance. */
  readonly ok: boolean;
}

/** Room for float rounding in Δ, so that a Δ of exactly the tolerance counts as within it. */
const EPSILON_POINTS = 1e-9;

export interface ModelSplit {
  readonly info: RuntimeModelInfo;
  readonly dataDir: string;
  readonly split: Split;
}

function cancelled(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

const CANCELLED = (): Result<never> => fail('E_CANCELLED', 'The evaluation was cancelled.');

/**
 * Loads `info`'s task and checks it is the data the model was planned with (the device agent's health
 * slices are cut from the same split, so they get the same checks).
 */
export function loadModelSplit(
  info: RuntimeModelInfo,
  roots: readonly string[],
  split: EvalSplit,
): Result<ModelSplit> {
  const dir = findTaskDir(info.name, roots);
  if (!dir.ok) return dir;
  const data = loadTask(info.name, { roots });
  if (!data.ok) return data;
  const d = data.value;
  const where = `Task data ${dir.value}`;
  const hint =
    'Pass --data with the folder the plan was made from (the task must be the same import), or plan again with this data.';
  if (d.classes.length !== info.classes.length || d.classes.some((c, i) => c !== info.classes[i])) {
    return fail(
      'E_DATA_MISMATCH',
      `${where} has classes [${d.classes.join(', ')}], but model "${info.name}" in the bundle was planned with [${info.classes.join(', ')}]: this is another task's data.`,
      hint,
    );
  }
  if (
    d.inputShape.length !== info.inputShape.length ||
    d.inputShape.some((v, i) => v !== info.inputShape[i])
  ) {
    return fail(
      'E_DATA_MISMATCH',
      `${where} has samples of shape [${d.inputShape.join(', ')}], but model "${info.name}" takes [${info.inputShape.join(', ')}]: this is another task's data.`,
      hint,
    );
  }
  const difference = preprocessingDifference(info.preprocessing, d.preprocessing);
  if (difference !== undefined) {
    return fail(
      'E_DATA_MISMATCH',
      `${where} does not match model "${info.name}" in the bundle: its preprocessing has ${difference}, so the data was re-imported or is another task's.`,
      hint,
    );
  }
  const s = d[split];
  // A copy of the one split, so the rest of the task's buffer can be freed while the others load.
  return ok({ info, dataDir: dir.value, split: { n: s.n, x: s.x.slice(), y: s.y.slice() } });
}

/** Evaluates models of an open runtime (which must have been opened on the bundle being checked). */
export async function evaluateRuntime(
  runtime: PagedRuntime,
  options: EvaluateOptions,
): Promise<Result<BundleEvaluation>> {
  const split = options.split ?? 'test';
  const tolerance = options.tolerancePoints ?? DEFAULT_TOLERANCE_POINTS;
  if (!Number.isFinite(tolerance) || tolerance < 0)
    return fail('E_USAGE', `The tolerance must be a number of points ≥ 0, got ${tolerance}.`);
  const names = options.models ?? runtime.models;
  const unknown = names.filter((n) => !runtime.models.includes(n));
  if (unknown.length > 0)
    return fail(
      'E_USAGE',
      `The bundle has no model${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}.`,
      `Models: ${runtime.models.join(', ')}.`,
    );
  if (names.length === 0) return fail('E_USAGE', 'No models to evaluate.');
  const K = names.length;
  const tracker = new ProgressTracker(options.progress ?? noProgress, [
    ['load', 1],
    ['evaluate', 3],
  ]);
  const prepared: ModelSplit[] = [];
  for (const [k, name] of names.entries()) {
    if (cancelled(options.signal)) return CANCELLED();
    tracker.report('load', k, K, { task: name });
    const p = loadModelSplit(runtime.modelInfo(name)!, options.roots, split);
    if (!p.ok) return p;
    prepared.push(p.value);
  }
  const models: ModelEvaluation[] = [];
  for (const [k, p] of prepared.entries()) {
    if (cancelled(options.signal)) return CANCELLED();
    tracker.report('evaluate', k, K, { task: p.info.name });
    const switched = await runtime.switchTo(p.info.name);
    if (!switched.ok) return switched;
    const predicted = await runtime.predict(p.split, options.batchSize);
    if (!predicted.ok) return predicted;
    const stored = p.info.accuracy[split].after;
    const measured = predicted.value.accuracy;
    const deltaPoints = (measured - stored) * 100;
    models.push({
      model: p.info.name,
      dataDir: p.dataDir,
      samples: p.split.n,
      stored,
      storedBefore: p.info.accuracy[split].before,
      measured,
      deltaPoints,
      ok: Math.abs(deltaPoints) <= tolerance + EPSILON_POINTS,
    });
  }
  tracker.report('evaluate', K, K);
  return ok({
    planId: runtime.planId,
    split,
    tolerancePoints: tolerance,
    models,
    ok: models.every((m) => m.ok),
  });
}

/** Opens the bundle at `dir`, evaluates it (see `evaluateRuntime`) and closes it again. */
export async function evaluateBundle(
  dir: string,
  options: EvaluateOptions,
): Promise<Result<BundleEvaluation>> {
  if (cancelled(options.signal)) return CANCELLED();
  const opened = await PagedRuntime.open(dir, options.runtime ?? { sessions: 'lazy', verifyReads: true });
  if (!opened.ok) return opened;
  try {
    return await evaluateRuntime(opened.value, options);
  } catch (thrown) {
    return { ok: false, error: toError(thrown, 'E_RUNTIME') };
  } finally {
    await opened.value.close();
  }
}
