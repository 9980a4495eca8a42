/**
 * Step 6 — joint optimisation of the pages, the step that recovers accuracy (DESIGN.md; measured in
 * notes/prototype-separation.md: right after overlapping every task falls towards chance).
 *
 * Every step, each task's mini-batch gradient is computed at the weights its page table gathers,
 * scattered back onto its pages, and a shared page receives the **sum** over its occupants; one Adam
 * over all pages (shared and exclusive) then updates them. Every `evalEvery` steps the tasks are
 * evaluated on their validation splits (which mirror the test shift), and the snapshot kept is the
 * one with the best mean validation accuracy **among those that keep every task within its floor**;
 * when no snapshot meets every floor, the one with the best mean minus mean shortfall below the floors.
 * The test split is never read here.
 */
import { raise, throwIfCancelled } from '../core/errors.ts';
import { noProgress, type ProgressSink, type ValidationFigures } from '../core/progress.ts';
import { createOptimizer } from '../train/optimizers.ts';
import { gatherWeights, scatterAddGradients, type TableShape } from './tables.ts';

/** What the optimiser needs from a task: gradients on training batches and validation scores. */
export interface TaskGradients {
  readonly name: string;
  readonly weightCount: number;
  /**
   * Mean loss of the next training batch (the source draws batches itself, seeded) at `weights`,
   * with its gradient written into `grad` (same length).
   */
  trainBatch(weights: Float32Array, grad: Float32Array): Promise<number>;
  /** Accuracy (0..1) and mean loss on the validation split at `weights`. */
  validate(weights: Float32Array): Promise<{ accuracy: number; loss: number }>;
}

export interface PagedState {
  readonly pageSize: number;
  readonly sharedPageCount: number;
  /** M × P values; updated in place. */
  readonly shared: Float32Array;
  /** Per task: E_k × P values; updated in place. */
  readonly exclusive: readonly Float32Array[];
  readonly tables: readonly Uint32Array[];
  /** Whether a task may have several pages on one shared slot (self-tying was on). */
  readonly selfTied: boolean;
}

export interface JointOptions {
  readonly steps: number;
  readonly lr: number;
  /** Linear learning-rate warm-up, in steps: a fresh Adam at full rate disturbs converged weights. */
  readonly warmupSteps: number;
  /**
   * After warm-up: constant; cosine decay to 5% of `lr` at the last step; or 'plateau': the rate
   * falls to 30% whenever half the patience passes without a better snapshot (at most twice).
   * Default constant.
   */
  readonly schedule?: 'constant' | 'cosine' | 'plateau';
  /**
   * Focus on the tasks furthest below their floors: after every evaluation, task k's gradient is
   * weighted by exp(focus × its validation shortfall in points), the weights normalised to mean 1
   * (shortfalls clipped to 0..10 points). 0 (default) weights every task alike. Only these K
   * numbers flow from validation into training; the test split stays unread.
   */
  readonly focus?: number;
  /**
   * Evaluate and keep an exponential moving average of the pages (decay per step, e.g. 0.998)
   * instead of the raw iterate: averaging cancels much of Adam's step noise at a constant rate.
   * Undefined or 0: off.
   */
  readonly ema?: number;
  readonly evalEvery: number;
  /** Stop when no better snapshot was found for this many steps. */
  readonly patience: number;
  /** Validation accuracy each task may lose against its original, in points (e.g. 1.0). */
  readonly floorPoints: number;
  /** Each task's original validation accuracy (0..1), in task order. */
  readonly baselineVal: readonly number[];
  readonly signal?: AbortSignal;
  /** Receives an 'optimize' event at each evaluation, with the tasks' validation figures. */
  readonly progress?: ProgressSink;
  /** Reports the fraction of this stage done; the caller maps it into the whole job. */
  readonly onStep?: (step: number, total: number) => void;
}

export interface EvalPoint {
  readonly step: number;
  readonly valAccuracy: readonly number[];
  readonly meanValAccuracy: number;
  /** max over tasks of (floor − accuracy), ≤ 0 when every floor holds. */
  readonly worstViolation: number;
  /** Mean over tasks of max(0, floor − accuracy): how far below their floors the tasks are, on average. */
  readonly meanShortfall: number;
}

export interface JointResult {
  readonly bestStep: number;
  readonly history: readonly EvalPoint[];
  readonly stepsRun: number;
  /** Wall time per joint step (all tasks, forward + backward + update), milliseconds. */
  readonly msPerStep: number;
  readonly valAccuracy: readonly number[];
}

function tableShape(state: PagedState, task: TaskGradients): TableShape {
  return {
    sharedPageCount: state.sharedPageCount,
    pageSize: state.pageSize,
    weightCount: task.weightCount,
    selfTied: state.selfTied,
  };
}

