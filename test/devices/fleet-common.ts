/**
 * Set-up shared by the fault tests: a fresh store and fresh sshd devices per test (so one fault
 * cannot leak into the next), provisioned, with the first plan rolled out to them in full.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { unwrap, type Result } from '../../shared/core/errors.ts';
import { dataRoots } from '../../shared/datasets/roots.ts';
import { withDevice } from '../../shared/fleet/device-link.ts';
import type { AgentStatus } from '../../shared/fleet/protocol.ts';
import { provisionDevice } from '../../shared/fleet/provision.ts';
import { runRollout, type RolloutRequest } from '../../shared/fleet/rollout.ts';
import type { FleetStore } from '../../shared/fleet/store/store.ts';
import type { ClientKey } from './client-key.ts';
import { openStore, preinstallRuntime, REPO, register, startDevices } from './fleet-fixture.ts';
import type { SshDevice } from './sshd-device.ts';
import { mountTmpfs } from './tmpfs.ts';

export const ROOTS = dataRoots(undefined, REPO);

/** Quick retries for tests: a device that is down is known to be down within a few seconds. */
export const FAST: Pick<RolloutRequest, 'retries' | 'backoffMs' | 'connectTimeoutMs'> = {
  retries: 1,
  backoffMs: 50,
  connectTimeoutMs: 3_000,
};

export interface Fleet {
  readonly store: FleetStore;
  readonly devices: SshDevice[];
  readonly names: string[];
}

/**
 * `addresses.length` devices named `<tag>-1…`, each with onnxruntime-node already there (so only the
 * agent travels at provisioning), provisioned, and — unless `plan` is null — holding `plan`.
 */
export async function fleetWithPlan(
  base: string,
  tag: string,
  addresses: readonly string[],
  clientKey: ClientKey,
  plan: string | null,
  options: { tmpfsBytes?: number; roots?: (device: SshDevice) => string } = {},
): Promise<Fleet> {
  const store = openStore(join(base, `store-${tag}`));
  const devices = await startDevices(join(base, tag), addresses, clientKey);
  const names = devices.map((_, i) => `${tag}-${i + 1}`);
  for (const [i, device] of devices.entries()) {
    if (options.tmpfsBytes !== undefined) await mountTmpfs(device.root, options.tmpfsBytes);
    preinstallRuntime(device);
    register(store, device, names[i]!, options.roots ? { root: options.roots(device) } : {});
    const provisioned = unwrap(await provisionDevice(store, names[i]!));
    expect(provisioned.runtimeInstalled).toBe(false);
  }
  if (plan !== null) {
    const report = unwrap(
      await runRollout(store, { bundleDir: plan, to: names.join(','), waves: '100%', roots: ROOTS }),
    );
    expect(report.state, report.reason ?? '').toBe('succeeded');
  }
  return { store, devices, names };
}

/** What the device's agent says, over a fresh connection pinned to the device's current host key. */
export async function agentStatus(store: FleetStore, name: string, pin?: string): Promise<AgentStatus> {
  const device = unwrap(store.getDevice(name));
  const pinned = pin ? { ...device, hostKeyFingerprint: pin } : device;
  const r: Result<AgentStatus> = await withDevice(pinned, { connectTimeoutMs: 5_000 }, (_c, agent) =>
    agent.status(),
  );
  return unwrap(r);
}

/**
 * The end of every fault test: the store keeps its rules (every rollout final), and each device's
 * recorded plans are what its agent reports; with `working`, each device has an active plan that
 * passes its health slices.
 */
export async function expectConsistent(
  store: FleetStore,
  names: readonly string[],
  options: { working?: boolean; pins?: Record<string, string> } = {},
): Promise<void> {
  expect(unwrap(store.checkConsistency())).toEqual([]);
  for (const name of names) {
    const status = await agentStatus(store, name, options.pins?.[name]);
    const recorded = unwrap(store.getDevice(name));
    expect({ device: name, active: recorded.activePlan, previous: recorded.previousPlan }).toEqual({
      device: name,
      active: status.activePlan,
      previous: status.previousPlan,
    });
    if (options.working !== false) {
      expect(status.activePlan, `device ${name} has an active plan`).not.toBeNull();
      const device = options.pins?.[name]
        ? { ...recorded, hostKeyFingerprint: options.pins[name]! }
        : recorded;
      const evaluated = await withDevice(device, {}, (_c, agent) => agent.eval());
      expect(unwrap(evaluated).passed, `device ${name} passes its health slices`).toBe(true);
    }
  }
}
