import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { openFleetStore, type FleetStore } from './store.ts';
import { fakePlanId, newDevice, newPlan, rawConnection } from './testing.ts';

describe('plans in the store', () => {
  let store: FleetStore;
  beforeEach(() => {
    store = unwrap(openFleetStore(':memory:'));
  });
  afterEach(() => store.close());

  it('round-trips a plan with its summary and health JSON', () => {
    const input = newPlan('one', {
      createdAt: '2025-03-01T10:00:00.000Z',
      summary: { packing: { sharedPages: 12, nested: [1, 2, { x: null }] }, accuracy: { mnist: 0.97 } },
    });
    const saved = unwrap(store.savePlan(input));
    expect(saved).toEqual({
      id: input.id,
      name: 'plan one',
      bundlePath: input.bundlePath,
      createdAt: '2025-03-01T10:00:00.000Z',
      summary: input.summary,
      health: input.health,
    });
    expect(unwrap(store.getPlan(input.id))).toEqual(saved);
  });

  it('updates a known plan in place and keeps when it was first recorded', () => {
    const first = unwrap(store.savePlan(newPlan('p', { createdAt: '2025-01-01T00:00:00.000Z' })));
    const again = unwrap(
      store.savePlan(
        newPlan('p', { name: 'renamed', bundlePath: '/else', createdAt: '2026-01-01T00:00:00.000Z' }),
      ),
    );
    expect(again).toMatchObject({
      id: first.id,
      name: 'renamed',
      bundlePath: '/else',
      createdAt: first.createdAt,
    });
    expect(unwrap(store.listPlans())).toHaveLength(1);
  });

  it('lists newest first', () => {
    unwrap(store.savePlan(newPlan('old', { createdAt: '2025-01-01T00:00:00.000Z' })));
    unwrap(store.savePlan(newPlan('new', { createdAt: '2025-02-01T00:00:00.000Z' })));
    expect(unwrap(store.listPlans()).map((p) => p.name)).toEqual(['plan new', 'plan old']);
  });

  it('refuses a bad id, bad health figures and a summary that is not an object', () => {
    expect(failureOf(store.savePlan(newPlan('x', { id: 'ABC' }))).message).toBe(
      'The plan id "ABC" is not valid.',
    );
    const badHealth = failureOf(
      store.savePlan(newPlan('x', { health: { tolerancePoints: 1, models: [{ model: 'm' }] } as never })),
    );
    expect(badHealth.message).toMatch(/models\[0\] is not \{model, samples, expectedAccuracy\}/);
    expect(failureOf(store.savePlan(newPlan('x', { summary: [] as never }))).message).toBe(
      'The plan summary is not a JSON object.',
    );
    expect(unwrap(store.listPlans())).toEqual([]);
  });

  it('says when a plan is unknown', () => {
    const failure = failureOf(store.getPlan(fakePlanId('nothing')));
    expect(failure.code).toBe('E_NOT_FOUND');
    expect(failure.message).toMatch(/^The fleet store has no plan [0-9a-f]{12}…\.$/);
  });

  it('refuses to remove a plan that rollouts refer to, and removes one that none does', () => {
    const used = unwrap(store.savePlan(newPlan('used')));
    const unused = unwrap(store.savePlan(newPlan('unused')));
    unwrap(store.addDevice(newDevice('d')));
    const rollout = unwrap(
      store.createRollout({
        planId: used.id,
        targets: 'd',
        waves: [1],
        maxDropPoints: 1,
        concurrency: 1,
        steps: [{ device: 'd', wave: 0 }],
      }),
    );
    unwrap(store.finishRollout(rollout.id, 'cancelled', 'test'));
    const refused = failureOf(store.removePlan(used.id));
    expect(refused.code).toBe('E_USAGE');
    expect(refused.message).toMatch(/cannot be removed: rollouts in the store refer to it/);
    unwrap(store.removePlan(unused.id));
    expect(unwrap(store.listPlans()).map((p) => p.id)).toEqual([used.id]);
    expect(failureOf(store.removePlan(unused.id)).code).toBe('E_NOT_FOUND');
  });
});

describe('a damaged plan row', () => {
  it('reads as E_STORE naming the row and the column', () => {
    const path = join(testTempDir('store-bad-plan'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      const plan = unwrap(store.savePlan(newPlan('hurt')));
      const raw = rawConnection(path);
      raw
        .prepare('UPDATE plans SET health = ? WHERE id = ?')
        .run('{"tolerancePoints": "two", "models": []}', plan.id);
      raw.close();
      const failure = failureOf(store.getPlan(plan.id));
      expect(failure.code).toBe('E_STORE');
      expect(failure.message).toBe(
        `The fleet store's plans row ${plan.id} has an unreadable health column: it is not {tolerancePoints, models: [...]}.`,
      );
    } finally {
      store.close();
    }
  });
});
