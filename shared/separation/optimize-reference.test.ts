/**
 * The reference's optimisation (baseline) on small hand-computable cases: its published schedule,
 * its sequential order (formation in insertion order, then rounds of chunks), the formation's best
 * snapshot, the chunks' accept rule, last-writer-wins, and its penalty.
 */
import { describe, expect, it } from 'vitest';
import type { PagedState, TaskGradients } from './optimize.ts';
import {
  PUBLISHED_REFERENCE_SCHEDULE,
  addPenalty,
  checkReferenceSchedule,
  optimizeReference,
  partnersOf,
  scheduleSteps,
  type ReferenceSchedule,
} from './optimize-reference.ts';

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

/** Logs every training step and validation of each task into `log`, in the order they happen. */
function logged(task: TaskGradients, log: string[]): TaskGradients {
  return {
    ...task,
    trainBatch: (w, grad) => {
      log.push(`${task.name}:train`);
      return task.trainBatch(w, grad);
    },
    validate: (w) => {
      log.push(`${task.name}:val`);
      return task.validate(w);
    },
  };
}

function sharedState(tasks = 2): PagedState {
  return {
    pageSize: 2,
    sharedPageCount: 1,
    shared: new Float32Array(2),
    exclusive: Array.from({ length: tasks }, () => new Float32Array(0)),
    tables: Array.from({ length: tasks }, () => Uint32Array.from([0])),
    selfTied: false,
  };
}

/** Only the rounds, as the former matched schedule ran them: `rounds` chunks of 32 per task. */
const rounds = (n: number, over: Partial<ReferenceSchedule> = {}): ReferenceSchedule => ({
  ...PUBLISHED_REFERENCE_SCHEDULE,
  lr: 0.05,
  formationSteps: 0,
  rounds: n,
  evalEveryRounds: 1,
  ...over,
});

const base = { baselineVal: [1, 1], floorPoints: 100 };
const zero = () => [new Float32Array(2), new Float32Array(2)];

describe('the reference’s schedule', () => {
  it('is the published one: batch 100, Adam 1e-3, λ 0.1, 2000 formation steps, 100 × 10 rounds of 32', () => {
    expect(PUBLISHED_REFERENCE_SCHEDULE).toEqual({
      batchSize: 100,
      lr: 1e-3,
      lambda: 0.1,
      formationSteps: 2000,
      formationEvalEvery: 100,
      rounds: 1000,
      chunkSteps: 32,
      evalEveryRounds: 10,
    });
    // 2000 + 100 × 10 × 32 steps of batch 100 per model (reference-algorithm.md §6).
    expect(scheduleSteps(PUBLISHED_REFERENCE_SCHEDULE)).toBe(34_000);
    expect(checkReferenceSchedule(PUBLISHED_REFERENCE_SCHEDULE).ok).toBe(true);
  });

  it('refuses a schedule that cannot run, naming the member', () => {
    const bad = (over: Partial<ReferenceSchedule>) => {
      const r = checkReferenceSchedule({ ...PUBLISHED_REFERENCE_SCHEDULE, ...over });
      return r.ok ? 'ok' : r.error.message;
    };
    expect(bad({ chunkSteps: 0 })).toMatch(/chunkSteps must be a whole number ≥ 1 \(got 0\)/);
    expect(bad({ batchSize: 2.5 })).toMatch(/batchSize/);
    expect(bad({ lr: 0 })).toMatch(/learning rate must be positive/);
    expect(bad({ lambda: -1 })).toMatch(/λ must be/);
    expect(bad({ formationSteps: 0, rounds: 0 })).toMatch(/runs no step/);
    expect(bad({ formationSteps: 0 })).toBe('ok');
  });
});

