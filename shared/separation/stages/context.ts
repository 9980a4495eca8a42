/**
 * What every stage of the planner's pipeline receives besides its own input: a progress reporter
 * bound to its stage of the job, and the job's signal. A stage tested alone gets `quietStage` (or a
 * reporter of its own); in the planner, `stageContexts` maps each stage into the whole job's fraction.
 */
import {
  ProgressTracker,
  type ProgressDetails,
  type ProgressSink,
  type ProgressStage,
} from '../../core/progress.ts';

/** The planner's stages, in the order it runs them (a closed part of core/progress.ts's union). */
export const PLANNER_STAGES = [
  'formation',
  'baseline',
  'fisher',
  'separate',
  'overlap',
  'init',
  'optimize',
  'final',
] as const satisfies readonly ProgressStage[];

export type PlannerStage = (typeof PLANNER_STAGES)[number];

/** Reports `step` of `total` units of this stage's work. */
export type StageProgress = (step: number, total: number | undefined, details?: ProgressDetails) => void;

export interface StageContext {
  readonly progress: StageProgress;
  /** Checked between units of work; a stage stops with E_CANCELLED when it fires. */
  readonly signal?: AbortSignal;
}

/** For a stage run on its own: no progress, no signal. */
export const quietStage: StageContext = { progress: () => {} };

/**
 * One context per stage, reporting through a tracker that weighs the stages by `costs` (relative
 * costs, e.g. estimated seconds), so that every event carries the whole job's fraction and ETA.
 */
export function stageContexts(
  sink: ProgressSink,
  costs: Readonly<Record<PlannerStage, number>>,
  signal: AbortSignal | undefined,
): Readonly<Record<PlannerStage, StageContext>> {
  const tracker = new ProgressTracker<PlannerStage>(
    sink,
    PLANNER_STAGES.map((stage) => [stage, costs[stage]] as const),
  );
  const context = (stage: PlannerStage): StageContext => {
    const progress: StageProgress = (step, total, details) => tracker.report(stage, step, total, details);
    return signal ? { progress, signal } : { progress };
  };
  return {
    formation: context('formation'),
    baseline: context('baseline'),
    fisher: context('fisher'),
    separate: context('separate'),
    overlap: context('overlap'),
    init: context('init'),
    optimize: context('optimize'),
    final: context('final'),
  };
}
