import { describe, expect, it } from 'vitest';
import { STORED_DEVICE, withSizes } from '../../image/device-profile.ts';
import { PUBLISHED_REFERENCE_SCHEDULE } from '../optimize-reference.ts';
import { DEFAULT_PLANNER_OPTIONS, plannerOptions, withOverrides } from '../planner-options.ts';
import { OURS } from './ours.ts';
import { REFERENCE, REFERENCE_CAPPED, minMaxNormalise, referenceScheduleOf } from './reference.ts';

const options = plannerOptions(withSizes(STORED_DEVICE, { l1Bytes: 4096, l2Bytes: 0 }), {
  method: { init: 'random', overlapSlotBalance: 0.5 },
});

describe('the strategies', () => {
  it.each([
    ['reference', REFERENCE],
    ['reference-capped', REFERENCE_CAPPED],
  ])(
    '%s turns our additions off, takes its schedule’s batch and rate, and leaves every other option as given',
    (_, strategy) => {
      const o = strategy.applicable(options);
      expect(o.optimisation).toEqual({
        ...options.optimisation,
        augment: false,
        equalizeLayerScales: false,
        ema: 0,
        focus: 0,
        distill: { ...options.optimisation.distill, alpha: 0 },
        batchSize: 100,
        lr: 1e-3,
      });
      expect(o.method).toEqual(options.method);
      expect(o.device).toBe(options.device);
      expect(o.run).toEqual(options.run);
      // A schedule given replaces the published one, batch and rate included.
      const short = { ...PUBLISHED_REFERENCE_SCHEDULE, batchSize: 8, lr: 0.01, rounds: 2 };
      const given = strategy.applicable(
        withOverrides(options, { optimisation: { referenceSchedule: short } }),
      );
      expect([given.optimisation.batchSize, given.optimisation.lr]).toEqual([8, 0.01]);
      expect(referenceScheduleOf(given)).toBe(short);
      expect(referenceScheduleOf(options)).toBe(PUBLISHED_REFERENCE_SCHEDULE);
      // Ours takes the options as they are.
      expect(OURS.applicable(options)).toBe(options);
    },
  );

  it('each strategy says which budget its plans obey', () => {
    expect([OURS, REFERENCE, REFERENCE_CAPPED].map((s) => [s.name, s.budget])).toEqual([
      ['ours', 'device'],
      ['reference', 'own'],
      ['reference-capped', 'device'],
    ]);
  });

  it('ours needs a level-1 budget; the reference’s pool is fixed, so any device will do', () => {
    const none = withSizes(STORED_DEVICE, { l1Bytes: 0, l2Bytes: 0 });
    const refused = OURS.checkDevice(none);
    expect(!refused.ok && refused.error.code).toBe('E_BUDGET');
    expect(!refused.ok && refused.error.hint).toContain('--l1');
    expect(OURS.checkDevice(withSizes(STORED_DEVICE, { l1Bytes: 1, l2Bytes: 0 })).ok).toBe(true);
    expect(REFERENCE.checkDevice(none).ok).toBe(true);
    // Capped to the device, the reference needs what ours needs.
    expect(!REFERENCE_CAPPED.checkDevice(none).ok && REFERENCE_CAPPED.checkDevice(none)).toEqual(refused);
  });

  it('the overlap: ours balances slots with the λ asked for (else the overlap’s own); the reference is greedy', () => {
    expect(OURS.overlap(options)).toEqual({ strategy: 'balanced', balance: 0.5 });
    expect(OURS.overlap({ ...options, method: DEFAULT_PLANNER_OPTIONS.method })).toEqual({
      strategy: 'balanced',
    });
    expect(REFERENCE.overlap(options)).toEqual({ strategy: 'reference' });
    expect(REFERENCE_CAPPED.overlap(options)).toEqual({ strategy: 'reference' });
  });

  it('min–max normalises a model’s Fisher to [0, 1], and a flat one to 0', () => {
    expect(Array.from(minMaxNormalise(Float64Array.of(2, 4, 6)))).toEqual([0, 0.5, 1]);
    expect(Array.from(minMaxNormalise(Float32Array.of(3, 3)))).toEqual([0, 0]);
  });
});
