/**
 * The contract, end to end, over both transports (IPC-shaped calls and the real server mode): the
 * same suite registers a real sshd device and checks the first-contact key confirmation (a wrong
 * fingerprint refused, the shown one accepted), provisions it, lists and rolls a plan out, starts the
 * workload and pulls its telemetry (with the 'telemetry.arrived' event), rolls back to the previous
 * plan, cancels a job, and refuses a device whose host key changed. Each transport gets its own data
 * folder, device and store.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap, WsepFailure, type ErrorCode } from '../core/errors.ts';
import { useTempDir } from '../core/testing-temp.ts';
import { makeClientKey } from '../fleet/local-devices/client-key.ts';
import { killWorkloads, preinstallRuntime } from '../fleet/local-devices/device-disk.ts';
import { startSshDevice, stopAllSshDevices, type SshDevice } from '../fleet/local-devices/sshd-device.ts';
import { taskBundle } from '../runtime/testing.ts';
import type { AnyJob, ApiEvent } from './contract.ts';
import { createApiService, type ApiService } from './service.ts';
import { ipcTransport, serverTransport, type TestTransport } from './testing.ts';

const dir = useTempDir('api-contract-');
afterAll(() => stopAllSshDevices());

async function failureOf(promise: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await promise;
  } catch (thrown) {
    if (thrown instanceof WsepFailure) return thrown.error;
    throw thrown;
  }
  throw new Error('The call succeeded; a failure was expected.');
}

const ended =
  (id: string) =>
  (e: ApiEvent): e is Extract<ApiEvent, { type: 'job.ended' }> =>
    e.type === 'job.ended' && e.job.id === id;

async function jobEnd(t: TestTransport, job: AnyJob, timeoutMs = 90_000): Promise<AnyJob> {
  return (await t.waitFor(ended(job.id), timeoutMs)).job;
}

describe.each([
  ['ipc', '127.0.0.31'],
  ['server', '127.0.0.32'],
] as const)('the contract over %s', (transportName, address) => {
  let device: SshDevice;
  let service: ApiService;
  let t: TestTransport;
  let planA: string;
  let planB: string;
  const NAME = `edge-${transportName}`;

  beforeAll(async () => {
    const base = join(dir, transportName);
    device = await startSshDevice({
      address,
      dir: join(base, 'device'),
      clientKey: makeClientKey(join(base, 'key')),
    });
    preinstallRuntime(device.dir);
    service = unwrap(
      createApiService({ dataDir: join(base, 'data'), transport: 'server', connectTimeoutMs: 5_000 }),
    );
    const plans = join(base, 'data', 'plans');
    await taskBundle(join(plans, 'plan-a'));
    // A second plan: the same weights with another recorded accuracy (another plan id).
    await taskBundle(join(plans, 'plan-b'), (p) => ({
      ...p,
      models: p.models.map((m) => ({
        ...m,
        accuracy: { ...m.accuracy, val: { ...m.accuracy.val, before: m.accuracy.val.before + 0.001 } },
      })),
    }));
    t =
      transportName === 'ipc'
        ? ipcTransport(service)
        : await serverTransport(service, join(base, 'no-renderer'));
    const listed = await t.call('listPlans');
    planA = listed.find((p) => p.name === 'plan-a')!.id;
    planB = listed.find((p) => p.name === 'plan-b')!.id;
    return async () => {
      killWorkloads([device.root]);
      await t.close();
      await service.close();
    };
  }, 60_000);

  it('answers appInfo, and refuses an unknown command and bad arguments as usage errors', async () => {
    const info = await t.call('appInfo');
    expect(info.apiVersion).toBe(1);
    expect(info.storePath).toMatch(/fleet\.db$/);
    const unknown = await failureOf((t.call as (m: string) => Promise<unknown>)('dropTables'));
    expect(unknown.code).toBe('E_USAGE');
    expect(unknown.message).toContain('dropTables');
    const bad = await failureOf(t.call('registerDevice', { name: '', host: 'h', keyPath: '/k' }));
    expect(bad).toMatchObject({ code: 'E_USAGE', message: 'A device needs a name.' });
  });

  it('registers a device with its presented key shown and nothing trusted; a wrong fingerprint is refused', async () => {
    const registered = await t.call('registerDevice', {
      name: NAME,
      host: device.address,
      port: device.port,
      user: device.user,
      keyPath: device.clientKeyPath,
      root: device.root,
      nodePath: process.execPath,
      tags: ['lab', 'lab', ' '],
    });
    expect(registered.presented?.fingerprint).toBe(device.hostFingerprint);
    expect(registered.device.hostKeyFingerprint).toBeNull();
    expect(registered.device.tags).toEqual(['lab']);
    await t.waitFor((e) => e.type === 'devices.changed' && e.device === NAME);
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const refused = await failureOf(t.call('acceptHostKey', NAME, wrong));
    expect(refused.code).toBe('E_SSH_HOST_CHANGED');
    expect((await t.call('getDevice', NAME)).device.hostKeyFingerprint).toBeNull();
    const accepted = await t.call('acceptHostKey', NAME, device.hostFingerprint);
    expect(accepted.hostKeyFingerprint).toBe(device.hostFingerprint);
    const audit = await t.call('listAudit', { target: NAME });
    expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual([
      'device.accept-key:ok',
      'device.accept-key:refused',
      'device.add:ok',
    ]);
  }, 30_000);

  it('provisions the device as a job with progress, and records its capacities', async () => {
    const job = await t.call('provisionDevice', NAME);
    expect(job).toMatchObject({ kind: 'provision', subject: NAME, state: 'running' });
    const end = await jobEnd(t, job);
    expect(end.error).toBeNull();
    expect(end.state).toBe('succeeded');
    expect(t.events.some((e) => e.type === 'job.progress' && e.jobId === job.id)).toBe(true);
    const listed = await t.call('listDevices');
    expect(listed.find((d) => d.name === NAME)?.capacities?.agentVersion).toBeTruthy();
  }, 90_000);

  it('rolls two plans out by tag, with per-device progress, and the rollout in the store', async () => {
    for (const planId of [planA, planB]) {
      const job = await t.call('startRollout', { planId, to: ['lab'], waves: '100%' });
      const end = await jobEnd(t, job);
      expect(end.error).toBeNull();
      expect(end.kind === 'rollout' && end.result?.state).toBe('succeeded');
      expect(Object.keys(end.perTask)).toContain(NAME);
      const rolloutId = end.kind === 'rollout' ? end.result!.rolloutId : 0;
      // Announced while it ran (so the history shows it), then again when it ended.
      const changed = t.events.filter((e) => e.type === 'rollout.changed' && e.rolloutId === rolloutId);
      expect(changed.length).toBeGreaterThanOrEqual(2);
      const rollout = await t.call('getRollout', rolloutId);
      expect(rollout.steps.map((s) => [s.device, s.state])).toEqual([[NAME, 'succeeded']]);
    }
    const detail = await t.call('getDevice', NAME);
    expect([detail.device.activePlan, detail.device.previousPlan]).toEqual([planB, planA]);
    expect(detail.rollouts).toHaveLength(2);
    const plans = await t.call('listPlans');
    expect(plans.find((p) => p.id === planA)).toMatchObject({ inStore: true, modelCount: 2 });
    expect(plans.find((p) => p.id === planA)!.expected.map((e) => e.model)).toEqual([
      'digits8x8',
      'wall_following',
    ]);
    const map = await t.call('pageMap', planA);
    expect(map.models).toEqual(['digits8x8', 'wall_following']);
    expect(map.occupants).toHaveLength(map.slots);
  }, 120_000);

  it('starts the workload and pulls its telemetry, announcing what arrived', async () => {
    const started = await t.call('startWorkload', NAME, 200);
    expect(started.pid).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 2_000));
    const job = await t.call('pullTelemetry', [NAME]);
    const end = await jobEnd(t, job);
    expect(end.state).toBe('succeeded');
    const arrived = await t.waitFor((e) => e.type === 'telemetry.arrived' && e.device === NAME);
    expect(arrived.type === 'telemetry.arrived' && arrived.inserted).toBeGreaterThan(0);
    const rows = await t.call('queryTelemetry', { device: NAME, kind: 'task' });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.planId === planB)).toBe(true);
    expect(typeof rows[0]!.fields['accuracy']).toBe('number');
    expect((await t.call('stopWorkload', NAME)).stopped).toBe(true);
    expect(Array.isArray(await t.call('accuracyAlerts'))).toBe(true);
  }, 60_000);

  it('rolls the device back to its previous plan', async () => {
    const job = await t.call('rollbackDevice', NAME);
    const end = await jobEnd(t, job);
    expect(end.error).toBeNull();
    expect(end.kind === 'rollback' && end.result?.active).toBe(planA);
    expect((await t.call('getDevice', NAME)).device.activePlan).toBe(planA);
  }, 60_000);

  it('cancels a job: it ends cancelled', async () => {
    const job = await t.call('startRollout', { planId: planB, to: [NAME], full: true });
    const cancelled = await t.call('cancelJob', job.id);
    expect(cancelled.id).toBe(job.id);
    const end = await jobEnd(t, job);
    expect(end.state).toBe('cancelled');
    expect((await t.call('listJobs')).find((j) => j.id === job.id)?.state).toBe('cancelled');
  }, 60_000);

  it('refuses a device whose host key changed, and shows the new key without accepting it', async () => {
    await device.restart({ newHostKey: true });
    const job = await t.call('provisionDevice', NAME);
    const end = await jobEnd(t, job);
    expect(end.state).toBe('failed');
    expect(end.error?.code).toBe('E_SSH_HOST_CHANGED');
    const probed = await t.call('probeHostKey', NAME);
    expect(probed.presented.fingerprint).toBe(device.hostFingerprint);
    expect(probed.matchesAccepted).toBe(false);
    expect(probed.device.hostKeyFingerprint).not.toBe(device.hostFingerprint);
  }, 60_000);
});
