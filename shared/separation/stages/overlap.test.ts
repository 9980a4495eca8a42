import { describe, expect, it } from 'vitest';
import { OURS } from '../strategies/ours.ts';
import { REFERENCE } from '../strategies/reference.ts';
import { checkPageTable } from '../tables.ts';
import { quietStage } from './context.ts';
import { overlapStage } from './overlap.ts';
import { separationStage } from './separation.ts';
import { P, twoModelOptions, twoModels } from './testing.ts';

const { tasks, formations, fisher } = twoModels();

describe('the overlap stage', () => {
  it.each([
    ['ours', OURS, twoModelOptions()],
    ['ours, self-tying 2', OURS, twoModelOptions(2, 3, 2)],
    ['the reference', REFERENCE, twoModelOptions()],
  ])(
    '%s: valid page tables, and exclusive pages that start as the original weights',
    (_, strategy, options) => {
      const separated = separationStage(strategy, tasks, formations, fisher, options, quietStage);
      if (!separated.ok) throw new Error(separated.error.message);
      let reported = 0;
      const r = overlapStage(strategy, tasks, formations, fisher, separated.value, options, {
        progress: () => reported++,
      });
      if (!r.ok) throw new Error(r.error.message);
      const { sharedPageCount: M, tables, exclusive } = r.value;
      expect(M).toBe(separated.value.sharedPageCount);
      expect(r.value.selfTying).toBe(separated.value.selfTying);
      formations.forEach((f, k) => {
        const table = tables[k]!;
        const shape = {
          sharedPageCount: M,
          pageSize: P,
          weightCount: f.weightCount,
          selfTied: r.value.selfTying > 1,
        };
        expect(checkPageTable(table, shape).ok).toBe(true);
        table.forEach((entry, j) => {
          if (entry < M) return;
          const e = entry - M;
          const original = Array.from(f.flat.subarray(j * P, Math.min((j + 1) * P, f.weightCount)));
          expect(Array.from(exclusive[k]!.subarray(e * P, e * P + original.length))).toEqual(original);
        });
      });
      // Every sharable unit occupies one slot: the histogram counts all M slots.
      expect(r.value.occupancyHistogram.reduce((a, b) => a + b, 0)).toBe(M);
      expect(reported).toBe(1);
    },
  );

  it('names a task the separation left out', () => {
    const options = twoModelOptions();
    const separated = separationStage(OURS, tasks, formations, fisher, options, quietStage);
    if (!separated.ok) throw new Error(separated.error.message);
    const partial = { ...separated.value, units: separated.value.units.slice(0, 1) };
    const r = overlapStage(OURS, tasks, formations, fisher, partial, options, quietStage);
    expect(!r.ok && r.error.message).toBe('The overlap has no separation of task b.');
  });
});
