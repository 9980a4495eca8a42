import { describe, expect, it } from 'vitest';
import { ok } from '../core/errors.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import {
  DEFAULT_PLANNER_OPTIONS,
  checkPlannerOptions,
  plannerOptions,
  withOverrides,
  type PlannerOverrides,
} from './planner-options.ts';
import { denseTask } from './stages/testing.ts';

const device = withSizes(STORED_DEVICE, { l1Bytes: 4096, l2Bytes: 1024 });

describe('the planner’s options', () => {
  it('fill what is left out from the defaults, group by group, member by member', () => {
    const o = plannerOptions(device, {
      method: { pageSize: 64 },
      optimisation: { steps: 10 },
      run: { workers: 0 },
    });
    expect(o.device).toBe(device);
    expect(o.method).toEqual({ ...DEFAULT_PLANNER_OPTIONS.method, pageSize: 64 });
    expect(o.optimisation).toEqual({ ...DEFAULT_PLANNER_OPTIONS.optimisation, steps: 10 });
    expect(o.run).toEqual({ seed: 1, workers: 0 });
    const again = withOverrides(o, { method: { selfTying: 2 } });
    expect(again.method).toEqual({ ...o.method, selfTying: 2 });
    expect(again.optimisation).toEqual(o.optimisation);
  });

  it('are checked before any work, in the order a user meets them, each problem named', () => {
    const tasks = [denseTask('a', 1), denseTask('b', 2)];
    const check = (over: PlannerOverrides, given = tasks) => {
      const r = checkPlannerOptions(given, plannerOptions(device, over), () => ok(undefined));
      return r.ok ? 'ok' : r.error.message;
    };
    expect(check({})).toBe('ok');
    expect(check({ method: { pageSize: 3 } })).toBe('Page size 3 is not a positive power of two.');
    expect(check({}, [])).toBe('Planning needs at least one model.');
    expect(check({}, [tasks[0]!, tasks[0]!])).toBe('Two models are named "a".');
    expect(check({ optimisation: { steps: -1 } })).toBe('The steps must be a whole number ≥ 0 (got -1).');
    expect(check({ optimisation: { batchSize: 0 } })).toBe(
      'The batch size must be a whole number ≥ 1 (got 0).',
    );
    expect(check({ optimisation: { lr: 0 } })).toBe('The learning rate must be positive (got 0).');
    expect(check({ method: { selfTying: 1.5 } })).toMatch(/^Self-tying takes a whole number/);
    expect(check({ optimisation: { distill: { alpha: 2, temperature: 2 } } })).toMatch(/^Distillation needs/);
    // The temperature matters only when distillation is on.
    expect(check({ optimisation: { distill: { alpha: 0, temperature: 0 } } })).toBe('ok');
    expect(check({ optimisation: { distill: { alpha: 0.5, temperature: 0 } } })).toMatch(
      /^Distillation needs/,
    );
    expect(check({ optimisation: { ema: 1 } })).toBe('The page-average decay must be in [0, 1) (got 1).');
    expect(check({ optimisation: { focus: 3 } })).toBe('The task focus must be from 0 to 2 (got 3).');
    expect(check({ run: { workers: -1 } })).toBe('The worker count must be a whole number ≥ 0 (got -1).');
    // Selection under noise (issue 12).
    expect(check({ optimisation: { noiseZ: 6 } })).toBe(
      'The noise z must be from 0 to 5 standard errors (got 6).',
    );
    expect(check({ optimisation: { smoothing: 0 } })).toBe(
      'The smoothing must be a whole number of evaluations ≥ 1 (got 0).',
    );
    expect(check({ optimisation: { selection: 'best' as never } })).toBe(
      'Unknown selection rule "best"; use noise-shortfall, floors-first.',
    );
    expect(check({ optimisation: { minStepsFraction: -0.1 } })).toBe(
      'The minimum run must be a fraction from 0 to 1 (got -0.1).',
    );
    expect(check({ optimisation: { restarts: 1.5 } })).toBe(
      'The restarts must be a whole number ≥ 0 (got 1.5).',
    );
    expect(check({ method: { overlapSlotBalance: -1 } })).toMatch(/slot-balance λ must be 0 or more/);
    // The strategy's own check of the device comes after the models' names.
    const refused = checkPlannerOptions(tasks, plannerOptions(device), () => ({
      ok: false,
      error: { code: 'E_BUDGET', message: 'too small' },
    }));
    expect(!refused.ok && refused.error.message).toBe('too small');
  });
});
