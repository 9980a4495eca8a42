/**
 * Faults of trust and reachability, each its own test on fresh sshd devices, each ending with the
 * devices on working plans, the store consistent, and its recorded plans equal to what the agents say:
 * a changed host key (refused, nothing sent, accepted only explicitly), a device offline during a wave,
 * and a device name, tag and root full of shell metacharacters (data, never code).
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { devicesCommand } from '../../shared/cli/commands/devices.ts';
import { rolloutCommand } from '../../shared/cli/commands/rollout.ts';
import { telemetryCommand } from '../../shared/cli/commands/telemetry.ts';
import { runCommandInProcess } from '../../shared/cli/testing.ts';
import { runRollout } from '../../shared/fleet/rollout.ts';
import { pullTelemetry } from '../../shared/fleet/telemetry-pull.ts';
import { makeClientKey, type ClientKey } from './client-key.ts';
import { FAST, fleetWithPlan, ROOTS, expectConsistent } from './fleet-common.ts';
import {
  addDeviceArgs,
  changedPlan,
  filesUnder,
  makeZooPlan,
  openStore,
  preinstallRuntime,
} from './fleet-fixture.ts';
import { startSshDevice } from './sshd-device.ts';
import { useDeviceTeardown } from './teardown.ts';

const dir = useTempDir('fleet-faults-link-');
useDeviceTeardown();

let clientKey: ClientKey;
let plan1: string;
let plan2: string;

beforeAll(async () => {
  clientKey = makeClientKey(join(dir, 'client'));
  plan1 = makeZooPlan(join(dir, 'plan1'));
  plan2 = (await changedPlan(plan1, join(dir, 'plan2'))).dir;
}, 120_000);

describe('rollout faults of trust and reachability', () => {
  it('refuses a changed host key and sends nothing, until the new key is accepted explicitly', async () => {
    const { store, devices, names } = await fleetWithPlan(dir, 'key', ['127.0.0.7'], clientKey, plan1);
    const [device] = devices;
    const [name] = names;
    const oldKey = device!.hostFingerprint;
    await device!.restart({ newHostKey: true });
    const newKey = device!.hostFingerprint;
    expect(newKey).not.toBe(oldKey);
    const staged = filesUnder(join(device!.root, 'staging'));
    const report = unwrap(
      await runRollout(store, { bundleDir: plan2, to: name!, waves: '100%', roots: ROOTS, ...FAST }),
    );
    expect(report.state).toBe('failed');
    const step = report.devices[0]!;
    expect(step.error?.code).toBe('E_SSH_HOST_CHANGED');
    expect(step.error?.message).toContain(oldKey);
    expect(step.error?.message).toContain(newKey);
    expect(step.attempts).toBe(1);
    expect(step.bytesSent).toBe(0);
    expect(filesUnder(join(device!.root, 'staging'))).toEqual(staged);
    // The store still says what the device holds (checked over a link pinned to the new key).
    await expectConsistent(store, names, { pins: { [name!]: newKey } });

    const storeArg = ['--store', store.path];
    const blind = await runCommandInProcess(devicesCommand, ['accept-key', name!, ...storeArg], dir);
    expect(blind.code).toBe(1);
    expect(blind.error).toContain(newKey);
    expect(blind.hint).toContain(`--fingerprint ${newKey}`);
    const wrong = await runCommandInProcess(
      devicesCommand,
      ['accept-key', name!, '--fingerprint', oldKey, ...storeArg],
      dir,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.error).toMatch(/nothing was accepted/);
    expect(unwrap(store.getDevice(name!)).hostKeyFingerprint).toBe(oldKey);
    const accepted = await runCommandInProcess(
      devicesCommand,
      ['accept-key', name!, '--fingerprint', newKey, ...storeArg],
      dir,
    );
    expect(accepted.code, accepted.error).toBe(0);
    const again = unwrap(
      await runRollout(store, { bundleDir: plan2, to: name!, waves: '100%', roots: ROOTS, ...FAST }),
    );
    expect(again.state).toBe('succeeded');
    await expectConsistent(store, names);
  }, 90_000);

  it('marks a device that is offline during a wave, and starts no further wave', async () => {
    const { store, devices, names } = await fleetWithPlan(
      dir,
      'off',
      ['127.0.0.8', '127.0.0.9', '127.0.0.10'],
      clientKey,
      plan1,
    );
    const before = unwrap(store.getDevice(names[2]!)).activePlan;
    await devices[1]!.stop();
    const report = unwrap(
      await runRollout(store, {
        bundleDir: plan2,
        to: names.join(','),
        waves: '66%,100%',
        roots: ROOTS,
        ...FAST,
      }),
    );
    expect(report.state).toBe('failed');
    expect(report.waves).toEqual([[names[0], names[1]], [names[2]]]);
    expect(report.devices.map((d) => d.state)).toEqual(['succeeded', 'failed', 'skipped']);
    expect(report.devices[1]!.error?.code).toBe('E_SSH_CONNECT');
    expect(report.devices[1]!.attempts).toBe(2);
    const offline = unwrap(store.getDevice(names[1]!));
    expect(offline.status).toBe('offline');
    expect(offline.statusReason).toContain(devices[1]!.address);
    expect(unwrap(store.getDevice(names[2]!)).activePlan).toBe(before);
    // A telemetry pull skips it as offline too, and picks it up again once it answers.
    const missed = unwrap(await pullTelemetry(store, [names[1]!], { connectTimeoutMs: 2_000 }));
    expect(missed.devices[0]).toMatchObject({ ok: false, error: { code: 'E_SSH_CONNECT' } });
    await devices[1]!.restart();
    const back = unwrap(await pullTelemetry(store, [names[1]!]));
    expect(back.devices[0]!.ok).toBe(true);
    expect(unwrap(store.getDevice(names[1]!)).status).toBe('online');
    await expectConsistent(store, names);
  }, 120_000);

  it('treats a device name, tag and root full of shell metacharacters as data', async () => {
    const mark = `wsep-pwned-${randomBytes(4).toString('hex')}`;
    const pwned = () => readdirSync(tmpdir()).filter((f) => f.startsWith(mark));
    const name = `dev;touch /tmp/${mark}-$$`;
    const tag = `$(touch /tmp/${mark}-tag)`;
    const device = await startSshDevice({ address: '127.0.0.11', dir: join(dir, 'meta'), clientKey });
    preinstallRuntime(device);
    const root = join(device.root, `a b'c;$(touch /tmp/${mark}-root)`, `\`touch /tmp/${mark}-bt\``);
    const store = openStore(join(dir, 'store-meta'));
    const storeArg = ['--store', store.path];
    const cli = async (command: typeof devicesCommand, argv: string[]) => {
      const r = await runCommandInProcess(command, [...argv, ...storeArg], dir);
      expect(r.code, `${argv.join(' ')}: ${r.error ?? ''}`).toBe(0);
      return r;
    };
    await cli(devicesCommand, addDeviceArgs(name, device, { tag, root }));
    await cli(devicesCommand, ['accept-key', name]);
    await cli(devicesCommand, ['provision', name]);
    const rolled = await cli(rolloutCommand, [plan1, '--to', tag, '--waves', '100%', '--json']);
    expect(JSON.parse(rolled.out).state).toBe('succeeded');
    await cli(telemetryCommand, ['pull', name]);
    const shown = await cli(devicesCommand, ['show', name, '--json']);
    expect(JSON.parse(shown.out).device.tags).toEqual([tag]);
    // The root arrived byte for byte: the agent made exactly that folder.
    expect(existsSync(join(root, 'bin', 'wsep-agent.mjs'))).toBe(true);
    expect(existsSync(join(root, 'current'))).toBe(true);
    expect(pwned()).toEqual([]);
    await expectConsistent(store, [name]);
    store.close();
  }, 90_000);
});
