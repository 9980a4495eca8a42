/**
 * The fleet's main path against three real sshd devices (127.0.0.2, .3, .4): register and accept keys
 * through the CLI, provision (agent + onnxruntime-node for the device's architecture), roll the zoo
 * plan out in waves, pull telemetry from a running workload into SQLite, roll a second plan out as a
 * page delta and check that only the changed pages and manifests travelled, then roll one device back.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { arch } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import type { ProgressEvent } from '../../shared/core/progress.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { dataRoots } from '../../shared/datasets/roots.ts';
import { diffBundles } from '../../shared/image/diff.ts';
import { devicesCommand } from '../../shared/cli/commands/devices.ts';
import { runCommandInProcess } from '../../shared/cli/testing.ts';
import { withDevice } from '../../shared/fleet/device-link.ts';
import { archivedPlan } from '../../shared/fleet/plan-archive.ts';
import { provisionDevice } from '../../shared/fleet/provision.ts';
import { rollbackDevice, runRollout } from '../../shared/fleet/rollout.ts';
import type { FleetStore } from '../../shared/fleet/store/store.ts';
import { pullTelemetry } from '../../shared/fleet/telemetry-pull.ts';
import { expectConsistent } from './fleet-common.ts';
import { makeClientKey } from './client-key.ts';
import {
  addDeviceArgs,
  changedPlan,
  filesUnder,
  killWorkloads,
  makeZooPlan,
  openStore,
  REPO,
  startDevices,
} from './fleet-fixture.ts';
import type { SshDevice } from './sshd-device.ts';
import { useDeviceTeardown } from './teardown.ts';

const dir = useTempDir('fleet-');
useDeviceTeardown();
afterAll(() => killWorkloads(devices?.map((d) => d.root) ?? []));

const NAMES = ['edge-1', 'edge-2', 'edge-3'];
let devices: SshDevice[];
let store: FleetStore;
let storePath: string;
let plan1: string;
const roots = dataRoots(undefined, REPO);

beforeAll(async () => {
  const clientKey = makeClientKey(join(dir, 'client'));
  devices = await startDevices(join(dir, 'devices'), ['127.0.0.2', '127.0.0.3', '127.0.0.4'], clientKey);
  plan1 = makeZooPlan(join(dir, 'plan1'));
  store = openStore(join(dir, 'store'));
  storePath = store.path;
  return () => store.close();
}, 120_000);

describe('the fleet on three sshd devices', () => {
  it('registers devices: add shows the host key, accept-key pins it', async () => {
    for (const [i, d] of devices.entries()) {
      const added = await runCommandInProcess(
        devicesCommand,
        [...addDeviceArgs(NAMES[i]!, d, { tag: 'lab' }), '--store', storePath],
        dir,
      );
      expect(added.code, added.error).toBe(0);
      expect(added.out).toContain(d.hostFingerprint);
      expect(unwrap(store.getDevice(NAMES[i]!)).hostKeyFingerprint).toBeNull();
      const accepted = await runCommandInProcess(
        devicesCommand,
        ['accept-key', NAMES[i]!, '--store', storePath],
        dir,
      );
      expect(accepted.code, accepted.error).toBe(0);
      expect(unwrap(store.getDevice(NAMES[i]!)).hostKeyFingerprint).toBe(d.hostFingerprint);
    }
  }, 30_000);

  it('provisions: the agent, agent.json and onnxruntime-node for the device’s architecture only', async () => {
    const results = await Promise.all(NAMES.map((n) => provisionDevice(store, n)));
    for (const [i, r] of results.entries()) {
      const p = unwrap(r);
      expect(p.runtimeInstalled).toBe(true);
      expect(p.info.onnxruntime).not.toBeNull();
      const root = devices[i]!.root;
      expect(existsSync(join(root, 'bin', 'wsep-agent.mjs'))).toBe(true);
      const binaries = filesUnder(join(root, 'node_modules', 'onnxruntime-node', 'bin'));
      expect(binaries.length).toBeGreaterThan(0);
      expect(binaries.every((f) => f.startsWith(`napi-v6/linux/${arch()}/`))).toBe(true);
      const device = unwrap(store.getDevice(NAMES[i]!));
      expect(device.capacities?.arch).toBe(arch());
      expect(device.capacities?.level1Bytes).toBeGreaterThan(0);
      expect(device.status).toBe('provisioned');
    }
    expect(unwrap(store.listAudit({ action: 'device.provision' })).map((a) => a.outcome)).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
  }, 60_000);

  it('rolls the zoo plan out in waves: the canary activates before the second wave starts', async () => {
    const events: ProgressEvent[] = [];
    const report = unwrap(
      await runRollout(
        store,
        { bundleDir: plan1, to: 'lab', waves: '10%,100%', roots },
        { progress: (e) => events.push(e) },
      ),
    );
    expect(report.state).toBe('succeeded');
    expect(report.waves).toEqual([['edge-1'], ['edge-2', 'edge-3']]);
    const canaryDone = events.findIndex((e) => e.task === 'edge-1' && e.message === 'activated');
    const secondWave = events.findIndex((e) => e.task === 'edge-2' || e.task === 'edge-3');
    expect(canaryDone).toBeGreaterThan(-1);
    expect(secondWave).toBeGreaterThan(canaryDone);
    for (const d of report.devices) {
      expect(d.state).toBe('succeeded');
      expect(d.mode).toBe('full');
      expect(d.activePlan).toBe(report.planId);
      expect(d.measured?.length).toBe(10);
      for (const m of d.measured!)
        expect(Math.abs(m.measuredAccuracy - m.expectedAccuracy)).toBeLessThan(0.032);
    }
    const copy = unwrap(archivedPlan(store, report.planId));
    expect(report.devices.map((d) => d.bytesSent)).toEqual(
      NAMES.map(() => copy.bundleBytes + copy.healthBytes),
    );
    await expectConsistent(store, NAMES);
  }, 120_000);

  it('pulls telemetry of a running workload into SQLite by cursor, nothing twice', async () => {
    const edge1 = unwrap(store.getDevice('edge-1'));
    unwrap(await withDevice(edge1, {}, (_c, agent) => agent.start(20)));
    try {
      let inserted = 0;
      for (let tries = 0; tries < 60 && inserted < 12; tries++) {
        await new Promise((r) => setTimeout(r, 500));
        inserted += unwrap(await pullTelemetry(store, ['edge-1'])).inserted;
      }
      expect(inserted).toBeGreaterThanOrEqual(12);
    } finally {
      unwrap(await withDevice(edge1, {}, (_c, agent) => agent.stop()));
    }
    // The loop has stopped: one more pull drains it, and the next finds nothing new.
    unwrap(await pullTelemetry(store, ['edge-1']));
    const last = unwrap(await pullTelemetry(store, ['edge-1']));
    expect(last.inserted).toBe(0);
    const rows = unwrap(store.queryTelemetry('edge-1', { limit: 100_000 }));
    const seqs = rows.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(unwrap(store.telemetryCursor('edge-1')).cursor).toBe(seqs[seqs.length - 1]);
    expect(last.devices[0]!.ok).toBe(true);
    const summary = unwrap(store.telemetrySummary('edge-1'));
    expect(summary.latestTasks.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.kind === 'device')).toBe(true);
  }, 60_000);

  it('rolls a second plan out as a page delta: only changed pages and manifests travel', async () => {
    const next = await changedPlan(plan1, join(dir, 'plan2'));
    const delta = unwrap(await diffBundles(plan1, next.dir));
    const report = unwrap(
      await runRollout(store, { bundleDir: next.dir, to: 'lab', waves: '10%,100%', roots }),
    );
    expect(report.state).toBe('succeeded');
    const copy = unwrap(archivedPlan(store, next.planId));
    const healthJson = copy.files.find((f) => f.path === 'health/health.json')!.bytes;
    for (const d of report.devices) {
      expect(d.mode).toBe('delta');
      // The delta's pages, the new manifest and graphs, delta.json, and the new health.json: nothing else.
      expect(d.bytesSent).toBeGreaterThan(delta.transferBytes);
      expect(d.bytesSent).toBeLessThan(delta.transferBytes + healthJson + 64 * 1024);
      expect(d.bytesSent).toBeLessThan(0.5 * copy.bundleBytes);
      expect(d.activePlan).toBe(next.planId);
    }
    expect(delta.pages.length).toBeLessThanOrEqual(next.changedPages);
    console.info(
      `delta: ${next.changedPages}/${next.totalPages} pages changed; sent ${report.devices[0]!.bytesSent} B per device, full copy ${copy.bundleBytes + copy.healthBytes} B (bundle ${copy.bundleBytes} B)`,
    );
    await expectConsistent(store, NAMES);
  }, 120_000);

  it('rolls a device back to its previous plan, health-checked, and records it', async () => {
    const before = unwrap(store.getDevice('edge-2'));
    const back = unwrap(await rollbackDevice(store, 'edge-2'));
    expect(back.active).toBe(before.previousPlan);
    const after = unwrap(store.getDevice('edge-2'));
    expect(after.activePlan).toBe(before.previousPlan);
    expect(unwrap(store.listAudit({ action: 'rollback' }))[0]?.outcome).toBe('ok');
    await expectConsistent(store, NAMES);
  }, 60_000);
});
