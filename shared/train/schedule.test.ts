import { describe, expect, it } from 'vitest';
import { learningRate } from './schedule.ts';

describe('learningRate', () => {
  it('constant, with linear warm-up', () => {
    expect(learningRate({ kind: 'constant' }, 0.1, 500, 1000)).toBe(0.1);
    expect(learningRate({ kind: 'constant', warmup: 4 }, 0.1, 0, 1000)).toBeCloseTo(0.025, 12);
    expect(learningRate({ kind: 'constant', warmup: 4 }, 0.1, 3, 1000)).toBeCloseTo(0.1, 12);
  });

  it('cosine goes from lr to lr·minFactor', () => {
    expect(learningRate({ kind: 'cosine' }, 0.1, 0, 100)).toBeCloseTo(0.1, 12);
    expect(learningRate({ kind: 'cosine' }, 0.1, 50, 100)).toBeCloseTo(0.05, 12);
    expect(learningRate({ kind: 'cosine' }, 0.1, 100, 100)).toBeCloseTo(0, 12);
    expect(learningRate({ kind: 'cosine', minFactor: 0.1 }, 0.1, 100, 100)).toBeCloseTo(0.01, 12);
  });

  it('step decay multiplies by the factor every N steps', () => {
    const s = { kind: 'step', every: 10, factor: 0.5 } as const;
    expect([0, 9, 10, 25].map((t) => learningRate(s, 1, t, 100))).toEqual([1, 1, 0.5, 0.25]);
  });
});
