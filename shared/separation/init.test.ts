import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import {
  INIT_KINDS,
  fisherMeanInit,
  initCandidates,
  initSharedPages,
  slotQuadraticLoss,
  type InitModelInput,
} from './init.ts';

const P = 2;
// Slot 0: a's page 0 and b's page 0; slot 1: a's page 1 only; slot 2: empty. b's page 1 is exclusive.
const a: InitModelInput = {
  values: Float32Array.from([1, 2, 3, 4]),
  fisher: Float64Array.from([3, 1, 1, 1]),
  pageTable: Uint32Array.from([0, 1]),
};
const b: InitModelInput = {
  values: Float32Array.from([5, 6, 7]),
  fisher: Float64Array.from([1, 1, 8]),
  pageTable: Uint32Array.from([0, 3]),
};
const options = { sharedPageCount: 3, pageSize: P };
const values = (r: ReturnType<typeof initSharedPages>) => (r.ok ? Array.from(r.value) : r.error.message);

describe('shared-page init', () => {
  it('Fisher mean, raw and normalised (hand-checked)', () => {
    // Raw: position 0: (3·1 + 1·5)/4 = 2; position 1: (1·2 + 1·6)/2 = 4.
    expect(values(initSharedPages('fisher-mean', [a, b], options))).toEqual([2, 4, 3, 4, 0, 0]);
    // Normalised: a's Fisher sums to 6, b's to 10: position 0: (0.5·1 + 0.1·5)/0.6 = 5/3; position 1: (2/6 + 6/10)/(1/6 + 1/10) = 3.5.
    const n = initSharedPages('fisher-mean-normalised', [a, b], options);
    expect(n.ok && n.value[0]).toBeCloseTo(5 / 3, 6);
    expect(n.ok && n.value[1]).toBeCloseTo(3.5, 6);
  });

  it('falls back to the plain mean where the Fisher is zero', () => {
    const z: InitModelInput = {
      values: Float32Array.from([2, 4]),
      fisher: new Float64Array(2),
      pageTable: Uint32Array.from([0]),
    };
    const y: InitModelInput = {
      values: Float32Array.from([6, 8]),
      fisher: new Float64Array(2),
      pageTable: Uint32Array.from([0]),
    };
    expect(Array.from(fisherMeanInit([z, y], 1, 2, false))).toEqual([4, 6]);
  });

  it('the Fisher mean minimises the merge cost of a slot', () => {
    const rng = new Rng(4);
    for (let trial = 0; trial < 20; trial++) {
      const occupants = Array.from({ length: 2 + rng.int(4) }, () => ({
        values: Float32Array.from({ length: 8 }, () => rng.normal()),
        fisher: Float64Array.from({ length: 8 }, () => Math.exp(rng.normal())),
      }));
      // One page of 8 per model, all on slot 0.
      const v = fisherMeanInit(
        occupants.map((o) => ({ ...o, pageTable: Uint32Array.of(0) })),
        1,
        8,
        false,
      );
      const best = slotQuadraticLoss(v, occupants);
      for (let k = 0; k < 50; k++) {
        const w = Float64Array.from(v, (x) => x + rng.normal() * 0.1);
        expect(slotQuadraticLoss(w, occupants)).toBeGreaterThanOrEqual(best - 1e-9);
      }
      // With two occupants the minimum is the merge cost Σ F₁F₂/(F₁+F₂)(w₁ − w₂)².
      if (occupants.length === 2) {
        const [o1, o2] = occupants as [(typeof occupants)[0], (typeof occupants)[0]];
        let merge = 0;
        for (let p = 0; p < 8; p++)
          merge +=
            ((o1.fisher[p]! * o2.fisher[p]!) / (o1.fisher[p]! + o2.fisher[p]!)) *
            (o1.values[p]! - o2.values[p]!) ** 2;
        expect(best).toBeCloseTo(merge, 5);
      }
    }
  });

  it('top occupant: the page with the largest share of its own model’s mass; a partial page leaves the rest to others', () => {
    // Slot 0: a's page 0 has share 4/6, b's page 0 has 2/10 → a wins; slot 1: a's page 1.
    expect(values(initSharedPages('top-occupant', [a, b], options))).toEqual([1, 2, 3, 4, 0, 0]);
    // b's last page (one value, share 0.8) on a's slot 1: b wins position 0, a keeps position 1.
    const b2: InitModelInput = { ...b, pageTable: Uint32Array.from([0, 1]) };
    expect(values(initSharedPages('top-occupant', [a, b2], options))).toEqual([1, 2, 7, 4, 0, 0]);
  });

  it('random init is seeded and small', () => {
    const r1 = initSharedPages('random', [a, b], { ...options, sharedPageCount: 500, seed: 3 });
    const r2 = initSharedPages('random', [a, b], { ...options, sharedPageCount: 500, seed: 3 });
    const r3 = initSharedPages('random', [a, b], { ...options, sharedPageCount: 500, seed: 4 });
    expect(values(r1)).toEqual(values(r2));
    expect(values(r1)).not.toEqual(values(r3));
    if (!r1.ok) return;
    const sd = Math.sqrt(r1.value.reduce((s, x) => s + x * x, 0) / r1.value.length);
    expect(sd).toBeGreaterThan(0.009);
    expect(sd).toBeLessThan(0.011);
  });

  it('produces every candidate, and refuses inconsistent inputs', () => {
    const c = initCandidates([a, b], options);
    expect(c.ok && c.value.map((x) => x.kind)).toEqual([...INIT_KINDS]);
    expect(initSharedPages('fisher-mean', [{ ...a, fisher: new Float64Array(3) }], options).ok).toBe(false);
  });
});
