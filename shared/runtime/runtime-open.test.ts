/**
 * Opening the paged runtime verifies every byte of the bundle but never holds the exclusive pages it
 * would then discard: they are hashed as they stream by and stay on level 2 until a switch reads one
 * model's. The verification can be cancelled.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { useTempDir } from '../core/testing-temp.ts';
import type { Plan } from '../image/plan.ts';
import { readBundle, readResidentBundle } from '../image/read.ts';
import { convNet, syntheticPlan, tinyPlan } from '../image/testing.ts';
import { writeBundle } from '../image/write.ts';
import { PagedRuntime } from './runtime.ts';

vi.mock('../image/read.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../image/read.ts')>();
  return {
    ...actual,
    readBundle: vi.fn(actual.readBundle),
    readResidentBundle: vi.fn(actual.readResidentBundle),
  };
});

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const root = useTempDir('runtime-open-');

async function written(plan: Plan, name: string): Promise<string> {
  const dir = join(root, name);
  const info = await writeBundle(plan, dir);
  if (!info.ok) throw new Error(info.error.message);
  return dir;
}

/** Eight models of about a million weights, nearly all on exclusive pages (32 MiB of them). */
function largePlan(): Plan {
  const spec = { input: [1, 32, 32] as [number, number, number], convs: [8], hidden: [512], classes: 4 };
  const models = Array.from({ length: 8 }, (_, i) => ({
    name: `m${i}`,
    model: convNet(200 + i, spec, `m${i}`),
  }));
  return syntheticPlan(models, { pageSize: 1024, sharedPageCount: 16, seed: 5 });
}

/** A model's weights as its page table gathers them from the plan's pages. */
function gathered(plan: Plan, k: number): Float32Array {
  const m = plan.models[k]!;
  const P = plan.pageSize;
  const out = new Float32Array(m.weightCount);
  m.pageTable.forEach((entry, j) => {
    const n = Math.min(P, m.weightCount - j * P);
    const from =
      entry < plan.sharedPageCount
        ? plan.sharedPages.subarray(entry * P, entry * P + n)
        : m.exclusivePages.subarray(
            (entry - plan.sharedPageCount) * P,
            (entry - plan.sharedPageCount) * P + n,
          );
    out.set(from, j * P);
  });
  return out;
}

describe('PagedRuntime.open', () => {
  it('reads the bundle without its exclusive pages, and switches still gather the right weights', async () => {
    const plan = tinyPlan(4);
    const dir = await written(plan, 'tiny');
    vi.mocked(readBundle).mockClear();
    vi.mocked(readResidentBundle).mockClear();
    const opened = await PagedRuntime.open(dir);
    if (!opened.ok) throw new Error(opened.error.message);
    expect(readBundle).not.toHaveBeenCalled();
    expect(readResidentBundle).toHaveBeenCalledTimes(1);
    const runtime = opened.value;
    for (const [k, m] of plan.models.entries()) {
      const switched = await runtime.switchTo(m.name);
      expect(switched.ok && switched.value.bytesRead).toBe(m.exclusivePages.byteLength);
      expect(runtime.activeWeights()).toEqual(gathered(plan, k));
    }
    await runtime.close();
  });

  it('never holds more than a chunk of the exclusive pages while it verifies them', async () => {
    const plan = largePlan();
    const excl = plan.models.reduce((a, m) => a + m.exclusivePages.byteLength, 0);
    const dir = await written(plan, 'large');
    collectGarbage();
    collectGarbage();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const opened = await PagedRuntime.open(dir, {
      sessions: 'lazy',
      progress: () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline)),
    });
    if (!opened.ok) throw new Error(opened.error.message);
    // Reading every exclusive page would pass 32 MiB; streaming holds the shared pages, graphs and a chunk.
    expect(excl).toBeGreaterThan(30 * 2 ** 20);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(excl / 8);
    expect(opened.value.memory().level2Bytes).toBe(excl);
    await opened.value.close();
  });

  it('stops with E_CANCELLED when the signal fires while the bundle is verified', async () => {
    const dir = await written(largePlan(), 'cancel');
    const controller = new AbortController();
    const opened = await PagedRuntime.open(dir, {
      sessions: 'lazy',
      signal: controller.signal,
      progress: (e) => {
        if (e.stage === 'verify' && e.step > 4 * 2 ** 20) controller.abort();
      },
    });
    expect(!opened.ok && opened.error.code).toBe('E_CANCELLED');
  });
});
