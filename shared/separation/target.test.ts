/** The accuracy-target search's budget arithmetic (target.ts): a pool of m pages on a device. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { LINUX_ORT_DEVICE, MCU_DEVICE, STORED_DEVICE } from '../image/device-profile.ts';
import { separate } from './separate.ts';
import { level1BudgetFor } from './target.ts';

describe('level1BudgetFor', () => {
  it('is page tables + m pages for the stored plan alone (as before device profiles)', () => {
    const shape = { pageSize: 4, weightCounts: [18, 12, 13], selfTying: 1, device: STORED_DEVICE };
    expect(level1BudgetFor(3, shape)).toBe(12 * 4 + 3 * 16);
    // i8: a page is P codes and its 4-byte scale.
    expect(level1BudgetFor(3, { ...shape, valueType: 'i8' })).toBe(12 * 4 + 3 * (4 + 4));
  });

  it('gives the separation a pool of at least m pages on any device, within the budget', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const P = 2 ** rng.int(4);
      const weightCounts = Array.from({ length: 1 + rng.int(5) }, () => 1 + rng.int(80));
      const selfTying = 1 + rng.int(2);
      const device = [STORED_DEVICE, LINUX_ORT_DEVICE, MCU_DEVICE][rng.int(3)]!;
      const m = 1 + rng.int(Math.max(...weightCounts.map((n) => Math.ceil(n / P))));
      const l1Bytes = level1BudgetFor(m, { pageSize: P, weightCounts, selfTying, device });
      const s = separate(
        weightCounts.map((n, k) => ({
          name: `m${k}`,
          weightCount: n,
          pageScores: new Float64Array(Math.ceil(n / P)),
        })),
        { pageSize: P, budgets: { l1Bytes, l2Bytes: 1e9 }, selfTying, device },
      );
      if (!s.ok) throw new Error(s.error.message);
      expect(s.value.sharedPageCount).toBeGreaterThanOrEqual(
        Math.min(
          m,
          weightCounts.reduce((a, n) => a + Math.ceil(n / P), 0),
        ),
      );
      expect(s.value.l1Bytes).toBeLessThanOrEqual(l1Bytes);
    }
  });
});
