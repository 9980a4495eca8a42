/**
 * The planner's bench sections without running a plan: their options, the jobs each table runs (and
 * which budget each row obeys), the scheduler that keeps two plans at a time and runs a plan after the
 * one it needs, and the statistics over seeds.
 */
import { describe, expect, it } from 'vitest';
import { STORED_DEVICE, withSizes } from '../shared/image/device-profile.ts';
import { PUBLISHED_REFERENCE_SCHEDULE, scheduleSteps } from '../shared/separation/optimize-reference.ts';
import { DEFAULT_PLANNER_OPTIONS } from '../shared/separation/planner-options.ts';
import type { PlanReport } from '../shared/separation/report.ts';
import { syntheticReport, tinyPlan } from '../shared/image/testing.ts';
import { ABLATIONS, ablationJobs } from '../bench/plan-ablation.bench.ts';
import {
  HEADLINE_RATIO,
  QUICK_REFERENCE_SCHEDULE,
  headlineDevice,
  planBenchOptions,
  runPlans,
  zooShape,
  type PlanJob,
  type ZooPlan,
} from '../bench/plan-common.ts';
import { FAIR_LABELS, fairJobs, footprintOf } from '../bench/plan-fair.bench.ts';
import { seedJobs, seedStats } from '../bench/plan-seeds.bench.ts';
import { SECTIONS } from '../bench/sections.ts';

const options = (given: Record<string, string> = {}, quick = false) =>
  planBenchOptions({ quick, option: (name) => given[name] });

/** A report of two tasks with these test accuracies after (before: 0.9 and 0.8). */
function report(after: [number, number], totals: Partial<PlanReport['totals']> = {}): PlanReport {
  const base = syntheticReport(tinyPlan(2));
  const tasks = base.tasks.slice(0, 2).map((t, k) => ({
    ...t,
    task: `t${k}`,
    test: { before: [0.9, 0.8][k]!, after: after[k]! },
    val: { before: 0.9, after: 0.9 },
  }));
  return { ...base, tasks, totals: { ...base.totals, ...totals } };
}

const DEVICE = withSizes(STORED_DEVICE, { l1Bytes: 1000, l2Bytes: 2000 });

