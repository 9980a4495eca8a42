import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr, floatTensor } from '../onnx/builder.ts';
import { tinyConvNet } from '../onnx/testing.ts';
import { DataType, type Model } from '../onnx/types.ts';
import { accumulateFisher, computeFisher, sampleIndices } from './fisher.ts';

/** Softmax regression: logits = x Wᵀ + b, W [classes, d]. */
function softmaxRegression(
  d: number,
  classes: number,
  seed: number,
): { model: Model; W: Float32Array; b: Float32Array } {
  const rng = new Rng(seed);
  const W = Float32Array.from({ length: classes * d }, () => rng.normal() * 0.5);
  const b = Float32Array.from({ length: classes }, () => rng.normal() * 0.1);
  const g = new GraphBuilder();
  const x = g.input('input', DataType.FLOAT, ['batch', d]);
  const w = g.initializer(floatTensor('fc.weight', [classes, d], W));
  const bias = g.initializer(floatTensor('fc.bias', [classes], b));
  const y = g.op('Gemm', [x, w, bias], { transB: attr.int(1) }, 'logits');
  g.output(y, DataType.FLOAT, ['batch', classes]);
  return { model: g.build('softmax-regression'), W, b };
}

describe('fisher', () => {
  it('samples distinct, seeded indices', () => {
    const a = sampleIndices(100, 10, 1);
    expect(new Set(a).size).toBe(10);
    expect(Array.from(a)).toEqual(Array.from(sampleIndices(100, 10, 1)));
    expect(Array.from(a)).not.toEqual(Array.from(sampleIndices(100, 10, 2)));
    expect(sampleIndices(5, 10, 1).length).toBe(5);
  });

  it('accumulates mean squared gradients, page sums and exact zeros (hand-checked)', async () => {
    const grads: Record<number, Float32Array[]> = {
      0: [Float32Array.from([1, 0, 2]), Float32Array.from([3])],
      1: [Float32Array.from([1, 0, 0]), Float32Array.from([1])],
    };
    const r = await accumulateFisher(Int32Array.of(0, 1), 4, async (i) => grads[i]!, { pageSize: 3 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.value.perWeight)).toEqual([1, 0, 2, 5]);
    expect(Array.from(r.value.pageScores)).toEqual([3, 5]);
    expect(r.value.total).toBe(8);
    expect(r.value.zeroWeights).toBe(1);
    expect(Array.from(r.value.zeroWeightsPerPage)).toEqual([1, 0]);
    const bad = await accumulateFisher(Int32Array.of(0), 5, async (i) => grads[i]!, { pageSize: 3 });
    expect(bad.ok).toBe(false);
  });

  it('matches the closed-form true-label Fisher of softmax regression (onnxruntime)', async () => {
    const d = 5;
    const C = 3;
    const n = 40;
    const { model, W, b } = softmaxRegression(d, C, 3);
    const rng = new Rng(8);
    const x = Float32Array.from({ length: n * d }, () => rng.normal());
    const y = Uint8Array.from({ length: n }, () => rng.int(C));
    const r = await computeFisher(model, { n, x, y }, { pageSize: 4, samples: 16, seed: 5 });
    expect(r.ok, r.ok ? '' : r.error.message).toBe(true);
    if (!r.ok) return;
    // ∂ log p(y|x)/∂W[c, j] = (δ_cy − p_c)·x_j, ∂/∂b_c = δ_cy − p_c.
    const expected = new Float64Array(C * d + C);
    const indices = sampleIndices(n, 16, 5);
    for (const i of indices) {
      const logits = Array.from(
        { length: C },
        (_, c) =>
          b[c]! +
          Array.from({ length: d }, (_, j) => W[c * d + j]! * x[i * d + j]!).reduce((s, v) => s + v, 0),
      );
      const m = Math.max(...logits);
      const z = logits.reduce((s, l) => s + Math.exp(l - m), 0);
      for (let c = 0; c < C; c++) {
        const e = (c === y[i] ? 1 : 0) - Math.exp(logits[c]! - m) / z;
        for (let j = 0; j < d; j++) expected[c * d + j]! += (e * x[i * d + j]!) ** 2 / 16;
        expected[C * d + c]! += (e * e) / 16;
      }
    }
    expect(r.value.samples).toBe(16);
    for (let k = 0; k < expected.length; k++) expect(r.value.perWeight[k]).toBeCloseTo(expected[k]!, 5);
    expect(r.value.pageScores.length).toBe(Math.ceil(18 / 4));
  });

  it('runs on a small conv net (Conv, MaxPool, Gemm)', async () => {
    const model = tinyConvNet(2);
    const rng = new Rng(1);
    const n = 12;
    const x = Float32Array.from({ length: n * 64 }, () => rng.normal());
    const y = Uint8Array.from({ length: n }, () => rng.int(3));
    const r = await computeFisher(model, { n, x, y }, { pageSize: 32, samples: 8, seed: 1 });
    expect(r.ok, r.ok ? '' : r.error.message).toBe(true);
    if (!r.ok) return;
    expect(r.value.perWeight.length).toBe(4 * 9 + 4 + 3 * 64 + 3);
    expect(r.value.total).toBeGreaterThan(0);
    expect(r.value.perWeight.every((f) => Number.isFinite(f) && f >= 0)).toBe(true);
  });

  it('refuses data that does not fit the model', async () => {
    const { model } = softmaxRegression(4, 2, 1);
    const r = await computeFisher(
      model,
      { n: 2, x: new Float32Array(7), y: new Uint8Array(2) },
      { pageSize: 4 },
    );
    expect(!r.ok && r.error.code).toBe('E_DATA_MISMATCH');
  });
});
