/**
 * Sample layout: stored samples keep their source layout (e.g. HWC images, time-major audio);
 * models take channels first. The change is a per-sample transpose by a permutation, then a reshape
 * to inputShape (which only inserts size-1 axes, e.g. [49,10] -> [1,49,10]).
 */

/** True when the permutation leaves the row-major order unchanged (only size-1 axes move). */
export function isIdentityLayout(storedShape: readonly number[], permutation: readonly number[]): boolean {
  const moved = permutation.filter((p) => storedShape[p]! > 1);
  return moved.every((p, i) => i === 0 || p > moved[i - 1]!);
}

/**
 * Writes `n` samples from `src` (each of `storedShape`, row-major) into `dst` transposed by
 * `permutation`: output axis k is stored axis permutation[k].
 */
export function permuteSamples(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  storedShape: readonly number[],
  permutation: readonly number[],
): void {
  const per = storedShape.reduce((a, b) => a * b, 1);
  if (isIdentityLayout(storedShape, permutation)) {
    dst.set(src.subarray(0, n * per));
    return;
  }
  // The stride in the stored sample of each output axis, then an odometer over the output shape.
  const rank = storedShape.length;
  const storedStrides = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) {
    storedStrides[a] = s;
    s *= storedShape[a]!;
  }
  const outShape = permutation.map((p) => storedShape[p]!);
  const outStrides = permutation.map((p) => storedStrides[p]!);
  // Precompute the gather map once; every sample uses the same one.
  const gather = new Int32Array(per);
  const counter = new Array<number>(rank).fill(0);
  for (let o = 0; o < per; o++) {
    let offset = 0;
    for (let k = 0; k < rank; k++) offset += counter[k]! * outStrides[k]!;
    gather[o] = offset;
    for (let k = rank - 1; k >= 0; k--) {
      if (++counter[k]! < outShape[k]!) break;
      counter[k] = 0;
    }
  }
  for (let i = 0; i < n; i++) {
    const base = i * per;
    for (let o = 0; o < per; o++) dst[base + o] = src[base + gather[o]!]!;
  }
}
