import { describe, expect, it } from 'vitest';
import type { ProgressDetails } from '../../core/progress.ts';
import { validationNoise, type PagedState } from '../optimize.ts';
import { PUBLISHED_REFERENCE_SCHEDULE } from '../optimize-reference.ts';
import { withOverrides } from '../planner-options.ts';
import { OURS } from '../strategies/ours.ts';
import { REFERENCE } from '../strategies/reference.ts';
import { optimisationStage } from './optimisation.ts';
import { quadraticRunner, twoModelOptions } from './testing.ts';

/** Two tasks on one shared page of 2; a wants (1, 1), b wants (3, 3): jointly, (2, 2) is best. */
function shared(): PagedState {
  return {
    pageSize: 2,
    sharedPageCount: 1,
    shared: new Float32Array(2),
    exclusive: [new Float32Array(0), new Float32Array(0)],
    tables: [Uint32Array.of(0), Uint32Array.of(0)],
    selfTied: false,
  };
}

const fisher = [0, 1].map(() => ({
  samples: 1,
  perWeight: Float64Array.of(1, 2),
  pageScores: Float64Array.of(3),
  total: 3,
  zeroWeights: 0,
  zeroWeightsPerPage: new Int32Array(1),
}));

describe('the optimisation stage', () => {
  it('with 0 steps keeps the initial pages and only evaluates them', async () => {
    const state = shared();
    state.shared.set([1, 1]);
    const tasks = [quadraticRunner('a', Float32Array.of(1, 1)), quadraticRunner('b', Float32Array.of(3, 3))];
    const options = withOverrides(twoModelOptions(), { optimisation: { steps: 0 } });
    const r = await optimisationStage(OURS, state, tasks, fisher, [1, 1], options, { progress: () => {} });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toEqual({ bestStep: 0, history: [], stepsRun: 0, msPerStep: 0, valAccuracy: [1, 1 / 9] });
    expect(tasks.map((t) => t.calls.train)).toEqual([0, 0]);
    expect(Array.from(state.shared)).toEqual([1, 1]);
  });

  it('with 0 steps and i8 pages evaluates the int8 pages the plan stores', async () => {
    const state = shared();
    state.shared.set([1, 0.3]);
    const tasks = [quadraticRunner('a', Float32Array.of(1, 1)), quadraticRunner('b', Float32Array.of(3, 3))];
    const options = withOverrides(twoModelOptions(), {
      method: { valueType: 'i8' },
      optimisation: { steps: 0 },
    });
    const r = await optimisationStage(OURS, state, tasks, fisher, [1, 1], options, { progress: () => {} });
    if (!r.ok) throw new Error(r.error.message);
    // max-abs: scale 1/127, 0.3 → 38/127; accuracy 1 ÷ (1 + distance²) at the int8 page, not at 0.3.
    const q = Math.fround(38 * Math.fround(1 / 127));
    const acc = (t: number) => 1 / (1 + (1 - t) ** 2 + (q - t) ** 2);
    expect(r.value.valAccuracy[0]).toBeCloseTo(acc(1), 12);
    expect(r.value.valAccuracy[1]).toBeCloseTo(acc(3), 12);
    expect(Array.from(state.shared)).toEqual([1, Math.fround(0.3)]);
  });

  it.each([
    ['ours', OURS, 'mean-less-noise-shortfall'],
    ['the reference', REFERENCE, 'mean'],
  ])(
    '%s: runs the strategy’s optimiser, and its steps and evaluations reach the stage’s progress',
    async (_, strategy, criterion) => {
      const state = shared();
      const tasks = [
        quadraticRunner('a', Float32Array.of(1, 1)),
        quadraticRunner('b', Float32Array.of(3, 3)),
      ];
      const options = withOverrides(twoModelOptions(), {
        optimisation: {
          steps: 64,
          evalEvery: 32,
          patience: 64,
          lr: 0.1,
          warmupSteps: 1,
          ema: 0,
          focus: 0,
          floorPoints: 100,
          // The reference's own schedule, shortened to the same 64 steps: two rounds of 32.
          referenceSchedule: {
            ...PUBLISHED_REFERENCE_SCHEDULE,
            lr: 0.1,
            formationSteps: 0,
            rounds: 2,
            evalEveryRounds: 1,
          },
        },
      });
      const events: Array<[number, number | undefined, ProgressDetails | undefined]> = [];
      const r = await optimisationStage(strategy, state, tasks, fisher, [1, 1], options, {
        progress: (step, total, details) => events.push([step, total, details]),
      });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.stepsRun).toBe(64);
      expect(tasks.every((t) => t.calls.train > 0)).toBe(true);
      const evaluations = events.filter(([, , d]) => d?.validation);
      expect(evaluations.map(([step]) => step)).toEqual([0, 32, 64]);
      expect(evaluations.every(([, , d]) => d?.validation?.criterion.name.startsWith(criterion))).toBe(true);
      // Steps (every 10th and the last) come without figures.
      expect(events.some(([step, total, d]) => step === 64 && total === 64 && d === undefined)).toBe(true);
      const cancelled = await optimisationStage(strategy, shared(), tasks, fisher, [1, 1], options, {
        progress: () => {},
        signal: AbortSignal.abort(),
      });
      expect(!cancelled.ok && cancelled.error.code).toBe('E_CANCELLED');
    },
  );

  it('ours: measures each task’s noise from its validation split’s size (floors and criterion)', async () => {
    const tasks = [quadraticRunner('a', Float32Array.of(1, 1)), quadraticRunner('b', Float32Array.of(3, 3))];
    const options = withOverrides(twoModelOptions(), {
      optimisation: { steps: 4, evalEvery: 2, warmupSteps: 1, floorPoints: 1 },
    });
    const r = await optimisationStage(OURS, shared(), tasks, fisher, [0.9, 0.5], options, {
      progress: () => {},
    });
    if (!r.ok) throw new Error(r.error.message);
    // The synthetic splits hold 8 validation samples: σ of 90% is about 11 points, of 50% about 16.
    const n = tasks[0]!.data.val.n;
    expect(n).toBe(8);
    for (const point of r.value.history) {
      expect(point.noise).toEqual([validationNoise(0.9, n), validationNoise(0.5, n)]);
      expect(point.floors).toEqual([0.9 - validationNoise(0.9, n), 0.5 - validationNoise(0.5, n)]);
    }
  });
});
