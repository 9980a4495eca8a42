/**
 * Progress events: long work (training, Fisher, planning, rollouts) reports through a sink, so the CLI
 * draws a progress line, the app a bar, and tests can assert on the sequence. Nothing here knows
 * about terminals.
 */

/**
 * Every stage the engine reports, by producer. A closed list: a stage name is part of the `--progress
 * json` stream that programs (the app, the store) read, so a typo must not compile.
 */
export const PROGRESS_STAGES = [
  // The planner's stages (separation/stages/context.ts), in order: formation of the weights into
  // pages, original accuracy, Fisher information, separation, overlap, shared-page initialisation,
  // joint optimisation, accuracy of the plan.
  'formation',
  'baseline',
  'fisher',
  'separate',
  'overlap',
  'init',
  'optimize',
  'final',
  // Training one model (train/fit.ts: wsep train, zoo builds).
  'train',
  // Zoo builds (zoo/build.ts: a task finished; zoo/build-gpu.ts: a GPU model's step timing).
  'done',
  'gpu-zoo',
  // Reading a bundle: every byte hashed against the manifest (image/read.ts).
  'verify',
  // Evaluating a bundle's models (runtime/evaluate.ts).
  'load',
  'evaluate',
  // The fleet (shared/fleet): provisioning a device, a rollout's waves, staging a plan (its files
  // uploaded: step and total in bytes), activation with the health check on the device, a rollback,
  // and a telemetry pull. The event's `task` is the device's name.
  'provision',
  'rollout',
  'stage',
  'upload',
  'activate',
  'rollback',
  'telemetry',
] as const;

export type ProgressStage = (typeof PROGRESS_STAGES)[number];

export function isProgressStage(value: unknown): value is ProgressStage {
  return (PROGRESS_STAGES as readonly unknown[]).includes(value);
}

/** One task's validation accuracy at an evaluation of the joint optimisation. */
export interface TaskValidation {
  readonly task: string;
  /** Accuracy on the task's validation split, 0..1. */
  readonly accuracy: number;
  /** The accuracy the task must keep (its original minus the allowed loss), 0..1, when the method has floors. */
  readonly floor?: number;
}

/**
 * How the optimisation picks the snapshot it keeps. 'mean': the best mean validation accuracy (the
 * reference method). Ours, by default: 'mean-less-noise-shortfall', the (smoothed) mean less each
 * task's shortfall below its floor counted in units of its validation noise, capped, so that one
 * drifting task cannot block every later snapshot (separation/optimize.ts). Ours with the former
 * rule ('floors-first'): a point keeping every floor ('mean-within-floors', ranked by its mean)
 * beats any point that does not ('mean-minus-shortfall': the mean less the mean shortfall below the floors).
 */
export const SELECTION_CRITERIA = [
  'mean',
  'mean-within-floors',
  'mean-minus-shortfall',
  'mean-less-noise-shortfall',
] as const;

export type SelectionCriterion = (typeof SELECTION_CRITERIA)[number];

/** The figures of one evaluation of the joint optimisation, as the progress stream carries them. */
export interface ValidationFigures {
  /** Every task's validation accuracy, in task order. */
  readonly tasks: readonly TaskValidation[];
  /** The selection criterion at this evaluation and its value (0..1; higher is better within a name). */
  readonly criterion: { readonly name: SelectionCriterion; readonly value: number };
  /** Whether this evaluation is the best so far: the snapshot the optimisation keeps now. */
  readonly best: boolean;
}

export interface ProgressEvent {
  /** The stage of the work. */
  readonly stage: ProgressStage;
  /** The task or model the event concerns, when there is one. */
  readonly task?: string;
  /** Units of work done in this stage, and the total when known. */
  readonly step: number;
  readonly total?: number;
  /** Fraction of the whole job done, 0..1. */
  readonly fraction: number;
  /** Estimated seconds left for the whole job, when it can be estimated. */
  readonly etaSeconds?: number;
  readonly message?: string;
  /** At each evaluation of the joint optimisation ('optimize'): the tasks' validation figures. */
  readonly validation?: ValidationFigures;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => {};

/** What a producer may add to a tracked event besides its stage and step. */
export type ProgressDetails = Pick<ProgressEvent, 'task' | 'message' | 'validation'>;

/**
 * Tracks a job made of weighted stages and turns (stage, step/total) into an overall fraction and ETA.
 * Stage weights are relative costs (e.g. estimated seconds). `S` is the job's own stages: reporting a
 * stage the job did not declare does not compile.
 */
export class ProgressTracker<S extends ProgressStage = ProgressStage> {
  private readonly weights: Map<S, number>;
  private readonly order: S[];
  private readonly totalWeight: number;
  private readonly startedAt: number;

  constructor(
    private readonly sink: ProgressSink,
    stages: ReadonlyArray<readonly [stage: S, weight: number]>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.weights = new Map(stages.map(([s, w]) => [s, w]));
    this.order = stages.map(([s]) => s);
    this.totalWeight = stages.reduce((a, [, w]) => a + w, 0) || 1;
    this.startedAt = this.now();
  }

  report(stage: S, step: number, total: number | undefined, extra: ProgressDetails = {}): void {
    const index = this.order.indexOf(stage);
    let before = 0;
    for (let i = 0; i < index; i++) before += this.weights.get(this.order[i]!) ?? 0;
    const within = total && total > 0 ? Math.min(1, step / total) : 0;
    const fraction = Math.min(1, (before + within * (this.weights.get(stage) ?? 0)) / this.totalWeight);
    const elapsed = (this.now() - this.startedAt) / 1000;
    const event: { -readonly [K in keyof ProgressEvent]: ProgressEvent[K] } = {
      stage,
      step,
      fraction,
      ...extra,
    };
    if (total !== undefined) event.total = total;
    if (fraction > 0.01 && elapsed > 0.5) event.etaSeconds = (elapsed / fraction) * (1 - fraction);
    this.sink(event);
  }
}
