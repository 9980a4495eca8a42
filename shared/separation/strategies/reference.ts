/**
 * The reference's method as published (notes/reference-algorithm.md), kept as a baseline
 * (`wsep plan --strategy reference`): a fixed pool of 128 shared pages and a 0.9 Fisher-mass rule
 * for the exclusive pages (separate-reference.ts; the device's budgets are not solved for, the report
 * shows what they cost), its greedy overlap, a small random init, and sequential fine-tuning with its
 * own hyper-parameters (optimize-reference.ts). None of our additions apply: `applicable` turns them
 * off, and the joint optimisation's other settings (learning rate, schedule, evaluation interval,
 * patience), the init choice, self-tying, the overlap's slot balance and the extra-page priorities
 * are not read.
 */
import { ok } from '../../core/errors.ts';
import { initSharedPages } from '../init.ts';
import { optimizeReference } from '../optimize-reference.ts';
import { withOverrides } from '../planner-options.ts';
import { REFERENCE_SHARED_PAGES, separateReference } from '../separate-reference.ts';
import type { PlannerStrategy } from './strategy.ts';

/** The reference's optimiser settings: Adam 1e-3, 32-step chunks, penalty weight λ = 0.1. */
export const REFERENCE_OPTIMISER = { chunkSteps: 32, lr: 1e-3, lambda: 0.1 } as const;

/** The reference's random init: N(0, 0.01²). */
export const REFERENCE_INIT_SD = 0.01;

export const REFERENCE: PlannerStrategy = {
  name: 'reference',
  label: 'reference',

  applicable: (options) =>
    withOverrides(options, {
      optimisation: {
        augment: false,
        equalizeLayerScales: false,
        ema: 0,
        focus: 0,
        distill: { ...options.optimisation.distill, alpha: 0 },
      },
    }),

  // Its pool is fixed: any device is accepted, and the report states the bytes used.
  checkDevice: () => ok(undefined),

  separate(models, { method }) {
    const s = separateReference(models, method.pageSize, REFERENCE_SHARED_PAGES);
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
      steps: input.options.optimisation.steps,
      ...REFERENCE_OPTIMISER,
      normalizedFisher: input.fisher.map((f) => minMaxNormalise(f.perWeight)),
      baselineVal: input.baselineVal,
      floorPoints: input.options.optimisation.floorPoints,
      onStep: input.onStep,
      progress: input.progress,
      ...(input.signal ? { signal: input.signal } : {}),
    });
  },
};

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
