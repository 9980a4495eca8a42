import { describe, expect, it } from 'vitest';
import { buildReport, renderReport } from './report.ts';

const report = buildReport({
  pageSize: 512,
  budgets: { l1Bytes: 300_000, l2Bytes: 50_000 },
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
});

describe('report', () => {
  it('computes the totals', () => {
    const t = report.totals;
    expect(t.originalBytes).toBe((46_154 + 67_292) * 4);
    expect(t.sharedBytes).toBe(132 * 2048);
    expect(t.pageTableBytes).toBe(223 * 4);
    expect(t.l1Bytes).toBe(132 * 2048 + 892);
    expect(t.l2Bytes).toBe(10 * 2048);
    expect(t.packingRatio).toBeCloseTo(453_784 / (142 * 2048), 9);
    expect(t.l1OnlyRatio).toBeCloseTo(453_784 / (132 * 2048 + 892), 9);
    expect(t.ceiling).toBeCloseTo(223 / 132, 9);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
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
        'Level 1: 264.9 KiB (shared 270336 B + page tables 892 B) of 293.0 KiB',
        'Level 2: 20.0 KiB (exclusive pages) of 48.8 KiB',
        'Packing: 1.56x (ceiling 1.69x); level 1 only: 1.67x',
        'Occupancy (occupants:slots): 1:101 2:31',
        'Optimisation: 2000 steps, best at 1700, 37.0 ms per step',
        'Stages: fisher 1.20 s, overlap 0.15 s',
        '',
      ].join('\n'),
    );
  });
});
