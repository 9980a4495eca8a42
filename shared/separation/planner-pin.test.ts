/**
 * Pins the planner's output for a fixed seed: the shared pages, every model's page table and
 * exclusive pages, and the reported accuracies, by hash. A refactor of the planner must leave these
 * bytes exactly as they are; a change of method must update the pins on purpose, saying why.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadTask } from '../datasets/load.ts';
import type { Split, TaskData } from '../datasets/types.ts';
import type { Plan } from '../image/plan.ts';
import { buildModel } from '../zoo/model-builder.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import { planSeparation, plannerOptions, withOverrides, type PlannerTask } from './planner.ts';

function head(split: Split, n: number, sample: number): Split {
  const k = Math.min(n, split.n);
  return { n: k, x: split.x.slice(0, k * sample), y: split.y.slice(0, k) };
}

function slice(task: string, n: number): TaskData {
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

function tasks(): PlannerTask[] {
  return [
    {
      name: 'digits8x8',
      model: buildModel('digits', [1, 8, 8], 3, (b, x) =>
        b.dense('fc', b.flatten(b.maxPool(b.relu(b.conv('conv1', x, 4, { kernel: 3, pad: 'same' })), 2)), 10),
      ).model,
      data: slice('digits8x8', 128),
      augment: [{ kind: 'shift', axis: 1, max: 1 }],
    },
    {
      name: 'wall_following',
      model: buildModel('wall', [24], 4, (b, x) => b.dense('fc2', b.relu(b.dense('fc1', x, 16)), 4)).model,
      data: slice('wall_following', 128),
    },
  ];
}

/** SHA-256 over everything a device receives, plus the accuracies the report states. */
function fingerprint(plan: Plan): string {
  const h = createHash('sha256');
  const bytes = (a: Float32Array | Uint32Array) =>
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update(`${plan.pageSize}:${plan.sharedPageCount}:${plan.selfTied}\n`);
  bytes(plan.sharedPages);
  for (const m of plan.models) {
    h.update(`${m.name}:${m.weightCount}:${JSON.stringify(m.accuracy)}\n`);
    bytes(m.pageTable);
    bytes(m.exclusivePages);
  }
  return h.digest('hex');
}

const P = 64;
const BASE = plannerOptions(withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 64 * 4, l2Bytes: 8 * P * 4 }), {
  method: { pageSize: P, fisherSamples: 16 },
  optimisation: { steps: 12, evalEvery: 4, patience: 12 },
  run: { workers: 0 },
});

describe('the planner’s output for a fixed seed (refactors must not change it)', () => {
  it.each([
    ['ours', BASE],
    ['ours, self-tying 2', withOverrides(BASE, { method: { selfTying: 2 } })],
    [
      'reference',
      withOverrides(
        { ...BASE, device: withSizes(STORED_DEVICE, { l1Bytes: 64 * P * 4, l2Bytes: 64 * P * 4 }) },
        { method: { strategy: 'reference' } },
      ),
    ],
  ])('%s', async (name, options) => {
    const planned = await planSeparation(tasks(), options);
    if (!planned.ok) throw new Error(planned.error.message);
    expect(fingerprint(planned.value.plan)).toMatchSnapshot();
  });
});
