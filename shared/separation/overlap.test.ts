import { describe, expect, it } from 'vitest';
import { pageSums } from './formation.ts';
import {
  medianPositive,
  occupancyHistogram,
  overlap,
  type Overlap,
  type OverlapModelInput,
} from './overlap.ts';
import { separate } from './separate.ts';
import { prototypeLikeModels } from './testing.ts';

const single = (pages: number) => Array.from({ length: pages }, (_, j) => Int32Array.of(j));

function checkInvariants(result: Overlap, inputs: readonly OverlapModelInput[], M: number) {
  for (const m of result.models) {
    const used = Array.from(m.unitSlots);
    expect(new Set(used).size).toBe(used.length); // one unit of a model per slot
    for (const s of used) expect(s >= 0 && s < M).toBe(true);
  }
  const hist = result.histogram;
  expect(hist.reduce((a, b) => a + b, 0)).toBe(M);
  const units = inputs.reduce((a, m) => a + m.units.length, 0);
  expect(hist.reduce((a, slots, c) => a + slots * c, 0)).toBe(units);
}

/** The prototype's fully shared case: 5 models, M = 132 = max N_k. */
function prototypeCase(P = 128): { inputs: OverlapModelInput[]; M: number } {
  const models = prototypeLikeModels(P);
  const sep = separate(
    models.map((m) => ({ name: m.name, weightCount: m.values.length, pageScores: pageSums(m.fisher, P) })),
    { pageSize: P, budgets: { l1Bytes: 132 * P * 4 + 509 * 4, l2Bytes: 0 } },
  );
  if (!sep.ok) throw new Error(sep.error.message);
  const inputs = models.map((m, k) => ({
    name: m.name,
    values: m.values,
    fisher: m.fisher,
    units: sep.value.models[k]!.units,
  }));
  return { inputs, M: sep.value.sharedPageCount };
}

