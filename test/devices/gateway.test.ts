/**
 * The MCU gateway end to end over a real sshd device (127.0.0.9): registered with `devices add --kind
 * mcu-gateway` and its key accepted through the CLI, provisioned (the agent, the firmware built here
 * with arm-none-eabi-gcc, board.json and the profile; no onnxruntime), a plan rolled out and activated
 * on QEMU mps2-an385 with the MCU's UART report as the health check, its results pulled as telemetry
 * into SQLite, the workload loop re-running the MCU, a second plan and a rollback; then a tampered
 * expected accuracy rolling back by itself, and a plan that does not fit the profile refused at
 * activation with the region and the missing bytes, the device staying on its plan.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { DEFAULT_DATA_ROOT } from '../../shared/datasets/load.ts';
import { devicesCommand } from '../../shared/cli/commands/devices.ts';
import { fleetCommand } from '../../shared/cli/commands/fleet.ts';
import { runCommandInProcess } from '../../shared/cli/testing.ts';
import { withDevice } from '../../shared/fleet/device-link.ts';
import { archivePlan } from '../../shared/fleet/plan-archive.ts';
import { provisionDevice } from '../../shared/fleet/provision.ts';
import { rollbackDevice, runRollout } from '../../shared/fleet/rollout.ts';
import type { FleetStore } from '../../shared/fleet/store/store.ts';
import { pullTelemetry } from '../../shared/fleet/telemetry-pull.ts';
import { mcuProfilePath } from '../../shared/mcu/board.ts';
import { encodeHealthManifest, readHealthManifest } from '../../shared/runtime/health-slice.ts';
import { taskBundle } from '../../shared/runtime/testing.ts';
import { requireTools } from '../mcu/testing.ts';
import { makeClientKey } from './client-key.ts';
import { expectConsistent, FAST } from './fleet-common.ts';
import { addDeviceArgs, filesUnder, killWorkloads, openStore, startDevices } from './fleet-fixture.ts';
import type { SshDevice } from './sshd-device.ts';
import { useDeviceTeardown } from './teardown.ts';

const dir = useTempDir('gateway-');
useDeviceTeardown();
// The loop is detached from sshd; SIGTERM makes it kill a running QEMU by its pid before it exits.
afterAll(() => killWorkloads(device ? [device.root] : []));

const NAME = 'gw-1';
const roots = [DEFAULT_DATA_ROOT];
let device: SshDevice;
let store: FleetStore;

/** The two-task fixture, made a distinct plan by `shift` (a different recorded accuracy, same weights). */
async function fixturePlan(name: string, shift: number): Promise<string> {
  const out = join(dir, name);
  await taskBundle(out, (p) => ({
    ...p,
    models: p.models.map((m) => ({
      ...m,
      accuracy: { ...m.accuracy, val: { ...m.accuracy.val, before: m.accuracy.val.before + shift } },
    })),
  }));
  return out;
}

async function agentOn<T>(fn: Parameters<typeof withDevice<T>>[2]): Promise<T> {
  return unwrap(await withDevice(unwrap(store.getDevice(NAME)), { connectTimeoutMs: 5_000 }, fn));
}

let planA: string;
let planB: string;
let planC: string;
let planD: string;

beforeAll(async () => {
  requireTools('arm-none-eabi-gcc', 'qemu-system-arm');
  const clientKey = makeClientKey(join(dir, 'client'));
  device = (await startDevices(join(dir, 'devices'), ['127.0.0.9'], clientKey))[0]!;
  store = openStore(join(dir, 'store'));
  planA = await fixturePlan('plan-a', 0);
  planB = await fixturePlan('plan-b', 0.001);
  planC = await fixturePlan('plan-c', 0.002);
  planD = await fixturePlan('plan-d', 0.003);
  return () => store.close();
}, 120_000);

