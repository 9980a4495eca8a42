/** Synthetic models for tests and measurements of the planner's steps (no ONNX, no training). */
import { Rng } from '../core/rng.ts';

export interface SyntheticModel {
  readonly name: string;
  readonly values: Float32Array;
  readonly fisher: Float64Array;
}

/**
 * A model of `pages` × P weights (the last page partial when `tail` > 0): "layers" of a few pages
 * with their own weight scale, heavy-tailed Fisher (log-normal, 10% exact zeros) whose overall
 * scale is `fisherScale`, so that raw Fisher differs across models as it does in practice.
 */
export function syntheticModel(
  name: string,
  pages: number,
  P: number,
  seed: number,
  fisherScale = 1,
  tail = 0,
): SyntheticModel {
  const rng = new Rng(seed);
  const n = tail > 0 ? (pages - 1) * P + tail : pages * P;
  const values = new Float32Array(n);
  const fisher = new Float64Array(n);
  let layerScale = 0.1;
  let layerFisher = 1;
  for (let i = 0; i < n; i++) {
    if (i % (P * 8) === 0) {
      layerScale = 0.02 + rng.next() * 0.3;
      layerFisher = Math.exp(rng.normal() * 1.5);
    }
    values[i] = rng.normal() * layerScale;
    fisher[i] = rng.next() < 0.1 ? 0 : fisherScale * layerFisher * Math.exp(rng.normal() * 2);
  }
  return { name, values, fisher };
}

/** Five models with the prototype's page counts (91, 111, 85, 90, 132) and raw Fisher totals spread over 4 orders of magnitude. */
export function prototypeLikeModels(P: number, seed = 1): SyntheticModel[] {
  const spec: Array<[string, number, number]> = [
    ['mnist', 91, 1e-6],
    ['fmnist', 111, 1e-2],
    ['digits8x8', 85, 1e-6],
    ['wall_following', 90, 1e-2],
    ['speech_commands', 132, 1e-1],
  ];
  return spec.map(([name, pages, scale], k) =>
    syntheticModel(name, pages, P, seed * 100 + k, scale, k === 1 ? P / 2 : 0),
  );
}
