/**
 * An int8 plan through the MCU gateway end to end over a real sshd device (127.0.0.15): the two-task
 * fixture as f32 and as i8 (one scale per page, max-abs), the f32 plan rolled out first, then the i8
 * plan exported on the gateway as int8 codes and scales, run on QEMU mps2-an385 and health-checked
 * under the i8 rule (≥ 99.9% agreement with the host runtime), its MCU figures pulled as telemetry into
 * SQLite, and a rollback to the f32 plan that passes the f32 rule (exact agreement) again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { DEFAULT_DATA_ROOT } from '../../shared/datasets/load.ts';
import { quantizePlan } from '../../shared/image/quantize.ts';
import { devicesCommand } from '../../shared/cli/commands/devices.ts';
import { runCommandInProcess } from '../../shared/cli/testing.ts';
import { withDevice } from '../../shared/fleet/device-link.ts';
import { provisionDevice } from '../../shared/fleet/provision.ts';
import { rollbackDevice, runRollout } from '../../shared/fleet/rollout.ts';
import type { FleetStore } from '../../shared/fleet/store/store.ts';
import { pullTelemetry } from '../../shared/fleet/telemetry-pull.ts';
import { taskBundle } from '../../shared/runtime/testing.ts';
import { requireTools } from '../mcu/testing.ts';
import { makeClientKey } from './client-key.ts';
import { expectConsistent } from './fleet-common.ts';
import { addDeviceArgs, openStore, startDevices } from './fleet-fixture.ts';
import type { SshDevice } from './sshd-device.ts';
import { useDeviceTeardown } from './teardown.ts';

const dir = useTempDir('gateway-i8-');
useDeviceTeardown();

const NAME = 'gw-i8';
const roots = [DEFAULT_DATA_ROOT];
let device: SshDevice;
let store: FleetStore;
let planF32: string;
let planI8: string;

async function agentOn<T>(fn: Parameters<typeof withDevice<T>>[2]): Promise<T> {
  return unwrap(await withDevice(unwrap(store.getDevice(NAME)), { connectTimeoutMs: 5_000 }, fn));
}

/** The value type of the blobs the gateway exported for `planId` (mcu.json). */
function exportedValueType(planId: string): string {
  const path = join(device.root, 'mcu', 'exports', planId, 'mcu.json');
  expect(existsSync(path), path).toBe(true);
  return (JSON.parse(readFileSync(path, 'utf8')) as { valueType?: string }).valueType ?? 'f32';
}

beforeAll(async () => {
  requireTools('arm-none-eabi-gcc', 'qemu-system-arm');
  const clientKey = makeClientKey(join(dir, 'client'));
  device = (await startDevices(join(dir, 'devices'), ['127.0.0.15'], clientKey))[0]!;
  store = openStore(join(dir, 'store'));
  planF32 = join(dir, 'plan-f32');
  await taskBundle(planF32);
  planI8 = join(dir, 'plan-i8');
  await taskBundle(planI8, (p) => quantizePlan(p, 'max-abs'));
  const added = await runCommandInProcess(
    devicesCommand,
    [...addDeviceArgs(NAME, device, { kind: 'mcu-gateway' }), '--store', store.path],
    dir,
  );
  if (added.code !== 0) throw new Error(added.error);
  const accepted = await runCommandInProcess(
    devicesCommand,
    ['accept-key', NAME, '--store', store.path],
    dir,
  );
  if (accepted.code !== 0) throw new Error(accepted.error);
  unwrap(await provisionDevice(store, NAME));
  return () => store.close();
}, 120_000);

