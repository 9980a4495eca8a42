/**
 * The planner end to end on two small models and slices of two real tasks: budgets are respected,
 * the plan's pages rebuild the weights the report was measured with, and bad inputs fail before
 * any long work.
 */
import { PLANNER_STAGES } from './stages/context.ts';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import { writeBundle } from '../image/write.ts';
import { LINUX_ORT_DEVICE, STORED_DEVICE, withSizes, type DeviceProfile } from '../image/device-profile.ts';
import { checkFits, memoryAccount, planShape } from '../image/memory.ts';
import { PagedRuntime } from '../runtime/runtime.ts';
import { loadTask } from '../datasets/load.ts';
import type { Split, TaskData } from '../datasets/types.ts';
import { buildModel } from '../zoo/model-builder.ts';
import { unformWeights } from './formation.ts';
import {
  planSeparation,
  plannerOptions,
  previewPlan,
  type PlannerOptions,
  type PlannerOverrides,
  type PlannerTask,
} from './planner.ts';
import { PUBLISHED_REFERENCE_SCHEDULE } from './optimize-reference.ts';
import { gatherWeights } from './tables.ts';
import { TaskSession } from './task-session.ts';

function head(split: Split, n: number, sample: number): Split {
  const m = Math.min(n, split.n);
  return { n: m, x: split.x.slice(0, m * sample), y: split.y.slice(0, m) };
}

function slice(task: string, n: number): TaskData {
  const r = loadTask(task);
  if (!r.ok) throw new Error(r.error.message);
  const d = r.value;
  const sample = d.inputShape.reduce((a, b) => a * b, 1);
  return {
    ...d,
    train: head(d.train, n, sample),
    val: head(d.val, n / 2, sample),
    test: head(d.test, n / 2, sample),
  };
}

function tasks(): PlannerTask[] {
  const digits = buildModel('digits', [1, 8, 8], 3, (b, x) => {
    x = b.relu(b.conv('conv1', x, 8, { kernel: 3, pad: 'same' }));
    x = b.maxPool(x, 2);
    return b.dense('fc', b.flatten(x), 10);
  }).model;
  const wall = buildModel('wall', [24], 4, (b, x) => b.dense('fc2', b.relu(b.dense('fc1', x, 32)), 4)).model;
  return [
    { name: 'digits8x8', model: digits, data: slice('digits8x8', 256) },
    { name: 'wall_following', model: wall, data: slice('wall_following', 256) },
  ];
}

const P = 64;
// 16 shared pages after the 37 page-table entries; 6 forced exclusive pages + 4 granted by rank.
const STORED = withSizes(STORED_DEVICE, { l1Bytes: 16 * P * 4 + 37 * 4, l2Bytes: 10 * P * 4 });
const options = (over: PlannerOverrides = {}, device: DeviceProfile = STORED): PlannerOptions =>
  plannerOptions(device, {
    method: { pageSize: P, fisherSamples: 32, ...over.method },
    optimisation: { steps: 40, evalEvery: 20, patience: 40, ...over.optimisation },
    run: { ...over.run },
  });

