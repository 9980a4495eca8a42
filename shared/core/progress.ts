/**
 * Progress events: long work (training, Fisher, planning, rollouts) reports through a sink, so the CLI
 * draws a progress line, the app a bar, and tests can assert on the sequence. Nothing here knows
 * about terminals.
 */
export interface ProgressEvent {
  /** The stage of the work, e.g. 'fisher', 'overlap', 'optimize'. */
  readonly stage: string;
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
}

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => {};

/**
 * Tracks a job made of weighted stages and turns (stage, step/total) into an overall fraction and ETA.
 * Stage weights are relative costs (e.g. estimated seconds).
 */
export class ProgressTracker {
  private readonly weights: Map<string, number>;
  private readonly order: string[];
  private readonly totalWeight: number;
  private readonly startedAt: number;

  constructor(
    private readonly sink: ProgressSink,
    stages: ReadonlyArray<readonly [stage: string, weight: number]>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.weights = new Map(stages.map(([s, w]) => [s, w]));
    this.order = stages.map(([s]) => s);
    this.totalWeight = stages.reduce((a, [, w]) => a + w, 0) || 1;
    this.startedAt = this.now();
  }

  report(
    stage: string,
    step: number,
    total: number | undefined,
    extra: { task?: string; message?: string } = {},
  ): void {
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