describe('an int8 plan on an MCU gateway', () => {
  it('rolls out over an f32 plan: int8 blobs exported on the gateway, health-checked under the i8 rule', async () => {
    const first = unwrap(await runRollout(store, { bundleDir: planF32, to: NAME, waves: '100%', roots }));
    expect(first.state, first.reason ?? '').toBe('succeeded');
    const f32 = unwrap(store.getDevice(NAME)).activePlan!;
    expect(exportedValueType(f32)).toBe('f32');

    const report = unwrap(await runRollout(store, { bundleDir: planI8, to: NAME, waves: '100%', roots }));
    expect(report.state, report.reason ?? '').toBe('succeeded');
    const i8 = unwrap(store.getDevice(NAME)).activePlan!;
    expect(i8).not.toBe(f32);
    expect(unwrap(store.getDevice(NAME)).previousPlan).toBe(f32);
    expect(exportedValueType(i8)).toBe('i8');

    const evaluated = await agentOn((_c, agent) => agent.eval());
    expect(evaluated.passed).toBe(true);
    expect(evaluated.mcu?.board).toBe('mps2-an385');
    expect(evaluated.models.map((m) => m.model).sort()).toEqual(['digits8x8', 'wall_following']);
    for (const m of evaluated.models) {
      expect(m).toMatchObject({ samples: 8, sliceSamples: 64, passed: true });
      // The i8 rule: ≥ 99.9% of the samples on the host runtime's class (all of them on 8).
      expect(m.agreement, m.model).toBeGreaterThanOrEqual(0.999);
      expect(m.dropPoints, m.model).toBeLessThanOrEqual(0);
      expect(m.insnPerInference).toBeGreaterThan(1000);
      expect(m.l2BytesPerSwitch).toBeGreaterThan(0);
    }
    expect(evaluated.mcu!.framUsedBytes).toBeLessThanOrEqual(evaluated.mcu!.framBudgetBytes);
  }, 60_000);

  it('sends the int8 plan’s MCU figures as telemetry into SQLite', async () => {
    const i8 = unwrap(store.getDevice(NAME)).activePlan!;
    const f32 = unwrap(store.getDevice(NAME)).previousPlan!;
    unwrap(await pullTelemetry(store, [NAME]));
    const rows = unwrap(store.queryTelemetry(NAME, { limit: 1000 }));
    const perSwitch = new Map<string, number>();
    for (const planId of [f32, i8]) {
      const task = rows.find((r) => r.kind === 'task' && r.model === 'digits8x8' && r.planId === planId);
      expect(task, planId).toBeDefined();
      const mcu = task!.fields['mcu'] as {
        insnPerInference: number;
        l2BytesPerSwitch: number;
        agreement: number;
      };
      expect(mcu.insnPerInference).toBeGreaterThan(1000);
      expect(mcu.l2BytesPerSwitch).toBeGreaterThan(0);
      expect(mcu.agreement).toBeGreaterThanOrEqual(planId === i8 ? 0.999 : 1);
      perSwitch.set(planId, mcu.l2BytesPerSwitch);
      const memory = rows.find((r) => r.kind === 'device' && r.planId === planId)!.fields['mcu'] as Record<
        string,
        number
      >;
      expect(memory['framUsedBytes']).toBeGreaterThan(0);
      expect(memory['framUsedBytes']).toBeLessThanOrEqual(memory['framBudgetBytes']!);
      expect(memory['l2UsedBytes']).toBeLessThanOrEqual(memory['l2BudgetBytes']!);
    }
    // The same exclusive pages as int8 codes and a scale each: fewer bytes from flash per switch.
    expect(perSwitch.get(i8)!).toBeLessThan(perSwitch.get(f32)!);
  }, 30_000);

  it('rolls back to the f32 plan, which passes the f32 rule again', async () => {
    const i8 = unwrap(store.getDevice(NAME)).activePlan!;
    const f32 = unwrap(store.getDevice(NAME)).previousPlan!;
    const back = unwrap(await rollbackDevice(store, NAME));
    expect(back).toMatchObject({ active: f32, previous: i8, rolledBack: false });
    expect(back.health?.passed).toBe(true);
    for (const m of back.health!.models) expect(m.agreement, m.model).toBe(1);
    expect(unwrap(store.getDevice(NAME)).activePlan).toBe(f32);
    await expectConsistent(store, [NAME]);
  }, 60_000);
});