/** Gathers a task's flat weights from the pages, into `out`. */
export function gatherTask(
  state: PagedState,
  k: number,
  task: TaskGradients,
  out: Float32Array<ArrayBuffer>,
): Float32Array {
  const r = gatherWeights(state.tables[k]!, tableShape(state, task), state.shared, state.exclusive[k]!, out);
  if (!r.ok) raise(r.error.code, r.error.message);
  return r.value;
}

/** Validation accuracy and loss of every task at the current pages. */
export async function evaluatePages(
  state: PagedState,
  tasks: readonly TaskGradients[],
): Promise<{ accuracy: number; loss: number }[]> {
  // Concurrent: tasks hosted by worker threads evaluate in parallel; results keep task order.
  return Promise.all(
    tasks.map((task, k) => task.validate(gatherTask(state, k, task, new Float32Array(task.weightCount)))),
  );
}

/** An evaluation point from the tasks' validation accuracies and their floors (0..1). */
export function evalPoint(
  step: number,
  valAccuracy: readonly number[],
  floors: readonly number[],
): EvalPoint {
  return {
    step,
    valAccuracy,
    meanValAccuracy: valAccuracy.reduce((a, b) => a + b, 0) / valAccuracy.length,
    worstViolation: Math.max(...valAccuracy.map((a, k) => floors[k]! - a)),
    meanShortfall:
      valAccuracy.reduce((sum, a, k) => sum + Math.max(0, floors[k]! - a), 0) / valAccuracy.length,
  };
}

/** A copy of the pages, kept for the best evaluation point and restored at the end. */
export class PageSnapshot {
  private readonly shared: Float32Array;
  private readonly exclusive: Float32Array[];

  constructor(state: PagedState) {
    this.shared = state.shared.slice();
    this.exclusive = state.exclusive.map((e) => e.slice());
  }

  capture(state: PagedState): void {
    this.shared.set(state.shared);
    state.exclusive.forEach((e, k) => this.exclusive[k]!.set(e));
  }

  restore(state: PagedState): void {
    state.shared.set(this.shared);
    state.exclusive.forEach((e, k) => e.set(this.exclusive[k]!));
  }
}

export function better(a: EvalPoint, b: EvalPoint | undefined): boolean {
  if (!b) return true;
  const aOk = a.worstViolation <= 0;
  const bOk = b.worstViolation <= 0;
  if (aOk !== bOk) return aOk;
  if (aOk) return a.meanValAccuracy > b.meanValAccuracy;
  // No floor-keeping snapshot yet: the mean, with every point below a floor counted twice. (Keeping
  // the smallest *worst* shortfall instead let one small, noisy validation split pick early
  // snapshots with a lower mean; docs/BENCHMARKS.md.)
  return a.meanValAccuracy - a.meanShortfall > b.meanValAccuracy - b.meanShortfall;
}

/** The selection criterion `better` applies to a point, with its value (for the progress stream). */
export function selectionCriterion(p: EvalPoint): ValidationFigures['criterion'] {
  return p.worstViolation <= 0
    ? { name: 'mean-within-floors', value: p.meanValAccuracy }
    : { name: 'mean-minus-shortfall', value: p.meanValAccuracy - p.meanShortfall };
}

/** An evaluation point as the progress stream shows it: each task's accuracy and floor, the criterion. */
export function validationFigures(
  tasks: readonly { readonly name: string }[],
  point: EvalPoint,
  floors: readonly number[] | undefined,
  criterion: ValidationFigures['criterion'],
  best: boolean,
): ValidationFigures {
  return {
    tasks: tasks.map((t, k) => {
      const accuracy = point.valAccuracy[k]!;
      return floors ? { task: t.name, accuracy, floor: floors[k]! } : { task: t.name, accuracy };
    }),
    criterion,
    best,
  };
}

/** Per-task gradient weights from validation shortfalls below the floors (see JointOptions.focus). */
export function taskFocus(
  valAccuracy: readonly number[],
  floors: readonly number[],
  focus: number,
): number[] {
  const raw = valAccuracy.map((a, k) => Math.exp(focus * Math.min(10, Math.max(0, (floors[k]! - a) * 100))));
  const mean = raw.reduce((x, y) => x + y, 0) / raw.length;
  return raw.map((w) => w / mean);
}

function scale(v: Float32Array, factor: number): void {
  for (let i = 0; i < v.length; i++) v[i]! *= factor;
}

