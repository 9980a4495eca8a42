import { describe, expect, it } from 'vitest';
import { LINUX_ORT_DEVICE } from '../image/device-profile.ts';
import { parsePlanReport } from '../image/report.ts';
import { budgetLine, buildReport, renderReport, storedReport, type ReportInput } from './report.ts';

const input: ReportInput = {
  pageSize: 512,
  budgets: { l1Bytes: 300_000, l2Bytes: 50_000 },
  budgetObeyed: 'device',
  sharedPageCount: 132,
  selfTying: 1,
  strategy: 'balanced',
  init: 'fisher-mean',
  tasks: [
    {
      task: 'mnist',
      weights: 46_154,
      pages: 91,
      exclusivePages: 0,
      test: { before: 0.978, after: 0.97 },
      val: { before: 0.98, after: 0.975 },
    },
    {
      task: 'speech_commands',
      weights: 67_292,
      pages: 132,
      exclusivePages: 10,
      test: { before: 0.659, after: 0.649 },
      val: { before: 0.779, after: 0.77 },
    },
  ],
  occupancyHistogram: [0, 101, 31],
  timing: { stepMs: 37.04, steps: 2000, bestStep: 1700, stages: { fisher: 1.2, overlap: 0.15 } },
  initLosses: { 'fisher-mean': 0.61, random: 2.3 },
  history: [
    { step: 0, valAccuracy: [0.9, 0.7], meanValAccuracy: 0.8, worstViolation: 0.07, meanShortfall: 0.04 },
    {
      step: 200,
      valAccuracy: [0.975, 0.77],
      meanValAccuracy: 0.8725,
      worstViolation: -0.001,
      meanShortfall: 0,
    },
  ],
};
const report = buildReport(input);

describe('report', () => {
  it('computes the totals', () => {
    const t = report.totals;
    expect(t.originalBytes).toBe((46_154 + 67_292) * 4);
    expect(t.sharedBytes).toBe(132 * 2048);
    expect(t.pageTableBytes).toBe(223 * 4);
    expect(t.l1Bytes).toBe(132 * 2048 + 892);
    expect(t.l2Bytes).toBe(10 * 2048);
    expect(t.exclusiveBytes).toBe(10 * 2048);
    // The stored plan alone: the tables count, no runtime does.
    expect(t.runtime.total).toBe(0);
    expect(t.storedPacking).toBeCloseTo(453_784 / (132 * 2048 + 892 + 10 * 2048), 9);
    expect(t.devicePacking).toBe(t.storedPacking);
    expect(t.ceiling).toBeCloseTo(223 / 132, 9);
    expect(report.device.name).toBe('stored');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('adds the device’s runtime to level 1 and to device packing only', () => {
    const t = buildReport({ ...input, device: LINUX_ORT_DEVICE }).totals;
    // Gather runs 13 B per page, the largest model's weights, the largest exclusive set.
    const runtime = 223 * 13 + 67_292 * 4 + 10 * 2048;
    expect(t.runtime.total).toBe(runtime);
    expect(t.l1Bytes).toBe(132 * 2048 + 892 + runtime);
    expect(t.storedPacking).toBeCloseTo(453_784 / (132 * 2048 + 892 + 10 * 2048), 9);
    expect(t.devicePacking).toBeCloseTo(453_784 / (132 * 2048 + 892 + 10 * 2048 + runtime), 9);
  });

  it('stores the optimisation’s history and init losses, not the wall-clock times', () => {
    const stored = storedReport(report);
    expect(stored.timing).toEqual({ steps: 2000, bestStep: 1700 });
    expect(stored.history).toEqual(input.history);
    expect(stored.initLosses).toEqual(input.initLosses);
    const parsed = parsePlanReport(JSON.parse(JSON.stringify(stored)));
    expect(parsed.ok && parsed.value).toEqual(stored);
    // Byte for byte, since the stored report is under the plan id.
    expect(parsed.ok && JSON.stringify(parsed.value)).toBe(JSON.stringify(stored));
  });

  it('says when a plan obeys its method’s own footprint, and by how much it exceeds the budgets', () => {
    const own = buildReport({
      ...input,
      budgetObeyed: 'own',
      budgets: { l1Bytes: 100_000, l2Bytes: 50_000 },
    });
    expect(own.budgetObeyed).toBe('own');
    expect(budgetLine(own)).toBe(
      "Budget: the method's own footprint; the device budgets were not applied (level 1 over by 167.2 KiB)",
    );
    expect(renderReport(own)).toContain(budgetLine(own));
    expect(budgetLine({ ...own, budgets: { l1Bytes: 1e6, l2Bytes: 1e6 } })).toBe(
      "Budget: the method's own footprint; the device budgets were not applied (it happens to fit them)",
    );
    // Stored and parsed back with it.
    const parsed = parsePlanReport(JSON.parse(JSON.stringify(storedReport(own))));
    expect(parsed.ok && parsed.value.budgetObeyed).toBe('own');
  });

  it('renders a fixed report as plain text', () => {
    expect(renderReport(report)).toBe(
      [
        'Plan: 2 tasks, page 512 × f32, 132 shared pages, strategy balanced, init fisher-mean',
        '',
        'task             weights  pages  excl  test before  test after  Δ pts  val before  val after',
        '---------------  -------  -----  ----  -----------  ----------  -----  ----------  ---------',
        'mnist              46154     91     0         97.8        97.0   −0.8        98.0       97.5',
        'speech_commands    67292    132    10         65.9        64.9   −1.0        77.9       77.0',
        '',
        'Δ test accuracy: mean −0.9 pts, worst −1.0 (speech_commands)',
        'Original weights: 443.1 KiB (453784 B)',
        'Device: stored (no runtime counted; 4-byte table entries)',
        'Level 1: 264.9 KiB (shared 270336 B + page tables 892 B) of 293.0 KiB',
        'Level 2: 20.0 KiB (exclusive pages) of 48.8 KiB',
        'Budget: the device budgets (level 1 and level 2 fit them)',
        'Packing: stored 1.56x (shared + tables + exclusive pages), device 1.56x on stored (+ runtime 0 B); ceiling 1.69x',
        'Occupancy (occupants:slots): 1:101 2:31',
        'Optimisation: 2000 steps, best at 1700, 37.0 ms per step',
        'Stages: fisher 1.20 s, overlap 0.15 s',
        '',
      ].join('\n'),
    );
  });
});
