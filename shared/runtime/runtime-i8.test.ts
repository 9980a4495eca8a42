/**
 * The paged runtime on an i8 bundle: level 1 holds int8 codes and scales, the gather dequantises into
 * the float32 weights ORT takes, and the memory account is image/memory.ts's for i8 pages.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { useTempDir } from '../core/testing-temp.ts';
import { LINUX_ORT_DEVICE } from '../image/device-profile.ts';
import { gatherWeights } from '../image/gather.ts';
import { memoryAccount, planShape } from '../image/memory.ts';
import type { Plan } from '../image/plan.ts';
import { quantizePlan } from '../image/quantize.ts';
import { tinyPlan } from '../image/testing.ts';
import { writeBundle } from '../image/write.ts';
import { level1Parts } from './memory.ts';
import { PagedRuntime } from './runtime.ts';

const root = useTempDir('wsep-runtime-i8-');
const i8 = quantizePlan(tinyPlan(12, { shuffleExclusive: true }), 'max-abs');
/** The same values stored as float32: what the i8 runtime must compute, bit for bit. */
const { sharedScales: _s, ...f32Base } = i8;
const asF32: Plan = {
  ...f32Base,
  valueType: 'f32',
  models: i8.models.map(({ exclusiveScales: _e, ...m }) => m),
};

async function opened(plan: Plan, name: string, cacheBytes = 0): Promise<PagedRuntime> {
  const dir = join(root, name);
  const written = await writeBundle(plan, dir);
  if (!written.ok) throw new Error(written.error.message);
  const rt = await PagedRuntime.open(dir, { exclusiveCacheBytes: cacheBytes });
  if (!rt.ok) throw new Error(rt.error.message);
  return rt.value;
}

describe('the paged runtime on int8 pages', () => {
  it('gathers the dequantised weights and answers as the same values stored as f32', async () => {
    const rt8 = await opened(i8, 'i8');
    const rt32 = await opened(asF32, 'f32');
    expect(rt8.valueType).toBe('i8');
    const rng = new Rng(3);
    for (const m of i8.models) {
      await rt8.switchTo(m.name);
      await rt32.switchTo(m.name);
      expect(rt8.activeWeights()).toEqual(gatherWeights(m, i8.sharedPages, i8.sharedPageCount, i8.pageSize));
      const x = Float32Array.from({ length: 3 * m.inputShape.reduce((a, b) => a * b, 1) }, () =>
        rng.normal(),
      );
      const a = await rt8.run(x, 3);
      const b = await rt32.run(x, 3);
      if (!a.ok || !b.ok) throw new Error('run failed');
      expect(Array.from(a.value)).toEqual(Array.from(b.value));
    }
    await rt8.close();
    await rt32.close();
  });

  it('serves cache hits with the same weights, and accounts int8 bytes and scales as image/memory.ts does', async () => {
    const rt = await opened(i8, 'i8-cache', 1 << 20);
    const P = i8.pageSize;
    for (const name of ['alpha', 'beta', 'alpha']) await rt.switchTo(name);
    expect(rt.memory().lastSwitch?.fromCache).toBe(true);
    const alpha = i8.models[0]!;
    expect(rt.activeWeights()).toEqual(gatherWeights(alpha, i8.sharedPages, i8.sharedPageCount, P));
    const mem = rt.memory();
    const E = i8.models.map((m) => m.exclusivePages.length / P);
    expect(mem.level1.sharedPages).toBe(i8.sharedPageCount * (P + 4));
    expect(mem.level1.exclusiveBuffer).toBe(Math.max(...E) * (P + 4));
    expect(mem.level1.weightBuffer).toBe(Math.max(...i8.models.map((m) => m.weightCount)) * 4);
    expect(mem.level1.cache).toBe((E[0]! + E[1]!) * (P + 4));
    expect(mem.level2Bytes).toBe(E.reduce((a, b) => a + b, 0) * (P + 4));
    expect(level1Parts(i8, mem.level1.cache)).toEqual(mem.level1);
    const account = memoryAccount(planShape(i8), LINUX_ORT_DEVICE);
    expect(account.level2Bytes).toBe(mem.level2Bytes);
    // The originals are float32 whatever the pages: i8 packs about 4× more in the same bytes.
    expect(account.originalBytes).toBe(i8.models.reduce((a, m) => a + m.weightCount, 0) * 4);
    await rt.close();
  });
});
