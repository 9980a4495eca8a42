/**
 * The reference's separation on hand-computable cases: its 0.9 Fisher-mass rule, its overflow pages,
 * and the capped form that holds the same rule to a device's two budgets.
 */
import { describe, expect, it } from 'vitest';
import { LINUX_ORT_DEVICE, STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import { checkFits, memoryAccount } from '../image/memory.ts';
import { rankPages, separate, type SeparationModelInput } from './separate.ts';
import {
  REFERENCE_MASS,
  REFERENCE_SHARED_PAGES,
  massPrefix,
  separateReference,
  separateReferenceCapped,
} from './separate-reference.ts';

const P = 4;
const PAGE = P * 4;

/** A model of `scores.length` full pages of P weights with these page scores. */
const model = (name: string, scores: number[]): SeparationModelInput => ({
  name,
  weightCount: scores.length * P,
  pageScores: Float64Array.from(scores),
});

const exclusiveOf = (r: { models: readonly { exclusive: Int32Array }[] }) =>
  r.models.map((m) => Array.from(m.exclusive));

// a: shares 0.50, 0.08, 0.30, 0.06, 0.06 → by rank pages 0, 2, 1, 3, 4 (ties: lower page first);
// cumulative 0.50, 0.80, 0.88 (≤ 0.9: one more), 0.94 (> 0.9: stop) → 4 pages hold the mass.
const A = model('a', [50, 8, 30, 6, 6]);
// b: shares 0.80, 0.15, 0.05 → cumulative 0.80, 0.95 → 2 pages.
const B = model('b', [80, 15, 5]);

describe('the reference’s 0.9 Fisher-mass rule', () => {
  it('keeps exclusive the shortest prefix by rank whose share exceeds 0.9', () => {
    expect(REFERENCE_MASS).toBe(0.9);
    expect(REFERENCE_SHARED_PAGES).toBe(128);
    const r = separateReference([A, B], P);
    if (!r.ok) throw new Error(r.error.message);
    // The pool holds every page here (128 > 8), so nothing overflows.
    expect(r.value.sharedPageCount).toBe(8);
    expect(r.value.models.map((m) => [m.massPages, m.wanted])).toEqual([
      [4, 4],
      [2, 2],
    ]);
    expect(exclusiveOf(r.value)).toEqual([
      [0, 1, 2, 3],
      [0, 1],
    ]);
    expect(r.value.models.map((m) => Array.from(m.sharable))).toEqual([[4], [2]]);
    // One unit per sharable page: the reference never ties pages.
    expect(r.value.models[0]!.units.map((u) => Array.from(u))).toEqual([[4]]);
  });

  it('a prefix whose share is exactly 0.9 does not exceed it: one more page is taken', () => {
    const { share, ranking } = rankPages(Float64Array.of(45, 45, 10));
    expect(share[0]! + share[1]!).toBe(0.9);
    expect(massPrefix(share, ranking, 0.9)).toBe(3);
  });

  it('never takes a page of zero share, and a model without Fisher mass keeps none', () => {
    const { share, ranking } = rankPages(Float64Array.of(0, 95, 0, 5));
    expect(massPrefix(share, ranking, 0.99)).toBe(2);
    const none = rankPages(Float64Array.of(0, 0, 0));
    expect(massPrefix(none.share, none.ranking, 0.9)).toBe(0);
  });

  it('adds the overflow pages by rank when the sharable ones do not fit the pool', () => {
    // A pool of 2: a (5 pages) must keep 3 exclusive, b (3 pages) 1; a's mass rule wants 4 anyway.
    const r = separateReference([A, B], P, 2);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.models.map((m) => [m.massPages, m.wanted])).toEqual([
      [4, 4],
      [2, 2],
    ]);
    const tight = separateReference([A, model('c', [80, 15, 5, 0])], P, 1);
    if (!tight.ok) throw new Error(tight.error.message);
    // c: 4 pages, pool 1 → 3 exclusive, though its mass rule wants 2.
    expect(tight.value.models[1]!.wanted).toBe(3);
    expect(exclusiveOf(tight.value)[1]).toEqual([0, 1, 2]);
  });
});

