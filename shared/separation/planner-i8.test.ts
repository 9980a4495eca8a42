/**
 * Planning with int8 pages: the pool is sized for P + 4 bytes a page, the pages are optimised
 * fake-quantised, the plan stores values on each page's int8 grid with its scale, the report puts
 * the float masters' accuracy beside the int8 one, and the bundle round-trips.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import { encodeI8Pages } from '../image/quantize.ts';
import { readBundle } from '../image/read.ts';
import { parsePlanReport } from '../image/report.ts';
import { writeBundle } from '../image/write.ts';
import { planSeparation, plannerOptions, withOverrides } from './planner.ts';
import { checkPlannerOptions } from './planner-options.ts';
import { renderReport } from './report.ts';
import { twoTinyZooTasks } from './zoo-slices.ts';

const P = 64;
const BASE = plannerOptions(withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 64 * 4, l2Bytes: 8 * P * 4 }), {
  method: { pageSize: P, fisherSamples: 16 },
  optimisation: { steps: 8, evalEvery: 4, patience: 8 },
  run: { workers: 0 },
});

describe('planning int8 pages', () => {
  it('plans, stores and reports i8 pages at the same budget as f32', async () => {
    const tasks = twoTinyZooTasks(128, true);
    const f32 = await planSeparation(tasks, BASE);
    const i8 = await planSeparation(tasks, withOverrides(BASE, { method: { valueType: 'i8' } }));
    if (!f32.ok) throw new Error(f32.error.message);
    if (!i8.ok) throw new Error(i8.error.message);
    const plan = i8.value.plan;
    expect(plan.valueType).toBe('i8');
    // A page and its scale take P + 4 bytes, not 4P: the same level 1 holds more shared pages.
    expect(plan.sharedPageCount).toBeGreaterThan(f32.value.plan.sharedPageCount);
    expect(i8.value.report.totals.l1Bytes).toBeLessThanOrEqual(BASE.device.l1Bytes);
    expect(i8.value.report.totals.sharedBytes).toBe(plan.sharedPageCount * (P + 4));
    expect(encodeI8Pages(plan.sharedPages, plan.sharedScales!, P).ok).toBe(true);
    for (const m of plan.models) expect(encodeI8Pages(m.exclusivePages, m.exclusiveScales!, P).ok).toBe(true);
    // The report: both figures per task, the i8 one being the plan's own accuracy.
    const report = i8.value.report;
    expect(report.valueType).toBe('i8');
    report.tasks.forEach((t, k) => {
      expect(t.f32Pages).toBeDefined();
      expect(t.test.after).toBe(plan.models[k]!.accuracy.test.after);
    });
    expect(f32.value.report.tasks.every((t) => t.f32Pages === undefined)).toBe(true);
    const text = renderReport(report);
    expect(text).toMatch(/page 64 × i8/);
    expect(text).toMatch(/test f32 pages\s+test i8 pages/);
    expect(renderReport(f32.value.report)).not.toMatch(/f32 pages/);
    const dir = join(testTempDir('plan-i8-'), 'b');
    const written = await writeBundle(plan, dir);
    if (!written.ok) throw new Error(written.error.message);
    const back = await readBundle(dir);
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value.plan.sharedPages).toEqual(plan.sharedPages);
    const stored = parsePlanReport(back.value.manifest.report);
    expect(stored.ok && stored.value.tasks.map((t) => t.f32Pages)).toEqual(
      report.tasks.map((t) => t.f32Pages),
    );
  });

  it('refuses i8 with the reference strategies and unknown value types or rules', () => {
    const tasks = twoTinyZooTasks(16, true);
    const check = (o: Parameters<typeof withOverrides>[1]) =>
      checkPlannerOptions(tasks, withOverrides(BASE, o), () => ({ ok: true, value: undefined }));
    expect(check({ method: { valueType: 'i8', strategy: 'reference' } }).ok).toBe(false);
    expect(check({ method: { valueType: 'i4' as never } }).ok).toBe(false);
    expect(check({ method: { valueType: 'i8', scaleRule: 'mean' as never } }).ok).toBe(false);
    expect(check({ method: { valueType: 'i8', scaleRule: 'mse' } }).ok).toBe(true);
  });
});
