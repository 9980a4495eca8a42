/**
 * Step 6 — joint optimisation of the pages, the step that recovers accuracy (DESIGN.md; measured in
 * notes/prototype-separation.md: right after overlapping every task falls towards chance).
 *
 * Every step, each task's mini-batch gradient is computed at the weights its page table gathers,
 * scattered back onto its pages, and a shared page receives the **sum** over its occupants; one Adam
 * over all pages (shared and exclusive) then updates them. Every `evalEvery` steps the tasks are
 * evaluated on their validation splits (which mirror the test shift) — the pages evaluated are the
 * pages kept: the page average when `ema` is on — and a selection rule picks the snapshot kept.
 * The test split is never read here.
 *
 * Selection under noise (issue 12; docs/BENCHMARKS.md "Selection under noise"). A validation split
 * of n samples measures accuracy p with a standard error σ = √(p(1−p)/n): 3.7 points for esc10's 80
 * samples. Each mechanism below has its own option, so that each can be switched off and measured:
 * - noise-aware floors (`noiseZ`): task k's floor is its baseline less max(floorPoints, z·σ_k), so a
 *   dip within the noise is not "below the floor";
 * - a smoothed criterion (`smoothing`): the rule reads each task's mean over the last k evaluations,
 *   not one noisy accuracy;
 * - the rule itself (`selection`): 'noise-shortfall' ranks by the mean less each task's shortfall
 *   below its floor in units of its noise, capped, so that one task drifting down cannot block every
 *   later snapshot while the others improve (the former 'floors-first' froze on seed 2 of issue 12);
 * - a minimum run (`minStepsFraction`): patience cannot end a run before that fraction of its steps,
 *   and a snapshot from before it is kept only when it beats the best later one by more than the
 *   noise of the criterion (z standard errors of a mean over the tasks' splits);
 * - restarts (`restarts`): when patience runs out before the last step, the kept pages are restored
 *   and the run goes on at 0.3 of the rate, instead of leaving the rest of the budget unused.
 * The run's history records, per evaluation, everything the rule saw (image/report.ts ReportEvalPoint).
 *
 * Int8 pages (`quantize`): the pages stay float32 masters; every forward pass — training batches
 * and evaluations alike — gathers from their fake-quantised copy (each page quantised to int8 with
 * one scale chosen from its values, then dequantised), and the gradient at those weights is applied
 * to the masters unchanged (straight-through: rounding has no useful gradient, and the weights are
 * graph inputs, so this lives here, outside the graph). A shared page is quantised once, with one
 * scale for all its occupants, exactly as it will be stored.
 */
import { raise, throwIfCancelled } from '../core/errors.ts';
import { noProgress, type ProgressSink, type ValidationFigures } from '../core/progress.ts';
import { createOptimizer } from '../train/optimizers.ts';
import { gatherWeights, scatterAddGradients, type TableShape } from './tables.ts';
import type { ReportEvalPoint } from '../image/report.ts';
import { fakeQuantizePages, type ScaleRule } from '../image/quantize.ts';

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

/** How the snapshot is chosen (see the top of this file). */
export type SelectionRule = 'noise-shortfall' | 'floors-first';

export const SELECTION_RULES: readonly SelectionRule[] = ['noise-shortfall', 'floors-first'];

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
   * weighted by exp(focus × its (smoothed) validation shortfall below its floor in points), the
   * weights normalised to mean 1 (shortfalls clipped to 0..10 points). 0 (default) weights every
   * task alike. Only these K numbers flow from validation into training; the test split stays unread.
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
  /**
   * Each task's validation sample count, in task order: it sets the task's noise σ (see
   * `validationNoise`). Absent: no noise is known, σ = 0, and the floors are `floorPoints` alone.
   */
  readonly valCount?: readonly number[];
  /**
   * z, in standard errors: floors sit max(floorPoints, z·σ_k) below each baseline, and a snapshot
   * from before `minStepsFraction` is kept only when it beats the best later one by more than z
   * standard errors of the mean. Default 0.
   */
  readonly noiseZ?: number;
  /** Evaluations in the trailing mean of each task's accuracy that the rule reads. Default 1 (none). */
  readonly smoothing?: number;
  /** Default 'floors-first' (the former rule); the planner's default is 'noise-shortfall'. */
  readonly selection?: SelectionRule;
  /** Fraction of `steps` before which patience cannot end the run (see the top). Default 0. */
  readonly minStepsFraction?: number;
  /** Restarts from the kept snapshot, at 0.3 of the rate, when patience runs out early. Default 0. */
  readonly restarts?: number;
  /**
   * Int8 pages: train and evaluate through the pages fake-quantised with one scale per page chosen
   * by `rule` (see the top). Absent: float32 pages, the former path exactly.
   */
  readonly quantize?: { readonly rule: ScaleRule };
  readonly signal?: AbortSignal;
  /** Receives an 'optimize' event at each evaluation, with the tasks' validation figures. */
  readonly progress?: ProgressSink;
  /** Reports the fraction of this stage done; the caller maps it into the whole job. */
  readonly onStep?: (step: number, total: number) => void;
}

