/**
 * A planning method as the pipeline (../planner.ts) sees it: the points where our method and the
 * reference's differ, and nothing else. Every stage that is the same for both (formation, the
 * original accuracy, Fisher, page tables, the plan's accuracy and report) lives in ../stages/ and
 * calls these hooks where the methods part.
 *
 * A strategy is an object, not a flag: adding a third method is adding a file, not another branch
 * in each stage.
 */
import type { Result } from '../../core/errors.ts';
import type { ProgressSink } from '../../core/progress.ts';
import type { DeviceProfile } from '../../image/device-profile.ts';
import type { BudgetObeyed } from '../../image/report.ts';
import type { FisherResult } from '../fisher.ts';
import type { InitModelInput } from '../init.ts';
import type { JointResult, PagedState, TaskGradients } from '../optimize.ts';
import type { OverlapStrategy } from '../overlap.ts';
import type { PlannerOptions, Strategy } from '../planner-options.ts';
import type { SeparationModelInput } from '../separate.ts';

/** Step 3's outcome, whichever rule made it. */
export interface Separated {
  /** M: the shared pool's page count. */
  readonly sharedPageCount: number;
  /** Per model, its sharable units (separate.ts): each unit's pages go to one slot. */
  readonly units: readonly (readonly Int32Array[])[];
  /** Pages of one model per slot the separation used (1: no model has two pages on one slot). */
  readonly selfTying: number;
}

/** An initial value for the shared pages (M × P values), named for the report. */
export interface InitCandidate {
  readonly kind: string;
  readonly sharedPages: Float32Array;
}

/** What the optimisation stage hands a strategy's optimiser besides the pages and the tasks. */
export interface OptimiseInput {
  /** Per task, in task order: its Fisher (the reference's penalty weighs by it). */
  readonly fisher: readonly FisherResult[];
  /** Per task, its original validation accuracy (0..1): the floors are measured from it. */
  readonly baselineVal: readonly number[];
  /** Per task, its validation sample count: how noisy its accuracy is (optimize.ts validationNoise). */
  readonly valCounts?: readonly number[];
  readonly options: PlannerOptions;
  /** Called after every step; the stage maps it into the job's progress. */
  readonly onStep: (step: number, total: number) => void;
  /** Receives the optimiser's evaluations (validation figures). */
  readonly progress: ProgressSink;
  readonly signal?: AbortSignal;
}

export interface PlannerStrategy {
  readonly name: Strategy;
  /** How the report names the method. */
  readonly label: string;
  /**
   * Which budget its plans obey, as the report states it: 'device' — the device's level-1 and
   * level-2 sizes (a plan that cannot fit them is refused); 'own' — the method's own footprint,
   * whatever the device (the reference's fixed pool and Fisher-mass rule).
   */
  readonly budget: BudgetObeyed;
  /**
   * The options as this method uses them: the reference turns our additions off (augmentation,
   * distillation, equal layer scales, the page average, task focus), so that it runs as published.
   */
  applicable(options: PlannerOptions): PlannerOptions;
  /** What the method needs of the device, checked with the other options before any work. */
  checkDevice(device: DeviceProfile): Result<void>;
  /**
   * Step 3: which pages of each model are shared and how they group into units. Called once with
   * zero scores before any session opens, so that a device the plan cannot fit is refused first
   * (its outcome depends on page counts only), then with the Fisher page scores.
   */
  separate(models: readonly SeparationModelInput[], options: PlannerOptions): Result<Separated>;
  /** Step 4: how the overlap places the units (overlap.ts). */
  overlap(options: PlannerOptions): { readonly strategy: OverlapStrategy; readonly balance?: number };
  /**
   * Step 5: the candidates for the shared pages' initial values. With more than one, the init stage
   * keeps the one with the lowest mean validation loss; a single one is taken as it is.
   */
  initCandidates(
    models: readonly InitModelInput[],
    shape: { readonly sharedPageCount: number; readonly pageSize: number },
    options: PlannerOptions,
  ): Result<readonly InitCandidate[]>;
  /** Step 6: optimises `state`'s pages in place and leaves the kept snapshot in it. */
  optimise(state: PagedState, tasks: readonly TaskGradients[], input: OptimiseInput): Promise<JointResult>;
}
