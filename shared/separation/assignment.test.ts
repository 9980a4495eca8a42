import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { solveAssignment } from './assignment.ts';

/** Minimum over all injective row → column maps, by brute force. */
function bruteForce(costs: Float64Array, rows: number, cols: number): number {
  let best = Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const go = (r: number, sum: number) => {
    if (r === rows) {
      best = Math.min(best, sum);
      return;
    }
    for (let c = 0; c < cols; c++) {
      if (used[c]) continue;
      used[c] = true;
      go(r + 1, sum + costs[r * cols + c]!);
      used[c] = false;
    }
  };
  go(0, 0);
  return best;
}

function check(costs: Float64Array, rows: number, cols: number) {
  const solved = solveAssignment(costs, rows, cols);
  expect(solved.ok).toBe(true);
  if (!solved.ok) throw new Error(solved.error.message);
  const { rowToColumn, columnToRow, cost } = solved.value;
  expect(new Set(rowToColumn).size).toBe(rows); // distinct columns
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    sum += costs[r * cols + rowToColumn[r]!]!;
    expect(columnToRow[rowToColumn[r]!]).toBe(r);
  }
  expect(cost).toBeCloseTo(sum, 9);
  return solved.value;
}

describe('solveAssignment', () => {
  it('is optimal on a hand-made 4×4 matrix (brute force over all 24 permutations)', () => {
    // The optimum is 1 + 2 + 2 + 1 = 6 with rows → columns [1, 0, 3, 2]; the diagonal costs 40.
    const c = Float64Array.from(
      [
        [10, 1, 7, 9],
        [2, 10, 8, 7],
        [6, 9, 10, 2],
        [8, 7, 1, 10],
      ].flat(),
    );
    const solved = check(c, 4, 4);
    expect(solved.cost).toBe(6);
    expect(bruteForce(c, 4, 4)).toBe(6);
    expect(Array.from(solved.rowToColumn)).toEqual([1, 0, 3, 2]);
  });

  it('matches brute force on random square and rectangular matrices', () => {
    const rng = new Rng(42);
    for (let trial = 0; trial < 200; trial++) {
      const rows = 1 + rng.int(6);
      const cols = rows + rng.int(3);
      const c = new Float64Array(rows * cols);
      // Mix continuous values and small integers (many ties).
      for (let i = 0; i < c.length; i++) c[i] = trial % 2 ? rng.next() * 100 - 20 : rng.int(4);
      const solved = check(c, rows, cols);
      expect(solved.cost).toBeCloseTo(bruteForce(c, rows, cols), 9);
    }
  });

  it('breaks ties deterministically, towards low columns', () => {
    const zeros = new Float64Array(3 * 5);
    const a = check(zeros, 3, 5);
    const b = check(new Float64Array(3 * 5), 3, 5);
    expect(Array.from(a.rowToColumn)).toEqual(Array.from(b.rowToColumn));
    expect(new Set(a.rowToColumn)).toEqual(new Set([0, 1, 2]));
    expect(Array.from(a.columnToRow.slice(3))).toEqual([-1, -1]);
  });

  it('handles empty and one-row problems', () => {
    expect(check(new Float64Array(0), 0, 3).cost).toBe(0);
    const one = check(Float64Array.from([5, 3, 3, 4]), 1, 4);
    expect(Array.from(one.rowToColumn)).toEqual([1]);
  });

  it('refuses rows > columns and non-finite costs', () => {
    expect(solveAssignment(new Float64Array(6), 3, 2).ok).toBe(false);
    expect(solveAssignment(Float64Array.from([1, NaN]), 1, 2).ok).toBe(false);
    expect(solveAssignment(Float64Array.from([1, Infinity]), 1, 2).ok).toBe(false);
  });

  it('fails, instead of looping forever, when costs near the float range overflow the reduced costs', () => {
    // Before the guard, this matrix left the augmenting path with no column and the loop never ended.
    const solved = solveAssignment(Float64Array.from([1e308, -1e308, 1e308, -1e308]), 2, 2);
    expect(solved.ok).toBe(false);
    if (!solved.ok) expect(solved.error.message).toMatch(/overflowed/);
  });

  it('solves a 300×300 problem quickly', () => {
    const rng = new Rng(7);
    const n = 300;
    const c = new Float64Array(n * n);
    for (let i = 0; i < c.length; i++) c[i] = rng.next();
    const t0 = performance.now();
    const solved = check(c, n, n);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2000);
    // A random permutation costs about n/2; the optimum of uniform costs is below 2 (≈ π²/6).
    expect(solved.cost).toBeLessThan(3);
  });
});
