/**
 * Input normalisation: x' = (x · scale − mean[j]) / std[j], where j is the sample's index along one
 * axis of inputShape (the channel for images and accelerometer axes, the coefficient / mel band for
 * audio features, the feature for tabular data). Statistics come from the train split only, so
 * validation and test stay unseen.
 */

export interface NormalizationStats {
  readonly mean: number[];
  readonly std: number[];
}

/** A std below this is treated as 1 (constant feature), so normalising never divides by ~0. */
const MIN_STD = 1e-6;

/**
 * For samples `x` in model layout [n, ...inputShape], returns per-index statistics along `axis`
 * (or a single global mean/std when axis is null) of x · scale. Accumulates in float64.
 */
export function computeStats(
  x: Float32Array,
  n: number,
  inputShape: readonly number[],
  axis: number | null,
  scale: number,
): NormalizationStats {
  const { size, inner } = axisGeometry(inputShape, axis);
  const sum = new Float64Array(size);
  const sumSq = new Float64Array(size);
  const per = inputShape.reduce((a, b) => a * b, 1);
  // A sample is `outer` repetitions of [size][inner]; walk it block by block (no per-value division).
  const outer = per / (size * inner);
  for (let s = 0; s < n; s++) {
    let e = s * per;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < size; j++) {
        let a = 0;
        let a2 = 0;
        for (let k = 0; k < inner; k++, e++) {
          const v = x[e]! * scale;
          a += v;
          a2 += v * v;
        }
        sum[j]! += a;
        sumSq[j]! += a2;
      }
    }
  }
  const count = (n * per) / size;
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < size; j++) {
    const m = sum[j]! / count;
    const variance = Math.max(0, sumSq[j]! / count - m * m);
    const sd = Math.sqrt(variance);
    mean.push(m);
    std.push(sd < MIN_STD ? 1 : sd);
  }
  return { mean, std };
}

/** Normalises `x` (model layout, n samples) in place with the given statistics. */
export function applyStats(
  x: Float32Array,
  n: number,
  inputShape: readonly number[],
  axis: number | null,
  scale: number,
  stats: NormalizationStats,
): void {
  const { size, inner } = axisGeometry(inputShape, axis);
  const per = inputShape.reduce((a, b) => a * b, 1);
  const outer = per / (size * inner);
  // x' = x · (scale / std) − mean / std, one multiply-add per value.
  const mul = stats.std.map((sd) => scale / sd);
  const add = stats.mean.map((m, j) => -m / stats.std[j]!);
  for (let s = 0; s < n; s++) {
    let e = s * per;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < size; j++) {
        const a = mul[j]!;
        const b = add[j]!;
        for (let k = 0; k < inner; k++, e++) x[e] = x[e]! * a + b;
      }
    }
  }
}

/** Number of statistics and the run length of equal indices along `axis` in a row-major sample. */
function axisGeometry(inputShape: readonly number[], axis: number | null): { size: number; inner: number } {
  if (axis === null) return { size: 1, inner: inputShape.reduce((a, b) => a * b, 1) };
  const inner = inputShape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { size: inputShape[axis]!, inner };
}
