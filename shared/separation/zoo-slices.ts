/**
 * Small real inputs for planner tests: the first samples of two bundled tasks with tiny models, so
 * that a whole plan runs in well under a second and still sees real data and real label noise.
 */
import { loadTask } from '../datasets/load.ts';
import type { Split, TaskData } from '../datasets/types.ts';
import { buildModel } from '../zoo/model-builder.ts';
import type { PlannerTask } from './planner.ts';

function head(split: Split, n: number, sample: number): Split {
  const k = Math.min(n, split.n);
  return { n: k, x: split.x.slice(0, k * sample), y: split.y.slice(0, k) };
}

/** A bundled task cut to its first `n` training samples and `n / 2` validation and test samples. */
export function zooSlice(task: string, n: number): TaskData {
  const r = loadTask(task);
  if (!r.ok) throw new Error(r.error.message);
  const s = r.value.inputShape.reduce((a, b) => a * b, 1);
  return {
    ...r.value,
    train: head(r.value.train, n, s),
    val: head(r.value.val, n / 2, s),
    test: head(r.value.test, n / 2, s),
  };
}

/**
 * digits8x8 with a one-conv model and wall_following with a two-layer MLP, on `n` training samples
 * each. `augment` gives digits8x8 a shift augmentation, as its zoo recipe has.
 */
export function twoTinyZooTasks(n = 128, augment = false): PlannerTask[] {
  return [
    {
      name: 'digits8x8',
      model: buildModel('digits', [1, 8, 8], 3, (b, x) =>
        b.dense('fc', b.flatten(b.maxPool(b.relu(b.conv('conv1', x, 4, { kernel: 3, pad: 'same' })), 2)), 10),
      ).model,
      data: zooSlice('digits8x8', n),
      ...(augment ? { augment: [{ kind: 'shift' as const, axis: 1, max: 1 }] } : {}),
    },
    {
      name: 'wall_following',
      model: buildModel('wall', [24], 4, (b, x) => b.dense('fc2', b.relu(b.dense('fc1', x, 16)), 4)).model,
      data: zooSlice('wall_following', n),
    },
  ];
}
