/**
 * No test split is read by selection or training (issue 12): a planner run whose test splits are
 * poisoned — labels shuffled, inputs all NaN — makes a plan byte-identical to the clean run's, and
 * the same history of validation figures; only the report's test figures differ. Tiny models on
 * slices of two bundled tasks, with the planner's defaults (distillation, augmentation, the page
 * average, task focus, selection under noise) at a few steps.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import type { TaskData } from '../datasets/types.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import type { Plan } from '../image/plan.ts';
import { planSeparation, plannerOptions, type PlannerTask } from './planner.ts';
import { twoTinyZooTasks } from './zoo-slices.ts';

function poisoned(data: TaskData): TaskData {
  const { n, x, y } = data.test;
  const labels = Array.from(y);
  new Rng(99).shuffle(labels);
  return { ...data, test: { n, x: new Float32Array(x.length).fill(NaN), y: Uint8Array.from(labels) } };
}

/** Everything a device receives, as bytes. */
function deviceBytes(plan: Plan): Buffer[] {
  const bytes = (a: Float32Array | Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return [
    bytes(plan.sharedPages),
    ...plan.models.flatMap((m) => [bytes(m.pageTable), bytes(m.exclusivePages)]),
  ];
}

const P = 64;
const options = plannerOptions(
  withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 64 * 4, l2Bytes: 8 * P * 4 }),
  {
    method: { pageSize: P, fisherSamples: 16 },
    optimisation: { steps: 24, evalEvery: 4, patience: 8 },
    run: { workers: 0 },
  },
);

describe('the test split', () => {
  it('is read by no step that makes the plan: poisoning it changes only the report’s test figures', async () => {
    const clean: PlannerTask[] = twoTinyZooTasks(128, true);
    const dirty: PlannerTask[] = clean.map((t) => ({ ...t, data: poisoned(t.data) }));
    const a = await planSeparation(clean, options);
    const b = await planSeparation(dirty, options);
    if (!a.ok) throw new Error(a.error.message);
    if (!b.ok) throw new Error(b.error.message);
    const [pa, pb] = [a.value.plan, b.value.plan];
    expect(deviceBytes(pb)).toEqual(deviceBytes(pa));
    expect(b.value.report.history).toEqual(a.value.report.history);
    expect(b.value.report.timing.bestStep).toBe(a.value.report.timing.bestStep);
    expect(b.value.report.initLosses).toEqual(a.value.report.initLosses);
    expect(b.value.report.tasks.map((t) => t.val)).toEqual(a.value.report.tasks.map((t) => t.val));
    // The poison did reach the report: the test figures it states are the poisoned split's.
    expect(b.value.report.tasks.map((t) => t.test)).not.toEqual(a.value.report.tasks.map((t) => t.test));
  });
});
