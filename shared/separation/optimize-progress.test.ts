/**
 * The joint optimisation's validation figures reach the progress stream: per task accuracy (and floor)
 * at each evaluation, the selection criterion's value, and whether the point is the one kept — from
 * the optimisers themselves and through the planner's job-wide stream.
 */
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../core/progress.ts';
import { buildModel } from '../zoo/model-builder.ts';
import {
  better,
  evalPoint,
  optimizeJointly,
  selectionCriterion,
  type EvalPoint,
  type PagedState,
  type TaskGradients,
} from './optimize.ts';
import { PUBLISHED_REFERENCE_SCHEDULE, optimizeReference } from './optimize-reference.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import { planSeparation, plannerOptions, type PlannerTask } from './planner.ts';
import { zooSlice } from './zoo-slices.ts';

/** Task k wants its one shared weight at `target`; its accuracy falls with the distance. */
function quadratic(name: string, target: number): TaskGradients {
  return {
    name,
    weightCount: 1,
    async trainBatch(w, grad) {
      grad[0] = 2 * (w[0]! - target);
      return (w[0]! - target) ** 2;
    },
    async validate(w) {
      const d = (w[0]! - target) ** 2;
      return { accuracy: 1 / (1 + d), loss: d };
    },
  };
}

function sharedSlot(): PagedState {
  return {
    pageSize: 1,
    sharedPageCount: 1,
    shared: new Float32Array(1),
    exclusive: [new Float32Array(0), new Float32Array(0)],
    tables: [Uint32Array.from([0]), Uint32Array.from([0])],
    selfTied: false,
  };
}

describe('validation figures of the joint optimisation', () => {
  it('come with every evaluation: each task’s accuracy and floor, the criterion, the kept point', async () => {
    const events: ProgressEvent[] = [];
    const r = await optimizeJointly(sharedSlot(), [quadratic('a', 1), quadratic('b', 2)], {
      steps: 40,
      lr: 0.1,
      warmupSteps: 1,
      evalEvery: 10,
      patience: 1000,
      floorPoints: 20,
      baselineVal: [1, 0.9],
      progress: (e) => events.push(e),
    });
    const evaluations = events.filter((e) => e.validation);
    expect(evaluations.map((e) => [e.stage, e.step])).toEqual(
      r.history.map((h) => ['optimize', h.step] as const),
    );
    evaluations.forEach((e, i) => {
      const point = r.history[i]!;
      const v = e.validation!;
      expect(v.tasks).toEqual([
        { task: 'a', accuracy: point.valAccuracy[0], floor: 0.8 },
        { task: 'b', accuracy: point.valAccuracy[1], floor: 0.7 },
      ]);
      expect(v.criterion).toEqual(selectionCriterion(point));
    });
    // The last point flagged best is the snapshot the optimisation kept.
    const lastBest = evaluations.filter((e) => e.validation!.best).at(-1)!;
    expect(lastBest.step).toBe(r.bestStep);
    expect(evaluations[0]!.validation!.best).toBe(true);
  });

  it('name the criterion `better` applies: floors first, then the mean or the mean less the shortfall', () => {
    const floors = [0.8, 0.7];
    const points: EvalPoint[] = [];
    for (let a = 0.6; a <= 1; a += 0.05)
      for (let b = 0.5; b <= 1; b += 0.05) points.push(evalPoint(0, [a, b], floors));
    for (const p of points) {
      for (const q of points) {
        const cp = selectionCriterion(p);
        const cq = selectionCriterion(q);
        const byCriterion = cp.name !== cq.name ? cp.name === 'mean-within-floors' : cp.value > cq.value;
        expect(better(p, q)).toBe(byCriterion);
      }
    }
  });

  it('the reference method reports its mean criterion and no floors', async () => {
    const events: ProgressEvent[] = [];
    await optimizeReference(sharedSlot(), [quadratic('a', 1), quadratic('b', 2)], {
      schedule: {
        ...PUBLISHED_REFERENCE_SCHEDULE,
        lr: 0.05,
        formationSteps: 0,
        rounds: 2,
        chunkSteps: 4,
        evalEveryRounds: 1,
      },
      normalizedFisher: [new Float32Array(1), new Float32Array(1)],
      baselineVal: [1, 1],
      floorPoints: 1,
      progress: (e) => events.push(e),
    });
    const figures = events.map((e) => e.validation!);
    expect(figures.length).toBeGreaterThan(1);
    for (const v of figures) {
      expect(v.criterion.name).toBe('mean');
      expect(v.criterion.value).toBeCloseTo((v.tasks[0]!.accuracy + v.tasks[1]!.accuracy) / 2, 12);
      expect(v.tasks.every((t) => t.floor === undefined)).toBe(true);
    }
  });
});

describe('the planner’s progress stream', () => {
  it('carries the validation figures of each evaluation, mapped into the whole job', async () => {
    const tasks: PlannerTask[] = [
      {
        name: 'digits8x8',
        model: buildModel('digits', [1, 8, 8], 3, (b, x) => b.dense('fc', b.flatten(x), 10)).model,
        data: zooSlice('digits8x8', 64),
      },
      {
        name: 'wall_following',
        model: buildModel('wall', [24], 4, (b, x) => b.dense('fc', x, 4)).model,
        data: zooSlice('wall_following', 64),
      },
    ];
    const P = 64;
    const events: ProgressEvent[] = [];
    const planned = await planSeparation(
      tasks,
      plannerOptions(withSizes(STORED_DEVICE, { l1Bytes: 4 * P * 4 + 64 * 4, l2Bytes: 8 * P * 4 }), {
        method: { pageSize: P, fisherSamples: 8 },
        optimisation: { steps: 8, evalEvery: 4, patience: 8 },
        run: { workers: 0, progress: (e) => events.push(e) },
      }),
    );
    if (!planned.ok) throw new Error(planned.error.message);
    const evaluations = events.filter((e) => e.validation);
    expect(evaluations.map((e) => e.step)).toEqual([0, 4, 8]);
    for (const e of evaluations) {
      expect(e.stage).toBe('optimize');
      expect(e.total).toBe(8);
      expect(e.validation!.tasks.map((t) => t.task)).toEqual(['digits8x8', 'wall_following']);
      expect(e.validation!.tasks.every((t) => t.floor !== undefined)).toBe(true);
    }
    // Fractions are the whole job's (the planner's tracker), never the stage's own step/total.
    const fractions = events.map((e) => e.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(evaluations[0]!.fraction).toBeGreaterThan(0);
  });
});
