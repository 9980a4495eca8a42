/**
 * The plan id names the plan (pages, tables, graphs, facts), not the run that made it: wall-clock
 * timings stay out of the stored report, so the same plan written twice — or planned twice with the
 * same seed — has one id, while bundles written before this rule (timings in the report) stay readable.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../image/plan.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import { planSeparation, plannerOptions, type PlannerTask } from './planner.ts';
import { buildReport, storedReport, type PlanReport } from './report.ts';
import { readBundle } from '../image/read.ts';
import { tinyPlan } from '../image/testing.ts';
import { writeBundle } from '../image/write.ts';
import { twoTinyZooTasks } from './zoo-slices.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'wsep-plan-id-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function report(stepMs: number, stages: Record<string, number>): PlanReport {
  return buildReport({
    pageSize: 16,
    budgets: { l1Bytes: 4096, l2Bytes: 8192 },
    budgetObeyed: 'device',
    sharedPageCount: 4,
    selfTying: 1,
    strategy: 'ours',
    init: 'fisher',
    tasks: [
      {
        task: 'alpha',
        weights: 100,
        pages: 7,
        exclusivePages: 3,
        test: { before: 0.9, after: 0.88 },
        val: { before: 0.91, after: 0.9 },
      },
    ],
    occupancyHistogram: [0, 4],
    timing: { stepMs, steps: 40, bestStep: 20, stages },
  });
}

async function idOf(plan: Plan, name: string): Promise<string> {
  const written = await writeBundle(plan, join(root, name));
  if (!written.ok) throw new Error(written.error.message);
  return written.value.planId;
}

describe('the plan id', () => {
  it('is the same for one plan written with different timings', async () => {
    const plan = tinyPlan(4);
    const fast = storedReport(report(12.5, { fisher: 1.25, optimize: 30 }));
    const slow = storedReport(report(97.25, { fisher: 8, optimize: 250.5 }));
    const a = await idOf({ ...plan, report: fast }, 'fast');
    const b = await idOf({ ...plan, report: slow }, 'slow');
    expect(a).toBe(b);
    expect(
      readFileSync(join(root, 'fast', 'manifest.json')).equals(
        readFileSync(join(root, 'slow', 'manifest.json')),
      ),
    ).toBe(true);
    // The deterministic facts of the run are kept; only the times go.
    expect(fast.timing).toEqual({ steps: 40, bestStep: 20 });
    expect(JSON.stringify(fast)).not.toMatch(/stepMs|stages/);
    // Anything else in the report is still covered by the id.
    const other = storedReport({ ...report(12.5, {}), init: 'random' });
    expect(await idOf({ ...plan, report: other }, 'other')).not.toBe(a);
  });

  it('still reads a bundle written with timings in its report (older writers)', async () => {
    const plan = { ...tinyPlan(4), report: report(12.5, { fisher: 1.25 }) };
    const id = await idOf(plan, 'old');
    const read = await readBundle(join(root, 'old'));
    if (!read.ok) throw new Error(read.error.message);
    expect(read.value.planId).toBe(id);
    expect((read.value.plan.report as PlanReport).timing.stepMs).toBe(12.5);
  });

  it('is the same for two plans made from the same inputs and seed', async () => {
    const tasks = (): PlannerTask[] => twoTinyZooTasks(128);
    const P = 64;
    const options = plannerOptions(
      withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 64 * 4, l2Bytes: 8 * P * 4 }),
      {
        method: { pageSize: P, fisherSamples: 16 },
        optimisation: { steps: 10, evalEvery: 5, patience: 10 },
      },
    );
    const ids: string[] = [];
    for (const run of ['first', 'second']) {
      const planned = await planSeparation(tasks(), options);
      if (!planned.ok) throw new Error(planned.error.message);
      // The in-memory report keeps its timings for the CLI; the stored one has none.
      expect(planned.value.report.timing.stepMs).toBeGreaterThan(0);
      expect(JSON.stringify(planned.value.plan.report)).not.toMatch(/stepMs|stages/);
      ids.push(await idOf(planned.value.plan, run));
    }
    expect(ids[0]).toBe(ids[1]);
  });
});