describe('overlap', () => {
  it('puts a page next to the closest page (hand-checked merge cost)', () => {
    // Model a (placed first, larger): pages [0, 0] and [10, 10]; model b: one page [9, 9].
    const a: OverlapModelInput = {
      name: 'a',
      values: Float32Array.from([0, 0, 10, 10]),
      fisher: Float64Array.from([1, 1, 1, 1]),
      units: single(2),
    };
    const b: OverlapModelInput = {
      name: 'b',
      values: Float32Array.from([9, 9]),
      fisher: Float64Array.from([1, 1]),
      units: single(1),
    };
    const r = overlap([b, a], { sharedPageCount: 2, pageSize: 2, strategy: 'merge-only' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [rb, ra] = r.value.models;
    expect(rb!.pageSlots[0]).toBe(ra!.pageSlots[1]);
    // Normalised Fisher: a's page has Φ = 0.25 per position, b's f = 0.5: cost = 2 · (0.25·0.5/0.75) · 1² = 1/3.
    expect(rb!.insertionCost).toBeCloseTo(1 / 3);
    expect(r.value.groupCost).toBeCloseTo(1 / 3);
    expect(r.value.histogram).toEqual([0, 1, 1]);
  });

  it('keeps one unit of a model per slot; the histogram accounts for every unit', () => {
    const { inputs, M } = prototypeCase();
    for (const strategy of ['balanced', 'merge-only', 'reference'] as const) {
      const r = overlap(inputs, { sharedPageCount: M, pageSize: 128, strategy });
      expect(r.ok).toBe(true);
      if (r.ok) checkInvariants(r.value, inputs, M);
    }
  });

  it('balances occupancy better than the merge cost alone (measured)', () => {
    const { inputs, M } = prototypeCase();
    const rows: string[] = [];
    const stats = new Map<string, { max: number; sq: number; cost: number }>();
    for (const [label, strategy, balance] of [
      ['merge-only', 'merge-only', 0],
      ['λ=0.1', 'balanced', 0.1],
      ['λ=0.3', 'balanced', 0.3],
      ['λ=1', 'balanced', 1],
      ['λ=3', 'balanced', 3],
      ['reference', 'reference', 0],
    ] as const) {
      const r = overlap(inputs, { sharedPageCount: M, pageSize: 128, strategy, balance });
      if (!r.ok) throw new Error(r.error.message);
      const occ = Array.from(r.value.occupancy);
      const sq = occ.reduce((a, c) => a + c * c, 0);
      const max = Math.max(...occ);
      stats.set(label, { max, sq, cost: r.value.groupCost });
      rows.push(
        `${label.padEnd(10)} histogram ${JSON.stringify(r.value.histogram)} Σocc² ${sq} max ${max} groupCost ${r.value.groupCost.toExponential(3)}`,
      );
    }
    console.log(`overlap balance, 5 prototype-like models, M = ${M}, P = 128:\n${rows.join('\n')}`);
    const mergeOnly = stats.get('merge-only')!;
    const balanced = stats.get('λ=1')!;
    expect(balanced.sq).toBeLessThan(mergeOnly.sq);
    expect(balanced.max).toBeLessThanOrEqual(mergeOnly.max);
  });

  it('is deterministic for a seed', () => {
    const { inputs, M } = prototypeCase(64);
    const run = (seed: number) => {
      const r = overlap(inputs, { sharedPageCount: M, pageSize: 64, seed });
      if (!r.ok) throw new Error(r.error.message);
      return r.value.models.map((m) => Array.from(m.pageSlots));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(0)).toEqual(run(0));
    const ref = () => overlap(inputs, { sharedPageCount: M, pageSize: 64, strategy: 'reference' });
    const r1 = ref();
    const r2 = ref();
    expect(r1.ok && r2.ok && r1.value.models.map((m) => Array.from(m.pageSlots))).toEqual(
      r2.ok && r2.value.models.map((m) => Array.from(m.pageSlots)),
    );
  });

  it('the reference greedy puts the first model on slots 0, 1, … and fills the emptiest slots first', () => {
    const P = 4;
    const mk = (name: string, pages: number, offset: number): OverlapModelInput => ({
      name,
      values: Float32Array.from({ length: pages * P }, (_, i) => Math.sin(i + offset)),
      fisher: Float64Array.from({ length: pages * P }, (_, i) => 1 + ((i * 7 + offset) % 5)),
      units: single(pages),
    });
    const r = overlap([mk('a', 3, 0), mk('b', 5, 1), mk('c', 2, 2)], {
      sharedPageCount: 5,
      pageSize: P,
      strategy: 'reference',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.value.models[0]!.pageSlots)).toEqual([0, 1, 2]);
    // b fills the two empty slots first, then three of a's; c then goes to two of the slots holding one occupant.
    expect(r.value.histogram).toEqual([0, 0, 5]);
  });

  it('places a self-tied unit on one slot', () => {
    const P = 2;
    const a: OverlapModelInput = {
      name: 'a',
      values: Float32Array.from([1, 2, 3, 4, 5, 6]),
      fisher: Float64Array.from([1, 1, 1, 1, 1, 1]),
      units: [Int32Array.of(0, 2), Int32Array.of(1)],
    };
    const r = overlap([a], { sharedPageCount: 2, pageSize: P });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const slots = r.value.models[0]!.pageSlots;
    expect(slots[0]).toBe(slots[2]);
    expect(slots[1]).not.toBe(slots[0]);
    // Within the tied unit, pages [1,2] and [5,6] with Fisher 1/6 each merge at cost 2·(1/12)·16 = 8/3.
    expect(r.value.groupCost).toBeCloseTo(8 / 3);
  });

  it('refuses more units than slots, and bad Fisher', () => {
    const a: OverlapModelInput = {
      name: 'a',
      values: new Float32Array(6),
      fisher: new Float64Array(6),
      units: single(3),
    };
    expect(overlap([a], { sharedPageCount: 2, pageSize: 2 }).ok).toBe(false);
    expect(
      overlap([{ ...a, fisher: Float64Array.from([1, NaN, 0, 0, 0, 0]) }], {
        sharedPageCount: 3,
        pageSize: 2,
      }).ok,
    ).toBe(false);
  });

  it('helpers: histogram and median', () => {
    expect(occupancyHistogram(Int32Array.from([0, 2, 2, 1]))).toEqual([1, 1, 2]);
    expect(medianPositive(Float64Array.from([0, 3, 1, 2]))).toBe(2);
    expect(medianPositive(Float64Array.from([0, 4, 1, 2, 3]))).toBe(2.5);
    expect(medianPositive(new Float64Array(3))).toBe(1);
  });
});
