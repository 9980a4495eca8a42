import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { pageSums } from './formation.ts';
import { overlap } from './overlap.ts';
import { separate } from './separate.ts';
import { STORED_DEVICE } from '../image/device-profile.ts';
import { memoryAccount } from '../image/memory.ts';
import {
  buildPageTable,
  checkPageTable,
  exclusiveCount,
  exclusivePagesOf,
  gatherWeights,
  scatterAddGradients,
  scatterWeights,
  slotOccupants,
} from './tables.ts';
import { syntheticModel } from './testing.ts';

const table = (slots: number[], M: number) => {
  const t = buildPageTable(Int32Array.from(slots), M);
  if (!t.ok) throw new Error(t.error.message);
  return t.value;
};

describe('page tables', () => {
  it('maps shared pages to their slot and exclusive pages to M + index in page order', () => {
    expect(Array.from(table([2, -1, 0, -1], 3))).toEqual([2, 3, 0, 4]);
    expect(buildPageTable(Int32Array.from([3]), 3).ok).toBe(false);
  });

  it('checks tables', () => {
    const shape = { sharedPageCount: 3, pageSize: 4, weightCount: 14 };
    expect(checkPageTable(Uint32Array.from([2, 3, 0, 4]), shape).ok).toBe(true);
    expect(checkPageTable(Uint32Array.from([2, 4, 0, 3]), shape).ok).toBe(false); // exclusive out of page order
    expect(checkPageTable(Uint32Array.from([2, 3, 2, 4]), shape).ok).toBe(false); // two pages on one slot
    expect(checkPageTable(Uint32Array.from([2, 3, 2, 4]), { ...shape, selfTied: true }).ok).toBe(true);
    expect(checkPageTable(Uint32Array.from([2, 3, 0]), shape).ok).toBe(false); // wrong length
  });

  it('gather ∘ scatter is the identity; a partial last page writes only its n mod P values', () => {
    const shape = { sharedPageCount: 2, pageSize: 4, weightCount: 10 }; // pages of 4, 4, 2
    const t = table([1, -1, 0], 2);
    const flat = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const shared = new Float32Array(8).fill(99);
    const exclusive = new Float32Array(4);
    expect(scatterWeights(t, shape, flat, shared, exclusive).ok).toBe(true);
    // Slot 0 holds the last page: [9, 10] then the tail others put there (99, 99).
    expect(Array.from(shared)).toEqual([9, 10, 99, 99, 1, 2, 3, 4]);
    expect(Array.from(exclusive)).toEqual([5, 6, 7, 8]);
    const back = gatherWeights(t, shape, shared, exclusive);
    expect(back.ok && Array.from(back.value)).toEqual(Array.from(flat));
  });

  it('round-trips random models and tables', () => {
    const rng = new Rng(9);
    for (let trial = 0; trial < 50; trial++) {
      const P = 1 + rng.int(7);
      const n = 1 + rng.int(50);
      const N = Math.ceil(n / P);
      const M = N + rng.int(3);
      const slots = Array.from(rng.permutation(M).slice(0, N)).map((s) => (rng.next() < 0.3 ? -1 : s));
      const t = table(slots, M);
      const shape = { sharedPageCount: M, pageSize: P, weightCount: n };
      expect(checkPageTable(t, shape).ok).toBe(true);
      const flat = Float32Array.from({ length: n }, () => rng.normal());
      const shared = Float32Array.from({ length: M * P }, () => rng.normal());
      const exclusive = new Float32Array(slots.filter((s) => s < 0).length * P);
      expect(scatterWeights(t, shape, flat, shared, exclusive).ok).toBe(true);
      const back = gatherWeights(t, shape, shared, exclusive);
      expect(back.ok && Array.from(back.value)).toEqual(Array.from(flat));
      const excl = exclusivePagesOf(t, shape, flat);
      expect(excl.ok && Array.from(excl.value)).toEqual(Array.from(exclusive));
    }
  });

  it('a shared page receives the sum of its occupants’ gradients', () => {
    const M = 2;
    const P = 2;
    const a = { t: table([0, -1], M), shape: { sharedPageCount: M, pageSize: P, weightCount: 4 } };
    const b = { t: table([1, 0], M), shape: { sharedPageCount: M, pageSize: P, weightCount: 3 } };
    const sharedGrad = new Float32Array(M * P);
    const exA = new Float32Array(P);
    const exB = new Float32Array(0);
    expect(scatterAddGradients(a.t, a.shape, Float32Array.from([1, 2, 3, 4]), sharedGrad, exA).ok).toBe(true);
    expect(scatterAddGradients(b.t, b.shape, Float32Array.from([10, 20, 30]), sharedGrad, exB).ok).toBe(true);
    // Slot 0: a's page 0 [1, 2] + b's last page [30] (one value) → [31, 2]; slot 1: b's page 0.
    expect(Array.from(sharedGrad)).toEqual([31, 2, 10, 20]);
    expect(Array.from(exA)).toEqual([3, 4]);
    expect(slotOccupants([a.t, b.t], M)).toEqual([
      [
        { model: 0, page: 0 },
        { model: 1, page: 1 },
      ],
      [{ model: 1, page: 0 }],
    ]);
  });

  it('refuses buffers of the wrong size', () => {
    const shape = { sharedPageCount: 1, pageSize: 2, weightCount: 4 };
    const t = table([0, -1], 1);
    expect(gatherWeights(t, shape, new Float32Array(2), new Float32Array(1)).ok).toBe(false);
    expect(gatherWeights(t, shape, new Float32Array(3), new Float32Array(2)).ok).toBe(false);
  });

  it('separate → overlap → tables never exceeds the budgets', () => {
    const rng = new Rng(11);
    let planned = 0;
    for (let trial = 0; trial < 40; trial++) {
      const P = 4 + rng.int(12);
      const models = Array.from({ length: 2 + rng.int(4) }, (_, k) =>
        syntheticModel(`m${k}`, 2 + rng.int(12), P, trial * 10 + k, 10 ** (rng.int(5) - 2), rng.int(P)),
      );
      const budgets = { l1Bytes: rng.int(40 * P * 4), l2Bytes: rng.int(20 * P * 4) };
      const selfTying = 1 + rng.int(2);
      const sep = separate(
        models.map((m) => ({
          name: m.name,
          weightCount: m.values.length,
          pageScores: pageSums(m.fisher, P),
        })),
        { pageSize: P, budgets, selfTying },
      );
      if (!sep.ok) continue;
      const M = sep.value.sharedPageCount;
      const ov = overlap(
        models.map((m, k) => ({ ...m, units: sep.value.models[k]!.units })),
        { sharedPageCount: M, pageSize: P },
      );
      expect(ov.ok).toBe(true);
      if (!ov.ok) continue;
      const tables = ov.value.models.map((m) => table(Array.from(m.pageSlots), M));
      tables.forEach((t, k) =>
        expect(
          checkPageTable(t, {
            sharedPageCount: M,
            pageSize: P,
            weightCount: models[k]!.values.length,
            selfTied: selfTying > 1,
          }).ok,
        ).toBe(true),
      );
      // The tables use what the separation said (image/memory.ts counts both).
      const use = memoryAccount(
        {
          pageSize: P,
          sharedPageCount: M,
          models: tables.map((t, k) => ({
            weightCount: models[k]!.values.length,
            exclusivePageCount: exclusiveCount(t, M),
          })),
        },
        STORED_DEVICE,
      );
      expect(use.level1Bytes).toBe(sep.value.l1Bytes);
      expect(use.level2Bytes).toBe(sep.value.l2Bytes);
      expect(use.level1Bytes).toBeLessThanOrEqual(budgets.l1Bytes);
      expect(use.level2Bytes).toBeLessThanOrEqual(budgets.l2Bytes);
      planned++;
    }
    expect(planned).toBeGreaterThan(5);
  });
});
