/**
 * A demo fleet for a first start (`wsep app --demo-fleet`): two Linux devices and one MCU gateway,
 * each a private sshd on a loopback address of its own (sshd-device.ts, the harness the tests use),
 * registered in the given store with their host keys accepted — the app started them and read each
 * key from its file, which is what comparing the fingerprint by hand would do. Then a newcomer can
 * provision, roll a plan out and watch telemetry without owning a device. Needs OpenSSH
 * (`npm run setup:system`); the gateway's MCU needs QEMU and arm-none-eabi-gcc when it is provisioned.
 */
import { join } from 'node:path';
import { attemptAsync, type Result } from '../../core/errors.ts';
import type { FleetStore } from '../store/store.ts';
import type { DeviceKind } from '../store/types.ts';
import { makeClientKey } from './client-key.ts';
import { killWorkloads, preinstallRuntime } from './device-disk.ts';
import { startSshDevice, type SshDevice } from './sshd-device.ts';

export interface DemoDeviceSpec {
  readonly name: string;
  readonly address: string;
  readonly kind: DeviceKind;
  readonly tags: readonly string[];
}

/** Loopback addresses apart from the tests' (127.0.0.2–9), so a demo and a test run can coexist. */
export const DEMO_DEVICES: readonly DemoDeviceSpec[] = [
  { name: 'edge-1', address: '127.0.0.21', kind: 'linux', tags: ['demo', 'linux'] },
  { name: 'edge-2', address: '127.0.0.22', kind: 'linux', tags: ['demo', 'linux'] },
  { name: 'gateway-1', address: '127.0.0.23', kind: 'mcu-gateway', tags: ['demo', 'mcu'] },
];

export interface DemoFleet {
  readonly devices: readonly { readonly spec: DemoDeviceSpec; readonly device: SshDevice }[];
  /** Ends the devices' workload loops and stops their sshd processes. */
  stop(): Promise<void>;
}

/**
 * Starts the demo devices under `dir` and registers those the store does not know yet (a second
 * start with the same data folder finds them registered: only their addresses and keys are updated).
 */
export function startDemoFleet(
  store: FleetStore,
  dir: string,
  specs: readonly DemoDeviceSpec[] = DEMO_DEVICES,
): Promise<Result<DemoFleet>> {
  return attemptAsync(async () => {
    const clientKey = makeClientKey(join(dir, 'client'));
    const started: { spec: DemoDeviceSpec; device: SshDevice }[] = [];
    const stop = async () => {
      killWorkloads(started.map((s) => s.device.root));
      await Promise.all(started.map((s) => s.device.stop()));
    };
    try {
      for (const spec of specs) {
        const device = await startSshDevice({ address: spec.address, dir: join(dir, spec.name), clientKey });
        started.push({ spec, device });
        // A Linux demo device has onnxruntime already, as most boards that run models do.
        if (spec.kind === 'linux') preinstallRuntime(device.dir);
        const where = {
          host: device.address,
          port: device.port,
          user: device.user,
          keyPath: device.clientKeyPath,
          root: device.root,
          nodePath: process.execPath,
          probedHostKeyFingerprint: device.hostFingerprint,
        };
        const known = store.getDevice(spec.name);
        if (known.ok) store.updateDevice(spec.name, where);
        else {
          const added = store.addDevice({ name: spec.name, kind: spec.kind, tags: spec.tags, ...where });
          if (!added.ok) throw new Error(added.error.message);
          store.audit({ action: 'device.add', target: spec.name, outcome: 'ok', detail: { demo: true } });
        }
        const accepted = store.acceptHostKey(spec.name, device.hostFingerprint);
        if (!accepted.ok) throw new Error(accepted.error.message);
      }
    } catch (thrown) {
      await stop();
      throw thrown;
    }
    return { devices: started, stop };
  }, 'E_DEVICE');
}
