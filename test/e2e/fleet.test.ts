/**
 * The fleet end to end through the real command line (`node bin/wsep.js`), against two real sshd
 * devices: register, accept keys, provision, roll a plan out in two waves, pull and show the telemetry
 * of the workload the device runs, roll a changed plan out as a page delta, look at the fleet, and
 * roll one device back. The workload is started the way an operator would: with OpenSSH's own `ssh`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { taskBundle } from '../../shared/runtime/testing.ts';
import { makeClientKey } from '../devices/client-key.ts';
import { addDeviceArgs, changedPlan, killWorkloads, preinstallRuntime } from '../devices/fleet-fixture.ts';
import { startSshDevice, type SshDevice } from '../devices/sshd-device.ts';
import { useDeviceTeardown } from '../devices/teardown.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WSEP = join(REPO, 'bin/wsep.js');

const work = useTempDir('e2e-fleet-');
useDeviceTeardown();
afterAll(() => killWorkloads(devices?.map((d) => d.root) ?? []));

let devices: SshDevice[];
let planA: string;
let planB: string;
const store = () => join(work, 'fleet.db');

function wsep(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [WSEP, ...args, '--store', store()], {
    cwd: work,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function expectOk(r: { code: number; out: string; err: string }): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`);
  return r.out;
}

/** Runs the agent on a device with OpenSSH's client, pinned to the device's host key. */
function sshAgent(device: SshDevice, ...args: string[]): unknown {
  const knownHosts = join(work, `known_hosts-${device.address}`);
  const hostKey = spawnSync('cat', [device.hostPublicKeyPath], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    knownHosts,
    `[${device.address}]:${device.port} ${hostKey.split(' ').slice(0, 2).join(' ')}\n`,
  );
  const r = spawnSync(
    'ssh',
    [
      '-i',
      device.clientKeyPath,
      '-p',
      String(device.port),
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      `${device.user}@${device.address}`,
      process.execPath,
      `${device.root}/bin/wsep-agent.mjs`,
      '--root',
      device.root,
      ...args,
      '--json',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0)
    throw new Error(`ssh agent ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { value: unknown }).value;
}

beforeAll(async () => {
  const clientKey = makeClientKey(join(work, 'client'));
  devices = await Promise.all(
    ['127.0.0.13', '127.0.0.14'].map((address) =>
      startSshDevice({ address, dir: join(work, address), clientKey }),
    ),
  );
  // The second device has onnxruntime-node already; the first gets it at provisioning.
  preinstallRuntime(devices[1]!);
  planA = join(work, 'planA');
  await taskBundle(planA);
  planB = (await changedPlan(planA, join(work, 'planB'), { every: 4 })).dir;
}, 120_000);

describe('wsep devices, rollout, telemetry, fleet and rollback from the command line', () => {
  it('runs the fleet’s main path', async () => {
    for (const [i, d] of devices.entries()) {
      const name = `e2e-${i + 1}`;
      const added = expectOk(wsep('devices', ...addDeviceArgs(name, d, { tag: 'e2e' })));
      expect(added).toContain(d.hostFingerprint);
      // Nothing is trusted yet: provisioning is refused until the key is accepted.
      const early = wsep('devices', 'provision', name);
      expect(early.code).toBe(1);
      expect(early.err).toMatch(/not accepted yet/);
      expectOk(wsep('devices', 'accept-key', name, '--fingerprint', d.hostFingerprint));
      expect(expectOk(wsep('devices', 'provision', name))).toMatch(/Provisioned device "e2e-\d"/);
    }
    const listed = JSON.parse(expectOk(wsep('devices', 'list', '--json'))) as {
      name: string;
      status: string;
    }[];
    expect(listed.map((d) => [d.name, d.status])).toEqual([
      ['e2e-1', 'provisioned'],
      ['e2e-2', 'provisioned'],
    ]);

    const first = JSON.parse(
      expectOk(wsep('rollout', planA, '--to', 'e2e', '--waves', '50%,100%', '--json')),
    );
    expect(first.state).toBe('succeeded');
    expect(first.waves).toEqual([['e2e-1'], ['e2e-2']]);

    sshAgent(devices[0]!, 'start', '--interval-ms', '20');
    try {
      let rows = 0;
      for (let tries = 0; tries < 40 && rows < 6; tries++) {
        await new Promise((r) => setTimeout(r, 500));
        expectOk(wsep('telemetry', 'pull', 'e2e-1'));
        rows = (
          JSON.parse(expectOk(wsep('telemetry', 'show', 'e2e-1', '--json'))) as { summary: { rows: number } }
        ).summary.rows;
      }
      expect(rows).toBeGreaterThanOrEqual(6);
    } finally {
      sshAgent(devices[0]!, 'stop');
    }
    const shown = expectOk(wsep('telemetry', 'show', 'e2e-1'));
    expect(shown).toMatch(/digits8x8|wall_following/);

    const second = JSON.parse(expectOk(wsep('rollout', planB, '--to', 'e2e-1,e2e-2', '--json')));
    expect(second.state).toBe('succeeded');
    expect(second.devices.map((d: { mode: string }) => d.mode)).toEqual(['delta', 'delta']);

    const status = JSON.parse(expectOk(wsep('fleet', 'status', '--json')));
    expect(status.problems).toEqual([]);
    expect(status.devices.map((d: { device: { activePlan: string } }) => d.device.activePlan)).toEqual([
      second.planId,
      second.planId,
    ]);

    expect(expectOk(wsep('rollback', 'e2e-2'))).toContain('rolled back');
    const after = JSON.parse(expectOk(wsep('devices', 'show', 'e2e-2', '--json')));
    expect(after.device.activePlan).toBe(first.planId);
    const agent = sshAgent(devices[1]!, 'status') as { activePlan: string };
    expect(agent.activePlan).toBe(first.planId);
    expect(expectOk(wsep('fleet', 'status'))).toMatch(/e2e-1 .*online|e2e-1 .*provisioned/);
  }, 300_000);
});