/**
 * One evaluation, exactly as the plan report stores it (image/report.ts): the first five members are
 * what every optimiser records (the reference's too); the rest is what our selection saw and did
 * (issue 12: a run's own history must show why it kept the snapshot it kept).
 */
export type EvalPoint = ReportEvalPoint;

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

/** Pages quantised to int8 and dequantised: the values and one scale per page. */
export interface QuantizedPages {
  readonly state: PagedState;
  readonly sharedScales: Float32Array;
  readonly exclusiveScales: readonly Float32Array[];
}

/** A reusable fake-quantised copy of a state's pages (same tables), refreshed from any state of its shape. */
export class QuantizedView implements QuantizedPages {
  readonly state: PagedState;
  readonly sharedScales: Float32Array;
  readonly exclusiveScales: Float32Array[];

  constructor(
    like: PagedState,
    private readonly rule: ScaleRule,
  ) {
    this.state = { ...like, shared: like.shared.slice(), exclusive: like.exclusive.map((e) => e.slice()) };
    this.sharedScales = new Float32Array(like.shared.length / like.pageSize);
    this.exclusiveScales = like.exclusive.map((e) => new Float32Array(e.length / like.pageSize));
  }

  /** Quantises `from`'s pages into this view; returns the view's state. */
  refresh(from: PagedState): PagedState {
    const P = from.pageSize;
    fakeQuantizePages(from.shared, P, this.rule, this.sharedScales, this.state.shared);
    from.exclusive.forEach((e, k) =>
      fakeQuantizePages(e, P, this.rule, this.exclusiveScales[k]!, this.state.exclusive[k]!),
    );
    return this.state;
  }
}

