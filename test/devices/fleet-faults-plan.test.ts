/**
 * Faults on the way to a device and on its disk, each its own test on fresh sshd devices, each ending
 * with the device on a working plan, the store consistent, and its recorded plans equal to what the
 * agent says: the connection cut mid-upload, a file corrupted on the device, a full disk, and a health
 * check that fails after activation.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { ensureAgentFile } from '../../shared/fleet/agent-file.ts';
import { archivePlan } from '../../shared/fleet/plan-archive.ts';
import { runRollout } from '../../shared/fleet/rollout.ts';
import { encodeHealthManifest, readHealthManifest } from '../../shared/runtime/health-slice.ts';
import { makeClientKey, type ClientKey } from './client-key.ts';
import { FAST, fleetWithPlan, ROOTS, expectConsistent } from './fleet-common.ts';
import { changedPlan, filesUnder, makeZooPlan, openStore } from './fleet-fixture.ts';
import { startCutProxy } from './tcp-proxy.ts';
import { useDeviceTeardown } from './teardown.ts';

const dir = useTempDir('fleet-faults-plan-');
useDeviceTeardown();

let clientKey: ClientKey;
let plan1: string;
let plan2: string;
/** Bytes of the plan copy a full rollout sends (bundle + health slices), and of the agent file. */
let copyBytes: number;
let agentBytes: number;

beforeAll(async () => {
  clientKey = makeClientKey(join(dir, 'client'));
  plan1 = makeZooPlan(join(dir, 'plan1'));
  plan2 = (await changedPlan(plan1, join(dir, 'plan2'))).dir;
  const sizes = openStore(join(dir, 'store-sizes'));
  const copy = unwrap(await archivePlan(sizes, plan1, { roots: ROOTS }));
  copyBytes = copy.bundleBytes + copy.healthBytes;
  sizes.close();
  agentBytes = statSync(unwrap(await ensureAgentFile())).size;
}, 120_000);

