/**
 * Planning from the app: `computePlan` runs the planner in a worker thread with progress events, and
 * its bundle appears in the Plans list with the report's figures; a job cancelled at once ends
 * 'cancelled' and leaves no bundle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unwrap } from '../core/errors.ts';
import { useTempDir } from '../core/testing-temp.ts';
import type { ApiEvent } from './contract.ts';
import { createApiService } from './service.ts';
import { ipcTransport } from './testing.ts';

const dir = useTempDir('api-plan-');
const service = unwrap(createApiService({ dataDir: join(dir, 'data'), transport: 'electron' }));
const t = ipcTransport(service);
afterAll(async () => {
  await t.close();
  await service.close();
});

const endOf = (id: string) => (e: ApiEvent) => e.type === 'job.ended' && e.job.id === id;
const REQUEST = {
  models: ['digits8x8', 'wall_following'],
  l1Bytes: 256 * 1024,
  l2Bytes: 192 * 1024,
  steps: 10,
};

describe('computePlan', () => {
  it('plans in a worker with progress, and lists the new bundle with its figures', async () => {
    const job = await t.call('computePlan', { ...REQUEST, name: 'two-tasks' });
    const end = await t.waitFor(endOf(job.id), 120_000);
    expect(end.type === 'job.ended' && end.job.error).toBeNull();
    expect(
      t.events.some((e) => e.type === 'job.progress' && e.jobId === job.id && e.event.stage === 'optimize'),
    ).toBe(true);
    expect(t.events.some((e) => e.type === 'plans.changed')).toBe(true);
    const plan = (await t.call('listPlans')).find((p) => p.name === 'two-tasks');
    expect(plan?.modelCount).toBe(2);
    expect(plan?.figures?.tasks.map((x) => x.task)).toEqual(['digits8x8', 'wall_following']);
    expect(plan?.figures?.l1Bytes).toBeLessThanOrEqual(REQUEST.l1Bytes);
  }, 150_000);

  it('refuses bad budgets, and cancels a plan that leaves nothing behind', async () => {
    await expect(t.call('computePlan', { ...REQUEST, l1Bytes: -1 })).rejects.toThrow(/level-1 budget/);
    const job = await t.call('computePlan', { ...REQUEST, name: 'cancelled' });
    await t.call('cancelJob', job.id);
    const end = await t.waitFor(endOf(job.id), 60_000);
    expect(end.type === 'job.ended' && end.job.state).toBe('cancelled');
    expect(existsSync(join(service.dataDir, 'plans', 'cancelled'))).toBe(false);
  }, 90_000);
});