describe('the reference’s rule capped to a device’s budgets', () => {
  // Three shared pages: level 1 = 3 pages + the 8 pages' table entries (4 bytes each, stored device).
  const L1 = 3 * PAGE + 8 * 4;
  const capped = (l2Pages: number) =>
    separateReferenceCapped([A, B], { pageSize: P, budgets: { l1Bytes: L1, l2Bytes: l2Pages * PAGE } });

  it('uses the pool our separation sizes for the level-1 budget, and the overflow pages first', () => {
    const r = capped(4);
    if (!r.ok) throw new Error(r.error.message);
    const ours = separate([A, B], { pageSize: P, budgets: { l1Bytes: L1, l2Bytes: 4 * PAGE } });
    expect(r.value.sharedPageCount).toBe(ours.ok && ours.value.sharedPageCount);
    expect(r.value.sharedPageCount).toBe(3);
    // a's 5 pages on 3 slots: its top 2 (pages 0, 2) must stay exclusive. The rule wants 4 + 2; the
    // other 2 pages of the budget go by share across models: b's page 0 (0.80), b's page 1 (0.15),
    // before a's page 1 (0.08) and 3 (0.06).
    expect(exclusiveOf(r.value)).toEqual([
      [0, 2],
      [0, 1],
    ]);
    expect([r.value.exclusiveCapacity, r.value.wantedPages, r.value.exclusivePages]).toEqual([4, 6, 4]);
  });

  it('takes pages by Fisher share until they fit, and no more than the rule wants', () => {
    const three = capped(3);
    expect(three.ok && exclusiveOf(three.value)).toEqual([[0, 2], [0]]);
    const roomy = capped(10);
    if (!roomy.ok) throw new Error(roomy.error.message);
    // With room for all, it is the uncapped rule at this pool: 4 + 2 pages, 4 of the budget unused.
    expect(exclusiveOf(roomy.value)).toEqual([
      [0, 1, 2, 3],
      [0, 1],
    ]);
    expect(roomy.value.exclusivePages).toBe(6);
  });

  it('refuses budgets that cannot hold the pages the pool leaves out, with our separation’s message', () => {
    const r = capped(1);
    expect(!r.ok && r.error.code).toBe('E_BUDGET');
    expect(!r.ok && r.error.message).toMatch(/level-2 budget .* short by/);
    const noL1 = separateReferenceCapped([A, B], { pageSize: P, budgets: { l1Bytes: 8, l2Bytes: 1e6 } });
    expect(!noL1.ok && noL1.error.code).toBe('E_BUDGET');
  });

  it('fits a device whose runtime keeps a buffer for the largest exclusive set in level 1', () => {
    const models = [model('a', [50, 8, 30, 6, 6, 1, 1, 1]), model('b', [80, 15, 5, 1, 1, 1])];
    for (const l2Pages of [4, 6, 20]) {
      const budgets = { l1Bytes: 2000, l2Bytes: l2Pages * PAGE };
      const r = separateReferenceCapped(models, { pageSize: P, budgets, device: LINUX_ORT_DEVICE });
      if (!r.ok) throw new Error(r.error.message);
      const account = memoryAccount(
        {
          pageSize: P,
          sharedPageCount: r.value.sharedPageCount,
          models: models.map((m, k) => ({
            weightCount: m.weightCount,
            exclusivePageCount: r.value.models[k]!.exclusive.length,
          })),
        },
        LINUX_ORT_DEVICE,
      );
      expect(checkFits(account, withSizes(LINUX_ORT_DEVICE, budgets)).ok).toBe(true);
    }
  });

  it('the uncapped rule ignores the budgets: its footprint can exceed them', () => {
    const r = separateReference([A, B], P);
    if (!r.ok) throw new Error(r.error.message);
    const account = memoryAccount(
      {
        pageSize: P,
        sharedPageCount: r.value.sharedPageCount,
        models: [A, B].map((m, k) => ({
          weightCount: m.weightCount,
          exclusivePageCount: r.value.models[k]!.exclusive.length,
        })),
      },
      STORED_DEVICE,
    );
    expect(checkFits(account, withSizes(STORED_DEVICE, { l1Bytes: L1, l2Bytes: 4 * PAGE })).ok).toBe(false);
  });
});
