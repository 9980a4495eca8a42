/**
 * Fixtures for runtime tests that need real task data: a small bundle over two bundled tasks
 * (digits8x8: 8×8 grey images stored HWC; wall_following: 24 sensor values), whose models are named
 * after their tasks and carry the tasks' classes and preprocessing, with the accuracies the runtime
 * measures written into the manifest — what a planner would have written for these weights.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeToFloat32 } from '../datasets/encode.ts';
import { DEFAULT_DATA_ROOT, loadTask, readTaskMeta } from '../datasets/load.ts';
import type { TaskData } from '../datasets/types.ts';
import { syntheticPlan } from '../image/testing.ts';
import { writeBundle } from '../image/write.ts';
import type { Plan, PlannedModel } from '../image/plan.ts';
import { buildModel } from '../zoo/model-builder.ts';
import { PagedRuntime } from './runtime.ts';

export const FIXTURE_TASKS = ['digits8x8', 'wall_following'] as const;

function task(name: string): TaskData {
  const loaded = loadTask(name);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}

/**
 * Writes the fixture bundle to `dir` and returns its plan and the tasks' data. `edit` changes the plan
 * after the accuracies are measured (to make a bundle that disagrees with its data).
 */
export async function taskBundle(
  dir: string,
  edit: (plan: Plan) => Plan = (p) => p,
): Promise<{ plan: Plan; data: ReadonlyMap<string, TaskData> }> {
  const data = new Map(FIXTURE_TASKS.map((t) => [t, task(t)]));
  const digits = buildModel('digits', [1, 8, 8], 5, (b, x) =>
    b.dense('fc', b.flatten(b.maxPool(b.relu(b.conv('conv1', x, 4, { kernel: 3, pad: 'same' })), 2)), 10),
  ).model;
  const wall = buildModel('wall', [24], 6, (b, x) => b.dense('fc2', b.relu(b.dense('fc1', x, 16)), 4)).model;
  const synthetic = syntheticPlan(
    [
      { name: 'digits8x8', model: digits },
      { name: 'wall_following', model: wall },
    ],
    { pageSize: 32, extraExclusive: 2, seed: 3 },
  );
  const withData: Plan = {
    ...synthetic,
    models: synthetic.models.map((m) => ({
      ...m,
      classes: [...data.get(m.name as (typeof FIXTURE_TASKS)[number])!.classes],
      preprocessing: data.get(m.name as (typeof FIXTURE_TASKS)[number])!.preprocessing,
    })),
  };
  const first = await writeBundle(withData, dir);
  if (!first.ok) throw new Error(first.error.message);
  const rt = await PagedRuntime.open(dir);
  if (!rt.ok) throw new Error(rt.error.message);
  const models: PlannedModel[] = [];
  for (const m of withData.models) {
    const d = data.get(m.name as (typeof FIXTURE_TASKS)[number])!;
    if (!(await rt.value.switchTo(m.name)).ok) throw new Error(`switch to ${m.name}`);
    const test = await rt.value.predict(d.test);
    const val = await rt.value.predict(d.val);
    if (!test.ok || !val.ok) throw new Error(`predict ${m.name}`);
    models.push({
      ...m,
      accuracy: {
        test: { before: test.value.accuracy + 0.01, after: test.value.accuracy },
        val: { before: val.value.accuracy + 0.01, after: val.value.accuracy },
      },
    });
  }
  await rt.value.close();
  const plan = edit({ ...withData, models });
  const written = await writeBundle(plan, dir);
  if (!written.ok) throw new Error(written.error.message);
  return { plan, data };
}

/**
 * Sample `index` of a task's split as the task folder stores it: raw values (before scale and
 * normalisation) in the stored layout, with that layout's shape.
 */
export function rawSample(
  taskName: string,
  split: 'train' | 'val' | 'test',
  index: number,
): { values: Float32Array; storedShape: readonly number[]; dtype: string } {
  const dir = join(DEFAULT_DATA_ROOT, taskName);
  const meta = readTaskMeta(dir);
  if (!meta.ok) throw new Error(meta.error.message);
  const m = meta.value;
  const per = m.storedShape.reduce((a, b) => a * b, 1);
  const bytes = readFileSync(join(dir, m.x.file));
  const all = decodeToFloat32(bytes, m.x.dtype, m.x.scale, m.x.offset);
  const at = m.splits[split].start + index;
  return { values: all.slice(at * per, (at + 1) * per), storedShape: m.storedShape, dtype: m.x.dtype };
}