describe('reference optimisation (baseline)', () => {
  it('trains the models one after another: each one’s formation in insertion order, then rounds of one chunk each', async () => {
    const log: string[] = [];
    const tasks = [logged(quadratic('a', [1, 1]), log), logged(quadratic('b', [3, 3]), log)];
    const r = await optimizeReference(sharedState(), tasks, {
      ...base,
      schedule: { ...rounds(2, { chunkSteps: 2 }), formationSteps: 3, formationEvalEvery: 2 },
      normalizedFisher: zero(),
    });
    const trains = log.filter((e) => e.endsWith(':train')).map((e) => e[0]);
    expect(trains.join('')).toBe('aaabbb' + 'aabb' + 'aabb');
    // a's formation validates at steps 0 (just before its first step), 2 and 3 (the last).
    const formationOfA = log.slice(log.indexOf('a:train') - 1, log.indexOf('b:train'));
    expect(formationOfA.filter((e) => e === 'a:val')).toHaveLength(3);
    expect(r.stepsRun).toBe(3 + 2 * 2);
    // Evaluations: the start, the end of the formation, then every round.
    expect(r.history.map((p) => p.step)).toEqual([0, 3, 5, 7]);
  });

  it('evaluates every `evalEveryRounds` rounds and at the last; progress ends at the schedule’s total', async () => {
    const steps: Array<[number, number]> = [];
    const r = await optimizeReference(sharedState(), [quadratic('a', [1, 1]), quadratic('b', [3, 3])], {
      ...base,
      schedule: rounds(5, { chunkSteps: 2, evalEveryRounds: 2, formationSteps: 4 }),
      normalizedFisher: zero(),
      onStep: (step, total) => steps.push([step, total]),
    });
    expect(r.history.map((p) => p.step)).toEqual([0, 4, 8, 12, 14]);
    expect(steps.at(-1)).toEqual([14, 14]);
    // Per-model steps: two models' steps advance the count by one.
    expect(steps).toHaveLength(2 * 14);
    expect(steps.every(([s], i) => i === 0 || s >= steps[i - 1]![0])).toBe(true);
  });

  it('the formation keeps its best validation snapshot (step 0, every interval and the last step)', async () => {
    // The loss falls linearly (gradient −1), so Adam moves the weight by exactly lr per step: after
    // i steps w = 0.5·i. Validation peaks at w = 2, i.e. step 4; evaluations at 0, 2, 4, 6, 8, 9.
    const peaked: TaskGradients = {
      name: 'peaked',
      weightCount: 2,
      async trainBatch(_w, grad) {
        grad.fill(-1);
        return 1;
      },
      async validate(w) {
        return { accuracy: 1 / (1 + (w[0]! - 2) ** 2), loss: 0 };
      },
    };
    const state = sharedState(1);
    await optimizeReference(state, [peaked], {
      ...base,
      baselineVal: [1],
      schedule: { ...rounds(0), lr: 0.5, formationSteps: 9, formationEvalEvery: 2 },
      normalizedFisher: [new Float32Array(2)],
    });
    expect(state.shared[0]!).toBeCloseTo(2, 5);
    // A step-0 best keeps the start.
    const falling: TaskGradients = { ...peaked, validate: async (w) => ({ accuracy: -w[0]!, loss: 0 }) };
    const kept = sharedState(1);
    kept.shared.set([0.25, 0.25]);
    await optimizeReference(kept, [falling], {
      ...base,
      baselineVal: [1],
      schedule: { ...rounds(0), lr: 0.5, formationSteps: 9, formationEvalEvery: 2 },
      normalizedFisher: [new Float32Array(2)],
    });
    expect(Array.from(kept.shared)).toEqual([0.25, 0.25]);
  });

  it('in the formation a model’s penalty sees only the models added before it', async () => {
    const one = () => [Float32Array.from([1, 1]), Float32Array.from([1, 1])];
    const formation = { ...rounds(0), formationSteps: 32 };
    // b never improves on validation, so only a writes; a is added first, so b's (far) weights
    // cannot pull it, whatever λ.
    const run = async (lambda: number) => {
      const state = sharedState();
      await optimizeReference(state, [quadratic('a', [1, 1]), quadratic('b', [-50, -50], false)], {
        ...base,
        schedule: { ...formation, lambda },
        normalizedFisher: one(),
      });
      return Array.from(state.shared);
    };
    expect(await run(5)).toEqual(await run(0));
    // Added second, b is pulled towards a's latest weights (here a's start, 0: a never improves, so
    // its formation keeps its step-0 snapshot) and ends below where it gets without the penalty.
    const second = async (lambda: number) => {
      const state = sharedState();
      await optimizeReference(state, [quadratic('a', [1, 1], false), quadratic('b', [4, 4])], {
        ...base,
        schedule: { ...formation, lambda },
        normalizedFisher: one(),
      });
      return state.shared[0]!;
    };
    expect(await second(5)).toBeLessThan(await second(0));
  });

  it('is last-writer-wins: an accepted chunk overwrites the shared page', async () => {
    const state = sharedState();
    await optimizeReference(state, [quadratic('a', [1, 1]), quadratic('b', [3, 3])], {
      ...base,
      schedule: { ...rounds(1), lambda: 0 },
      normalizedFisher: zero(),
    });
    // One round: a trains from 0 towards 1, then b from a's values towards 3 and overwrites.
    // So the page holds b's values (≈ 2.6 after 32 Adam steps of 0.05), not the joint optimum 2.
    expect(state.shared[0]!).toBeGreaterThan(2.3);
    expect(state.shared[0]!).toBeLessThan(3.1);
  });

  it('rejects chunks that do not improve validation accuracy', async () => {
    const state = sharedState();
    await optimizeReference(state, [quadratic('a', [1, 1], false), quadratic('b', [3, 3], false)], {
      ...base,
      schedule: { ...rounds(2), lambda: 0 },
      normalizedFisher: zero(),
    });
    expect(Array.from(state.shared)).toEqual([0, 0]);
  });

  it('the penalty pulls towards the other occupant’s latest weights', async () => {
    const free = sharedState();
    const pulled = sharedState();
    const one = [Float32Array.from([1, 1]), Float32Array.from([1, 1])];
    // Only task b trains (a never improves); a's latest weights are the initial zeros.
    const tasks = () => [quadratic('a', [0, 0], false), quadratic('b', [4, 4])];
    await optimizeReference(free, tasks(), {
      ...base,
      schedule: { ...rounds(1), lambda: 0 },
      normalizedFisher: zero(),
    });
    await optimizeReference(pulled, tasks(), {
      ...base,
      schedule: { ...rounds(1), lambda: 5 },
      normalizedFisher: one,
    });
    expect(pulled.shared[0]!).toBeLessThan(free.shared[0]!);
    expect(pulled.shared[0]!).toBeGreaterThan(0);
  });

  it('keeps the evaluation with the best mean validation accuracy', async () => {
    // a and b want opposite values of one shared weight; a round ends on b's write, and the kept
    // state is whichever evaluation had the best mean, not necessarily the last.
    const state = sharedState();
    const r = await optimizeReference(state, [quadratic('a', [1, 1]), quadratic('b', [3, 3])], {
      ...base,
      schedule: { ...rounds(3), lambda: 0 },
      normalizedFisher: zero(),
    });
    const best = r.history.reduce((x, p) => (p.meanValAccuracy > x.meanValAccuracy ? p : x));
    expect(r.bestStep).toBe(best.step);
    expect(r.valAccuracy).toEqual(best.valAccuracy);
  });
});

