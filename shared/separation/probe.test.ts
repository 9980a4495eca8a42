import { describe, expect, it } from 'vitest';
import { reprioritise } from './probe.ts';

const task = (before: number, after: number) => ({ val: { before, after } });

describe('probe and reprioritise', () => {
  it('raises each task’s extra-page priority by its validation drop over the mean drop', () => {
    // Drops of 4, 0 (a gain counts as none) and 2 points: mean 2.
    expect(
      reprioritise([task(0.9, 0.86), task(0.8, 0.85), task(0.7, 0.68)]).map((p) => +p.toFixed(6)),
    ).toEqual([3, 1, 2]);
    // Nobody dropped: every priority 1.
    expect(reprioritise([task(0.5, 0.6), task(0.5, 0.5)])).toEqual([1, 1]);
  });
});
