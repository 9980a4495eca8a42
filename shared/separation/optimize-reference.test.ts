import { describe, expect, it } from 'vitest';
import type { PagedState, TaskGradients } from './optimize.ts';
import { optimizeReference } from './optimize-reference.ts';

function quadratic(name: string, target: number[], accept = true): TaskGradients {
  const t = Float32Array.from(target);
  return {
    name,
    weightCount: t.length,
    async trainBatch(w, grad) {
      let loss = 0;
      for (let i = 0; i < w.length; i++) {
        grad[i] = 2 * (w[i]! - t[i]!);
        loss += (w[i]! - t[i]!) ** 2;
      }
      return loss;
    },
    async validate(w) {
      let d = 0;
      for (let i = 0; i < w.length; i++) d += (w[i]! - t[i]!) ** 2;
      // A task that never "improves" on validation: its chunks must all be rejected.
      return { accuracy: accept ? 1 / (1 + d) : 0.5, loss: d };
    },
  };
}

function sharedState(): PagedState {
  return {
    pageSize: 2,
    sharedPageCount: 1,
    shared: new Float32Array(2),
    exclusive: [new Float32Array(0), new Float32Array(0)],
    tables: [Uint32Array.from([0]), Uint32Array.from([0])],
    selfTied: false,
  };
}

const base = { chunkSteps: 32, lr: 0.05, baselineVal: [1, 1], floorPoints: 100 };

describe('reference optimisation (baseline)', () => {
  it('is last-writer-wins: an accepted chunk overwrites the shared page', async () => {
    const state = sharedState();
    const fisher = [new Float32Array(2), new Float32Array(2)];
    await optimizeReference(state, [quadratic('a', [1, 1]), quadratic('b', [3, 3])], {
      ...base,
      steps: 32,
      lambda: 0,
      normalizedFisher: fisher,
    });
    // One round: a trains from 0 towards 1, then b from a's values towards 3 and overwrites.
    // So the page holds b's values (≈ 2.6 after 32 Adam steps of 0.05), not the joint optimum 2.
    expect(state.shared[0]!).toBeGreaterThan(2.3);
    expect(state.shared[0]!).toBeLessThan(3.1);
  });

  it('rejects chunks that do not improve validation accuracy', async () => {
    const state = sharedState();
    const fisher = [new Float32Array(2), new Float32Array(2)];
    await optimizeReference(state, [quadratic('a', [1, 1], false), quadratic('b', [3, 3], false)], {
      ...base,
      steps: 64,
      lambda: 0,
      normalizedFisher: fisher,
    });
    expect(Array.from(state.shared)).toEqual([0, 0]);
  });

  it('the penalty pulls towards the other occupant’s latest weights', async () => {
    const free = sharedState();
    const pulled = sharedState();
    const zero = [new Float32Array(2), new Float32Array(2)];
    const one = [Float32Array.from([1, 1]), Float32Array.from([1, 1])];
    // Only task b trains (a never improves); a's latest weights are the initial zeros.
    const tasks = () => [quadratic('a', [0, 0], false), quadratic('b', [4, 4])];
    await optimizeReference(free, tasks(), { ...base, steps: 32, lambda: 0, normalizedFisher: zero });
    await optimizeReference(pulled, tasks(), { ...base, steps: 32, lambda: 5, normalizedFisher: one });
    expect(pulled.shared[0]!).toBeLessThan(free.shared[0]!);
    expect(pulled.shared[0]!).toBeGreaterThan(0);
  });
});
