/**
 * The fleet's operations as worker-thread jobs (shared/fleet/fleet-service.ts), as the app runs them:
 * a provisioning and a rollout with their progress events, then a rollout cancelled while it waits to
 * retry an unreachable device — it ends 'cancelled', nothing is left running, and the store still
 * says what the device holds.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import type { ProgressEvent } from '../../shared/core/progress.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { runFleetJob } from '../../shared/fleet/fleet-service.ts';
import { taskBundle } from '../../shared/runtime/testing.ts';
import { makeClientKey } from './client-key.ts';
import { ROOTS, expectConsistent } from './fleet-common.ts';
import { changedPlan, openStore, preinstallRuntime, register } from './fleet-fixture.ts';
import { startSshDevice, type SshDevice } from './sshd-device.ts';
import { useDeviceTeardown } from './teardown.ts';

const dir = useTempDir('fleet-service-');
useDeviceTeardown();

let device: SshDevice;
let planA: string;
let planB: string;

beforeAll(async () => {
  const clientKey = makeClientKey(join(dir, 'client'));
  device = await startSshDevice({ address: '127.0.0.12', dir: join(dir, 'device'), clientKey });
  preinstallRuntime(device);
  planA = join(dir, 'planA');
  await taskBundle(planA);
  planB = (await changedPlan(planA, join(dir, 'planB'), { every: 3 })).dir;
}, 60_000);

describe('fleet jobs in a worker thread', () => {
  it('provisions and rolls out with progress events, then cancels a rollout waiting to retry', async () => {
    const store = openStore(join(dir, 'store'));
    register(store, device, 'worker-1');
    const ref = { path: store.path };
    const events: ProgressEvent[] = [];
    const provisioned = unwrap(
      await runFleetJob('provision', { store: ref, device: 'worker-1' }, { progress: (e) => events.push(e) }),
    );
    expect(provisioned.info.onnxruntime).not.toBeNull();
    expect(events.some((e) => e.stage === 'provision' && e.task === 'worker-1')).toBe(true);

    const rolled = unwrap(
      await runFleetJob(
        'rollout',
        { store: ref, request: { bundleDir: planA, to: 'worker-1', waves: '100%', roots: ROOTS } },
        { progress: (e) => events.push(e) },
      ),
    );
    expect(rolled.state).toBe('succeeded');
    expect(events.some((e) => e.stage === 'upload' && e.task === 'worker-1')).toBe(true);
    expect(events.some((e) => e.stage === 'activate' && e.task === 'worker-1')).toBe(true);

    await device.stop();
    const controller = new AbortController();
    const started = performance.now();
    const cancelled = unwrap(
      await runFleetJob(
        'rollout',
        {
          store: ref,
          request: {
            bundleDir: planB,
            to: 'worker-1',
            waves: '100%',
            roots: ROOTS,
            retries: 5,
            backoffMs: 30_000,
            connectTimeoutMs: 2_000,
          },
        },
        {
          signal: controller.signal,
          progress: (e) => {
            if (e.message?.includes('Retrying in')) controller.abort();
          },
        },
      ),
    );
    // The 30 s backoff did not run out: the cancel ended the wait.
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.devices[0]!.state).toBe('cancelled');
    const recorded = unwrap(store.getRollout(cancelled.rolloutId));
    expect(recorded.state).toBe('cancelled');
    expect(recorded.steps.map((s) => s.state)).toEqual(['cancelled']);
    expect(unwrap(store.listAudit({ action: 'rollout' }))[0]?.outcome).toBe('cancelled');

    await device.restart();
    await expectConsistent(store, ['worker-1']);
    expect(unwrap(store.getDevice('worker-1')).activePlan).toBe(rolled.planId);

    // Cancelled while the device activates: the activation there runs to its end, and the store
    // records what the device holds once it has.
    const late = new AbortController();
    const during = unwrap(
      await runFleetJob(
        'rollout',
        { store: ref, request: { bundleDir: planB, to: 'worker-1', waves: '100%', roots: ROOTS } },
        {
          signal: late.signal,
          progress: (e) => {
            if (e.stage === 'activate') late.abort();
          },
        },
      ),
    );
    expect(during.state).toBe('cancelled');
    expect(unwrap(store.getRollout(during.rolloutId)).steps.map((s) => s.state)).toEqual(['cancelled']);
    await expectConsistent(store, ['worker-1']);
    store.close();
  }, 120_000);
});
