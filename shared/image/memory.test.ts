/** The one memory account (memory.ts): byte counts by part, both packing ratios, and the fit check. */
import { describe, expect, it } from 'vitest';
import {
  LINUX_ORT_DEVICE,
  MCU_DEVICE,
  STORED_DEVICE,
  withSizes,
  type DeviceTraits,
} from './device-profile.ts';
import {
  GATHER_RUN_BYTES_PER_PAGE,
  checkFits,
  memoryAccount,
  pageBytes,
  residencyForecast,
  runtimeParts,
  tableBytes,
  type PlanShape,
} from './memory.ts';

// P = 512 f32 (2 KiB pages); models of 1000, 3000 and 2048 weights → 2 + 6 + 4 = 12 pages.
const shape: PlanShape = {
  pageSize: 512,
  sharedPageCount: 5,
  models: [
    { weightCount: 1000, exclusivePageCount: 0 },
    { weightCount: 3000, exclusivePageCount: 3 },
    { weightCount: 2048, exclusivePageCount: 1 },
  ],
};
const ORIGINAL = (1000 + 3000 + 2048) * 4;
const SHARED = 5 * 2048;
const TABLES = 12 * 4;
const EXCLUSIVE = 4 * 2048;

describe('memory account', () => {
  it('counts pages and tables in bytes', () => {
    expect(pageBytes(512)).toBe(2048);
    // An i8 page: one byte per value and its float32 scale.
    expect(pageBytes(512, 'i8')).toBe(512 + 4);
    expect(tableBytes(12, 4)).toBe(48);
    expect(tableBytes(12, 2)).toBe(24);
  });

  it('the stored device: level 1 is shared pages + tables, and both ratios are stored packing', () => {
    const a = memoryAccount(shape, STORED_DEVICE);
    expect(a).toMatchObject({
      device: 'stored',
      originalBytes: ORIGINAL,
      sharedBytes: SHARED,
      pageTableBytes: TABLES,
      exclusiveBytes: EXCLUSIVE,
      level1Bytes: SHARED + TABLES,
      level2Bytes: EXCLUSIVE,
      storedBytes: SHARED + TABLES + EXCLUSIVE,
      deviceBytes: SHARED + TABLES + EXCLUSIVE,
      largestEntry: 5 + 3 - 1,
    });
    expect(a.runtime.total).toBe(0);
    expect(a.storedPacking).toBeCloseTo(ORIGINAL / (SHARED + TABLES + EXCLUSIVE), 12);
    expect(a.devicePacking).toBe(a.storedPacking);
  });

  it('linux-ort: the largest model’s weights, the largest exclusive set and the gather runs', () => {
    const a = memoryAccount(shape, LINUX_ORT_DEVICE);
    expect(a.runtime).toEqual({
      gatherRuns: 12 * GATHER_RUN_BYTES_PER_PAGE,
      weightBuffer: 3000 * 4,
      exclusiveBuffer: 3 * 2048,
      activationArena: 0,
      total: 12 * 13 + 3000 * 4 + 3 * 2048,
    });
    expect(a.level1Bytes).toBe(SHARED + TABLES + a.runtime.total);
    expect(a.storedPacking).toBeCloseTo(ORIGINAL / (SHARED + TABLES + EXCLUSIVE), 12);
    expect(a.devicePacking).toBeCloseTo(ORIGINAL / (SHARED + TABLES + EXCLUSIVE + a.runtime.total), 12);
  });

  it('mcu: the activation arena and the exclusive-page buffer, uint16 tables', () => {
    const a = memoryAccount(shape, MCU_DEVICE);
    expect(a.pageTableBytes).toBe(12 * 2);
    expect(a.runtime).toEqual({
      gatherRuns: 0,
      weightBuffer: 0,
      exclusiveBuffer: 3 * 2048,
      activationArena: 128 * 1024,
      total: 3 * 2048 + 128 * 1024,
    });
    // Narrower tables raise stored packing too: the ratios are per device's entry width.
    expect(a.storedPacking).toBeCloseTo(ORIGINAL / (SHARED + 24 + EXCLUSIVE), 12);
  });

  it('splits the residency into what page counts fix and what grows with the largest exclusive set', () => {
    const input = { pageSize: 512, weightCounts: [1000, 3000, 2048] };
    for (const device of [STORED_DEVICE, LINUX_ORT_DEVICE, MCU_DEVICE]) {
      const f = residencyForecast(input, device.runtime);
      for (const e of [0, 1, 7])
        expect(runtimeParts({ ...input, maxExclusivePages: e }, device.runtime).total).toBe(
          f.fixedBytes + e * f.bytesPerExclusivePage,
        );
    }
  });

  it('gives 0 for the ratios of an empty plan', () => {
    const a = memoryAccount({ pageSize: 16, sharedPageCount: 0, models: [] }, STORED_DEVICE);
    expect([a.storedPacking, a.devicePacking, a.largestEntry]).toEqual([0, 0, -1]);
  });
});

describe('checkFits', () => {
  const device = (traits: DeviceTraits, l1Bytes: number, l2Bytes: number) =>
    withSizes(traits, { l1Bytes, l2Bytes });

  it('accepts a plan within both sizes, at the exact byte', () => {
    const a = memoryAccount(shape, LINUX_ORT_DEVICE);
    expect(checkFits(a, device(LINUX_ORT_DEVICE, a.level1Bytes, a.level2Bytes)).ok).toBe(true);
  });

  it('refuses with E_BUDGET, the numbers, the parts and the flags to change', () => {
    const a = memoryAccount(shape, LINUX_ORT_DEVICE);
    const l1 = checkFits(a, device(LINUX_ORT_DEVICE, a.level1Bytes - 1, 1e9));
    expect(!l1.ok && l1.error.code).toBe('E_BUDGET');
    expect(!l1.ok && l1.error.message).toMatch(
      /On device linux-ort the plan needs .* of level 1 \(shared 10240 B \+ page tables 48 B \+ runtime \d+ B \(weight buffer 12000 B, .*\)\) .* 1 bytes short\./,
    );
    expect(!l1.ok && l1.error.hint).toMatch(/--device.*--l1/);
    const l2 = checkFits(a, device(LINUX_ORT_DEVICE, 1e9, a.level2Bytes - 5));
    expect(!l2.ok && l2.error.message).toMatch(/of level 2 \(exclusive pages\).*: 5 bytes short/);
    expect(!l2.ok && (l2.error.details as { budget: string }).budget).toBe('l2');
  });

  it('refuses uint16 tables with an entry beyond 65,535', () => {
    const big: PlanShape = {
      pageSize: 1,
      sharedPageCount: 65_000,
      models: [{ weightCount: 70_000, exclusivePageCount: 600 }],
    };
    const a = memoryAccount(big, MCU_DEVICE);
    expect(a.largestEntry).toBe(65_599);
    const r = checkFits(a, device(MCU_DEVICE, 1e12, 1e12));
    expect(!r.ok && r.error.message).toMatch(/uint16, but the plan has an entry of 65599/);
    expect(checkFits(memoryAccount(big, LINUX_ORT_DEVICE), device(LINUX_ORT_DEVICE, 1e12, 1e12)).ok).toBe(
      true,
    );
  });
});
