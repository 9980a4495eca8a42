import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../core/progress.ts';
import { tinyConvNet } from '../onnx/testing.ts';
import { selectWeights } from '../onnx/weights.ts';
import { Evaluator } from './evaluator.ts';
import { fit } from './fit.ts';
import { syntheticTask } from './testing.ts';

// Tiny conv net on 1×8×8 inputs with 3 classes; noisy blobs so that step 0 is far from perfect.
const data = syntheticTask({
  shape: [1, 8, 8],
  classes: 3,
  train: 600,
  val: 200,
  test: 200,
  seed: 7,
  noise: 2.5,
});

describe('fit', () => {
  it('lowers the loss and raises accuracy on a separable problem', async () => {
    const events: ProgressEvent[] = [];
    const r = await fit(tinyConvNet(2), data, {
      steps: 300,
      evalEvery: 50,
      seed: 1,
      optimizer: { kind: 'adam', lr: 3e-3 },
      progress: (e) => events.push(e),
    });
    if (!r.ok) throw new Error(r.error.message);
    const h = r.value.history;
    expect(h[0]!.step).toBe(0);
    expect(h.at(-1)!.step).toBe(300);
    expect(h.at(-1)!.valLoss).toBeLessThan(h[0]!.valLoss * 0.5);
    expect(r.value.bestValAccuracy).toBeGreaterThan(0.85);
    expect(h[0]!.valAccuracy).toBeLessThan(0.5);
    expect(r.value.test!.accuracy).toBeGreaterThan(0.8);
    expect(r.value.test!.n).toBe(200);
    expect(r.value.gradientOutput).toBe('preallocated');
    // Progress: stage 'train', monotone steps up to the total, fraction reaching 1.
    expect(events.every((e) => e.stage === 'train' && e.task === 'synthetic' && e.total === 300)).toBe(true);
    expect(events.at(-1)!.fraction).toBe(1);
    // The returned model carries the best weights.
    const stored = selectWeights(r.value.model);
    expect([...(stored[0]!.data as Float32Array)]).toEqual([...r.value.weights[0]!]);
  });

  it('is deterministic for a seed', async () => {
    const run = async (seed: number) => {
      const r = await fit(tinyConvNet(2), data, { steps: 40, evalEvery: 20, seed, evaluateTest: false });
      if (!r.ok) throw new Error(r.error.message);
      return r.value.weights.map((w) => [...w]);
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
  });

  it('early stopping keeps the best validation snapshot', async () => {
    const events: ProgressEvent[] = [];
    // SGD at this learning rate makes validation accuracy wander; the result must be the best point.
    const r = await fit(tinyConvNet(2), data, {
      steps: 400,
      evalEvery: 20,
      patience: 60,
      seed: 1,
      optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 },
      evaluateTest: false,
      progress: (e) => events.push(e),
    });
    if (!r.ok) throw new Error(r.error.message);
    const best = r.value.history.reduce((a, b) =>
      b.valAccuracy > a.valAccuracy || (b.valAccuracy === a.valAccuracy && b.valLoss < a.valLoss) ? b : a,
    );
    expect(r.value.bestStep).toBe(best.step);
    expect(r.value.bestValAccuracy).toBe(best.valAccuracy);
    expect(r.value.stoppedEarly).toBe(true);
    expect(r.value.stepsDone).toBeLessThan(400);
    expect(r.value.stepsDone - r.value.bestStep).toBeGreaterThanOrEqual(60);
    expect(r.value.bestStep).toBeLessThan(r.value.history.at(-1)!.step);
    expect(events.at(-1)!.fraction).toBe(1);
    // The returned weights and model are that snapshot: re-evaluating gives the recorded accuracy.
    const evaluator = await Evaluator.create(r.value.model);
    if (!evaluator.ok) throw new Error(evaluator.error.message);
    const again = await evaluator.value.evaluate(data.val, evaluator.value.initialWeights);
    expect(again.accuracy).toBe(best.valAccuracy);
    expect(again.loss).toBeCloseTo(best.valLoss, 10);
    await evaluator.value.release();
  });

  it('returns E_CANCELLED when the signal fires', async () => {
    const controller = new AbortController();
    const r = await fit(tinyConvNet(2), data, {
      steps: 10_000,
      signal: controller.signal,
      progress: (e) => {
        if (e.step >= 20) controller.abort();
      },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_CANCELLED');
  });

  it('rejects data of the wrong shape', async () => {
    const other = syntheticTask({ shape: [1, 4, 4], classes: 3, train: 10, val: 5, test: 5, seed: 1 });
    const r = await fit(tinyConvNet(2), other, { steps: 5 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_DATA_MISMATCH');
  });
});
