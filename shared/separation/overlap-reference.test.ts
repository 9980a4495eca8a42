/**
 * The reference's greedy overlap (overlap.ts, strategy 'reference'; reference-algorithm.md §5) on
 * cases small enough to follow by hand: page size 1, so a page is one weight, and Fisher min–max
 * normalised per model as the reference reads it. A model's last page is kept exclusive (not in its
 * units) where it sets the model's Fisher range.
 */
import { describe, expect, it } from 'vitest';
import { overlap, type OverlapModelInput } from './overlap.ts';

const pages = (...js: number[]) => js.map((j) => Int32Array.of(j));

function place(models: OverlapModelInput[], M: number) {
  const r = overlap(models, { sharedPageCount: M, pageSize: 1, strategy: 'reference' });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

// The first model: values 0, 10, 20 on slots 0, 1, 2; Fisher 1, 2, 3 and 0 on its exclusive page →
// min–max normalised 1/3, 2/3, 1: the slots' masses.
const A: OverlapModelInput = {
  name: 'a',
  values: Float32Array.of(0, 10, 20, 99),
  fisher: Float64Array.of(1, 2, 3, 0),
  units: pages(0, 1, 2),
};

describe('the reference’s greedy overlap', () => {
  it('puts the first model on slots 0, 1, … in page order', () => {
    const r = place([A], 3);
    expect(Array.from(r.models[0]!.pageSlots)).toEqual([0, 1, 2, -1]);
    expect(r.models[0]!.insertionCost).toBe(0);
  });

  it('new page heavier than the busiest slot left: the slot of least cost for that page', () => {
    // b's pages: values 11, 1; Fisher 3, 1.5 (and 0) → masses 1 and 0.5.
    const b: OverlapModelInput = {
      name: 'b',
      values: Float32Array.of(11, 1, 0),
      fisher: Float64Array.of(3, 1.5, 0),
      units: pages(0, 1),
    };
    const r = place([A, b], 3);
    // Level 1 (every slot has one occupant): 3 slots for 2 pages, so the busiest slot (2, mass 1) is
    // dropped; slots 1 (2/3) and 0 (1/3) remain. Step 1: slot 1's mass 2/3 ≤ page 0's 1, so page 0
    // takes the slot of least cost: (Φ + f)(v − w)² = (2/3 + 1)(10 − 11)² = 5/3 on slot 1 against
    // (1/3 + 1)(0 − 11)² on slot 0. Step 2: page 1 takes slot 0 at (1/3 + 1/2)(0 − 1)² = 5/6.
    expect(Array.from(r.models[1]!.pageSlots)).toEqual([1, 0, -1]);
    expect(r.models[1]!.insertionCost).toBeCloseTo(5 / 3 + 5 / 6, 12);
    expect(r.histogram).toEqual([0, 1, 2]);
  });

  it('busiest slot heavier than the new pages: the page of least cost for that slot; the busiest slot is protected', () => {
    // b's pages: values 19, 9; Fisher 1, 1 (and 3, 0 on exclusive pages) → masses 1/3 each.
    const b: OverlapModelInput = {
      name: 'b',
      values: Float32Array.of(19, 9, 0, 0),
      fisher: Float64Array.of(1, 1, 3, 0),
      units: pages(0, 1),
    };
    const r = place([A, b], 3);
    // Slot 2 (mass 1, value 20) is dropped although page 0 (19) is closest to it. Step 1: slot 1
    // (2/3) outweighs page 0 (1/3), so slot 1 takes the page of least cost: page 1 at (2/3 + 1/3)
    // (10 − 9)² = 1, not page 0 at 81. Step 2: slot 0 (1/3) does not outweigh page 0 (1/3): page 0
    // takes the one slot left, at (1/3 + 1/3)(0 − 19)² = 722/3.
    expect(Array.from(r.models[1]!.pageSlots)).toEqual([0, 1, -1, -1]);
    expect(r.models[1]!.insertionCost).toBeCloseTo(1 + 722 / 3, 9);
  });

  it('fills the emptiest slots first and defers a model’s lightest pages to the next level', () => {
    const a: OverlapModelInput = {
      name: 'a',
      values: Float32Array.of(5, 0),
      fisher: Float64Array.of(1, 0),
      units: pages(0),
    };
    // b: masses 1, 0.5, 0.25 (Fisher 4, 2, 1 and 0 → ÷ 4).
    const b: OverlapModelInput = {
      name: 'b',
      values: Float32Array.of(1, 2, 3, 0),
      fisher: Float64Array.of(4, 2, 1, 0),
      units: pages(0, 1, 2),
    };
    const r = place([a, b], 3);
    // a holds slot 0. Level 0 has the two empty slots 1 and 2 for b's three pages: the lightest
    // (page 2) waits. Against an empty slot every cost is 0, so the first minimum is taken: page 0 on
    // slot 1, page 1 on slot 2. Level 1: page 2 joins a on slot 0.
    expect(Array.from(r.models[1]!.pageSlots)).toEqual([1, 2, 0, -1]);
    // (1 + 0.25)(5 − 3)² on slot 0: a's normalised Fisher there is 1.
    expect(r.models[1]!.insertionCost).toBeCloseTo(1.25 * 4, 12);
  });

  it('places the models in the order given, not largest first', () => {
    const small: OverlapModelInput = {
      name: 'small',
      values: Float32Array.of(1, 0),
      fisher: Float64Array.of(1, 0),
      units: pages(0),
    };
    const r = place([small, A], 3);
    // small goes first onto slot 0; a then fills the two empty slots first.
    expect(Array.from(r.models[0]!.pageSlots)).toEqual([0, -1]);
    expect(r.histogram).toEqual([0, 2, 1]);
  });
});