/** The int8 pages of `state` (a fresh copy): what an i8 plan stores. */
export function quantizePagedState(state: PagedState, rule: ScaleRule): QuantizedPages {
  const view = new QuantizedView(state, rule);
  view.refresh(state);
  return view;
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

/**
 * The standard error of an accuracy measured on n samples, at accuracy p: √(p̃(1−p̃)/n) with the
 * "plus two" estimate p̃ = (np + 1)/(n + 2), so that a split scored 100% (digits8x8's validation)
 * still has some noise: 216 samples cannot tell 100% from 99.6%.
 */
export function validationNoise(p: number, n: number): number {
  if (!(n > 0)) return 0;
  const q = (p * n + 1) / (n + 2);
  return Math.sqrt((q * (1 - q)) / n);
}

/** Each task's floor: its baseline less max(floorPoints, z·σ_k) (0..1). */
export function noiseAwareFloors(
  baselineVal: readonly number[],
  floorPoints: number,
  noise: readonly number[],
  z: number,
): number[] {
  return baselineVal.map((b, k) => b - Math.max(floorPoints / 100, z * (noise[k] ?? 0)));
}

/**
 * The noise-shortfall rule's constants. A task's shortfall counts in units of its noise, each unit
 * costing one point of the mean (÷ K, like the task's own accuracy), and at most SHORTFALL_CAP units:
 * beyond three standard errors the task is surely below, and a deeper drop still counts in the mean,
 * but no longer twice — so that the others' progress can outweigh it (issue 12, seed 2).
 */
export const SHORTFALL_CAP = 3;
const POINT = 0.01;
/**
 * The smallest noise unit, half a point: a large split scored near 100% (mnist: σ 0.3 points) must
 * not turn a rounding-size shortfall into several "units".
 */
const MIN_NOISE_UNIT = 0.005;

/** The noise-shortfall criterion of (smoothed) accuracies, in accuracy units (higher is better). */
export function noiseShortfallValue(
  accuracy: readonly number[],
  floors: readonly number[],
  noise: readonly number[],
): number {
  const K = accuracy.length;
  let mean = 0;
  let penalty = 0;
  accuracy.forEach((a, k) => {
    mean += a / K;
    const unit = Math.max(MIN_NOISE_UNIT, noise[k] ?? 0);
    penalty += (Math.min(SHORTFALL_CAP, Math.max(0, floors[k]! - a) / unit) * POINT) / K;
  });
  return mean - penalty;
}

/** The standard error of a mean over the tasks' validation accuracies: √(Σ σ_k²) ÷ K. */
export function criterionNoise(noise: readonly number[]): number {
  return noise.length ? Math.sqrt(noise.reduce((a, s) => a + s * s, 0)) / noise.length : 0;
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

/** The 'floors-first' rule: is `a` better than `b`? */
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

/** The criterion the 'floors-first' rule (`better`) applies to a point, with its value. */
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

/**
 * Per-task gradient weights from validation shortfalls below the floors (see JointOptions.focus).
 * Normalised to mean 1 because Adam is blind to a common scale: only the ratios steer the shared
 * pages, and a common jump (every task below its floor early in a run, then most above) would
 * only shock Adam's second-moment estimate.
 */
export function taskFocus(
  valAccuracy: readonly number[],
  floors: readonly number[],
  focus: number,
): number[] {
  const raw = valAccuracy.map((a, k) => Math.exp(focus * Math.min(10, Math.max(0, (floors[k]! - a) * 100))));
  const mean = raw.reduce((x, y) => x + y, 0) / raw.length;
  return raw.map((w) => w / mean);
}

/** What the selection rule saw at one evaluation. */
interface Candidate {
  /** The measured accuracies (and, for 'floors-first', its shortfalls). */
  readonly point: EvalPoint;
  /** The point as the rule reads it: the smoothed accuracies against the floors. */
  readonly seen: EvalPoint;
  readonly criterion: ValidationFigures['criterion'];
}

/** The selection rule as two questions: is `a` better than `b`, and by more than `margin`? */
interface Rule {
  criterion(seen: EvalPoint): ValidationFigures['criterion'];
  beats(a: Candidate, b: Candidate | undefined): boolean;
  beatsBy(a: Candidate, b: Candidate, margin: number): boolean;
}

function ruleOf(selection: SelectionRule, floors: readonly number[], noise: readonly number[]): Rule {
  if (selection === 'floors-first')
    return {
      criterion: selectionCriterion,
      beats: (a, b) => better(a.seen, b?.seen),
      // Across criteria (one keeps every floor, the other not) the rule is lexicographic.
      beatsBy: (a, b, margin) =>
        a.criterion.name !== b.criterion.name
          ? better(a.seen, b.seen)
          : a.criterion.value - b.criterion.value > margin,
    };
  return {
    criterion: (seen) => ({
      name: 'mean-less-noise-shortfall',
      value: noiseShortfallValue(seen.valAccuracy, floors, noise),
    }),
    beats: (a, b) => !b || a.criterion.value > b.criterion.value,
    beatsBy: (a, b, margin) => a.criterion.value - b.criterion.value > margin,
  };
}

function scale(v: Float32Array, factor: number): void {
  for (let i = 0; i < v.length; i++) v[i]! *= factor;
}

/** Warm-up, then constant (times the plateau or restart factor) or cosine decay to 5% of the base rate. */
function learningRate(o: JointOptions, step: number, factor = 1): number {
  const warm = Math.max(1, o.warmupSteps);
  if (step < warm) return (o.lr * (step + 1)) / warm;
  if (o.schedule !== 'cosine') return o.lr * factor;
  const t = Math.min(1, (step - warm) / Math.max(1, o.steps - warm));
  return o.lr * factor * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** The rate factor of a plateau drop and of a restart. */
const RATE_DROP = 0.3;

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
  const z = options.noiseZ ?? 0;
  const noise = options.baselineVal.map((b, k) => validationNoise(b, options.valCount?.[k] ?? 0));
  const floors = noiseAwareFloors(options.baselineVal, options.floorPoints, noise, z);
  const rule = ruleOf(options.selection ?? 'floors-first', floors, noise);
  const smoothing = Math.max(1, Math.floor(options.smoothing ?? 1));
  // Patience cannot end the run before this step; snapshots before it are "early".
  const minStep = Math.ceil(Math.min(1, Math.max(0, options.minStepsFraction ?? 0)) * options.steps);
  const margin = z * criterionNoise(noise);

  // The averaged pages, in a state that shares the tables; evaluated (and so kept) instead of
  // `state` when on: the pages a user receives are the pages that were evaluated.
  const ema = options.ema ?? 0;
  const averaged: PagedState = ema
    ? { ...state, shared: state.shared.slice(), exclusive: state.exclusive.map((e) => e.slice()) }
    : state;
  const averagedParams = [averaged.shared, ...averaged.exclusive];
  // Int8: the pages every forward pass sees (see the top); the masters are what Adam updates.
  const quantized = options.quantize ? new QuantizedView(state, options.quantize.rule) : undefined;
  const forwardPages = (pages: PagedState): PagedState => (quantized ? quantized.refresh(pages) : pages);

  const history: EvalPoint[] = [];
  let focusWeights: readonly number[] = tasks.map(() => 1);
  // The best early snapshot (before minStep) and the best late one, each with its pages.
  let early: Candidate | undefined;
  let late: Candidate | undefined;
  const earlySnapshot = minStep > 0 ? new PageSnapshot(state) : undefined;
  const lateSnapshot = new PageSnapshot(state);
  const kept = (): Candidate => {
    if (!late) return early!;
    return early && rule.beatsBy(early, late, margin) ? early : late;
  };
  const restoreKept = (into: PagedState) => (kept() === late ? lateSnapshot : earlySnapshot!).restore(into);
  let window: number[][] = [];
  let rateFactor = 1;
  let drops = 0;
  let restartsLeft = Math.max(0, Math.floor(options.restarts ?? 0));
  let lastImprovement = 0;

  /** Evaluates the kept pages, updates the two best snapshots; the caller records the point. */
  const evaluate = async (step: number): Promise<{ candidate: Candidate; losses: number[] }> => {
    const scores = await evaluatePages(forwardPages(averaged), tasks);
    const accuracy = scores.map((s) => s.accuracy);
    window.push(accuracy);
    if (window.length > smoothing) window.shift();
    const smoothed = accuracy.map((_, k) => window.reduce((a, w) => a + w[k]!, 0) / window.length);
    const seen = evalPoint(step, smoothed, floors);
    const candidate: Candidate = {
      point: evalPoint(step, accuracy, floors),
      seen,
      criterion: rule.criterion(seen),
    };
    if (step < minStep) {
      if (rule.beats(candidate, early)) {
        early = candidate;
        earlySnapshot!.capture(averaged);
        lastImprovement = step;
      }
    } else if (rule.beats(candidate, late)) {
      late = candidate;
      lateSnapshot.capture(averaged);
      lastImprovement = step;
    }
    if (options.focus) focusWeights = taskFocus(smoothed, floors, options.focus);
    return { candidate, losses: scores.map((s) => s.loss) };
  };

  const record = (step: number, candidate: Candidate, losses: number[], restart: boolean) => {
    const best = kept() === candidate;
    const point: EvalPoint = {
      ...candidate.point,
      valLoss: losses,
      smoothedAccuracy: candidate.seen.valAccuracy,
      floors,
      noise,
      criterion: candidate.criterion,
      best,
      lr: learningRate(options, step, rateFactor),
      focusWeights,
      ...(restart ? { restart } : {}),
    };
    history.push(point);
    (options.progress ?? noProgress)({
      stage: 'optimize',
      step,
      total: options.steps,
      fraction: step / Math.max(1, options.steps),
      validation: validationFigures(tasks, candidate.point, floors, candidate.criterion, best),
    });
  };

  const first = await evaluate(0);
  record(0, first.candidate, first.losses, false);
  const started = performance.now();
  let step = 0;
  while (step < options.steps) {
    throwIfCancelled(options.signal);
    sharedGrad.fill(0);
    for (const g of exclusiveGrads) g.fill(0);
    // Every task's batch at once: tasks hosted by worker threads run on separate cores.
    const forward = forwardPages(state);
    const losses = await Promise.all(
      tasks.map((task, k) => task.trainBatch(gatherTask(forward, k, task, weights[k]!), grads[k]!)),
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
    adam.lr = learningRate(options, step, rateFactor);
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
      const { candidate, losses: valLosses } = await evaluate(step);
      const stale = step - lastImprovement;
      let stop = false;
      let restart = false;
      if (options.schedule === 'plateau' && drops < 2 && stale >= options.patience / 2) {
        rateFactor *= RATE_DROP;
        drops++;
        lastImprovement = step;
      } else if (step >= minStep && stale >= options.patience && step < options.steps) {
        if (restartsLeft > 0) {
          // Go back to the kept pages (the iterate and its average) and on at a lower rate: the
          // rest of the budget is spent from the best point found, not left unused.
          restoreKept(state);
          if (averaged !== state) restoreKept(averaged);
          rateFactor *= RATE_DROP;
          restartsLeft--;
          lastImprovement = step;
          // The window held the abandoned trajectory's accuracies; the run starts afresh from here.
          window = [];
          restart = true;
        } else stop = true;
      }
      record(step, candidate, valLosses, restart);
      if (stop) break;
    }
  }
  const msPerStep = step > 0 ? (performance.now() - started) / step : 0;
  const chosen = kept();
  restoreKept(state);
  return {
    bestStep: chosen.point.step,
    history,
    stepsRun: step,
    msPerStep,
    valAccuracy: chosen.point.valAccuracy,
  };
}
