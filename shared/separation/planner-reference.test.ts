/**
 * The reference strategies end to end on two tiny models of real tasks: capped to the device it
 * obeys the budgets (or refuses them before any work), uncapped it keeps its own footprint and the
 * report says so; both run the reference's own schedule.
 */
import { describe, expect, it } from 'vitest';
import { STORED_DEVICE, withSizes, type DeviceProfile } from '../image/device-profile.ts';
import { checkFits, memoryAccount, planShape } from '../image/memory.ts';
import { PUBLISHED_REFERENCE_SCHEDULE, scheduleSteps } from './optimize-reference.ts';
import { planSeparation, plannerOptions, type Strategy } from './planner.ts';
import { renderReport } from './report.ts';
import { twoTinyZooTasks } from './zoo-slices.ts';

const P = 64;
// digits8x8: 11 pages, wall_following: 8 (19 table entries). 8 shared pages: digits must keep 3
// exclusive; the level-2 budget holds 5.
const TIGHT = withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 19 * 4, l2Bytes: 5 * P * 4 });
// The published batch and rate, shortened: 8 formation steps per model, then 2 rounds of 4.
const SHORT = {
  ...PUBLISHED_REFERENCE_SCHEDULE,
  formationSteps: 8,
  formationEvalEvery: 4,
  rounds: 2,
  chunkSteps: 4,
  evalEveryRounds: 1,
};

const plan = (strategy: Strategy, device: DeviceProfile, progress?: (stage: string) => void) =>
  planSeparation(
    twoTinyZooTasks(128),
    plannerOptions(device, {
      method: { strategy, pageSize: P, fisherSamples: 16 },
      optimisation: { referenceSchedule: SHORT },
      run: { workers: 0, ...(progress ? { progress: (e) => progress(e.stage) } : {}) },
    }),
  );

describe('the reference strategies, end to end', () => {
  it('capped: obeys the device budgets, says so, and runs the reference’s schedule', async () => {
    const r = await plan('reference-capped', TIGHT);
    if (!r.ok) throw new Error(r.error.message);
    const { plan: p, report } = r.value;
    expect(report.budgetObeyed).toBe('device');
    expect(report.strategy).toBe('reference, capped to the device budgets');
    expect(checkFits(memoryAccount(planShape(p), TIGHT), TIGHT).ok).toBe(true);
    expect(p.sharedPageCount).toBe(8);
    expect(report.tasks.map((t) => t.exclusivePages)[0]).toBeGreaterThanOrEqual(3);
    expect(report.timing.steps).toBe(scheduleSteps(SHORT));
    expect(renderReport(report)).toContain('Budget: the device budgets');
  });

  it('capped: refuses a device it cannot fit before any session opens, as ours does', async () => {
    const stages: string[] = [];
    const small = withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 19 * 4, l2Bytes: 2 * P * 4 });
    const r = await plan('reference-capped', small, (s) => stages.push(s));
    expect(!r.ok && r.error.code).toBe('E_BUDGET');
    expect(!r.ok && r.error.message).toMatch(/level-2 budget .* short by/);
    expect(stages.filter((s) => s !== 'formation')).toEqual([]);
  });

  it('uncapped: keeps its own footprint on the same device, and the report says which budget it obeyed', async () => {
    const r = await plan('reference', TIGHT);
    if (!r.ok) throw new Error(r.error.message);
    const { report } = r.value;
    expect(report.budgetObeyed).toBe('own');
    // Its pool of 128 holds every page of these two models: the budgets are simply not applied.
    expect(report.sharedPageCount).toBe(19);
    expect(report.totals.l1Bytes).toBeGreaterThan(TIGHT.l1Bytes);
    expect(renderReport(report)).toMatch(
      /Budget: the method's own footprint; the device budgets were not applied \(level 1 over by/,
    );
  });
});
