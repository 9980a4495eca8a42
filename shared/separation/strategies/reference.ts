/**
 * The reference's method as published (notes/reference-algorithm.md), kept as a baseline, in two
 * forms that differ only in the separation (separate-reference.ts):
 *
 * - `reference` (`wsep plan --strategy reference`): its own footprint — a fixed pool of 128 shared
 *   pages and a 0.9 Fisher-mass rule for the exclusive pages. The device's budgets are not applied;
 *   the report says so (`budgetObeyed: 'own'`) and states the bytes used.
 * - `reference-capped` (`--strategy reference-capped`): the same rule held to the device's budgets
 *   (`budgetObeyed: 'device'`), for comparisons with ours at equal memory; budgets that cannot hold
 *   the plan are refused before any work, as ours are.
 *
 * Then, in both: its greedy overlap, a small random init, and its sequential optimisation on its
 * published schedule (optimize-reference.ts: batch 100, Adam 1e-3, 2000 formation steps per model,
 * then 1000 rounds of 32-step chunks; `optimisation.referenceSchedule` replaces it, for tests and
 * smoke runs). None of our additions apply: `applicable` turns them off and sets the schedule's batch
 * and rate, and the joint optimisation's other settings (steps, schedule, evaluation interval,
 * patience), the init choice, self-tying, the overlap's slot balance and the extra-page priorities
 * are not read.
 */
import type { BudgetObeyed } from '../../image/report.ts';
import { ok } from '../../core/errors.ts';
import { initSharedPages } from '../init.ts';
import {
  PUBLISHED_REFERENCE_SCHEDULE,
  optimizeReference,
  type ReferenceSchedule,
} from '../optimize-reference.ts';
import { budgetsOf, withOverrides, type PlannerOptions } from '../planner-options.ts';
import { REFERENCE_SHARED_PAGES, separateReference, separateReferenceCapped } from '../separate-reference.ts';
import { OURS } from './ours.ts';
import type { PlannerStrategy } from './strategy.ts';

/** The reference's random init: N(0, 0.01²). */
export const REFERENCE_INIT_SD = 0.01;

/** The schedule a plan runs the reference on: the one given, else the published one. */
export function referenceScheduleOf(options: PlannerOptions): ReferenceSchedule {
  return options.optimisation.referenceSchedule ?? PUBLISHED_REFERENCE_SCHEDULE;
}

function referenceStrategy(budget: BudgetObeyed): PlannerStrategy {
  const capped = budget === 'device';
  return {
    name: capped ? 'reference-capped' : 'reference',
    label: capped ? 'reference, capped to the device budgets' : 'reference',
    budget,

    applicable(options) {
      const schedule = referenceScheduleOf(options);
      return withOverrides(options, {
        optimisation: {
          augment: false,
          equalizeLayerScales: false,
          ema: 0,
          focus: 0,
          distill: { ...options.optimisation.distill, alpha: 0 },
          // The sessions are opened with the batch size, and the report states the rate.
          batchSize: schedule.batchSize,
          lr: schedule.lr,
        },
      });
    },

    // The uncapped pool is fixed: any device is accepted, and the report states the bytes used. The
    // capped one needs what ours needs.
    checkDevice: (device) => (capped ? OURS.checkDevice(device) : ok(undefined)),

    separate(models, { device, method }) {
      const s = capped
        ? separateReferenceCapped(models, { pageSize: method.pageSize, budgets: budgetsOf(device), device })
        : separateReference(models, method.pageSize, REFERENCE_SHARED_PAGES);
      if (!s.ok) return s;
      return ok({
        sharedPageCount: s.value.sharedPageCount,
        units: s.value.models.map((m) => m.units),
        selfTying: 1,
      });
    },

    overlap: () => ({ strategy: 'reference' }),

    initCandidates(models, shape, { run }) {
      const pages = initSharedPages('random', models, { ...shape, seed: run.seed, sd: REFERENCE_INIT_SD });
      if (!pages.ok) return pages;
      return ok([{ kind: 'random', sharedPages: pages.value }]);
    },

    optimise(state, tasks, input) {
      return optimizeReference(state, tasks, {
        schedule: referenceScheduleOf(input.options),
        normalizedFisher: input.fisher.map((f) => minMaxNormalise(f.perWeight)),
        baselineVal: input.baselineVal,
        floorPoints: input.options.optimisation.floorPoints,
        onStep: input.onStep,
        progress: input.progress,
        ...(input.signal ? { signal: input.signal } : {}),
      });
    },
  };
}

/** The reference at its own footprint (fixed pool, 0.9 Fisher mass), budgets not applied. */
export const REFERENCE: PlannerStrategy = referenceStrategy('own');

/** The reference's rule held to the device's budgets. */
export const REFERENCE_CAPPED: PlannerStrategy = referenceStrategy('device');

/** The reference's normalisation: min–max over the model's whole Fisher vector, to [0, 1]. */
export function minMaxNormalise(values: Float64Array | Float32Array): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Float32Array(values.length);
  const range = max - min;
  if (range > 0) values.forEach((v, i) => (out[i] = (v - min) / range));
  return out;
}
