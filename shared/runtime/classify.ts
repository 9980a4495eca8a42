/**
 * Classifying one prepared sample with one model of an open bundle: switch to the model, run it, and
 * rank the classes by the softmax of its outputs (the zoo's and the planner's models output logits).
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { PagedRuntime, SwitchStats } from './runtime.ts';

export interface ClassScore {
  readonly index: number;
  readonly label: string;
  /** Softmax probability, 0..1. */
  readonly score: number;
  /** The model's raw output for this class. */
  readonly logit: number;
}

export interface Classification {
  readonly model: string;
  /** The best class (argmax, the same class `PagedRuntime.predict` gives). */
  readonly predicted: ClassScore;
  /** The `top` best classes, best first. */
  readonly top: readonly ClassScore[];
  readonly switched: SwitchStats;
  readonly runMs: number;
}

/** Softmax, computed stably in float64. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Runs model `model` of `runtime` on one sample `x` (model layout, preprocessed). */
export async function classify(
  runtime: PagedRuntime,
  model: string,
  x: Float32Array,
  top = 5,
): Promise<Result<Classification>> {
  const info = runtime.modelInfo(model);
  if (!info)
    return fail('E_USAGE', `The bundle has no model "${model}".`, `Models: ${runtime.models.join(', ')}.`);
  if (!Number.isInteger(top) || top < 1)
    return fail('E_USAGE', `The number of classes to show must be a whole number ≥ 1, got ${top}.`);
  const switched = await runtime.switchTo(model);
  if (!switched.ok) return switched;
  const t0 = performance.now();
  const out = await runtime.run(x, 1);
  if (!out.ok) return out;
  const runMs = performance.now() - t0;
  if (out.value.length !== info.classes.length)
    return fail(
      'E_RUNTIME',
      `Model "${model}" gave ${out.value.length} outputs for one sample, but the bundle lists ${info.classes.length} classes.`,
    );
  const scores = softmax(out.value);
  const ranked: ClassScore[] = Array.from(out.value, (logit, index) => ({
    index,
    label: info.classes[index]!,
    score: scores[index]!,
    logit,
  }));
  // Ties keep the lower index first, as argmax does.
  ranked.sort((a, b) => b.logit - a.logit || a.index - b.index);
  return ok({
    model,
    predicted: ranked[0]!,
    top: ranked.slice(0, Math.min(top, ranked.length)),
    switched: switched.value,
    runMs,
  });
}