/** Resolves with the proxy's cut, or fails after `ms` (so a missed cut fails the test, not its timeout). */
function cutWithin(cut: Promise<{ bytes: number }>, ms: number): Promise<{ bytes: number }> {
  return Promise.race([
    cut,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no connection was cut within ${ms} ms`)), ms),
    ),
  ]);
}

describe('rollout faults on the link and the device', () => {
  it('resumes an upload cut mid-way without sending complete files again', async () => {
    const { store, devices, names } = await fleetWithPlan(dir, 'cut', ['127.0.0.2'], clientKey, null);
    const [device] = devices;
    const [name] = names;
    // Every connection through the proxy is cut after 40% of the plan copy's bytes: no attempt can
    // send the whole copy, and only attempts that resume — sending what is missing, not all — finish.
    const proxy = await startCutProxy({
      targetHost: device!.address,
      targetPort: device!.port,
      dropAfterBytes: Math.round(0.4 * copyBytes),
    });
    unwrap(store.updateDevice(name!, { host: '127.0.0.1', port: proxy.port }));
    const report = unwrap(
      await runRollout(store, {
        bundleDir: plan1,
        to: name!,
        waves: '100%',
        roots: ROOTS,
        ...FAST,
        retries: 6,
      }),
    );
    const cut = await cutWithin(proxy.cut, 1_000);
    expect(cut.bytes).toBeGreaterThan(0.3 * copyBytes);
    const step = report.devices[0]!;
    expect(report.state, report.reason ?? '').toBe('succeeded');
    expect(step.attempts).toBeGreaterThanOrEqual(2);
    // The last attempt sent what the earlier ones did not finish: well under the whole copy.
    expect(report.fullBytes).toBe(copyBytes);
    expect(step.bytesSent).toBeLessThan(0.8 * copyBytes);
    expect(filesUnder(join(device!.root, 'staging')).filter((f) => f.endsWith('.part'))).toEqual([]);
    unwrap(store.updateDevice(name!, { host: device!.address, port: device!.port }));
    await expectConsistent(store, names);
  }, 90_000);

  it('sends the plan whole when the device’s copy of its base plan is corrupted', async () => {
    const { store, devices, names } = await fleetWithPlan(dir, 'rot', ['127.0.0.3'], clientKey, plan1);
    const active = unwrap(store.getDevice(names[0]!)).activePlan!;
    const damaged = join(devices[0]!.root, 'plans', active, 'exclusive', 'mnist.bin');
    const bytes = readFileSync(damaged);
    bytes[17] = bytes[17]! ^ 0xff;
    writeFileSync(damaged, bytes);
    const report = unwrap(
      await runRollout(store, { bundleDir: plan2, to: names[0]!, waves: '100%', roots: ROOTS, ...FAST }),
    );
    expect(report.state, report.reason ?? '').toBe('succeeded');
    // The delta could not be applied to the damaged base; the plan went whole, and verified.
    expect(report.devices[0]!.mode).toBe('full');
    expect(report.devices[0]!.activePlan).toBe(report.planId);
    await expectConsistent(store, names);
  }, 90_000);

  it('stops with E_DISK_FULL on a full disk and leaves the device on its plan', async () => {
    // Room for the agent, one plan copy and half of another: the second plan cannot fit.
    const { store, devices, names } = await fleetWithPlan(dir, 'full', ['127.0.0.4'], clientKey, plan1, {
      tmpfsBytes: Math.ceil((agentBytes + 1.5 * copyBytes + 256 * 1024) / 4096) * 4096,
    });
    const before = unwrap(store.getDevice(names[0]!)).activePlan;
    const report = unwrap(
      await runRollout(store, {
        bundleDir: plan2,
        to: names[0]!,
        waves: '100%',
        roots: ROOTS,
        allowDelta: false,
        ...FAST,
      }),
    );
    expect(report.state).toBe('failed');
    const step = report.devices[0]!;
    expect(step.state).toBe('failed');
    expect(step.attempts).toBe(1);
    expect(step.error?.code).toBe('E_DISK_FULL');
    expect(step.error?.message).toContain(names[0]!);
    expect(step.error?.hint).toBeTruthy();
    expect(report.reason).toBe(step.error?.message);
    expect(unwrap(store.getDevice(names[0]!)).activePlan).toBe(before);
    expect(devices[0]!.root).toBeTruthy();
    await expectConsistent(store, names);
  }, 90_000);

  it('stops the rollout when a device fails its health check: rolled back, later waves not started', async () => {
    const { store, names } = await fleetWithPlan(dir, 'gate', ['127.0.0.5', '127.0.0.6'], clientKey, plan1);
    // The plan's health.json claims 30 points more for one model than any device will measure.
    const copy = unwrap(await archivePlan(store, plan2, { roots: ROOTS }));
    const healthDir = join(copy.dir, 'health');
    const health = unwrap(readHealthManifest(healthDir));
    const target = [...health.models].sort((a, b) => a.expectedAccuracy - b.expectedAccuracy)[0]!;
    const raised = {
      ...health,
      models: health.models.map((m) =>
        m.model === target.model ? { ...m, expectedAccuracy: m.expectedAccuracy + 0.3 } : m,
      ),
    };
    writeFileSync(join(healthDir, 'health.json'), encodeHealthManifest(raised));
    const before = names.map((n) => unwrap(store.getDevice(n)).activePlan);
    const report = unwrap(
      await runRollout(store, {
        bundleDir: plan2,
        to: names.join(','),
        waves: '50%,100%',
        roots: ROOTS,
        ...FAST,
      }),
    );
    expect(report.state).toBe('stopped');
    expect(report.waves).toEqual([[names[0]], [names[1]]]);
    expect(report.devices.map((d) => d.state)).toEqual(['rolled-back', 'skipped']);
    expect(report.reason).toContain(`model ${target.model}`);
    expect(report.reason).toMatch(/measured .*expected .*switched back/);
    expect(report.devices[0]!.measured?.find((m) => m.model === target.model)?.expectedAccuracy).toBeCloseTo(
      target.expectedAccuracy + 0.3,
    );
    expect(names.map((n) => unwrap(store.getDevice(n)).activePlan)).toEqual(before);
    const audit = unwrap(store.listAudit({ action: 'rollout' }))[0];
    expect(audit?.outcome).toBe('stopped');
    await expectConsistent(store, names);
  }, 120_000);
});
