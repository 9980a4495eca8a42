import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeTransport } from '../api/fake-transport.ts';
import { useJobsStore } from './jobs.ts';
import { freshApp, job } from './testing.ts';

let wire: FakeTransport;
beforeEach(() => {
  wire = freshApp();
});

describe('jobs store', () => {
  it("applies progress overall and per device, and ignores progress after the job's end", () => {
    const jobs = useJobsStore();
    wire.emit({ type: 'job.started', job: job('job-1', 'rollout', 'plan-a') });
    wire.emit({
      type: 'job.progress',
      jobId: 'job-1',
      kind: 'rollout',
      event: { stage: 'upload', task: 'dev-a', step: 10, total: 40, fraction: 0.2 },
    });
    wire.emit({
      type: 'job.progress',
      jobId: 'job-1',
      kind: 'rollout',
      event: { stage: 'activate', task: 'dev-b', step: 1, total: 1, fraction: 0.5 },
    });
    const live = jobs.byId['job-1'];
    expect(live?.progress?.stage).toBe('activate');
    expect(Object.keys(live?.perTask ?? {}).sort()).toEqual(['dev-a', 'dev-b']);
    expect(live?.perTask['dev-a']?.step).toBe(10);

    wire.emit({ type: 'job.ended', job: job('job-1', 'rollout', 'plan-a', { state: 'succeeded' }) });
    wire.emit({
      type: 'job.progress',
      jobId: 'job-1',
      kind: 'rollout',
      event: { stage: 'upload', task: 'dev-a', step: 40, total: 40, fraction: 0.9 },
    });
    expect(jobs.byId['job-1']?.state).toBe('succeeded');
    expect(jobs.running).toHaveLength(0);
  });

  it('keeps an end that arrived before its start', () => {
    const jobs = useJobsStore();
    wire.emit({ type: 'job.ended', job: job('job-2', 'telemetryPull', '*', { state: 'failed' }) });
    wire.emit({ type: 'job.started', job: job('job-2', 'telemetryPull', '*') });
    expect(jobs.byId['job-2']?.state).toBe('failed');
  });

  it('finds the newest job of a kind and subject', () => {
    const jobs = useJobsStore();
    wire.emit({
      type: 'job.started',
      job: job('job-1', 'provision', 'dev-a', { startedAt: '2025-01-01T00:00:01Z' }),
    });
    wire.emit({
      type: 'job.started',
      job: job('job-2', 'provision', 'dev-a', { startedAt: '2025-01-01T00:00:05Z' }),
    });
    wire.emit({
      type: 'job.started',
      job: job('job-3', 'provision', 'dev-b', { startedAt: '2025-01-01T00:00:09Z' }),
    });
    expect(jobs.latest('provision', 'dev-a')?.id).toBe('job-2');
    expect(jobs.latest('provision')?.id).toBe('job-3');
    expect(jobs.latest('rollout')).toBeNull();
  });

  it('asks the service to cancel and shows the job as the service answers', async () => {
    wire.answer('cancelJob', (id: string) => job(id, 'rollout', 'plan-a', { state: 'cancelled' }));
    const jobs = useJobsStore();
    wire.emit({ type: 'job.started', job: job('job-1', 'rollout', 'plan-a') });
    const answer = await jobs.cancel('job-1');
    expect(answer.ok).toBe(true);
    expect(wire.argsOf('cancelJob')).toEqual([['job-1']]);
    expect(jobs.byId['job-1']?.state).toBe('cancelled');
  });
});
