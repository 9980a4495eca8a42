import { describe, expect, it } from 'vitest';
import { buildModel } from '../zoo/model-builder.ts';
import { balanceGroups, forwardMacs } from './task-workers.ts';

describe('task workers: placement', () => {
  it('balances costs longest first and keeps task order within a group', () => {
    expect(balanceGroups([5, 1, 4, 2, 3], 2)).toEqual([
      [0, 1, 3],
      [2, 4],
    ]);
    expect(balanceGroups([1, 1], 4)).toEqual([[0], [1]]);
    expect(balanceGroups([3, 3, 3], 1)).toEqual([[0, 1, 2]]);
  });

  it('counts a conv weight once per output position and a dense weight once', () => {
    const model = buildModel('m', [1, 6, 6], 2, (b, x) => {
      x = b.conv('c', x, 2, { kernel: 3 }); // 2×4×4 out, 18 + 2 weights
      return b.dense('fc', b.flatten(x), 2); // 32 × 2 weights
    }).model;
    expect(forwardMacs(model)).toBe(18 * 16 + 32 * 2);
  });
});