describe('the planner bench sections', () => {
  it('are four sections, each of which runs alone', () => {
    expect(SECTIONS.map((s) => s.id)).toEqual([
      'train-step',
      'plan',
      'plan-fair',
      'plan-ablation',
      'plan-seeds',
      'switch',
      'fleet',
      'mcu',
    ]);
    expect(new Set(SECTIONS.map((s) => s.title)).size).toBe(SECTIONS.length);
  });

  it('read --seeds, --tasks and --ratio, and refuse malformed ones', () => {
    expect(options()).toEqual({ quick: false, ratio: HEADLINE_RATIO, seeds: [1, 2, 3] });
    expect(HEADLINE_RATIO).toBe(8);
    expect(options({ seeds: '1,2,3,4,5', tasks: 'mnist, esc10', ratio: '2' }, true)).toEqual({
      quick: true,
      ratio: 2,
      seeds: [1, 2, 3, 4, 5],
      only: ['mnist', 'esc10'],
    });
    expect(() => options({ seeds: '1,1' })).toThrow(/distinct whole numbers/);
    expect(() => options({ seeds: 'x' })).toThrow(/distinct whole numbers/);
    expect(() => options({ ratio: '1' })).toThrow(/--ratio/);
  });

  it('the headline budget on the zoo is 8x stored packing: 124 shared pages + 31 exclusive (155 stored)', () => {
    const shape = zooShape();
    expect(shape.totalPages).toBe(1267);
    const device = headlineDevice(shape, HEADLINE_RATIO);
    expect([device.l1Bytes, device.l2Bytes]).toEqual([124 * 2048 + 1267 * 4, 31 * 2048]);
    expect(() => headlineDevice(zooShape(['mnist', 'esc10']), 8)).toThrow(/pass a lower --ratio/);
  });

  it('plan-fair: ours and the capped reference obey the headline; the uncapped one its own footprint; ours then runs at it', () => {
    const jobs = fairJobs(DEVICE, { quick: false, ratio: 8 });
    expect(jobs.map((j) => j.label)).toEqual([
      FAIR_LABELS.own,
      FAIR_LABELS.capped,
      FAIR_LABELS.ours,
      FAIR_LABELS.oursAtOwn,
    ]);
    const plans = jobs.slice(0, 3).map((j) => j.plan as Omit<ZooPlan, 'workers'>);
    expect(plans.map((p) => p.method?.strategy ?? 'ours')).toEqual(['reference', 'reference-capped', 'ours']);
    expect(plans.every((p) => p.device === DEVICE)).toBe(true);
    // The reference rows run its published schedule (the strategy's default), ours its defaults.
    expect(plans.map((p) => p.optimisation)).toEqual([{}, {}, {}]);
    expect(jobs.slice(0, 3).map((j) => j.obeys)).toEqual([
      'own: 128-page pool + 0.9 Fisher mass (budgets not applied)',
      'device: headline 8x',
      'device: headline 8x',
    ]);
    // Ours at the reference's footprint: its bytes as the budgets, once the reference's row exists.
    const last = jobs[3]!;
    expect(last.after).toBe(FAIR_LABELS.own);
    const own = {
      label: FAIR_LABELS.own,
      obeys: '',
      seconds: 1,
      report: report([0.9, 0.8], { l1Bytes: 267_212, l2Bytes: 1_026_048 }),
    };
    const done = new Map([[FAIR_LABELS.own, own]]);
    const plan = (last.plan as (d: typeof done) => Omit<ZooPlan, 'workers'>)(done);
    expect([plan.device.l1Bytes, plan.device.l2Bytes]).toEqual([267_212, 1_026_048]);
    expect(plan.device).toEqual(footprintOf(own));
    expect((last.obeys as (d: typeof done) => string)(done)).toMatch(
      /^device: the reference’s own footprint \(\d+ \+ \d+ pages\)$/,
    );
    // --quick shortens both schedules.
    const quick = fairJobs(DEVICE, { quick: true, ratio: 8 }).map((j) =>
      typeof j.plan === 'function' ? j.plan(done) : j.plan,
    );
    expect(quick[0]!.optimisation).toEqual({ referenceSchedule: QUICK_REFERENCE_SCHEDULE });
    expect(quick[2]!.optimisation).toEqual({ steps: 100 });
    expect(scheduleSteps(QUICK_REFERENCE_SCHEDULE)).toBe(420);
    expect(QUICK_REFERENCE_SCHEDULE.batchSize).toBe(PUBLISHED_REFERENCE_SCHEDULE.batchSize);
  });

  it('plan-ablation: every row at the headline device, each switching exactly one addition off', () => {
    const jobs = ablationJobs(DEVICE, { quick: false, ratio: 8 });
    const plans = jobs.map((j) => j.plan as Omit<ZooPlan, 'workers'>);
    expect(plans.every((p) => p.device === DEVICE && p.method === undefined)).toBe(true);
    const d = DEFAULT_PLANNER_OPTIONS.optimisation;
    // Each override differs from the defaults in one addition, and the first row in none.
    const changed = plans.map((p) =>
      Object.entries(p.optimisation ?? {})
        .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(d[k as keyof typeof d]))
        .map(([k]) => k),
    );
    expect(changed).toEqual([[], ['distill'], ['augment'], ['equalizeLayerScales'], ['ema'], ['focus']]);
    expect(ABLATIONS[1]!.off.distill?.alpha).toBe(0);
  });

  it('plan-seeds: one headline plan per seed', () => {
    const jobs = seedJobs(DEVICE, { quick: false, ratio: 8, seeds: [1, 2, 5] });
    expect(jobs.map((j) => [j.label, (j.plan as Omit<ZooPlan, 'workers'>).seed])).toEqual([
      ['seed 1', 1],
      ['seed 2', 2],
      ['seed 5', 5],
    ]);
  });

  it('seed statistics: per task every seed’s Δ, the mean, worst and range; per seed its mean and worst', () => {
    const stats = seedStats([
      { seed: 1, report: report([0.91, 0.79]) },
      { seed: 2, report: report([0.88, 0.8]) },
      { seed: 3, report: report([0.9, 0.77]) },
    ]);
    const round = (xs: readonly number[]) => xs.map((x) => Math.round(x * 1000) / 1000);
    expect(stats.tasks.map((t) => t.task)).toEqual(['t0', 't1']);
    expect(round(stats.tasks[0]!.deltas)).toEqual([1, -2, 0]);
    expect(round([stats.tasks[0]!.mean, stats.tasks[0]!.worst, stats.tasks[0]!.range])).toEqual(
      [-1 / 3, -2, 3].map((x) => Math.round(x * 1000) / 1000),
    );
    expect(round([stats.tasks[1]!.mean, stats.tasks[1]!.worst, stats.tasks[1]!.range])).toEqual([
      -1.333, -3, 3,
    ]);
    expect(
      stats.perSeed.map((s) => [
        s.seed,
        Math.round(s.mean * 1000) / 1000,
        Math.round(s.worst * 1000) / 1000,
        s.worstTask,
      ]),
    ).toEqual([
      [1, 0, -1, 't1'],
      [2, -1, -2, 't0'],
      [3, -1.5, -3, 't1'],
    ]);
  });
});

describe('the bench’s plan scheduler', () => {
  const job = (label: string, after?: string): PlanJob => ({
    label,
    obeys: 'device',
    plan: { device: DEVICE },
    ...(after ? { after } : {}),
  });

  it('runs two plans at a time, and a plan only after the one it needs', async () => {
    const events: string[] = [];
    let running = 0;
    let most = 0;
    const fake = async (label: string) => {
      running++;
      most = Math.max(most, running);
      events.push(`start ${label}`);
      await new Promise((r) => setTimeout(r, label === 'slow' ? 30 : 5));
      events.push(`end ${label}`);
      running--;
      return { report: report([0.9, 0.8]), seconds: 0 };
    };
    const rows = await runPlans(
      { log: () => {} },
      [job('needs slow', 'slow'), job('slow'), job('a'), job('b')],
      fake,
    );
    expect(most).toBe(2);
    expect([...rows.keys()].sort()).toEqual(['a', 'b', 'needs slow', 'slow']);
    expect(events.indexOf('start needs slow')).toBeGreaterThan(events.indexOf('end slow'));
    // While "needs slow" waited, the free core took the other plans.
    expect(events.indexOf('start a')).toBeLessThan(events.indexOf('end slow'));
  });

  it('refuses a plan that waits for one that is not there', async () => {
    await expect(
      runPlans({ log: () => {} }, [job('x', 'missing')], async () => ({
        report: report([0, 0]),
        seconds: 0,
      })),
    ).rejects.toThrow(/waits for "missing"/);
  });
});
