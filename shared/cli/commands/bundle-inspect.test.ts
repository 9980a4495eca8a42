/** `wsep bundle inspect [--device …]`: both packing ratios, counted in bytes, for a device profile. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { LINUX_ORT_DEVICE, MCU_DEVICE, deviceProfileJson, withSizes } from '../../image/device-profile.ts';
import { tinyPlan } from '../../image/testing.ts';
import { writeBundle } from '../../image/write.ts';
import { runCommandInProcess } from '../testing.ts';
import { bundleCommand, type BundleSummary } from './bundle.ts';

const root = useTempDir('wsep-bundle-inspect-');
const plan = tinyPlan(5);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCommandInProcess(bundleCommand, argv, root);
  return { code: r.code, out: r.out, err: r.error ?? '' };
}

beforeAll(async () => {
  const written = await writeBundle(plan, join(root, 'a'));
  if (!written.ok) throw new Error(written.error.message);
});

describe('wsep bundle inspect', () => {
  it('counts bytes with the page tables (stored packing), not pages', async () => {
    const s = JSON.parse((await run(['inspect', 'a', '--json'])).out) as BundleSummary;
    const P = plan.pageSize;
    const original = plan.models.reduce((a, m) => a + m.weightCount * 4, 0);
    const shared = plan.sharedPageCount * P * 4;
    const tables = plan.models.reduce((a, m) => a + m.pageTable.length * 4, 0);
    const exclusive = plan.models.reduce((a, m) => a + m.exclusivePages.length * 4, 0);
    expect(s.storedPacking).toBeCloseTo(original / (shared + tables + exclusive), 12);
    expect(s.device.name).toBe('stored');
    expect(s.devicePacking).toBe(s.storedPacking);
    expect(s.level1Bytes).toBe(shared + tables);
    expect(s.level2Bytes).toBe(exclusive);
    expect(s.fits).toEqual({ ok: true });
  });

  it('adds the runtime of a built-in device, sized by the plan’s budgets', async () => {
    const text = await run(['inspect', 'a', '--device', 'linux-ort']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/stored packing \d+\.\d\dx .*device packing \d+\.\d\dx on linux-ort/);
    expect(text.out).toMatch(/weight buffer \d+ B/);
    const s = JSON.parse(
      (await run(['inspect', 'a', '--device', 'linux-ort', '--json'])).out,
    ) as BundleSummary;
    expect(s.device.l1Bytes).toBe(plan.budgets.l1Bytes);
    expect(s.memory.runtime.weightBuffer).toBe(Math.max(...plan.models.map((m) => m.weightCount)) * 4);
    expect(s.devicePacking).toBeLessThan(s.storedPacking);
    expect(s.fits.ok).toBe(s.level1Bytes <= plan.budgets.l1Bytes);
  });

  it('states by default the device the plan was made for (its report says)', async () => {
    const made = { ...plan, report: plan.report && { ...plan.report, device: LINUX_ORT_DEVICE } };
    const written = await writeBundle(made, join(root, 'ort'));
    if (!written.ok) throw new Error(written.error.message);
    const s = JSON.parse((await run(['inspect', 'ort', '--json'])).out) as BundleSummary;
    expect(s.device).toEqual({ ...LINUX_ORT_DEVICE, ...plan.budgets });
    expect((await run(['inspect', 'ort'])).out).toMatch(/device packing \d+\.\d\dx on linux-ort/);
    const stored = JSON.parse(
      (await run(['inspect', 'ort', '--device', 'stored', '--json'])).out,
    ) as BundleSummary;
    expect(stored.devicePacking).toBe(stored.storedPacking);
  });

  it('reads a profile file, and says when the bundle does not fit that device', async () => {
    const small = withSizes(
      { ...MCU_DEVICE, name: 'tiny-board', runtime: { kind: 'mcu', activationArenaBytes: 1024 } },
      { l1Bytes: 2048, l2Bytes: 1 << 20 },
    );
    writeFileSync(join(root, 'tiny.json'), deviceProfileJson(small));
    const text = await run(['inspect', 'a', '--device', 'tiny.json']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/device packing \d+\.\d\dx on tiny-board/);
    expect(text.out).toMatch(/does not fit: On device tiny-board the plan needs .* of level 1/);
    const s = JSON.parse(
      (await run(['inspect', 'a', '--device', 'tiny.json', '--json'])).out,
    ) as BundleSummary;
    expect(s.memory.runtime.activationArena).toBe(1024);
    expect(s.memory.pageTableBytes).toBe(plan.models.reduce((a, m) => a + m.pageTable.length * 2, 0));
    expect(s.fits.ok).toBe(false);
  });

  it('refuses an unknown device, a missing profile file, and --device on other sub-commands', async () => {
    const unknown = await run(['inspect', 'a', '--device', 'toaster']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /--device: Device "toaster" is neither a built-in profile nor a profile file/,
    );
    const missing = await run(['inspect', 'a', '--device', 'nowhere.json']);
    expect(missing.err).toMatch(/No device profile at .*nowhere\.json/);
    expect((await run(['verify', 'a', '--device', 'mcu'])).err).toMatch(
      /takes no --device; only inspect does/,
    );
  });
});
