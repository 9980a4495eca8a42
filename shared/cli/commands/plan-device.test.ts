/** `wsep plan --device`: the device's runtime is planned for, and a plan that cannot fit it is refused first. */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { LINUX_ORT_DEVICE, deviceProfileJson, withSizes } from '../../image/device-profile.ts';
import { main } from '../main.ts';

const ZOO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../resources/zoo');
const cwd = useTempDir('wsep-plan-device-');

// Every case here fails before any planning work (no Fisher, no training).
async function plan(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['plan', '--models', ZOO, '--only', 'digits8x8,wall_following', '--out', 'plans/x', ...argv],
    { out: (t) => out.push(t), err: (t) => err.push(t), cwd },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('wsep plan --device', () => {
  it('refuses, before any work, the demo’s budgets on Linux with onnxruntime (its weight buffer alone is 256 KiB)', async () => {
    const r = await plan(['--device', 'linux-ort', '--progress', 'none']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('device linux-ort (L1 256.0 KiB, L2 192.0 KiB)');
    expect(r.err).toMatch(/The level-1 budget \(256\.0 KiB\) is short by \d+ bytes on device linux-ort/);
    expect(r.err).toMatch(/runtime \d+ bytes \(weight buffer 260424 B, gather runs/); // wall_following: 65,106 weights × 4
    expect(r.err).toMatch(/--l1.*--device/);
    expect(existsSync(join(cwd, 'plans/x'))).toBe(false);
  });

  it('takes a profile file’s sizes unless --l1 / --l2 are given', async () => {
    writeFileSync(
      join(cwd, 'small.json'),
      deviceProfileJson(
        withSizes({ ...LINUX_ORT_DEVICE, name: 'small-box' }, { l1Bytes: 65536, l2Bytes: 1 << 20 }),
      ),
    );
    const fromFile = await plan(['--device', 'small.json', '--progress', 'none']);
    expect(fromFile.code).toBe(1);
    expect(fromFile.err).toMatch(
      /The level-1 budget \(64\.0 KiB\) is short by \d+ bytes on device small-box/,
    );
    const overridden = await plan(['--device', 'small.json', '--l1', '96KiB', '--progress', 'none']);
    expect(overridden.err).toMatch(/The level-1 budget \(96\.0 KiB\) is short by/);
  });

  it('names the devices it knows when the value is neither a name nor a file', async () => {
    const r = await plan(['--device', 'toaster']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--device: Device "toaster" is neither a built-in profile nor a profile file');
    expect(r.err).toContain('--device stored, --device linux-ort, --device mcu');
    const bad = await plan(['--device', 'nowhere.json']);
    expect(bad.err).toMatch(/--device: No device profile at .*nowhere\.json/);
  });
});
