/** The stored plan report (report.ts): round trip, older reports with defaults, corrupt reports. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import { LINUX_ORT_DEVICE, STORED_DEVICE } from './device-profile.ts';
import { memoryAccount, planShape } from './memory.ts';
import { readBundle } from './read.ts';
import { historyJsonLines, parsePlanReport, readPlanReport, type PlanReport } from './report.ts';
import { syntheticReport, tinyPlan } from './testing.ts';
import { writeBundle } from './write.ts';

const plan = tinyPlan(7);
const full: PlanReport = {
  ...syntheticReport(plan),
  device: LINUX_ORT_DEVICE,
  totals: (() => {
    const a = memoryAccount(planShape(plan), LINUX_ORT_DEVICE);
    return {
      originalBytes: a.originalBytes,
      sharedBytes: a.sharedBytes,
      pageTableBytes: a.pageTableBytes,
      exclusiveBytes: a.exclusiveBytes,
      runtime: a.runtime,
      l1Bytes: a.level1Bytes,
      l2Bytes: a.level2Bytes,
      storedPacking: a.storedPacking,
      devicePacking: a.devicePacking,
      ceiling: 1.5,
    };
  })(),
  timing: { steps: 400, bestStep: 200 },
  initLosses: { 'fisher-mean': 0.7, random: null },
  history: [
    { step: 0, valAccuracy: [0.5, 0.6, 0.7], meanValAccuracy: 0.6, worstViolation: 0.2, meanShortfall: 0.1 },
    {
      step: 200,
      valAccuracy: [0.8, 0.8, 0.9],
      meanValAccuracy: 0.833,
      worstViolation: -0.01,
      meanShortfall: 0,
    },
  ],
};

/** A report as the planner stored it before version 2 (bundles written until issue 11). */
const versionOne = {
  version: 1,
  pageSize: 512,
  valueType: 'f32',
  valueBytes: 4,
  budgets: { l1Bytes: 300_000, l2Bytes: 50_000 },
  sharedPageCount: 132,
  selfTying: 1,
  strategy: 'ours (balanced overlap, joint optimisation)',
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
  totals: {
    originalBytes: 453_784,
    sharedBytes: 270_336,
    pageTableBytes: 892,
    l1Bytes: 271_228,
    l2Bytes: 20_480,
    packingRatio: 1.5902,
    l1OnlyRatio: 1.673,
    ceiling: 1.6894,
  },
  occupancyHistogram: [0, 101, 31],
  timing: { stepMs: 37.04, steps: 2000, bestStep: 1700, stages: { fisher: 1.2, overlap: 0.15 } },
};

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('parsePlanReport', () => {
  it('round-trips a report through JSON, byte for byte', () => {
    const parsed = parsePlanReport(clone(full));
    expect(parsed.ok && parsed.value).toEqual(full);
    expect(parsed.ok && JSON.stringify(parsed.value)).toBe(JSON.stringify(full));
  });

  it('round-trips through a bundle: the reader gives the typed report back', async () => {
    const dir = join(testTempDir('report-'), 'bundle');
    const written = await writeBundle({ ...plan, report: full }, dir);
    if (!written.ok) throw new Error(written.error.message);
    const read = await readBundle(dir);
    expect(read.ok && read.value.plan.report).toEqual(full);
  });

  it('reads a version-1 report (timings, no device, no ratios with tables) with defaults', () => {
    const parsed = parsePlanReport(clone(versionOne));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = parsed.value;
    expect(r.version).toBe(3);
    expect(r.device).toEqual(STORED_DEVICE);
    // Level 1 of version 1 was shared pages + tables: stored packing is exact from its totals.
    expect(r.totals.storedPacking).toBeCloseTo(453_784 / (271_228 + 20_480), 12);
    expect(r.totals.devicePacking).toBe(r.totals.storedPacking);
    expect(r.totals.exclusiveBytes).toBe(20_480);
    expect(r.totals.runtime.total).toBe(0);
    expect(r.totals).not.toHaveProperty('packingRatio');
    expect(r.timing).toEqual(versionOne.timing);
    expect(r.initLosses).toEqual({});
    expect(r.history).toEqual([]);
    // The planner's untyped extras of that time are kept when present.
    const extras = parsePlanReport({
      ...clone(versionOne),
      initLosses: { random: 2 },
      history: full.history,
    });
    expect(extras.ok && [extras.value.initLosses, extras.value.history]).toEqual([
      { random: 2 },
      full.history,
    ]);
  });

  it('refuses a corrupt report, naming the first member that is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /report's top level is not an object/],
      [{ ...clone(full), version: 4 }, /report's version is 4; this reader knows versions 1, 2 and 3/],
      [{ ...clone(full), version: 2, valueType: 'i8' }, /report's valueType is "i8", not "f32"/],
      [{ ...clone(full), valueType: 'i4' }, /report's valueType is "i4", not "f32" or "i8"/],
      [{ ...clone(full), valueType: 'i8' }, /report's tasks\[0\]\.f32Pages is not an object/],
      [
        { ...clone(full), tasks: [{ ...full.tasks[0], f32Pages: { test: 0.5, val: 0.5 } }] },
        /report's tasks\[0\]\.f32Pages is present, but the pages are f32/,
      ],
      [{ ...clone(full), totals: undefined }, /report's totals is not an object/],
      [
        { ...clone(full), tasks: [full.tasks[0], { ...full.tasks[1], test: { before: 0.5, after: '0.4' } }] },
        /report's tasks\[1\]\.test\.after is "0\.4", not a finite number/,
      ],
      [
        { ...clone(full), history: [{ ...full.history[0], valAccuracy: [0.5, null] }] },
        /report's history\[0\]\.valAccuracy\[1\] is null, not a finite number/,
      ],
      [
        { ...clone(full), device: { ...LINUX_ORT_DEVICE, tableEntryBytes: 3 } },
        /report's device\.tableEntryBytes is 3, not 2 or 4/,
      ],
      [{ ...clone(full), sharedPageCount: -1 }, /report's sharedPageCount is -1, not a whole number ≥ 0/],
      [{ ...clone(full), occupancyHistogram: [0, 1.5] }, /report's occupancyHistogram\[1\] is 1\.5/],
      [
        { ...clone(full), totals: { ...clone(full.totals), storedPacking: undefined } },
        /report's totals\.storedPacking is missing/,
      ],
    ];
    cases.forEach(([json, message], i) => {
      const r = parsePlanReport(json);
      expect(!r.ok && r.error.code, `case ${i}`).toBe('E_BUNDLE');
      expect(!r.ok && r.error.message, `case ${i}`).toMatch(message);
    });
  });

  it('round-trips what the selection saw at each evaluation (issue 12), and checks each member', () => {
    const seen = {
      ...full.history[1]!,
      valLoss: [0.61, 0.52, 0.33],
      smoothedAccuracy: [0.78, 0.8, 0.88],
      floors: [0.74, 0.75, 0.86],
      noise: [0.021, 0.018, 0.012],
      criterion: { name: 'mean-less-noise-shortfall' as const, value: 0.831 },
      best: true,
      lr: 0.002,
      focusWeights: [1.2, 0.9, 0.9],
      restart: true,
    };
    const report: PlanReport = { ...full, history: [full.history[0]!, seen] };
    const parsed = parsePlanReport(clone(report));
    expect(parsed.ok && parsed.value).toEqual(report);
    expect(parsed.ok && JSON.stringify(parsed.value)).toBe(JSON.stringify(report));
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ criterion: { name: 'max', value: 1 } }, /history\[1\]\.criterion\.name is "max", not one of mean, /],
      [{ best: 'yes' }, /history\[1\]\.best is "yes", not true or false/],
      [{ floors: [0.7, 'x', 0.8] }, /history\[1\]\.floors\[1\] is "x", not a finite number/],
      [{ lr: null }, /history\[1\]\.lr is null, not a finite number/],
    ];
    for (const [change, message] of cases) {
      const r = parsePlanReport({
        ...clone(report),
        history: [full.history[0], { ...clone(seen), ...change }],
      });
      expect(!r.ok && r.error.message).toMatch(message);
    }
  });

  it('gives a history as JSON lines, one evaluation a line, naming the tasks', () => {
    const text = historyJsonLines(['a', 'b', 'c'], full.history);
    const lines = text.split('\n');
    expect(lines).toHaveLength(full.history.length + 1);
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines[1]!)).toEqual({ tasks: ['a', 'b', 'c'], ...full.history[1] });
    expect(lines[1]!.startsWith('{"step":200,"tasks":["a","b","c"],')).toBe(true);
  });

  it('reads no report, or one that is not ours, as null (the manifest keeps it)', () => {
    expect(readPlanReport(null)).toBeNull();
    expect(readPlanReport({ packing: 2.5, note: 'another writer' })).toBeNull();
    expect(readPlanReport(clone(full))).toEqual(full);
  });
});
