import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeTransport } from '../api/fake-transport.ts';
import type { Rollout, RolloutInput } from '../api/client.ts';
import { liveDevices, parseRolloutForm, useRolloutsStore, type RolloutForm } from './rollouts.ts';
import { freshApp, job, settle } from './testing.ts';

const FORM: RolloutForm = {
  planId: 'p'.repeat(64),
  to: ['lab', 'dev-c'],
  waves: '50%,100%',
  maxDrop: '3',
  full: false,
};

function rollout(id: number, state: Rollout['state'] = 'succeeded'): Rollout {
  return {
    id,
    planId: 'p'.repeat(64),
    targets: 'lab',
    waves: [0.5, 1],
    maxDropPoints: 3,
    concurrency: 4,
    actor: 'me',
    state,
    reason: null,
    startedAt: `2025-01-01T00:00:0${id}.000Z`,
    endedAt: null,
  };
}

let wire: FakeTransport;
beforeEach(() => {
  wire = freshApp();
});

describe('the rollout form', () => {
  it('parses what the user typed into the command', () => {
    expect(parseRolloutForm(FORM)).toEqual({
      ok: true,
      value: { planId: FORM.planId, to: ['lab', 'dev-c'], waves: '50%,100%', maxDropPoints: 3 },
    });
    expect(parseRolloutForm({ ...FORM, waves: '', maxDrop: '', full: true })).toEqual({
      ok: true,
      value: { planId: FORM.planId, to: ['lab', 'dev-c'], full: true },
    });
  });

  it('refuses a form without a plan or targets, bad waves or a bad gate, with what to fix', () => {
    const message = (form: RolloutForm) => {
      const parsed = parseRolloutForm(form);
      return parsed.ok ? null : `${parsed.error.code} ${parsed.error.message}`;
    };
    expect(message({ ...FORM, planId: '' })).toMatch(/^E_USAGE Choose a plan/);
    expect(message({ ...FORM, to: [] })).toMatch(/device or tag/);
    expect(message({ ...FORM, waves: 'half, all' })).toMatch(/Waves must be/);
    expect(message({ ...FORM, maxDrop: 'lots' })).toMatch(/between 0 and 100/);
    expect(message({ ...FORM, maxDrop: '-1' })).toMatch(/between 0 and 100/);
  });
});

describe('rollouts store', () => {
  it('starts nothing when the form is wrong, and sends the parsed input when it is right', async () => {
    wire.answer('startRollout', (input: RolloutInput) => job('job-1', 'rollout', input.planId));
    const store = useRolloutsStore();
    const refused = await store.start({ ...FORM, to: [] });
    expect(refused.ok).toBe(false);
    expect(wire.argsOf('startRollout')).toEqual([]);

    const started = await store.start(FORM);
    expect(started.ok).toBe(true);
    expect(wire.argsOf('startRollout')).toEqual([
      [
        parseRolloutForm(FORM).ok && {
          planId: FORM.planId,
          to: ['lab', 'dev-c'],
          waves: '50%,100%',
          maxDropPoints: 3,
        },
      ],
    ]);
    expect(store.runningJobs.map((j) => j.id)).toEqual(['job-1']);
  });

  it("shows each device's stage and bytes from the job's progress", () => {
    const running = job('job-1', 'rollout', 'plan', {
      perTask: {
        'dev-b': { stage: 'activate', task: 'dev-b', step: 0, fraction: 0.7, message: 'health check' },
        'dev-a': { stage: 'upload', task: 'dev-a', step: 512, total: 2048, fraction: 0.3 },
      },
    });
    if (running.kind !== 'rollout') throw new Error('a rollout job');
    expect(liveDevices(running)).toEqual([
      { device: 'dev-a', stage: 'upload', fraction: 0.25, bytes: 512, totalBytes: 2048, message: null },
      {
        device: 'dev-b',
        stage: 'activate',
        fraction: 0.7,
        bytes: null,
        totalBytes: null,
        message: 'health check',
      },
    ]);
  });

  it('reloads the history and the opened rollout when the store says it changed', async () => {
    let state: Rollout['state'] = 'running';
    wire.answer('listRollouts', () => [rollout(2, state), rollout(1)]);
    wire.answer('listAudit', () => []);
    wire.answer('getRollout', (id: number) => ({ ...rollout(id, state), steps: [] }));
    const store = useRolloutsStore();
    await store.load();
    await store.open(2);
    expect(store.selected?.state).toBe('running');

    state = 'failed';
    wire.emit({ type: 'rollout.changed', rolloutId: 2 });
    await settle();
    expect(store.rollouts[0]?.state).toBe('failed');
    expect(store.selected?.state).toBe('failed');
  });

  it('keeps a failed history load as an error and the audit log apart', async () => {
    wire.refuse('listRollouts', { code: 'E_STORE', message: 'The store cannot be read.' });
    wire.answer('listAudit', () => [
      {
        id: 1,
        time: '2025-01-01T00:00:00Z',
        actor: 'me',
        action: 'rollback',
        target: 'dev-a',
        detail: {},
        outcome: 'ok',
      },
    ]);
    const store = useRolloutsStore();
    await store.load();
    expect(store.error?.code).toBe('E_STORE');
    expect(store.audit).toHaveLength(1);
  });

  it('rolls a device back as a job', async () => {
    wire.answer('rollbackDevice', (name: string) => job('job-9', 'rollback', name));
    const store = useRolloutsStore();
    const answer = await store.rollback('dev-a');
    expect(answer.ok && answer.value.subject).toBe('dev-a');
  });
});
