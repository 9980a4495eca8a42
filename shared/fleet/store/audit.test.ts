import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { osUserName } from './audit.ts';
import { openFleetStore, type FleetStore } from './store.ts';

describe('the audit log', () => {
  let store: FleetStore;
  beforeEach(() => {
    store = unwrap(openFleetStore(':memory:'));
  });
  afterEach(() => store.close());

  it('round-trips an entry, with the OS user as the default actor', () => {
    const entry = unwrap(
      store.audit({
        action: 'rollout',
        target: 'lab,$(id)',
        outcome: 'stopped',
        detail: { rolloutId: 3, planId: 'abc', reason: 'mnist fell 12 points', devices: ['a', 'b'] },
        time: '2025-02-02T02:02:02.002Z',
      }),
    );
    expect(entry).toEqual({
      id: entry.id,
      time: '2025-02-02T02:02:02.002Z',
      actor: osUserName(),
      action: 'rollout',
      target: 'lab,$(id)',
      detail: { rolloutId: 3, planId: 'abc', reason: 'mnist fell 12 points', devices: ['a', 'b'] },
      outcome: 'stopped',
    });
    expect(osUserName().length).toBeGreaterThan(0);
    expect(unwrap(store.listAudit())).toEqual([entry]);
  });

  it('lists newest first, filtered by action and target', () => {
    unwrap(store.audit({ action: 'device.add', target: 'a', outcome: 'ok', actor: 'ann' }));
    unwrap(store.audit({ action: 'rollback', target: 'a', outcome: 'failed', actor: 'bob' }));
    unwrap(store.audit({ action: 'device.add', target: 'b', outcome: 'ok' }));
    expect(unwrap(store.listAudit()).map((e) => [e.action, e.target])).toEqual([
      ['device.add', 'b'],
      ['rollback', 'a'],
      ['device.add', 'a'],
    ]);
    expect(unwrap(store.listAudit({ action: 'device.add' })).map((e) => e.target)).toEqual(['b', 'a']);
    expect(unwrap(store.listAudit({ target: 'a' })).map((e) => e.actor)).toEqual(['bob', 'ann']);
    expect(unwrap(store.listAudit({ limit: 1 }))).toHaveLength(1);
  });

  it('refuses an unknown outcome and detail that is not an object', () => {
    expect(failureOf(store.audit({ action: 'x', target: 'y', outcome: 'maybe' as never })).hint).toBe(
      'Use one of: ok, failed, cancelled, stopped, refused.',
    );
    expect(
      failureOf(store.audit({ action: 'x', target: 'y', outcome: 'ok', detail: 'text' as never })).message,
    ).toBe('The audit detail is not a JSON object.');
    expect(unwrap(store.listAudit())).toEqual([]);
  });
});
