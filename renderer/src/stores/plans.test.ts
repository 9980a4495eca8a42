import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeTransport } from '../api/fake-transport.ts';
import type { PlanListing, PlanRequest } from '../api/client.ts';
import { parseBudgetForm, parseSize, usePlansStore, type BudgetForm } from './plans.ts';
import { freshApp, job, settle } from './testing.ts';

const FORM: BudgetForm = {
  l1: '256KiB',
  l2: '192KiB',
  pageSize: '',
  valueType: 'f32',
  steps: '',
  models: [],
  name: '',
};

function plan(id: string, createdAt: string | null): PlanListing {
  return {
    id,
    name: id,
    path: `/plans/${id}`,
    inStore: false,
    createdAt,
    bundleBytes: 1,
    modelCount: 10,
    figures: null,
    expected: [],
  };
}

let wire: FakeTransport;
beforeEach(() => {
  wire = freshApp();
});

describe('the budget form', () => {
  it('reads sizes as the CLI does', () => {
    expect(parseSize('256KiB')).toBe(262_144);
    expect(parseSize('1.5 MiB')).toBe(1_572_864);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('2kb')).toBe(2000);
    expect(parseSize('lots')).toBeNull();
    expect(parseSize('0')).toBeNull();
    expect(parseSize('5 parsecs')).toBeNull();
  });

  it('turns the form into a plan request, and refuses what the planner would', () => {
    expect(
      parseBudgetForm({ ...FORM, pageSize: '256', steps: '20', valueType: 'i8', name: 'small' }),
    ).toEqual({
      ok: true,
      value: { l1Bytes: 262_144, l2Bytes: 196_608, valueType: 'i8', pageSize: 256, steps: 20, name: 'small' },
    });
    const refused = (form: BudgetForm) => {
      const parsed = parseBudgetForm(form);
      return parsed.ok ? null : parsed.error.message;
    };
    expect(refused({ ...FORM, l1: '' })).toMatch(/Level 1 must be a size/);
    expect(refused({ ...FORM, l2: 'big' })).toMatch(/Level 2 must be a size/);
    expect(refused({ ...FORM, pageSize: '1.5' })).toMatch(/page size/);
    expect(refused({ ...FORM, steps: '0' })).toMatch(/steps/);
    expect(refused({ ...FORM, name: '../elsewhere' })).toMatch(/name/);
  });
});

describe('plans store', () => {
  it('lists the newest plans first and reloads when the plans change', async () => {
    let plans = [plan('a', '2025-01-01T00:00:00Z'), plan('b', '2025-02-01T00:00:00Z'), plan('c', null)];
    wire.answer('listPlans', () => plans);
    const store = usePlansStore();
    await store.load();
    expect(store.plans.map((p) => p.id)).toEqual(['b', 'a', 'c']);
    plans = [...plans, plan('d', '2025-03-01T00:00:00Z')];
    wire.emit({ type: 'plans.changed' });
    await settle();
    expect(store.plans[0]?.id).toBe('d');
  });

  it('computes a plan only from a valid form', async () => {
    wire.answer('computePlan', (request: PlanRequest) => job('job-1', 'plan', request.name ?? 'plan'));
    const store = usePlansStore();
    expect((await store.compute({ ...FORM, l1: 'x' })).ok).toBe(false);
    expect(wire.argsOf('computePlan')).toHaveLength(0);
    expect((await store.compute(FORM)).ok).toBe(true);
    expect(wire.argsOf('computePlan')).toEqual([[{ l1Bytes: 262_144, l2Bytes: 196_608, valueType: 'f32' }]]);
    expect(store.planning?.state).toBe('running');
  });

  it("opens a plan's page map, and shows why when it cannot", async () => {
    wire.answer('pageMap', (id: string) => ({ planId: id, models: ['m'], slots: 2, occupants: [[0], []] }));
    const store = usePlansStore();
    await store.select('a');
    expect(store.pageMap?.planId).toBe('a');
    wire.refuse('pageMap', { code: 'E_BUNDLE', message: 'The manifest in /plans/b is not valid.' });
    await store.select('b');
    expect(store.pageMap).toBeNull();
    expect(store.pageMapError?.code).toBe('E_BUNDLE');
  });
});
