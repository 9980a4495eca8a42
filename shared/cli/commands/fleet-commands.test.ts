/**
 * The fleet commands' own behaviour without devices: usage errors that say what to type, an empty
 * fleet, a device registered while unreachable (its key is not trusted, and a rollout refuses to
 * start), and the store flag. The paths through real devices are in test/devices and test/e2e.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { openFleetStore } from '../../fleet/store/store.ts';
import { runCommandInProcess } from '../testing.ts';
import { devicesCommand } from './devices.ts';
import { fleetCommand } from './fleet.ts';
import { rollbackCommand } from './rollback.ts';
import { rolloutCommand } from './rollout.ts';
import { telemetryCommand } from './telemetry.ts';

function setup() {
  const dir = testTempDir('fleet-cli-');
  const store = ['--store', join(dir, 'fleet.db')];
  return { dir, store };
}

describe('the fleet commands without devices', () => {
  it('show an empty fleet with what to do first', async () => {
    const { dir, store } = setup();
    const status = await runCommandInProcess(fleetCommand, ['status', ...store], dir);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/No devices registered\. Add one with wsep devices add/);
    const list = await runCommandInProcess(devicesCommand, ['list', '--json', ...store], dir);
    expect(JSON.parse(list.out)).toEqual([]);
  });

  it('register an unreachable device without trusting anything, and refuse to roll out to it', async () => {
    const { dir, store } = setup();
    // Port 1 on loopback: nothing listens there, so the host key cannot be read.
    const added = await runCommandInProcess(
      devicesCommand,
      [
        'add',
        'far away',
        '--host',
        '127.0.0.1',
        '--port',
        '1',
        '--key',
        'id_ed25519',
        '--tag',
        'lab,$(x)',
        '--tag',
        'west',
        '--tag',
        'lab',
        ...store,
      ],
      dir,
    );
    expect(added.code, added.error).toBe(0);
    expect(added.out).toMatch(/host key could not be read yet/);
    const device = unwrap(unwrap(openFleetStore(join(dir, 'fleet.db'))).getDevice('far away'));
    expect(device).toMatchObject({
      hostKeyFingerprint: null,
      probedHostKeyFingerprint: null,
      keyPath: join(dir, 'id_ed25519'),
      tags: ['$(x)', 'lab', 'west'],
      status: 'new',
    });
    const byTags = await runCommandInProcess(
      devicesCommand,
      ['list', '--tag', 'west', '--tag', 'nowhere', '--json', ...store],
      dir,
    );
    expect(JSON.parse(byTags.out).map((d: { name: string }) => d.name)).toEqual(['far away']);
    const otherTag = await runCommandInProcess(
      devicesCommand,
      ['list', '--tag', 'east', '--json', ...store],
      dir,
    );
    expect(JSON.parse(otherTag.out)).toEqual([]);
    const rollout = await runCommandInProcess(rolloutCommand, [dir, '--to', 'lab', ...store], dir);
    expect(rollout.code).toBe(1);
    expect(rollout.error).toMatch(/No host key is accepted yet for "far away", so the rollout did not start/);
    expect(rollout.hint).toMatch(/accept-key/);
    const accept = await runCommandInProcess(devicesCommand, ['accept-key', 'far away', ...store], dir);
    expect(accept.code).toBe(1);
    expect(accept.error).toMatch(/presented no host key yet/);
  });

  it('answer usage mistakes with what to type', async () => {
    const { dir, store } = setup();
    const noTo = await runCommandInProcess(rolloutCommand, ['plans/x', ...store], dir);
    expect([noTo.code, noTo.error]).toEqual([2, 'wsep rollout needs --to <device|tag>,….']);
    const unknown = await runCommandInProcess(rolloutCommand, ['plans/x', '--to', 'nobody', ...store], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.error).toBe('--to: no device or tag is named "nobody".');
    expect(unknown.hint).toMatch(/No devices are registered yet/);
    const waves = await runCommandInProcess(
      rolloutCommand,
      ['plans/x', '--to', 'a', '--waves', '50%', ...store],
      dir,
    );
    expect(waves.error).toMatch(/last wave must be 100%/);
    const sub = await runCommandInProcess(devicesCommand, ['adopt', ...store], dir);
    expect([sub.code, sub.error]).toEqual([2, 'wsep devices: unknown sub-command "adopt".']);
    const missing = await runCommandInProcess(devicesCommand, ['add', 'x', ...store], dir);
    expect(missing.error).toBe('wsep devices add needs a name, --host and --key.');
    const show = await runCommandInProcess(telemetryCommand, ['show', 'ghost', ...store], dir);
    expect(show.code).toBe(1);
    expect(show.error).toMatch(/ghost/);
    const back = await runCommandInProcess(rollbackCommand, ['ghost', ...store], dir);
    expect(back.code).toBe(1);
    expect(back.error).toMatch(/ghost/);
    const fp = await runCommandInProcess(
      devicesCommand,
      ['accept-key', 'x', '--fingerprint', 'MD5:aa', ...store],
      dir,
    );
    expect([fp.code, fp.error]).toEqual([2, '--fingerprint "MD5:aa" is not a SHA256:… fingerprint.']);
  });

  it('refuse MCU provisioning flags for a Linux device and a bad sample count, before any connection', async () => {
    const { dir, store } = setup();
    const added = await runCommandInProcess(
      devicesCommand,
      ['add', 'box', '--host', '127.0.0.1', '--port', '1', '--key', 'id_ed25519', ...store],
      dir,
    );
    expect(added.code, added.error).toBe(0);
    const linux = await runCommandInProcess(
      devicesCommand,
      ['provision', 'box', '--mcu-command', 'openocd -f board.cfg', ...store],
      dir,
    );
    expect(linux.code).toBe(2);
    expect(linux.error).toMatch(/"box" is a linux device; --board, --profile, --mcu-command/);
    const samples = await runCommandInProcess(
      devicesCommand,
      ['provision', 'box', '--health-samples', '2.5', ...store],
      dir,
    );
    expect(samples.code).toBe(2);
    expect(samples.error).toMatch(/--health-samples must be a whole number/);
  });
});
