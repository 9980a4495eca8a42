import { describe, expect, it } from 'vitest';
import { selectWeights } from '../onnx/weights.ts';
import { TrainingSession } from './session.ts';
import { mlpModel, mlpTrainingGraph, randomBatch } from './testing.ts';
import { Trainer } from './trainer.ts';

const D = 6;
const H = 5;
const C = 3;

const batch = (n: number, seed: number) => randomBatch(n, D, C, seed);

async function trainer(): Promise<Trainer> {
  const t = await Trainer.create(mlpModel(D, H, C, 3), { optimizer: { kind: 'sgd', lr: 0.1, momentum: 0 } });
  if (!t.ok) throw new Error(t.error.message);
  return t.value;
}

describe('Trainer', () => {
  it('gives the same loss and gradients as the hand-written training graph', async () => {
    const t = await trainer();
    const s = await TrainingSession.create(mlpTrainingGraph(D, H, C));
    if (!s.ok) throw new Error(s.error.message);
    const { x, y } = batch(12, 1);
    expect(t.weightNames).toEqual(s.value.graph.weightNames);
    const loss = await t.gradients(x, y, 12);
    const ref = await s.value.run(t.weights, x, y, 12);
    expect(loss.ok && loss.value).toBeCloseTo(ref, 6);
    t.grads.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(s.value.grads[i]![j]!, 6)));
    await t.release();
    await s.value.release();
  });

  it('computes gradients without updating, for its own or outside weights', async () => {
    const t = await trainer();
    const before = t.snapshot();
    const { x, y } = batch(8, 2);
    const own = await t.gradients(x, y, 8);
    expect(t.weights.map((w) => [...w])).toEqual(before.map((w) => [...w]));
    const scaled = before.map((w) => w.map((v) => v * 0.5));
    const outside = await t.gradients(x, y, 8, scaled);
    expect(outside.ok && own.ok && outside.value !== own.value).toBe(true);
    expect(t.weights.map((w) => [...w])).toEqual(before.map((w) => [...w]));
    // setWeights copies the values in; the next gradients match the outside call.
    expect(t.setWeights(scaled).ok).toBe(true);
    const again = await t.gradients(x, y, 8);
    expect(again.ok && outside.ok && again.value === outside.value).toBe(true);
    expect(t.setWeights([new Float32Array(2)]).ok).toBe(false);
    await t.release();
  });

  it('step = gradients + optimizer update, in place', async () => {
    const t = await trainer();
    const before = t.snapshot();
    const buffers = [...t.weights];
    const { x, y } = batch(8, 3);
    const loss = await t.step(x, y, 8);
    expect(loss.ok).toBe(true);
    t.weights.forEach((w, i) => {
      expect(w).toBe(buffers[i]);
      w.forEach((v, j) => expect(v).toBeCloseTo(before[i]![j]! - 0.1 * t.grads[i]![j]!, 6));
    });
    // toModel stores the current weights; the input model is untouched.
    const stored = selectWeights(t.toModel());
    expect([...(stored[0]!.data as Float32Array)]).toEqual([...t.weights[0]!]);
    expect([...(selectWeights(mlpModel(D, H, C, 3))[0]!.data as Float32Array)]).toEqual([...before[0]!]);
    await t.release();
  });

  it('reports a bad weight list as an error value', async () => {
    const r = await Trainer.create(mlpModel(D, H, C), { weights: ['nope'] });
    expect(r.ok).toBe(false);
    const bad = await Trainer.create(mlpModel(D, H, C), { optimizer: { kind: 'adam', lr: 0 } });
    expect(!bad.ok && bad.error.code).toBe('E_USAGE');
  });
});