/** Warm-up, then constant (times the plateau factor) or cosine decay to 5% of the base rate. */
function learningRate(o: JointOptions, step: number, plateauFactor = 1): number {
  const warm = Math.max(1, o.warmupSteps);
  if (step < warm) return (o.lr * (step + 1)) / warm;
  if (o.schedule !== 'cosine') return o.lr * plateauFactor;
  const t = Math.min(1, (step - warm) / Math.max(1, o.steps - warm));
  return o.lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export async function optimizeJointly(
  state: PagedState,
  tasks: readonly TaskGradients[],
  options: JointOptions,
): Promise<JointResult> {
  const K = tasks.length;
  const weights = tasks.map((t) => new Float32Array(t.weightCount));
  const grads = tasks.map((t) => new Float32Array(t.weightCount));
  const sharedGrad = new Float32Array(state.shared.length);
  const exclusiveGrads = state.exclusive.map((e) => new Float32Array(e.length));
  const params = [state.shared, ...state.exclusive];
  const paramGrads = [sharedGrad, ...exclusiveGrads];
  const adam = createOptimizer(
    { kind: 'adam', lr: options.lr },
    params.map((p) => p.length),
  );
  const floors = options.baselineVal.map((v) => v - options.floorPoints / 100);

  const history: EvalPoint[] = [];
  let focusWeights: readonly number[] = tasks.map(() => 1);
  let best: EvalPoint | undefined;
  const snapshot = new PageSnapshot(state);
  // The averaged pages, in a state that shares the tables; evaluated instead of `state` when on.
  const ema = options.ema ?? 0;
  const averaged: PagedState = ema
    ? { ...state, shared: state.shared.slice(), exclusive: state.exclusive.map((e) => e.slice()) }
    : state;
  const averagedParams = [averaged.shared, ...averaged.exclusive];
  const evaluate = async (step: number) => {
    const scores = await evaluatePages(averaged, tasks);
    const point = evalPoint(
      step,
      scores.map((s) => s.accuracy),
      floors,
    );
    history.push(point);
    if (options.focus) focusWeights = taskFocus(point.valAccuracy, floors, options.focus);
    const improved = better(point, best);
    if (improved) {
      best = point;
      snapshot.capture(averaged);
    }
    (options.progress ?? noProgress)({
      stage: 'optimize',
      step,
      total: options.steps,
      fraction: step / Math.max(1, options.steps),
      validation: validationFigures(tasks, point, floors, selectionCriterion(point), improved),
    });
  };

  await evaluate(0);
  const started = performance.now();
  let step = 0;
  let plateauFactor = 1;
  let drops = 0;
  let lastDrop = 0;
  while (step < options.steps) {
    throwIfCancelled(options.signal);
    sharedGrad.fill(0);
    for (const g of exclusiveGrads) g.fill(0);
    // Every task's batch at once: tasks hosted by worker threads run on separate cores.
    const losses = await Promise.all(
      tasks.map((task, k) => task.trainBatch(gatherTask(state, k, task, weights[k]!), grads[k]!)),
    );
    for (let k = 0; k < K; k++) {
      const task = tasks[k]!;
      const loss = losses[k]!;
      if (!Number.isFinite(loss)) {
        raise(
          'E_PLAN',
          `Joint optimisation diverged on task ${task.name} at step ${step} (loss ${loss}).`,
          'Lower the learning rate (--lr).',
        );
      }
    }
    // Equalising the tasks' gradient norms here was measured and retired: it helped once and hurt
    // once, within the noise of one seed (docs/BENCHMARKS.md, 2026-11-26, runs A–H).
    for (let k = 0; k < K; k++) {
      if (focusWeights[k] !== 1) scale(grads[k]!, focusWeights[k]!);
      const r = scatterAddGradients(
        state.tables[k]!,
        tableShape(state, tasks[k]!),
        grads[k]!,
        sharedGrad,
        exclusiveGrads[k]!,
      );
      if (!r.ok) raise(r.error.code, r.error.message);
    }
    adam.lr = learningRate(options, step, plateauFactor);
    adam.step(params, paramGrads);
    if (ema) {
      // Bias-corrected early on: the average starts at the initial pages, so use a shorter horizon.
      const decay = Math.min(ema, (1 + step) / (10 + step));
      params.forEach((p, i) => {
        const a = averagedParams[i]!;
        for (let j = 0; j < p.length; j++) a[j] = decay * a[j]! + (1 - decay) * p[j]!;
      });
    }
    step++;
    options.onStep?.(step, options.steps);
    if (step % options.evalEvery === 0 || step === options.steps) {
      await evaluate(step);
      const stale = best ? step - Math.max(best.step, lastDrop) : 0;
      if (options.schedule === 'plateau' && drops < 2 && stale >= options.patience / 2) {
        plateauFactor *= 0.3;
        drops++;
        lastDrop = step;
      } else if (best && stale >= options.patience) break;
    }
  }
  const msPerStep = step > 0 ? (performance.now() - started) / step : 0;
  snapshot.restore(state);
  return { bestStep: best!.step, history, stepsRun: step, msPerStep, valAccuracy: best!.valAccuracy };
}
