import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeError, unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { openFleetStore, type FleetStore } from './store.ts';
import { newDevice, newPlan, rawConnection } from './testing.ts';
import type { NewRollout } from './types.ts';

const T0 = '2025-06-01T12:00:00.000Z';
const T1 = '2025-06-01T12:05:00.000Z';

function seed(store: FleetStore, devices: readonly string[]): string {
  for (const name of devices) unwrap(store.addDevice(newDevice(name)));
  return unwrap(store.savePlan(newPlan('rollout-plan'))).id;
}

function rolloutOf(
  planId: string,
  waves: Record<string, number>,
  extra: Partial<NewRollout> = {},
): NewRollout {
  return {
    planId,
    targets: Object.keys(waves).join(','),
    waves: [0.34, 1],
    maxDropPoints: 2,
    concurrency: 2,
    actor: 'tester',
    startedAt: T0,
    steps: Object.entries(waves).map(([device, wave]) => ({ device, wave })),
    ...extra,
  };
}

describe('rollouts and their steps', () => {
  let store: FleetStore;
  let planId: string;
  beforeEach(() => {
    store = unwrap(openFleetStore(':memory:'));
    planId = seed(store, ['a', 'b', 'c', 'dev;touch /tmp/pwned']);
  });
  afterEach(() => store.close());

  it('starts running with every step pending, ordered by wave and device', () => {
    const rollout = unwrap(store.createRollout(rolloutOf(planId, { c: 1, a: 0, b: 1 })));
    expect(rollout).toMatchObject({
      planId,
      targets: 'c,a,b',
      waves: [0.34, 1],
      maxDropPoints: 2,
      concurrency: 2,
      actor: 'tester',
      state: 'running',
      reason: null,
      startedAt: T0,
      endedAt: null,
    });
    expect(rollout.steps.map((s) => [s.device, s.wave, s.state])).toEqual([
      ['a', 0, 'pending'],
      ['b', 1, 'pending'],
      ['c', 1, 'pending'],
    ]);
    expect(rollout.steps[0]).toEqual({
      rolloutId: rollout.id,
      device: 'a',
      wave: 0,
      state: 'pending',
      mode: null,
      bytesSent: 0,
      attempts: 0,
      measured: null,
      error: null,
      startedAt: null,
      endedAt: null,
    });
    expect(unwrap(store.getRollout(rollout.id))).toEqual(rollout);
  });

  it('refuses bad waves, unknown devices and plans, duplicates and empty rollouts', () => {
    const cases: [Partial<NewRollout> & { steps?: NewRollout['steps'] }, RegExp][] = [
      [{ waves: [0.5] }, /the last wave must be 1/],
      [{ waves: [0.5, 0.2, 1] }, /increasing fractions/],
      [{ waves: [] }, /non-empty list/],
      [{ steps: [{ device: 'a', wave: 2 }] }, /is in wave 2, but the rollout has 2/],
      [
        {
          steps: [
            { device: 'a', wave: 0 },
            { device: 'a', wave: 1 },
          ],
        },
        /appears twice/,
      ],
      [{ steps: [] }, /at least one device/],
      [{ steps: [{ device: 'zz', wave: 0 }] }, /No device named "zz"/],
      [{ planId: newPlan('unknown').id }, /is not in the fleet store/],
      [{ maxDropPoints: -1 }, /maximum accuracy drop/],
      [{ concurrency: 0 }, /concurrency \(0\)/],
    ];
    for (const [extra, message] of cases) {
      const failure = failureOf(store.createRollout(rolloutOf(planId, { a: 0 }, extra)));
      expect(failure.message).toMatch(message);
    }
    expect(unwrap(store.listRollouts())).toEqual([]);
  });

  it('records a step as it goes: times stamped, measured accuracy and error round-tripped', () => {
    const rollout = unwrap(store.createRollout(rolloutOf(planId, { a: 0, 'dev;touch /tmp/pwned': 1 })));
    const staging = unwrap(
      store.updateStep(rollout.id, 'a', { state: 'staging', mode: 'delta', attempts: 1 }),
    );
    expect(staging.startedAt).not.toBeNull();
    expect(staging.endedAt).toBeNull();
    const measured = [{ model: 'mnist', samples: 64, expectedAccuracy: 0.95, measuredAccuracy: 0.9375 }];
    const done = unwrap(
      store.updateStep(rollout.id, 'a', { state: 'succeeded', bytesSent: 123456, measured, endedAt: T1 }),
    );
    expect(done).toMatchObject({
      state: 'succeeded',
      mode: 'delta',
      bytesSent: 123456,
      attempts: 1,
      endedAt: T1,
    });
    expect(done.measured).toEqual(measured);
    const error = makeError('E_HEALTH', 'mnist measured 0.50, expected 0.95.', 'Check the plan.', {
      model: 'mnist',
    });
    const failed = unwrap(
      store.updateStep(rollout.id, 'dev;touch /tmp/pwned', { state: 'rolled-back', error }),
    );
    expect(failed.error).toEqual(error);
    expect(failed.endedAt).not.toBeNull();
    expect(unwrap(store.getRollout(rollout.id)).steps.map((s) => s.state)).toEqual([
      'succeeded',
      'rolled-back',
    ]);
  });

  it('refuses bad step patches and unknown steps', () => {
    const rollout = unwrap(store.createRollout(rolloutOf(planId, { a: 0 })));
    expect(failureOf(store.updateStep(rollout.id, 'a', { state: 'done' as never })).hint).toMatch(
      /pending, staging/,
    );
    expect(failureOf(store.updateStep(rollout.id, 'a', { bytesSent: -1 })).code).toBe('E_USAGE');
    expect(
      failureOf(store.updateStep(rollout.id, 'a', { measured: [{ model: 'm' }] as never })).message,
    ).toMatch(/measured\[0\]/);
    expect(failureOf(store.updateStep(rollout.id, 'a', { error: { code: 1 } as never })).code).toBe(
      'E_USAGE',
    );
    expect(failureOf(store.updateStep(rollout.id, 'b', { state: 'staging' })).message).toBe(
      `Rollout ${rollout.id} has no step for device "b".`,
    );
    expect(failureOf(store.updateStep(999, 'a', { state: 'staging' })).message).toBe(
      'The fleet store has no rollout 999.',
    );
    expect(unwrap(store.getRollout(rollout.id)).steps[0]?.state).toBe('pending');
  });

  it('finishes a rollout with every open step final: pending skipped, under way cancelled', () => {
    const rollout = unwrap(store.createRollout(rolloutOf(planId, { a: 0, b: 0, c: 1 })));
    unwrap(store.updateStep(rollout.id, 'a', { state: 'rolled-back' }));
    unwrap(store.updateStep(rollout.id, 'b', { state: 'activating' }));
    const stopped = unwrap(store.finishRollout(rollout.id, 'stopped', 'a: mnist fell 45 points.', T1));
    expect(stopped).toMatchObject({ state: 'stopped', reason: 'a: mnist fell 45 points.', endedAt: T1 });
    expect(stopped.steps.map((s) => [s.device, s.state, s.endedAt !== null])).toEqual([
      ['a', 'rolled-back', true],
      ['b', 'cancelled', true],
      ['c', 'skipped', true],
    ]);
    expect(unwrap(store.checkConsistency())).toEqual([]);
  });

  it('freezes a finished rollout: no second finish, no step change', () => {
    const rollout = unwrap(store.createRollout(rolloutOf(planId, { a: 0 })));
    unwrap(store.finishRollout(rollout.id, 'cancelled', null));
    const again = failureOf(store.finishRollout(rollout.id, 'succeeded', null));
    expect(again.code).toBe('E_ROLLOUT');
    expect(again.message).toBe(`Rollout ${rollout.id} has already ended (cancelled).`);
    const change = failureOf(store.updateStep(rollout.id, 'a', { state: 'staging' }));
    expect(change.code).toBe('E_ROLLOUT');
    expect(change.message).toMatch(/has ended \(cancelled\); its step for "a" can no longer change/);
  });

  it('refuses to record success over a failed step', () => {
    const rollout = unwrap(store.createRollout(rolloutOf(planId, { a: 0, b: 1 })));
    unwrap(store.updateStep(rollout.id, 'a', { state: 'succeeded' }));
    unwrap(store.updateStep(rollout.id, 'b', { state: 'failed' }));
    const failure = failureOf(store.finishRollout(rollout.id, 'succeeded', null));
    expect(failure.message).toBe(
      `Rollout ${rollout.id} cannot be recorded as succeeded: its step for "b" is failed.`,
    );
    expect(unwrap(store.getRollout(rollout.id)).state).toBe('running');
    expect(unwrap(store.finishRollout(rollout.id, 'failed', 'b did not answer.')).state).toBe('failed');
  });

  it('refuses a device that another running rollout is still working on', () => {
    const first = unwrap(store.createRollout(rolloutOf(planId, { a: 0, b: 1 })));
    const failure = failureOf(store.createRollout(rolloutOf(planId, { c: 0, b: 1 })));
    expect(failure.code).toBe('E_ROLLOUT');
    expect(failure.message).toBe(`Device "b" is already in rollout ${first.id}, which is still running.`);
    unwrap(store.updateStep(first.id, 'b', { state: 'succeeded' }));
    expect(unwrap(store.createRollout(rolloutOf(planId, { c: 0, b: 1 }))).state).toBe('running');
  });

  it('lists newest first, by state and by device', () => {
    const r1 = unwrap(store.createRollout(rolloutOf(planId, { a: 0 })));
    unwrap(store.finishRollout(r1.id, 'cancelled', null));
    const r2 = unwrap(store.createRollout(rolloutOf(planId, { b: 0 })));
    expect(unwrap(store.listRollouts()).map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect(unwrap(store.listRollouts({ state: 'running' })).map((r) => r.id)).toEqual([r2.id]);
    expect(unwrap(store.listRollouts({ device: 'a' })).map((r) => r.id)).toEqual([r1.id]);
    expect(unwrap(store.listRollouts({ limit: 1 })).map((r) => r.id)).toEqual([r2.id]);
  });
});

/** The pid of a process that has exited (a crashed `wsep rollout`). */
function deadPid(): number {
  const done = spawnSync(process.execPath, ['-e', '0']);
  return done.pid!;
}

describe('after a crash', () => {
  it('marks the rollouts left running as interrupted and cancels their open steps', () => {
    const path = join(testTempDir('store-crash'), 'fleet.db');
    const crashed = unwrap(openFleetStore(path));
    const planId = seed(crashed, ['a', 'b', 'c']);
    const open = unwrap(
      crashed.createRollout(
        rolloutOf(planId, { a: 0, b: 0, c: 1 }, { owner: { host: hostname(), pid: deadPid() } }),
      ),
    );
    unwrap(crashed.updateStep(open.id, 'a', { state: 'succeeded' }));
    unwrap(crashed.updateStep(open.id, 'b', { state: 'staging' }));
    // The process dies here: the connection goes without finishing anything.
    crashed.close();

    const store = unwrap(openFleetStore(path));
    try {
      expect(unwrap(store.checkConsistency()).map((p) => p.kind)).toEqual(['rollout-not-final']);
      const recovered = unwrap(store.recoverInterrupted(T1));
      expect(recovered).toEqual({ rolloutIds: [open.id], cancelledSteps: 2 });
      const after = unwrap(store.getRollout(open.id));
      expect(after).toMatchObject({ state: 'interrupted', endedAt: T1 });
      expect(after.reason).toMatch(/ended before it finished/);
      expect(after.steps.map((s) => [s.device, s.state])).toEqual([
        ['a', 'succeeded'],
        ['b', 'cancelled'],
        ['c', 'cancelled'],
      ]);
      expect(after.steps[1]?.error?.code).toBe('E_CANCELLED');
      expect(after.steps[0]?.error).toBeNull();
      expect(unwrap(store.checkConsistency())).toEqual([]);
      expect(unwrap(store.recoverInterrupted(T1))).toEqual({ rolloutIds: [], cancelledSteps: 0 });
    } finally {
      store.close();
    }
  });

  it("leaves another live process's rollout alone, and ends it once that process is gone", async () => {
    const path = join(testTempDir('store-owner'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    const planId = seed(store, ['a', 'b']);
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const theirs = unwrap(
        store.createRollout(rolloutOf(planId, { a: 0 }, { owner: { host: hostname(), pid: other.pid! } })),
      );
      const mine = unwrap(store.createRollout(rolloutOf(planId, { b: 0 })));
      // A second `wsep rollout` (or `wsep fleet status`) starting now must not end either of them.
      const second = unwrap(openFleetStore(path));
      expect(unwrap(second.recoverInterrupted(T1)).rolloutIds).toEqual([]);
      expect(unwrap(second.checkConsistency())).toEqual([]);
      const exited = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGKILL');
      await exited;
      expect(unwrap(second.recoverInterrupted(T1)).rolloutIds).toEqual([theirs.id]);
      expect(unwrap(second.getRollout(mine.id)).state).toBe('running');
      second.close();
    } finally {
      if (other.exitCode === null && other.signalCode === null) other.kill('SIGKILL');
      store.close();
    }
  });

  it('leaves alone the rollouts this process says it runs', () => {
    const store = unwrap(openFleetStore(':memory:'));
    const planId = seed(store, ['a']);
    const mine = unwrap(store.createRollout(rolloutOf(planId, { a: 0 })));
    expect(unwrap(store.recoverInterrupted(T1, { runningRollouts: [mine.id] })).rolloutIds).toEqual([]);
    expect(unwrap(store.checkConsistency({ runningRollouts: [mine.id] }))).toEqual([]);
    expect(unwrap(store.getRollout(mine.id)).state).toBe('running');
    store.close();
  });
});

describe('checkConsistency', () => {
  it('names each broken rule in rows edited by hand', () => {
    const path = join(testTempDir('store-consistency'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      const planId = seed(store, ['a', 'b']);
      const r = unwrap(store.createRollout(rolloutOf(planId, { a: 0, b: 1 })));
      unwrap(store.updateStep(r.id, 'a', { state: 'succeeded' }));
      unwrap(store.updateStep(r.id, 'b', { state: 'succeeded' }));
      unwrap(store.finishRollout(r.id, 'succeeded', null));
      unwrap(store.appendTelemetry('a', [{ seq: 1, time: T0, kind: 'device' }], 1, 0));
      expect(unwrap(store.checkConsistency())).toEqual([]);

      const raw = rawConnection(path);
      raw.prepare("UPDATE rollout_steps SET state = 'verifying' WHERE device = 'a'").run();
      raw.prepare("UPDATE rollout_steps SET state = 'failed' WHERE device = 'b'").run();
      raw
        .prepare("UPDATE devices SET active_plan = ?, previous_plan = ? WHERE name = 'a'")
        .run(planId, planId);
      raw.prepare('UPDATE telemetry_cursors SET cursor = 0').run();
      raw
        .prepare(
          "INSERT INTO rollouts (plan_id, targets, waves, max_drop_points, concurrency, actor, state, started_at) VALUES (?, 'x', '[1]', 1, 1, 'me', 'failed', ?)",
        )
        .run(planId, T0);
      raw.close();

      const problems = unwrap(store.checkConsistency());
      expect(problems.map((p) => [p.kind, p.subject])).toEqual([
        ['end-time', 'rollout 2'],
        ['step-not-final', `rollout ${r.id} step "a"`],
        ['succeeded-with-failures', `rollout ${r.id} step "a"`],
        ['succeeded-with-failures', `rollout ${r.id} step "b"`],
        ['end-time', `rollout ${r.id} step "a"`],
        ['device-plans', 'device "a"'],
        ['telemetry-cursor', 'device "a"'],
      ]);
      expect(problems[1]?.message).toBe(
        `Rollout ${r.id} ended (succeeded) but its step for "a" is still 'verifying'.`,
      );
    } finally {
      store.close();
    }
  });
});
