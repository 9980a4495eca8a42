/**
 * The demo fleet: its three devices start on their loopback addresses, are registered with the keys
 * they present accepted, a second start with the same store updates them instead of failing, and
 * stopping it stops their sshd listeners.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { useTempDir } from '../../core/testing-temp.ts';
import { openFleetStore } from '../store/store.ts';
import { DEMO_DEVICES, startDemoFleet } from './demo-fleet.ts';

const dir = useTempDir('demo-fleet-');
const store = unwrap(openFleetStore(join(dir, 'fleet.db')));
afterAll(() => store.close());

const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('the demo fleet', () => {
  it('registers two Linux devices and an MCU gateway with their keys accepted, and stops them', async () => {
    const fleet = unwrap(await startDemoFleet(store, join(dir, 'demo')));
    const devices = unwrap(store.listDevices());
    expect(devices.map((d) => [d.name, d.kind])).toEqual(DEMO_DEVICES.map((d) => [d.name, d.kind]));
    for (const { spec, device } of fleet.devices) {
      const stored = unwrap(store.getDevice(spec.name));
      expect(stored.hostKeyFingerprint).toBe(device.hostFingerprint);
      expect([stored.host, stored.port]).toEqual([device.address, device.port]);
      expect(await accepts(device.address, device.port)).toBe(true);
    }
    await fleet.stop();
    for (const { device } of fleet.devices) expect(await accepts(device.address, device.port)).toBe(false);

    // A second start with the same store: the same names, new ports and keys, nothing duplicated.
    const again = unwrap(await startDemoFleet(store, join(dir, 'demo')));
    expect(unwrap(store.listDevices())).toHaveLength(DEMO_DEVICES.length);
    const first = again.devices[0]!;
    expect(unwrap(store.getDevice(first.spec.name)).port).toBe(first.device.port);
    await again.stop();
  }, 30_000);
});
