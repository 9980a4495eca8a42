/**
 * What the fleet's device tests share: a real plan of the ten zoo models made in seconds (few
 * optimisation steps: the rollout, not the packing, is under test), a second plan with a tenth of its
 * pages changed, real sshd devices registered in a store with their keys accepted, and the checks
 * every fault test ends with — the store consistent, and each device's recorded plans equal to what
 * its agent says (those checks are in fleet-common.ts, which uses vitest; this file is also the bench's).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unwrap } from '../../shared/core/errors.ts';
import { readBundle } from '../../shared/image/read.ts';
import { writeBundle } from '../../shared/image/write.ts';
import type { Plan } from '../../shared/image/plan.ts';
import { preinstallRuntime as preinstallDiskRuntime } from '../../shared/fleet/local-devices/device-disk.ts';
import { openFleetStore, type FleetStore } from '../../shared/fleet/store/store.ts';
import type { Device } from '../../shared/fleet/store/types.ts';
import type { ClientKey } from './client-key.ts';
import { startSshDevice, type SshDevice } from './sshd-device.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ZOO = join(REPO, 'resources', 'zoo');

/** A plan of the ten zoo models with very few steps (about 8 s on one core). */
export function makeZooPlan(out: string): string {
  execFileSync(
    process.execPath,
    [
      join(REPO, 'bin', 'wsep.js'),
      'plan',
      '--models',
      ZOO,
      '--out',
      out,
      '--steps',
      '10',
      '--eval-every',
      '10',
      '--patience',
      '10',
      '--fisher-samples',
      '32',
      '--workers',
      '1',
      '--progress',
      'none',
    ],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return out;
}

/**
 * A new bundle: `source` with every `every`-th page (shared and exclusive) scaled by `factor`, written
 * with writeBundle (a new plan id). Returns its folder and how many pages changed.
 */
export async function changedPlan(
  source: string,
  out: string,
  options: { every?: number; factor?: number; offset?: number } = {},
): Promise<{ dir: string; planId: string; changedPages: number; totalPages: number }> {
  const every = options.every ?? 10;
  const factor = options.factor ?? 1.01;
  const offset = options.offset ?? 0;
  const plan = unwrap(await readBundle(source)).plan;
  const P = plan.pageSize;
  let changed = 0;
  let total = 0;
  const touch = (values: Float32Array): Float32Array => {
    const copy = values.slice();
    const pages = copy.length / P;
    for (let page = 0; page < pages; page++) {
      total++;
      if ((page + offset) % every !== 0) continue;
      changed++;
      for (let i = page * P; i < (page + 1) * P; i++) copy[i] = copy[i]! * factor;
    }
    return copy;
  };
  const next: Plan = {
    ...plan,
    sharedPages: touch(plan.sharedPages),
    models: plan.models.map((m) => ({ ...m, exclusivePages: touch(m.exclusivePages) })),
  };
  const written = unwrap(await writeBundle(next, out));
  return { dir: out, planId: written.planId, changedPages: changed, totalPages: total };
}

/**
 * Makes onnxruntime-node resolvable by a device's agent without sending it (local-devices/device-disk.ts).
 */
export function preinstallRuntime(device: SshDevice): void {
  preinstallDiskRuntime(device.dir);
}

export async function startDevices(
  base: string,
  addresses: readonly string[],
  clientKey: ClientKey,
): Promise<SshDevice[]> {
  return Promise.all(
    addresses.map((address) => startSshDevice({ address, dir: join(base, address), clientKey })),
  );
}

export function openStore(dir: string): FleetStore {
  mkdirSync(dir, { recursive: true });
  return unwrap(openFleetStore(join(dir, 'fleet.db')));
}

/**
 * The arguments of `devices add` that register `device` under `name`: its own root unless another, and
 * the kind and tag when given.
 */
export function addDeviceArgs(
  name: string,
  device: SshDevice,
  options: { tag?: string; root?: string; kind?: Device['kind'] } = {},
): string[] {
  return [
    'add',
    name,
    ...(options.kind === undefined ? [] : ['--kind', options.kind]),
    '--host',
    device.address,
    '--port',
    String(device.port),
    '--user',
    device.user,
    '--key',
    device.clientKeyPath,
    '--root',
    options.root ?? device.root,
    '--node',
    process.execPath,
    ...(options.tag === undefined ? [] : ['--tag', options.tag]),
  ];
}

/** Registers `device` under `name` with its host key accepted (what `devices add` + `accept-key` do). */
export function register(
  store: FleetStore,
  device: SshDevice,
  name: string,
  options: { tags?: string[]; root?: string; port?: number; host?: string } = {},
): Device {
  unwrap(
    store.addDevice({
      name,
      kind: 'linux',
      host: options.host ?? device.address,
      port: options.port ?? device.port,
      user: device.user,
      keyPath: device.clientKeyPath,
      root: options.root ?? device.root,
      nodePath: process.execPath,
      probedHostKeyFingerprint: device.hostFingerprint,
      tags: options.tags ?? [],
    }),
  );
  return unwrap(store.acceptHostKey(name, device.hostFingerprint));
}

/** Files under a folder, recursively (relative paths), for "nothing was sent" checks. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk('');
  return out.sort();
}

/**
 * Ends any workload loop still running under these agent roots, by its pid file — the safety net
 * behind `wsep-agent stop` when a test failed before it could ask (the loop is detached from sshd).
 */
export { killWorkloads } from '../../shared/fleet/local-devices/device-disk.ts';
