/** Device profiles: the built-in ones, `--device` values, and the profile file (docs/FORMAT.md §9). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import {
  DEFAULT_MCU_ARENA_BYTES,
  LINUX_ORT_DEVICE,
  MCU_DEVICE,
  NAMED_DEVICES,
  STORED_DEVICE,
  deviceProfileJson,
  parseDeviceProfile,
  readDeviceProfile,
  resolveDevice,
  withSizes,
  type DeviceProfile,
} from './device-profile.ts';

const SIZES = { l1Bytes: 256 * 1024, l2Bytes: 192 * 1024 };
const board: DeviceProfile = {
  name: 'mps2-an385',
  l1Bytes: 4 * 1024 * 1024,
  l2Bytes: 8 * 1024 * 1024,
  tableEntryBytes: 2,
  runtime: { kind: 'mcu', activationArenaBytes: 32 * 1024 },
};

function fileOf(json: unknown): Record<string, unknown> {
  return { ...(JSON.parse(deviceProfileJson(board)) as Record<string, unknown>), ...(json as object) };
}

describe('device profiles', () => {
  it('names three built-in devices', () => {
    expect(NAMED_DEVICES.map((d) => d.name)).toEqual(['stored', 'linux-ort', 'mcu']);
    expect(STORED_DEVICE).toEqual({ name: 'stored', tableEntryBytes: 4, runtime: { kind: 'none' } });
    expect(LINUX_ORT_DEVICE.runtime).toEqual({ kind: 'onnxruntime' });
    expect(MCU_DEVICE).toEqual({
      name: 'mcu',
      tableEntryBytes: 2,
      runtime: { kind: 'mcu', activationArenaBytes: DEFAULT_MCU_ARENA_BYTES },
    });
  });

  it('resolves a built-in name with the given sizes, else the fallback', () => {
    const stored = resolveDevice('stored', '/', {}, SIZES);
    expect(stored.ok && stored.value).toEqual(withSizes(STORED_DEVICE, SIZES));
    const sized = resolveDevice('linux-ort', '/', { l1Bytes: 1 << 20 }, SIZES);
    expect(sized.ok && sized.value).toEqual({
      ...LINUX_ORT_DEVICE,
      l1Bytes: 1 << 20,
      l2Bytes: SIZES.l2Bytes,
    });
    const bad = resolveDevice('jetson', '/', {}, SIZES);
    expect(!bad.ok && bad.error.code).toBe('E_USAGE');
    expect(!bad.ok && bad.error.hint).toMatch(/--device stored, --device linux-ort, --device mcu/);
  });

  it('round-trips through its file, and a file’s sizes give way to explicit ones', () => {
    const dir = testTempDir('device-profile-');
    const path = join(dir, 'board.json');
    writeFileSync(path, deviceProfileJson(board));
    const back = readDeviceProfile(path);
    expect(back.ok && back.value).toEqual(board);
    expect(back.ok && deviceProfileJson(back.value)).toBe(deviceProfileJson(board));
    const resolved = resolveDevice('board.json', dir, { l2Bytes: 1024 }, SIZES);
    expect(resolved.ok && resolved.value).toEqual({ ...board, l2Bytes: 1024 });
    // Hand-written sizes may be written as sizes.
    const hand = parseDeviceProfile(
      fileOf({ l1Bytes: '4MiB', runtime: { kind: 'mcu', activationArenaBytes: '32k' } }),
    );
    expect(hand.ok && hand.value).toEqual(board);
  });

  it('refuses a corrupt profile file, naming the member and what is wrong', () => {
    const dir = testTempDir('device-profile-');
    const cases: Array<[unknown, RegExp]> = [
      [[1, 2], /is not a JSON object/],
      [
        fileOf({ format: 'weightsep-bundle' }),
        /\.format is "weightsep-bundle"; a device profile has "format": "weightsep-device-profile"/,
      ],
      [fileOf({ version: 2 }), /\.version is 2; this reader knows version 1/],
      [fileOf({ l1bytes: 5 }), /has the unknown member "l1bytes"/],
      [fileOf({ name: '../etc' }), /\.name is "\.\.\/etc"; it must be a letter or digit/],
      [fileOf({ l1Bytes: -1 }), /\.l1Bytes is -1; it must be a whole number of bytes ≥ 0/],
      [fileOf({ l2Bytes: 1.5 }), /\.l2Bytes is 1\.5/],
      [fileOf({ l2Bytes: 'lots' }), /\.l2Bytes is "lots", which is not a size/],
      [fileOf({ l1Bytes: undefined }), /\.l1Bytes is missing/],
      [fileOf({ tableEntryBytes: 3 }), /\.tableEntryBytes is 3; it must be 4 \(uint32 entries\) or 2/],
      [fileOf({ runtime: 'mcu' }), /\.runtime must be an object/],
      [
        fileOf({ runtime: { kind: 'tflite' } }),
        /\.runtime\.kind is "tflite"; it must be "none", "onnxruntime" or "mcu"/,
      ],
      [fileOf({ runtime: { kind: 'mcu' } }), /\.runtime\.activationArenaBytes is missing/],
      [
        fileOf({ runtime: { kind: 'none', activationArenaBytes: 5 } }),
        /\.runtime has the unknown member "activationArenaBytes"/,
      ],
    ];
    cases.forEach(([json, message], i) => {
      const path = join(dir, `bad${i}.json`);
      writeFileSync(path, JSON.stringify(json));
      const r = readDeviceProfile(path);
      expect(!r.ok && r.error.code, `case ${i}`).toBe('E_USAGE');
      expect(!r.ok && r.error.message, `case ${i}`).toMatch(message);
      expect(!r.ok && r.error.message, `case ${i}`).toContain(path);
    });
    writeFileSync(join(dir, 'truncated.json'), deviceProfileJson(board).slice(0, 40));
    const truncated = readDeviceProfile(join(dir, 'truncated.json'));
    expect(!truncated.ok && truncated.error.message).toMatch(/truncated\.json is not JSON/);
    const missing = readDeviceProfile(join(dir, 'none.json'));
    expect(!missing.ok && missing.error.code).toBe('E_NOT_FOUND');
  });
});
