import { describe, expect, it } from 'vitest';
import { STORED_DEVICE, withSizes } from '../../image/device-profile.ts';
import { DEFAULT_PLANNER_OPTIONS, plannerOptions } from '../planner-options.ts';
import { OURS } from './ours.ts';
import { REFERENCE, minMaxNormalise } from './reference.ts';

const options = plannerOptions(withSizes(STORED_DEVICE, { l1Bytes: 4096, l2Bytes: 0 }), {
  method: { init: 'random', overlapSlotBalance: 0.5 },
});

describe('the strategies', () => {
  it('the reference turns our additions off and leaves every other option as given', () => {
    const o = REFERENCE.applicable(options);
    expect(o.optimisation).toEqual({
      ...options.optimisation,
      augment: false,
      equalizeLayerScales: false,
      ema: 0,
      focus: 0,
      distill: { ...options.optimisation.distill, alpha: 0 },
    });
    expect(o.method).toEqual(options.method);
    expect(o.device).toBe(options.device);
    expect(o.run).toEqual(options.run);
    // Ours takes the options as they are.
    expect(OURS.applicable(options)).toBe(options);
  });

  it('ours needs a level-1 budget; the reference’s pool is fixed, so any device will do', () => {
    const none = withSizes(STORED_DEVICE, { l1Bytes: 0, l2Bytes: 0 });
    const refused = OURS.checkDevice(none);
    expect(!refused.ok && refused.error.code).toBe('E_BUDGET');
    expect(!refused.ok && refused.error.hint).toContain('--l1');
    expect(OURS.checkDevice(withSizes(STORED_DEVICE, { l1Bytes: 1, l2Bytes: 0 })).ok).toBe(true);
    expect(REFERENCE.checkDevice(none).ok).toBe(true);
  });

  it('the overlap: ours balances slots with the λ asked for (else the overlap’s own); the reference is greedy', () => {
    expect(OURS.overlap(options)).toEqual({ strategy: 'balanced', balance: 0.5 });
    expect(OURS.overlap({ ...options, method: DEFAULT_PLANNER_OPTIONS.method })).toEqual({
      strategy: 'balanced',
    });
    expect(REFERENCE.overlap(options)).toEqual({ strategy: 'reference' });
  });

  it('min–max normalises a model’s Fisher to [0, 1], and a flat one to 0', () => {
    expect(Array.from(minMaxNormalise(Float64Array.of(2, 4, 6)))).toEqual([0, 0.5, 1]);
    expect(Array.from(minMaxNormalise(Float32Array.of(3, 3)))).toEqual([0, 0]);
  });
});
