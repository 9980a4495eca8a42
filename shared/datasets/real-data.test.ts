/**
 * The imported tasks in resources/data: each loads with the model input shape of the zoo table,
 * the recorded counts, disjoint and complete splits, and validation that mirrors the test shift.
 */
import { describe, expect, it } from 'vitest';
import { listTasks, loadTask, readTaskMeta, DEFAULT_DATA_ROOT } from './load.ts';
import { join } from 'node:path';
import { TASKS } from './tasks.ts';
import { sampleSize } from './types.ts';

/** task: inputShape, train / val / test counts, rows of the team dataset's train part (its test rows follow). */
const EXPECTED: Record<string, { shape: number[]; counts: [number, number, number]; teamTrain?: number }> = {
  mnist: { shape: [1, 28, 28], counts: [7001, 1501, 1498] },
  fmnist: { shape: [1, 28, 28], counts: [9800, 2100, 2100] },
  cifar10: { shape: [3, 32, 32], counts: [3400, 600, 1000], teamTrain: 4000 },
  gtsrb: { shape: [3, 32, 32], counts: [3263, 577, 960], teamTrain: 3840 },
  digits8x8: { shape: [1, 8, 8], counts: [1221, 216, 360], teamTrain: 1437 },
  speech_commands: { shape: [1, 49, 10], counts: [3134, 552, 1204], teamTrain: 3686 },
  esc10: { shape: [1, 40, 32], counts: [240, 80, 80], teamTrain: 320 },
  urbansound8k: { shape: [1, 32, 32], counts: [1761, 387, 837], teamTrain: 2148 },
  har_chest_accel: { shape: [3, 1, 128], counts: [5695, 1505, 1800], teamTrain: 7200 },
  wall_following: { shape: [24], counts: [3573, 792, 1091], teamTrain: 4365 },
};

describe('imported tasks (resources/data)', () => {
  it('holds the ten tasks', () => {
    const r = listTasks();
    expect(r.ok && r.value).toEqual(Object.keys(EXPECTED).sort());
    expect(TASKS.map((t) => t.task).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [task, want] of Object.entries(EXPECTED)) {
    it(`${task} loads with the right shapes, counts and splits`, () => {
      const r = loadTask(task);
      if (!r.ok) throw new Error(r.error.message);
      const t = r.value;
      expect(t.inputShape).toEqual(want.shape);
      const per = sampleSize(want.shape);
      const [nTrain, nVal, nTest] = want.counts;
      for (const [split, n] of [
        [t.train, nTrain],
        [t.val, nVal],
        [t.test, nTest],
      ] as const) {
        expect(split.n).toBe(n);
        expect(split.x.length).toBe(n * per);
        expect(split.y.length).toBe(n);
        expect(split.y.every((c) => c < t.classes.length)).toBe(true);
        expect(split.x.every(Number.isFinite)).toBe(true);
      }
      expect(t.preprocessing.mean.length).toBe(t.preprocessing.std.length);
      expect(t.preprocessing.std.every((s) => s > 0)).toBe(true);
      // Train comes out centred: its overall mean is ~0 after normalisation.
      const mean = t.train.x.reduce((a, b) => a + b, 0) / t.train.x.length;
      expect(Math.abs(mean)).toBeLessThan(1e-3);

      const meta = readTaskMeta(join(DEFAULT_DATA_ROOT, task));
      if (!meta.ok) throw new Error(meta.error.message);
      const m = meta.value;
      const src = m.perSample.sourceIndex;
      // Disjoint and complete: each stored sample is a different source row.
      expect(new Set(src).size).toBe(m.counts.total);
      expect(nTrain + nVal + nTest).toBe(m.counts.total);
      if (want.teamTrain !== undefined) {
        // Test is exactly the team dataset's own test part; train and val come from its train part.
        const test = src.slice(nTrain + nVal);
        expect(test.every((i) => i >= want.teamTrain!)).toBe(true);
        expect(src.slice(0, nTrain + nVal).every((i) => i < want.teamTrain!)).toBe(true);
      }
      if (m.perSample.group) {
        // Grouped validation (fold, subject, speaker): no group is on both sides of train/val.
        const trainGroups = new Set(m.perSample.group.slice(0, nTrain));
        expect(m.perSample.group.slice(nTrain, nTrain + nVal).some((g) => trainGroups.has(g))).toBe(false);
      }
      if (task === 'wall_following') {
        // Chronological: validation rows follow every train row in time.
        expect(Math.min(...src.slice(nTrain, nTrain + nVal))).toBeGreaterThan(
          Math.max(...src.slice(0, nTrain)),
        );
      }
    });
  }
});
