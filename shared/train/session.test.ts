import { describe, expect, it } from 'vitest';
import { selectWeights } from '../onnx/weights.ts';
import { TrainingSession } from './session.ts';
import { mlpModel, mlpTrainingGraph, randomBatch } from './testing.ts';

const D = 6;
const H = 5;
const C = 3;

const batch = (n: number, seed: number) => randomBatch(n, D, C, seed);

function initialWeights(): Float32Array[] {
  return selectWeights(mlpModel(D, H, C, 3)).map((t) => Float32Array.from(t.data as Float32Array));
}

async function open(mode: 'preallocated' | 'copy'): Promise<TrainingSession> {
  const s = await TrainingSession.create(mlpTrainingGraph(D, H, C), { gradientOutput: mode });
  if (!s.ok) throw new Error(s.error.message);
  return s.value;
}

describe('TrainingSession', () => {
  it('writes gradients in place, and they equal the copy path bit for bit', async () => {
    const pre = await open('preallocated');
    const copy = await open('copy');
    const w = initialWeights();
    const { x, y } = batch(16, 1);
    const gradBuffers = [...pre.grads];
    const lossA = await pre.run(w, x, y, 16);
    const lossB = await copy.run(w, x, y, 16);
    expect(pre.gradientOutput).toBe('preallocated');
    expect(copy.gradientOutput).toBe('copy');
    expect(lossA).toBe(lossB);
    expect(lossA).toBeGreaterThan(0);
    pre.grads.forEach((g, i) => {
      expect(g).toBe(gradBuffers[i]); // same buffers, refilled
      expect([...g]).toEqual([...copy.grads[i]!]);
      expect(g.some((v) => v !== 0)).toBe(true);
    });
    await pre.release();
    await copy.release();
  });

  it('reuses one session across weight sets and batch sizes', async () => {
    const s = await open('preallocated');
    const a = initialWeights();
    const b = a.map((t) => t.map((v) => v * 0.5));
    const { x, y } = batch(16, 2);
    const lossA = await s.run(a, x, y, 16);
    const gradsA = s.grads.map((g) => [...g]);
    await s.run(b, x, y, 16);
    const lossA2 = await s.run(a, x, y, 16);
    expect(lossA2).toBe(lossA);
    s.grads.forEach((g, i) => expect([...g]).toEqual(gradsA[i]));
    // A smaller last batch runs in the same session, on the first samples of the same buffers.
    const small = await s.run(a, x, y, 5);
    expect(small).not.toBe(lossA);
    // In-place weight updates are seen by the next run (the tensor wraps the live buffer).
    a[3]![0] = a[3]![0]! + 10;
    expect(await s.run(a, x, y, 16)).not.toBe(lossA);
    await s.release();
  });

  it('matches a float64 JS forward pass and finite differences', async () => {
    const s = await open('preallocated');
    const w = initialWeights();
    const { x, y } = batch(8, 4);
    const loss = await s.run(w, x, y, 8);
    const ref = (ws: Float32Array[] | Float64Array[]) => mlpLoss(ws, x, y, 8);
    expect(loss).toBeCloseTo(ref(w), 5);
    const w64 = w.map((t) => Float64Array.from(t));
    for (const [t, i] of [
      [0, 3],
      [1, 2],
      [2, 7],
      [3, 1],
    ] as const) {
      const eps = 1e-6;
      w64[t]![i] = w64[t]![i]! + eps;
      const up = ref(w64);
      w64[t]![i] = w64[t]![i]! - 2 * eps;
      const down = ref(w64);
      w64[t]![i] = w64[t]![i]! + eps;
      expect(s.grads[t]![i]).toBeCloseTo((up - down) / (2 * eps), 5);
    }
    await s.release();
  });
});

/** Mean cross-entropy of the MLP in float64. */
function mlpLoss(w: ArrayLike<number>[], x: Float32Array, y: BigInt64Array, n: number): number {
  const [w1, b1, w2, b2] = w as [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>];
  let total = 0;
  for (let s = 0; s < n; s++) {
    const h = Array.from({ length: H }, (_, j) => {
      let z = b1[j]!;
      for (let k = 0; k < D; k++) z += w1[j * D + k]! * x[s * D + k]!;
      return Math.max(0, z);
    });
    const logits = Array.from({ length: C }, (_, c) => {
      let z = b2[c]!;
      for (let j = 0; j < H; j++) z += w2[c * H + j]! * h[j]!;
      return z;
    });
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((a, v) => a + Math.exp(v - m), 0));
    total += lse - logits[Number(y[s])]!;
  }
  return total / n;
}
