/**
 * The in-memory form of a task's data, as every consumer (training, Fisher, planner, reports, the
 * device agent) sees it: float32 samples already normalised and laid out as the model's input.
 */

/** One split: `n` samples, `x` row-major [n, ...inputShape], `y` class indices. */
export interface Split {
  readonly n: number;
  readonly x: Float32Array;
  readonly y: Uint8Array;
}

/** How raw samples become model input: x' = (x · scale − mean[c]) / std[c] per channel c. */
export interface Preprocessing {
  /** Applied to the stored values first (e.g. 1/255 for uint8 images). */
  readonly scale: number;
  /**
   * One value per index of `axis` of inputShape (per channel by default), or a single value for all.
   * Computed on the train split only.
   */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /**
   * The inputShape axis that `mean`/`std` are indexed by; absent means 0 (channels). Audio features
   * are normalised per coefficient / mel band (the last axis), which is not the channel axis.
   */
  readonly axis?: number;
  /** How stored samples are permuted into the model layout, e.g. 'HWC->CHW'; 'none' when identical. */
  readonly layout: string;
}

export interface TaskData {
  /** Short id, e.g. 'mnist', 'speech_commands'. */
  readonly task: string;
  readonly title: string;
  /** Per-sample input shape as the model sees it (channels first), e.g. [1, 28, 28]. */
  readonly inputShape: readonly number[];
  readonly classes: readonly string[];
  readonly train: Split;
  /** Validation split: chosen to mirror the test split's shift (speaker, fold, subject, time). */
  readonly val: Split;
  /** Test split: touched only by final reports. */
  readonly test: Split;
  readonly preprocessing: Preprocessing;
  /** How the splits were made, in words (recorded in meta.json and reports). */
  readonly splitMethod: string;
  readonly source: string;
  readonly license: string;
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
