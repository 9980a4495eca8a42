/**
 * One afterAll for a device test file: stops every sshd device and proxy it started and unmounts its
 * tmpfs, whether its tests passed or failed. Call at the top level of the test file, after
 * useTempDir (hooks run in reverse order, so the devices stop before their folders are removed).
 */
import { afterAll } from 'vitest';
import { stopAllSshDevices } from './sshd-device.ts';
import { stopAllProxies } from './tcp-proxy.ts';
import { unmountAll } from './tmpfs.ts';

export function useDeviceTeardown(): void {
  afterAll(async () => {
    await stopAllProxies();
    await stopAllSshDevices();
    // After sshd: a session inside a mounted folder would keep it busy.
    await unmountAll();
  });
}
