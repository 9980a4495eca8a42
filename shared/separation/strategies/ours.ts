/**
 * Our method (DESIGN.md, the planner): the separation solves for the device's two budgets (with
 * self-tying when asked), the overlap is an optimal assignment with a slot-balance term, the
 * initialisation is chosen among every candidate by validation loss, and the pages are optimised
 * jointly with per-task floors measured against each validation split's noise (optimize.ts).
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import type { DeviceProfile } from '../../image/device-profile.ts';
import { INIT_KINDS, initCandidates } from '../init.ts';
import { optimizeJointly, type JointOptions } from '../optimize.ts';
import { budgetsOf } from '../planner-options.ts';
import { separate } from '../separate.ts';
import type { OptimiseInput, PlannerStrategy } from './strategy.ts';

export const OURS: PlannerStrategy = {
  name: 'ours',
  label: 'ours (balanced overlap, joint optimisation)',
  budget: 'device',

  applicable: (options) => options,

  checkDevice(device: DeviceProfile): Result<void> {
    if (!(device.l1Bytes > 0))
      return fail(
        'E_BUDGET',
        `The level-1 budget must be more than 0 bytes (got ${device.l1Bytes}).`,
        'Pass --l1 with a size such as 256KiB.',
      );
    if (!(device.l2Bytes >= 0))
      return fail('E_BUDGET', `The level-2 budget must be 0 bytes or more (got ${device.l2Bytes}).`);
    return ok(undefined);
  },

  separate(models, { device, method }) {
    const s = separate(models, {
      pageSize: method.pageSize,
      budgets: budgetsOf(device),
      selfTying: method.selfTying,
      device,
      ...(method.valueType ? { valueType: method.valueType } : {}),
      ...(method.extraPriority ? { extraPriority: method.extraPriority } : {}),
    });
    if (!s.ok) return s;
    return ok({
      sharedPageCount: s.value.sharedPageCount,
      units: s.value.models.map((m) => m.units),
      selfTying: method.selfTying,
    });
  },

  overlap: ({ method }) =>
    method.overlapSlotBalance !== undefined
      ? { strategy: 'balanced', balance: method.overlapSlotBalance }
      : { strategy: 'balanced' },

  initCandidates(models, shape, { method, run }) {
    const kinds = method.init === 'auto' ? INIT_KINDS : [method.init];
    const made = initCandidates(models, { ...shape, seed: run.seed }, kinds);
    if (!made.ok) return made;
    return ok(made.value.map((c) => ({ kind: c.kind, sharedPages: c.sharedPages })));
  },

  optimise: (state, tasks, input) => optimizeJointly(state, tasks, jointOptions(input)),
};

/** The joint optimiser's options from the planner's (every selection knob passed as set). */
export function jointOptions(input: OptimiseInput): JointOptions {
  const t = input.options.optimisation;
  return {
    steps: t.steps,
    lr: t.lr,
    warmupSteps: t.warmupSteps,
    schedule: t.schedule,
    ...(t.focus ? { focus: t.focus } : {}),
    ...(t.ema ? { ema: t.ema } : {}),
    evalEvery: t.evalEvery,
    patience: t.patience,
    floorPoints: t.floorPoints,
    baselineVal: input.baselineVal,
    ...(input.valCounts ? { valCount: input.valCounts } : {}),
    noiseZ: t.noiseZ,
    smoothing: t.smoothing,
    selection: t.selection,
    minStepsFraction: t.minStepsFraction,
    restarts: t.restarts,
    ...(input.options.method.valueType === 'i8'
      ? { quantize: { rule: input.options.method.scaleRule ?? 'max-abs' } }
      : {}),
    onStep: input.onStep,
    progress: input.progress,
    ...(input.signal ? { signal: input.signal } : {}),
  };
}
