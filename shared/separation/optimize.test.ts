import { describe, expect, it } from 'vitest';
import {
  better,
  evalPoint,
  optimizeJointly,
  taskFocus,
  type PagedState,
  type TaskGradients,
} from './optimize.ts';

/**
 * Quadratic tasks with known optima: task k wants its weights at `target_k`. Where two tasks share a
 * page, the summed gradient drives the page to the mean of their targets; exclusive pages reach
 * their own task's target. "Accuracy" is a decreasing function of the distance, so the snapshot
 * selection can be checked too.
 */
function quadraticTask(
  name: string,
  target: Float32Array,
  onValidate?: (w: Float32Array) => number,
): TaskGradients {
  return {
    name,
    weightCount: target.length,
    async trainBatch(w, grad) {
      let loss = 0;
      for (let i = 0; i < w.length; i++) {
        const d = w[i]! - target[i]!;
        grad[i] = 2 * d;
        loss += d * d;
      }
      return loss;
    },
    async validate(w) {
      let dist = 0;
      for (let i = 0; i < w.length; i++) dist += (w[i]! - target[i]!) ** 2;
      return { accuracy: onValidate ? onValidate(w) : 1 / (1 + dist), loss: dist };
    },
  };
}

/** One task with one weight on the single shared slot. */
function oneWeight(): PagedState {
  return {
    pageSize: 1,
    sharedPageCount: 1,
    shared: new Float32Array(1),
    exclusive: [new Float32Array(0)],
    tables: [Uint32Array.from([0])],
    selfTied: false,
  };
}

describe('joint optimisation', () => {
  it('drives a shared page to the minimiser of the summed losses and exclusive pages to their own optimum', async () => {
    const P = 4;
    // Task A: pages 0 (shared slot 0) and 1 (exclusive). Task B: page 0 on shared slot 0.
    const a = quadraticTask('a', Float32Array.from([1, 1, 1, 1, 5, 5, 5, 5]));
    const b = quadraticTask('b', Float32Array.from([3, 3, 3, 3]));
    const state: PagedState = {
      pageSize: P,
      sharedPageCount: 1,
      shared: new Float32Array(4),
      exclusive: [new Float32Array(4), new Float32Array(0)],
      tables: [Uint32Array.from([0, 1]), Uint32Array.from([0])],
      selfTied: false,
    };
    const r = await optimizeJointly(state, [a, b], {
      steps: 3000,
      lr: 0.05,
      warmupSteps: 10,
      evalEvery: 100,
      patience: 10_000,
      floorPoints: 100,
      baselineVal: [1, 1],
    });
    for (const v of state.shared) expect(v).toBeCloseTo(2, 2);
    for (const v of state.exclusive[0]!) expect(v).toBeCloseTo(5, 2);
    expect(r.stepsRun).toBe(3000);
    expect(r.history[0]!.step).toBe(0);
  });

  it('with an average of the pages, keeps the average: smoother than the iterate under noisy gradients', async () => {
    // One task, one weight, optimum 3, and a large disturbance that flips sign every 20 steps
    // (mean 0): the iterate swings around 3 by about 20 steps' worth; the average settles on it.
    let calls = 0;
    const noise = () => (Math.floor(calls++ / 20) % 2 === 0 ? 20 : -20);
    const task: TaskGradients = {
      name: 'noisy',
      weightCount: 1,
      async trainBatch(w, grad) {
        grad[0] = 2 * (w[0]! - 3) + noise();
        return (w[0]! - 3) ** 2;
      },
      async validate(w) {
        return { accuracy: 1 / (1 + (w[0]! - 3) ** 2), loss: (w[0]! - 3) ** 2 };
      },
    };
    const run = async (ema: number) => {
      const state: PagedState = oneWeight();
      const r = await optimizeJointly(state, [task], {
        steps: 2000,
        lr: 0.05,
        warmupSteps: 1,
        evalEvery: 2000,
        patience: 10_000,
        floorPoints: 100,
        baselineVal: [1],
        ema,
      });
      expect(r.bestStep).toBe(2000);
      calls = 0;
      return Math.abs(state.shared[0]! - 3);
    };
    const raw = await run(0);
    const averaged = await run(0.99);
    expect(raw).toBeGreaterThan(0.02);
    expect(averaged).toBeLessThan(raw / 4);
  });

  it('keeps the best snapshot that respects every task floor, and stops on patience', async () => {
    // Task "a" scores high only near w = 0, where "b" is below its floor; the floor must win.
    let calls = 0;
    const a = quadraticTask('a', Float32Array.from([10]), (w) => (Math.abs(w[0]!) < 0.5 ? 0.99 : 0.5));
    const b = quadraticTask('b', Float32Array.from([10]), (w) => {
      calls++;
      return w[0]! > 9 ? 0.9 : 0.1;
    });
    const state: PagedState = {
      pageSize: 1,
      sharedPageCount: 1,
      shared: new Float32Array(1),
      exclusive: [new Float32Array(0), new Float32Array(0)],
      tables: [Uint32Array.from([0]), Uint32Array.from([0])],
      selfTied: false,
    };
    const r = await optimizeJointly(state, [a, b], {
      steps: 5000,
      lr: 0.1,
      warmupSteps: 1,
      evalEvery: 50,
      patience: 500,
      floorPoints: 5,
      baselineVal: [0.5, 0.9],
    });
    expect(state.shared[0]!).toBeGreaterThan(9);
    expect(r.stepsRun).toBeLessThan(5000);
    expect(r.valAccuracy[1]).toBe(0.9);
    expect(calls).toBe(r.history.length);
  });

  it('cancels between steps', async () => {
    const controller = new AbortController();
    controller.abort();
    const t = quadraticTask('a', Float32Array.from([1]));
    const state: PagedState = oneWeight();
    await expect(
      optimizeJointly(state, [t], {
        steps: 10,
        lr: 0.1,
        warmupSteps: 1,
        evalEvery: 5,
        patience: 10,
        floorPoints: 1,
        baselineVal: [1],
        signal: controller.signal,
      }),
    ).rejects.toThrow(/cancelled/);
  });

  it('on a plateau lowers the rate twice before stopping (schedule "plateau")', async () => {
    // Validation never improves, so only the schedule decides when the run ends.
    const flat = () => quadraticTask('a', Float32Array.from([1]), () => 0.5);
    const state = (): PagedState => oneWeight();
    const base = {
      steps: 1000,
      lr: 0.01,
      warmupSteps: 1,
      evalEvery: 10,
      patience: 100,
      floorPoints: 1,
      baselineVal: [0.5],
    };
    const constant = await optimizeJointly(state(), [flat()], base);
    const plateau = await optimizeJointly(state(), [flat()], { ...base, schedule: 'plateau' });
    expect(constant.stepsRun).toBe(100);
    // Drops at steps 50 and 100 (half the patience without progress), then stops 100 steps later.
    expect(plateau.stepsRun).toBe(200);
  });
});