describe('the reference’s overlapping penalty', () => {
  it('averages Σ F(w − w̃)² over the partners whose term is non-zero (hand-computed)', () => {
    // Task 0 has one page of 2 on slot 0 with tasks 1 and 2. Position 0: partners' latest 3 and 5,
    // Fisher 0.5 and 0 → only task 1 counts: penalty 0.5·(1 − 3)² / 1 = 2, gradient 2·0.5·(1 − 3) = −2.
    // Position 1: latest 2 and 4, Fisher 1 and 0.25 → (1·1 + 0.25·9) / 2 = 1.625,
    // gradient (2·1·(−1) + 2·0.25·(−3)) / 2 = −1.75.
    const state: PagedState = {
      pageSize: 2,
      sharedPageCount: 1,
      shared: new Float32Array(2),
      exclusive: [new Float32Array(0), new Float32Array(0), new Float32Array(0)],
      tables: [Uint32Array.of(0), Uint32Array.of(0), Uint32Array.of(0)],
      selfTied: false,
    };
    const partners = partnersOf(state, 0);
    expect(partners).toEqual([
      [
        { task: 1, page: 0 },
        { task: 2, page: 0 },
      ],
    ]);
    const w = Float32Array.of(1, 1);
    const grad = new Float32Array(2);
    const latest = [Float32Array.of(0, 0), Float32Array.of(3, 2), Float32Array.of(5, 4)];
    const fisher = [Float32Array.of(1, 1), Float32Array.of(0.5, 1), Float32Array.of(0, 0.25)];
    const lambda = 0.1;
    expect(addPenalty(w, grad, partners, latest, fisher, 2, lambda)).toBeCloseTo(lambda * (2 + 1.625), 12);
    expect(grad[0]!).toBeCloseTo(lambda * -2, 6);
    expect(grad[1]!).toBeCloseTo(lambda * -1.75, 6);
    // Restricted to the models added before task 2 (the formation): only task 0 and 1.
    expect(partnersOf(state, 2, (l) => l < 2)[0]!.map((p) => p.task)).toEqual([0, 1]);
    // An exclusive page (entry ≥ M) has no partners.
    expect(
      partnersOf({ ...state, tables: [Uint32Array.of(1), Uint32Array.of(0), Uint32Array.of(0)] }, 0),
    ).toEqual([[]]);
  });
});