describe('planSeparation', () => {
  it('plans two tasks within budget and its pages rebuild the evaluated weights', async () => {
    const t = tasks();
    const preview = previewPlan(t, P, 1);
    expect(preview.ok && preview.value.pageCounts).toEqual([22, 15]);
    const events: string[] = [];
    const r = await planSeparation(t, options({ run: { progress: (e) => events.push(e.stage) } }));
    if (!r.ok) throw new Error(r.error.message);
    const { plan, report } = r.value;
    expect(report.totals.l1Bytes).toBeLessThanOrEqual(plan.budgets.l1Bytes);
    expect(report.totals.l2Bytes).toBeLessThanOrEqual(plan.budgets.l2Bytes);
    expect(plan.sharedPageCount).toBe(16);
    expect(report.totals.storedPacking).toBeGreaterThan(1.3);
    expect(report.totals.devicePacking).toBe(report.totals.storedPacking); // the stored device: no runtime
    // Every stage reports, in pipeline order.
    expect([...new Set(events)]).toEqual([...PLANNER_STAGES]);
    // The runtime view: rebuild each model's weights from the pages and re-measure the test accuracy.
    for (const [k, m] of plan.models.entries()) {
      const shape = { sharedPageCount: plan.sharedPageCount, pageSize: P, weightCount: m.weightCount };
      const w = gatherWeights(m.pageTable, shape, plan.sharedPages, m.exclusivePages);
      if (!w.ok) throw new Error(w.error.message);
      const session = await TaskSession.create(m.name, t[k]!.model, t[k]!.data, m.tensors, {
        batchSize: 8,
        seed: 0,
      });
      if (!session.ok) throw new Error(session.error.message);
      const test = await session.value.evaluate(t[k]!.data.test, w.value);
      expect(test.accuracy).toBe(m.accuracy.test.after);
      expect(unformWeights(w.value, m.tensors).ok).toBe(true);
      await session.value.release();
    }
  });

  it('plans against a device: refused before any work when its runtime does not fit level 1', async () => {
    const events: string[] = [];
    const refused = await planSeparation(
      tasks(),
      options(
        { optimisation: { steps: 4 }, run: { progress: (e) => events.push(e.stage) } },
        withSizes(LINUX_ORT_DEVICE, STORED),
      ),
    );
    expect(!refused.ok && refused.error.code).toBe('E_BUDGET');
    expect(!refused.ok && refused.error.message).toMatch(/short by \d+ bytes on device linux-ort/);
    expect(!refused.ok && refused.error.hint).toMatch(/--l1.*--device/);
    // Only the formation (no session, no data pass) ran before the refusal.
    expect(events.filter((stage) => stage !== 'formation')).toEqual([]);
  });

  it('plans against a device: its runtime is reserved inside level 1, and the plan fits the device', async () => {
    const t = tasks();
    const preview = previewPlan(t, P, 1);
    if (!preview.ok) throw new Error(preview.error.message);
    // Room for the runtime's weight buffer and gather runs, and a few pages for its exclusive buffer.
    const budgets = {
      l1Bytes: 16 * P * 4 + 37 * 4 + Math.max(...preview.value.weightCounts) * 4 + 37 * 13 + 6 * P * 4,
      l2Bytes: 10 * P * 4,
    };
    const r = await planSeparation(
      t,
      options({ optimisation: { steps: 4, evalEvery: 2 } }, withSizes(LINUX_ORT_DEVICE, budgets)),
    );
    if (!r.ok) throw new Error(r.error.message);
    const { plan, report } = r.value;
    expect(report.device).toEqual(LINUX_ORT_DEVICE);
    expect(report.totals.l1Bytes).toBeLessThanOrEqual(budgets.l1Bytes);
    expect(report.totals.devicePacking).toBeLessThan(report.totals.storedPacking);
    const account = memoryAccount(planShape(plan), LINUX_ORT_DEVICE);
    expect(account.level1Bytes).toBe(report.totals.l1Bytes);
    expect(checkFits(account, withSizes(LINUX_ORT_DEVICE, budgets)).ok).toBe(true);
    expect(plan.report?.device.name).toBe('linux-ort');
  });

  it('the paged runtime, reading the written bundle, predicts exactly what the report measured', async () => {
    const t = tasks();
    const r = await planSeparation(t, options({ optimisation: { steps: 20 } }));
    if (!r.ok) throw new Error(r.error.message);
    const dir = join(testTempDir('wsep-plan-'), 'bundle');
    const written = await writeBundle(r.value.plan, dir);
    if (!written.ok) throw new Error(written.error.message);
    const runtime = await PagedRuntime.open(dir);
    if (!runtime.ok) throw new Error(runtime.error.message);
    for (const [k, m] of r.value.plan.models.entries()) {
      const switched = await runtime.value.switchTo(m.name);
      expect(switched.ok).toBe(true);
      const predicted = await runtime.value.predict(t[k]!.data.test);
      if (!predicted.ok) throw new Error(predicted.error.message);
      expect(predicted.value.accuracy).toBe(m.accuracy.test.after);
      expect(predicted.value.accuracy).toBe(r.value.report.tasks[k]!.test.after);
      // Prediction by prediction, against the planner's own evaluator on the gathered weights.
      const session = await TaskSession.create(m.name, t[k]!.model, t[k]!.data, m.tensors, {
        batchSize: 8,
        seed: 0,
      });
      if (!session.ok) throw new Error(session.error.message);
      const shape = {
        sharedPageCount: r.value.plan.sharedPageCount,
        pageSize: P,
        weightCount: m.weightCount,
      };
      const w = gatherWeights(m.pageTable, shape, r.value.plan.sharedPages, m.exclusivePages);
      if (!w.ok) throw new Error(w.error.message);
      const own = await session.value.evaluate(t[k]!.data.test, w.value, true);
      expect(Array.from(predicted.value.predictions)).toEqual(Array.from(own.predictions!));
      await session.value.release();
    }
    await runtime.value.close();
  });

  it('plans the same pages in worker threads as in this thread, with augmentation and distillation', async () => {
    const t = tasks().map((task, k) =>
      k === 0 ? { ...task, augment: [{ kind: 'shift', axis: 1, max: 1 } as const] } : task,
    );
    const optimisation = { steps: 20, distill: { alpha: 0.5, temperature: 2 } };
    const here = await planSeparation(t, options({ optimisation, run: { workers: 0 } }));
    const threads = await planSeparation(t, options({ optimisation, run: { workers: 2 } }));
    if (!here.ok) throw new Error(here.error.message);
    if (!threads.ok) throw new Error(threads.error.message);
    expect(Array.from(threads.value.plan.sharedPages)).toEqual(Array.from(here.value.plan.sharedPages));
    expect(threads.value.report.tasks.map((x) => x.test.after)).toEqual(
      here.value.report.tasks.map((x) => x.test.after),
    );
    // Augmentation and distillation change the training: the plan differs from a plain one.
    const plain = await planSeparation(
      t,
      options({
        optimisation: { ...optimisation, augment: false, distill: { alpha: 0, temperature: 2 } },
        run: { workers: 0 },
      }),
    );
    if (!plain.ok) throw new Error(plain.error.message);
    expect(Array.from(plain.value.plan.sharedPages)).not.toEqual(Array.from(here.value.plan.sharedPages));
  });

  it('equalising layer scales keeps every original accuracy and changes the plan', async () => {
    const t = tasks();
    const plain = await planSeparation(
      t,
      options({ optimisation: { steps: 20, equalizeLayerScales: false }, run: { workers: 0 } }),
    );
    const equalized = await planSeparation(
      t,
      options({ optimisation: { steps: 20, equalizeLayerScales: true }, run: { workers: 0 } }),
    );
    if (!plain.ok) throw new Error(plain.error.message);
    if (!equalized.ok) throw new Error(equalized.error.message);
    const before = (r: typeof plain) =>
      r.ok && r.value.report.tasks.map((x) => [x.val.before, x.test.before]);
    expect(before(equalized)).toEqual(before(plain));
    expect(Array.from(equalized.value.plan.sharedPages)).not.toEqual(
      Array.from(plain.value.plan.sharedPages),
    );
  });

  it('the reference strategy runs on the same models', async () => {
    const r = await planSeparation(
      tasks(),
      options({
        method: { strategy: 'reference' },
        // Its published schedule is 34,000 steps of batch 100 per model: 40 here.
        optimisation: {
          referenceSchedule: { ...PUBLISHED_REFERENCE_SCHEDULE, formationSteps: 8, rounds: 1 },
        },
      }),
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.report.strategy).toBe('reference');
    expect(r.value.report.init).toBe('random');
  });

  it('reports bad inputs before any long work', async () => {
    const t = tasks();
    const bad = async (o: PlannerOverrides, device: DeviceProfile = STORED) => {
      const r = await planSeparation(t, options(o, device));
      return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
    };
    expect(await bad({ method: { pageSize: 100 } })).toMatch(/^E_USAGE: .*power of two/);
    expect(await bad({}, withSizes(STORED_DEVICE, { l1Bytes: 0, l2Bytes: 1024 }))).toMatch(
      /^E_BUDGET: The level-1 budget must be more than 0/,
    );
    expect(await bad({}, withSizes(STORED_DEVICE, { l1Bytes: 4 * P * 4, l2Bytes: 0 }))).toMatch(
      /^E_BUDGET: The level-2 budget .* short by \d+ bytes/,
    );
    expect(await bad({ method: { strategy: 'magic' as 'ours' } })).toMatch(
      /^E_USAGE: Unknown strategy "magic"/,
    );
    expect(await bad({ optimisation: { schedule: 'linear' as 'constant' } })).toMatch(
      /^E_USAGE: Unknown schedule "linear"/,
    );
    expect(await bad({ method: { extraPriority: [1] } })).toMatch(
      /^E_USAGE: .*priorities name 1 tasks for 2/,
    );
    const mismatch = [t[0]!, { ...t[1]!, data: t[0]!.data }];
    const r = await planSeparation(mismatch, options());
    expect(!r.ok && r.error.code).toBe('E_DATA_MISMATCH');
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    const r = await planSeparation(
      tasks(),
      options({
        run: { signal: controller.signal, progress: (e) => e.stage === 'fisher' && controller.abort() },
      }),
    );
    expect(!r.ok && r.error.code).toBe('E_CANCELLED');
  });
});