describe('taskFocus', () => {
  it('weights tasks by exp(focus × shortfall in points), clipped to 10 points, with mean 1', () => {
    const floors = [0.9, 0.8, 0.7];
    // Shortfalls: 2 points, 0 (above its floor), 30 points (clipped to 10).
    const w = taskFocus([0.88, 0.85, 0.4], floors, 0.2);
    const raw = [Math.exp(0.4), 1, Math.exp(2)];
    const mean = (raw[0]! + raw[1]! + raw[2]!) / 3;
    raw.forEach((r, k) => expect(w[k]).toBeCloseTo(r / mean, 12));
    expect(taskFocus([0.95, 0.9, 0.8], floors, 0.2)).toEqual([1, 1, 1]);
  });
});

describe('snapshot choice', () => {
  it('prefers floor-keeping snapshots; among the rest, the mean with shortfalls counted twice', () => {
    const floors = [0.9, 0.5, 0.5];
    const keeps = evalPoint(100, [0.91, 0.5, 0.5], floors);
    const misses = evalPoint(200, [0.89, 0.9, 0.9], floors);
    expect(better(keeps, misses)).toBe(true);
    // Neither keeps every floor: a higher mean wins over a slightly smaller worst shortfall...
    const early = evalPoint(300, [0.86, 0.45, 0.45], floors); // mean 0.587, shortfall 0.047
    const late = evalPoint(400, [0.85, 0.6, 0.6], floors); // mean 0.683, shortfall 0.017
    expect(better(late, early)).toBe(true);
    expect(late.worstViolation).toBeGreaterThan(early.worstViolation);
    // ...but a point below a floor costs twice a point above it.
    const a = evalPoint(500, [0.88, 0.55, 0.5], floors); // mean 0.643, shortfall 0.0067
    const b = evalPoint(600, [0.86, 0.57, 0.51], floors); // mean 0.647, shortfall 0.0133
    expect(b.meanValAccuracy).toBeGreaterThan(a.meanValAccuracy);
    expect(better(a, b)).toBe(true);
  });
});
