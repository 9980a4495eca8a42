import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../core/progress.ts';
import { DEFAULT_DATA_ROOT } from '../datasets/load.ts';
import type { Plan } from '../image/plan.ts';
import { evaluateBundle } from './evaluate.ts';
import { taskBundle } from './testing.ts';

let root: string;
let good: string;
let plan: Plan;
const roots = [DEFAULT_DATA_ROOT];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-evaluate-'));
  good = join(root, 'good');
  plan = (await taskBundle(good)).plan;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The fixture bundle with one model changed by `edit`, written to its own folder. */
async function edited(
  name: string,
  model: string,
  edit: (m: Plan['models'][number]) => Plan['models'][number],
) {
  const dir = join(root, name);
  await taskBundle(dir, (p) => ({ ...p, models: p.models.map((m) => (m.name === model ? edit(m) : m)) }));
  return dir;
}

describe('evaluateBundle', () => {
  it('measures every model on its task and agrees with the accuracies the bundle stores', async () => {
    const events: ProgressEvent[] = [];
    const e = await evaluateBundle(good, { roots, progress: (ev) => events.push(ev) });
    if (!e.ok) throw new Error(e.error.message);
    expect(e.value.ok).toBe(true);
    expect(e.value.split).toBe('test');
    expect(e.value.tolerancePoints).toBe(0.1);
    expect(e.value.models.map((m) => m.model)).toEqual(['digits8x8', 'wall_following']);
    for (const m of e.value.models) {
      const planned = plan.models.find((p) => p.name === m.model)!;
      expect(m.measured).toBe(planned.accuracy.test.after);
      expect(m.stored).toBe(planned.accuracy.test.after);
      expect(m.storedBefore).toBe(planned.accuracy.test.before);
      expect(m.deltaPoints).toBe(0);
      expect(m.ok).toBe(true);
      expect(m.dataDir).toBe(join(DEFAULT_DATA_ROOT, m.model));
    }
    expect(e.value.models[0]!.samples).toBeGreaterThan(100);
    expect(new Set(events.map((ev) => ev.stage))).toEqual(new Set(['load', 'evaluate']));
    expect(events.at(-1)!.fraction).toBe(1);
  });

  it('measures the validation split and a chosen subset of models', async () => {
    const e = await evaluateBundle(good, { roots, split: 'val', models: ['wall_following'] });
    if (!e.ok) throw new Error(e.error.message);
    expect(e.value.models.map((m) => m.model)).toEqual(['wall_following']);
    expect(e.value.models[0]!.measured).toBe(plan.models[1]!.accuracy.val.after);
    expect(e.value.ok).toBe(true);
  });

  it('flags a model whose stored accuracy differs by more than the tolerance', async () => {
    const dir = await edited('shifted', 'digits8x8', (m) => ({
      ...m,
      accuracy: { ...m.accuracy, test: { ...m.accuracy.test, after: m.accuracy.test.after + 0.005 } },
    }));
    const strict = await evaluateBundle(dir, { roots });
    if (!strict.ok) throw new Error(strict.error.message);
    expect(strict.value.ok).toBe(false);
    const [digits, wall] = strict.value.models;
    expect(digits!.deltaPoints).toBeCloseTo(-0.5, 9);
    expect(digits!.ok).toBe(false);
    expect(wall!.ok).toBe(true);
    const loose = await evaluateBundle(dir, { roots, tolerancePoints: 0.5 });
    expect(loose.ok && loose.value.ok).toBe(true);
  });

  it('stops when the data is not the data the plan was made from', async () => {
    const stats = await edited('stats', 'digits8x8', (m) => ({
      ...m,
      preprocessing: { ...m.preprocessing, mean: m.preprocessing.mean.map((v) => v + 0.01) },
    }));
    const e = await evaluateBundle(stats, { roots });
    expect(!e.ok && e.error.code).toBe('E_DATA_MISMATCH');
    expect(!e.ok && e.error.message).toMatch(
      /digits8x8 does not match model "digits8x8" in the bundle: its preprocessing has train-split mean\[0\] = .*, the bundle's is .*re-imported or is another task's/,
    );
    expect(!e.ok && e.error.hint).toMatch(/--data/);

    const classes = await edited('classes', 'wall_following', (m) => ({
      ...m,
      classes: ['a', 'b', 'c', 'd'],
    }));
    const c = await evaluateBundle(classes, { roots });
    expect(!c.ok && c.error.message).toMatch(
      /has classes \[.*\], but model "wall_following" in the bundle was planned with \[a, b, c, d\]: this is another task's data/,
    );
  });

  it('reports a model without task data, unknown models, bad options and cancellation', async () => {
    const renamed = await edited('renamed', 'wall_following', (m) => ({ ...m, name: 'my_sensors' }));
    const missing = await evaluateBundle(renamed, { roots });
    expect(!missing.ok && missing.error.code).toBe('E_NOT_FOUND');
    expect(!missing.ok && missing.error.message).toMatch(/No task 'my_sensors'/);
    const unknown = await evaluateBundle(good, { roots, models: ['digits8x8', 'nope'] });
    expect(!unknown.ok && unknown.error.message).toMatch(/no model "nope"/);
    expect(!unknown.ok && unknown.error.hint).toMatch(/digits8x8, wall_following/);
    const tolerance = await evaluateBundle(good, { roots, tolerancePoints: -1 });
    expect(!tolerance.ok && tolerance.error.code).toBe('E_USAGE');
    const controller = new AbortController();
    controller.abort();
    const stopped = await evaluateBundle(good, { roots, signal: controller.signal });
    expect(!stopped.ok && stopped.error.code).toBe('E_CANCELLED');
    const nothing = await evaluateBundle(join(root, 'nowhere'), { roots });
    expect(!nothing.ok && nothing.error.code).toBe('E_NOT_FOUND');
  });
});