describe('an MCU gateway on an sshd device', () => {
  it('is registered with devices add --kind mcu-gateway and its key accepted', async () => {
    const added = await runCommandInProcess(
      devicesCommand,
      [...addDeviceArgs(NAME, device, { kind: 'mcu-gateway' }), '--store', store.path],
      dir,
    );
    expect(added.code, added.error).toBe(0);
    expect(added.out).toContain(device.hostFingerprint);
    const accepted = await runCommandInProcess(
      devicesCommand,
      ['accept-key', NAME, '--store', store.path],
      dir,
    );
    expect(accepted.code, accepted.error).toBe(0);
    expect(unwrap(store.getDevice(NAME)).kind).toBe('mcu-gateway');
  }, 30_000);

  it('is provisioned with the agent and the firmware, and no onnxruntime', async () => {
    const p = unwrap(await provisionDevice(store, NAME));
    expect(p.runtimeInstalled).toBe(false);
    expect(p.firmwareBytes).toBeGreaterThan(10_000);
    expect(p.info.kind).toBe('mcu-gateway');
    expect(p.info.mcu).toMatchObject({ board: 'mps2-an385', commandFound: true, healthSamples: 8 });
    for (const f of ['bin/wsep-agent.mjs', 'mcu/firmware.elf', 'mcu/board.json', 'mcu/profile.json'])
      expect(existsSync(join(device.root, f)), f).toBe(true);
    expect(filesUnder(join(device.root, 'node_modules'))).toEqual([]);
    const recorded = unwrap(store.getDevice(NAME));
    // Level 1 is the profile's FRAM, level 2 its flash.
    expect(recorded.capacities).toMatchObject({ level1Bytes: 512 * 1024, level2Bytes: 8 * 1024 * 1024 });
    expect(recorded.status).toBe('provisioned');
  }, 120_000);

  it('rolls a plan out: exported on the gateway, run on QEMU, health-checked against the host', async () => {
    const report = unwrap(await runRollout(store, { bundleDir: planA, to: NAME, waves: '100%', roots }));
    expect(report.state, report.reason ?? '').toBe('succeeded');
    const a = unwrap(store.getDevice(NAME)).activePlan!;
    expect(report.devices[0]!.activePlan).toBe(a);
    const evaluated = await agentOn((_c, agent) => agent.eval());
    expect(evaluated.passed).toBe(true);
    expect(evaluated.mcu?.note).toMatch(/first 8 samples of each health slice \(of 64\)/);
    for (const m of evaluated.models) {
      expect(m).toMatchObject({ samples: 8, sliceSamples: 64, agreement: 1 });
      expect(m.insnPerInference).toBeGreaterThan(1000);
      expect(m.measured).toBe(m.expected);
    }
    expect(evaluated.mcu!.framUsedBytes).toBeLessThanOrEqual(evaluated.mcu!.framBudgetBytes);
    expect(existsSync(join(device.root, 'mcu', 'exports', a, 'fram.bin'))).toBe(true);
  }, 120_000);

  it('sends the MCU results as telemetry into SQLite, also from the workload loop', async () => {
    const a = unwrap(store.getDevice(NAME)).activePlan!;
    unwrap(await pullTelemetry(store, [NAME]));
    let rows = unwrap(store.queryTelemetry(NAME, { limit: 1000 }));
    const task = rows.find((r) => r.kind === 'task' && r.model === 'digits8x8');
    expect(task?.planId).toBe(a);
    const mcu = task!.fields['mcu'] as {
      insnPerInference: number;
      l2BytesPerSwitch: number;
      agreement: number;
    };
    expect(mcu.insnPerInference).toBeGreaterThan(1000);
    expect(mcu.l2BytesPerSwitch).toBeGreaterThan(0);
    expect(mcu.agreement).toBe(1);
    const memory = rows.find((r) => r.kind === 'device')!.fields['mcu'] as Record<string, number>;
    expect(memory['framUsedBytes']).toBeGreaterThan(0);
    expect(memory['l2UsedBytes']).toBeLessThanOrEqual(memory['l2BudgetBytes']!);
    const before = rows.length;

    const started = await agentOn((_c, agent) => agent.start(50));
    expect(started.alreadyRunning).toBe(false);
    const deadline = Date.now() + 60_000;
    while (rows.length < before + 6 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      unwrap(await pullTelemetry(store, [NAME]));
      rows = unwrap(store.queryTelemetry(NAME, { limit: 1000 }));
    }
    const stopped = await agentOn((_c, agent) => agent.stop());
    expect(stopped.stopped).toBe(true);
    expect(rows.length).toBeGreaterThanOrEqual(before + 6);
    const windows = new Set(rows.filter((r) => r.kind === 'task').map((r) => r.fields['window']));
    expect(windows.size).toBeGreaterThan(1);
    // No QEMU left running under this root once the loop has stopped.
    expect(qemuUnder(device.root)).toEqual([]);
    const shown = await runCommandInProcess(devicesCommand, ['show', NAME, '--store', store.path], dir);
    expect(shown.code, shown.error).toBe(0);
    expect(shown.out).toContain('FRAM (level 1) 512.0 KiB, flash (level 2) 8.00 MiB');
    expect(shown.out).toMatch(
      /MCU \(latest telemetry\): FRAM .* of 512\.0 KiB, flash .* of 8\.00 MiB, .* instructions per inference, .* from flash per switch \(2 tasks\)/,
    );
    const status = await runCommandInProcess(fleetCommand, ['status', '--store', store.path], dir);
    expect(status.code, status.error).toBe(0);
    expect(status.out).toMatch(/gw-1 \(MCU gateway\): FRAM .* of 512\.0 KiB/);
  }, 120_000);

  it('rolls a second plan out and rolls back to the first', async () => {
    const a = unwrap(store.getDevice(NAME)).activePlan!;
    const report = unwrap(await runRollout(store, { bundleDir: planB, to: NAME, waves: '100%', roots }));
    expect(report.state, report.reason ?? '').toBe('succeeded');
    const b = unwrap(store.getDevice(NAME)).activePlan!;
    expect(b).not.toBe(a);
    expect(unwrap(store.getDevice(NAME)).previousPlan).toBe(a);
    const back = unwrap(await rollbackDevice(store, NAME));
    expect(back).toMatchObject({ active: a, previous: b, rolledBack: false });
    expect(back.health?.passed).toBe(true);
    expect(back.health?.mcu?.board).toBe('mps2-an385');
    await expectConsistent(store, [NAME]);
  }, 120_000);

  it('rolls back by itself when a task measures less than its tampered expected accuracy', async () => {
    const active = unwrap(store.getDevice(NAME)).activePlan;
    // Slices of 8 samples: the gateway runs them whole, so health.json's number is what it compares.
    const copy = unwrap(await archivePlan(store, planC, { roots, samples: 8 }));
    const healthDir = join(copy.dir, 'health');
    const health = unwrap(readHealthManifest(healthDir));
    const target = [...health.models].sort((x, y) => x.expectedAccuracy - y.expectedAccuracy)[0]!;
    expect(target.expectedAccuracy + 0.3).toBeLessThanOrEqual(1);
    writeFileSync(
      join(healthDir, 'health.json'),
      encodeHealthManifest({
        ...health,
        models: health.models.map((m) =>
          m.model === target.model ? { ...m, expectedAccuracy: m.expectedAccuracy + 0.3 } : m,
        ),
      }),
    );
    const report = unwrap(
      await runRollout(store, { bundleDir: planC, to: NAME, waves: '100%', roots, ...FAST }),
    );
    expect(report.state).not.toBe('succeeded');
    expect(report.reason).toContain(target.model);
    expect(report.reason).toMatch(/measured .*expected /);
    expect(unwrap(store.getDevice(NAME)).activePlan).toBe(active);
    const status = await agentOn((_c, agent) => agent.status());
    expect(status.activePlan).toBe(active);
    expect(status.staged).toContain(copy.planId);
    await expectConsistent(store, [NAME]);
  }, 120_000);

  it('refuses at activation a plan that does not fit the profile, naming the region and the bytes', async () => {
    const active = unwrap(store.getDevice(NAME)).activePlan;
    // The same board with 4 KiB of FRAM: the fixture's shared pages, tables and arena need more.
    const tight = join(dir, 'tight.json');
    const profile = JSON.parse(readFileSync(mcuProfilePath('mps2-an385', dir), 'utf8')) as Record<
      string,
      unknown
    >;
    writeFileSync(tight, JSON.stringify({ ...profile, name: 'mps2-an385-4k', l1Bytes: 4096 }));
    unwrap(await provisionDevice(store, NAME, { mcu: { profile: tight } }));
    expect(unwrap(store.getDevice(NAME)).capacities?.level1Bytes).toBe(4096);
    const report = unwrap(
      await runRollout(store, { bundleDir: planD, to: NAME, waves: '100%', roots, ...FAST }),
    );
    expect(report.state).not.toBe('succeeded');
    expect(report.reason).toMatch(/region fram is short by \d+ bytes/i);
    expect(unwrap(store.getDevice(NAME)).activePlan).toBe(active);
    const status = await agentOn((_c, agent) => agent.status());
    expect(status.activePlan).toBe(active);
    expect(qemuUnder(device.root)).toEqual([]);
  }, 120_000);
});

/** Pids of QEMU processes whose command line names a file under `root` (none may outlive a command). */
function qemuUnder(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('qemu-system-arm') && cmd.includes(root)) pids.push(Number(entry));
    } catch {
      // the process has gone
    }
  }
  return pids;
}
