import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { LINUX_ORT_DEVICE, STORED_DEVICE, type DeviceTraits } from '../image/device-profile.ts';
import { memoryAccount } from '../image/memory.ts';
import {
  packingCeiling,
  packingCeilingSelfTying,
  rankPages,
  separate,
  type SeparationModelInput,
} from './separate.ts';

// P = 4 weights of 4 bytes: a page is 16 bytes; 12 pages → page tables of 48 bytes.
const models: SeparationModelInput[] = [
  { name: 'a', weightCount: 18, pageScores: Float64Array.from([10, 0, 5, 3, 2]) }, // shares .5 0 .25 .15 .1
  { name: 'b', weightCount: 12, pageScores: Float64Array.from([1, 1, 2]) }, // .25 .25 .5
  { name: 'c', weightCount: 13, pageScores: Float64Array.from([4, 4, 1, 1]) }, // .4 .4 .1 .1
];
const ints = (a: Int32Array) => Array.from(a);
/** A device whose runtime holds an arena of `bytes` and the largest model's exclusive pages. */
const arena = (bytes: number): DeviceTraits => ({
  name: 'tiny',
  tableEntryBytes: 4,
  runtime: { kind: 'mcu', activationArenaBytes: bytes },
});

describe('separate', () => {
  it('ranks pages by their share of the model mass, ties to the lower page', () => {
    const { share, ranking } = rankPages(Float64Array.from([1, 3, 0, 1]));
    expect(Array.from(share)).toEqual([0.2, 0.6, 0, 0.2]);
    expect(ints(ranking)).toEqual([1, 0, 3, 2]);
    expect(Array.from(rankPages(new Float64Array(3)).share)).toEqual([0, 0, 0]);
  });

  it('forces N_k − M exclusive pages and grants the extra budget globally by share (hand-checked)', () => {
    // L1 = 48 (tables) + 3 pages → M = 3; forced: a 2, b 0, c 1 = 48 bytes; L2 = 80 → 2 extra pages.
    const s = separate(models, { pageSize: 4, budgets: { l1Bytes: 96 + 15, l2Bytes: 80 + 15 } });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    const v = s.value;
    expect(v.sharedPageCount).toBe(3);
    expect(v.pageTableBytes).toBe(48);
    expect(v.extraBudgetPages).toBe(2);
    // Extra candidates by share: b2 .5, c1 .4, b0 .25, … → b2 and c1.
    expect(v.models.map((m) => [m.forced, m.extra])).toEqual([
      [2, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(v.models.map((m) => ints(m.exclusive))).toEqual([[0, 2], [2], [0, 1]]);
    expect(v.models.map((m) => ints(m.sharable))).toEqual([
      [1, 3, 4],
      [0, 1],
      [2, 3],
    ]);
    expect(v.models.map((m) => m.units.map(ints))).toEqual([
      [[1], [3], [4]],
      [[0], [1]],
      [[2], [3]],
    ]);
    expect(v.l1Bytes).toBe(96);
    expect(v.l2Bytes).toBe(5 * 16);
    expect(v.ceiling).toBeCloseTo(12 / 5);
  });

  it('raises a model’s claim on the extra pages with its priority factor', () => {
    // Same budgets as above. Remaining candidates by share: b2 .5, c1 .4, b0 .25, b1 .25, a3 .15, …
    // A factor of 4 on model a lifts a3 to .6 and a4 to .4: a3 and b2 are granted.
    const s = separate(models, {
      pageSize: 4,
      budgets: { l1Bytes: 96 + 15, l2Bytes: 80 + 15 },
      extraPriority: [4, 1, 1],
    });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(s.value.models.map((m) => [m.forced, m.extra])).toEqual([
      [2, 1],
      [0, 1],
      [1, 0],
    ]);
    expect(s.value.models.map((m) => ints(m.exclusive))).toEqual([[0, 2, 3], [2], [0]]);
  });

  it('never grants pages whose share is zero', () => {
    const s = separate([{ name: 'z', weightCount: 8, pageScores: Float64Array.from([1, 0]) }], {
      pageSize: 4,
      budgets: { l1Bytes: 8 + 32, l2Bytes: 1000 },
    });
    expect(s.ok && ints(s.value.models[0]!.exclusive)).toEqual([0]);
    expect(s.ok && s.value.extraGranted).toBe(1);
  });

  it('names the short budget and the shortfall in bytes', () => {
    const l1 = separate(models, { pageSize: 4, budgets: { l1Bytes: 40, l2Bytes: 1e6 } });
    expect(!l1.ok && l1.error.code).toBe('E_BUDGET');
    expect(!l1.ok && l1.error.message).toMatch(/level-1 budget .* short by 8 bytes/);
    const overhead = separate(models, {
      pageSize: 4,
      budgets: { l1Bytes: 96, l2Bytes: 1e6 },
      device: arena(60),
    });
    expect(!overhead.ok && overhead.error.message).toMatch(
      /short by 12 bytes on device tiny: the page tables need 48 bytes and the runtime 60 bytes/,
    );
    expect(!overhead.ok && overhead.error.hint).toMatch(/--device/);
    const l2 = separate(models, { pageSize: 4, budgets: { l1Bytes: 96, l2Bytes: 40 } });
    expect(!l2.ok && l2.error.message).toMatch(/level-2 budget .* short by 8 bytes/);
    expect(!l2.ok && (l2.error.details as { budget: string }).budget).toBe('l2');
  });

  it('reserves the runtime’s buffer for the largest exclusive set by iterating to a fixed point (hand-checked)', () => {
    // Device: 16 bytes per page of the largest exclusive set, nothing else. L1 = 48 (tables) + 6 pages.
    // Stored: M = 6, no forced page, 6 extra pages a0 b2 c0 c1 a2 b0 → 2 per model.
    const budgets = { l1Bytes: 48 + 6 * 16, l2Bytes: 6 * 16 };
    const stored = separate(models, { pageSize: 4, budgets });
    expect(stored.ok && [stored.value.sharedPageCount, stored.value.l1Bytes]).toEqual([6, 96 + 48]);
    // Device: R = 0 leaves M = 6 but the grant makes max E_k = 2; with R = 2, M = 4, a0 is forced and
    // the grant (b2 c0 c1 a2 b0) again gives 2 per model: the fixed point.
    const s = separate(models, { pageSize: 4, budgets, device: arena(0) });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(s.value.sharedPageCount).toBe(4);
    expect(s.value.reservedExclusivePages).toBe(2);
    expect(s.value.models.map((m) => ints(m.exclusive))).toEqual([
      [0, 2],
      [0, 2],
      [0, 1],
    ]);
    expect(s.value.runtime.exclusiveBuffer).toBe(2 * 16);
    expect(s.value.l1Bytes).toBe(4 * 16 + 48 + 2 * 16);
    expect(s.value.device).toBe('tiny');
  });

  it('stops a model at the reserved buffer when raising it would break a budget', () => {
    // Two 5-page models, L1 = tables (40) + 5 pages, L2 = one page. Raising R to 1 would leave M = 4
    // and force a page of each model (32 bytes > 16): so R stays 0 and no page is granted.
    const two: SeparationModelInput[] = [
      models[0]!,
      { name: 'd', weightCount: 20, pageScores: Float64Array.from([1, 1, 1, 1, 1]) },
    ];
    const budgets = { l1Bytes: 40 + 5 * 16, l2Bytes: 16 };
    const stored = separate(two, { pageSize: 4, budgets });
    expect(stored.ok && stored.value.extraGranted).toBe(1);
    const s = separate(two, { pageSize: 4, budgets, device: arena(0) });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect([s.value.sharedPageCount, s.value.reservedExclusivePages, s.value.extraGranted]).toEqual([
      5, 0, 0,
    ]);
    expect(s.value.l1Bytes).toBe(budgets.l1Bytes);
  });

  it('refuses uint16 page tables whose entries could pass 65,535, before any score is known', () => {
    const big = [{ name: 'big', weightCount: 70_000, pageScores: new Float64Array(70_000) }];
    const device = { name: 'u16', tableEntryBytes: 2 as const, runtime: { kind: 'none' as const } };
    const s = separate(big, { pageSize: 1, budgets: { l1Bytes: 140_000 + 4, l2Bytes: 1e9 }, device });
    expect(!s.ok && s.error.code).toBe('E_BUDGET');
    expect(!s.ok && s.error.message).toMatch(/uint16, but the plan has an entry of 70000/);
    expect(!s.ok && s.error.hint).toMatch(/--page-size/);
  });

  it('computes the packing ceiling, with and without self-tying', () => {
    expect(packingCeiling([91, 111, 85, 90, 132])).toBeCloseTo(509 / 132); // 3.86 (the prototype's 3.83x is in weights)
    expect(packingCeiling([5, 3, 4])).toBeCloseTo(2.4);
    expect(packingCeilingSelfTying([5, 3, 4], 2)).toBeCloseTo(4);
    expect(packingCeilingSelfTying([91, 111, 85, 90, 132], 2)).toBeCloseTo(509 / 66);
  });

  it('self-tying ties the lowest-ranked pages in groups, just enough to fit M slots', () => {
    // M = 2, t = 2: forced = max(0, N − 4) = a 1 (page 0), b 0, c 0.
    const s = separate(models, { pageSize: 4, budgets: { l1Bytes: 48 + 32, l2Bytes: 16 }, selfTying: 2 });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(s.value.sharedPageCount).toBe(2);
    expect(s.value.models.map((m) => ints(m.exclusive))).toEqual([[0], [], []]);
    // a: least important first 1, 4, 3, 2 → {1,4}, {2,3}; b: 1, 0, 2 → {0,1}, {2}; c: 3, 2, 1, 0 → {2,3}, {0,1}.
    expect(s.value.models.map((m) => m.units.map(ints))).toEqual([
      [
        [1, 4],
        [2, 3],
      ],
      [[0, 1], [2]],
      [
        [0, 1],
        [2, 3],
      ],
    ]);
    expect(s.value.ceiling).toBeCloseTo(4);
  });

  it('never exceeds its budgets, and every page is either exclusive or in exactly one unit', () => {
    const rng = new Rng(5);
    let feasible = 0;
    for (let trial = 0; trial < 300; trial++) {
      const P = 2 ** rng.int(4);
      const input = Array.from({ length: 1 + rng.int(5) }, (_, k) => {
        const n = 1 + rng.int(60);
        const pages = Math.ceil(n / P);
        return {
          name: `m${k}`,
          weightCount: n,
          pageScores: Float64Array.from({ length: pages }, () => (rng.next() < 0.2 ? 0 : rng.next())),
        };
      });
      const t = 1 + rng.int(3);
      const budgets = { l1Bytes: rng.int(600), l2Bytes: rng.int(600) };
      const device = [STORED_DEVICE, LINUX_ORT_DEVICE, arena(rng.int(20))][rng.int(3)]!;
      const s = separate(input, { pageSize: P, budgets, selfTying: t, device });
      // Whether the budgets work is known before any score: the planner checks with zero scores.
      const unscored = input.map((m) => ({ ...m, pageScores: new Float64Array(m.pageScores.length) }));
      expect(separate(unscored, { pageSize: P, budgets, selfTying: t, device }).ok).toBe(s.ok);
      if (!s.ok) {
        expect(s.error.code).toBe('E_BUDGET');
        continue;
      }
      feasible++;
      const v = s.value;
      // On the device, with the runtime's residency for this very outcome.
      const account = memoryAccount(
        {
          pageSize: P,
          sharedPageCount: v.sharedPageCount,
          models: v.models.map((m) => ({
            weightCount: m.weightCount,
            exclusivePageCount: m.exclusive.length,
          })),
        },
        device,
      );
      expect(v.l1Bytes).toBe(account.level1Bytes);
      expect(v.l1Bytes).toBeLessThanOrEqual(budgets.l1Bytes);
      expect(v.l2Bytes).toBeLessThanOrEqual(budgets.l2Bytes);
      expect(Math.max(0, ...v.models.map((m) => m.exclusive.length))).toBeLessThanOrEqual(
        device.runtime.kind === 'none' ? Infinity : v.reservedExclusivePages,
      );
      for (const m of v.models) {
        expect(m.units.length).toBeLessThanOrEqual(v.sharedPageCount);
        for (const u of m.units) expect(u.length).toBeLessThanOrEqual(t);
        const all = [...m.exclusive, ...m.units.flatMap((u) => Array.from(u))].sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: m.pageCount }, (_, j) => j));
      }
    }
    expect(feasible).toBeGreaterThan(50);
  });
});
