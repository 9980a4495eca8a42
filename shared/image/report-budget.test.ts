/** The report's `budgetObeyed`: stored, parsed back, and inferred for reports written before it. */
import { describe, expect, it } from 'vitest';
import { parsePlanReport } from './report.ts';
import { syntheticReport, tinyPlan } from './testing.ts';

const report = syntheticReport(tinyPlan(3));
const json = (over: Record<string, unknown>, drop = false): unknown => {
  const o = { ...(JSON.parse(JSON.stringify(report)) as Record<string, unknown>), ...over };
  if (drop) delete o['budgetObeyed'];
  return o;
};

describe('the report’s budgetObeyed', () => {
  it('is stored right after the budgets and read back as it was', () => {
    expect(Object.keys(report).slice(4, 6)).toEqual(['budgets', 'budgetObeyed']);
    for (const budgetObeyed of ['device', 'own'] as const) {
      const parsed = parsePlanReport(json({ budgetObeyed }));
      expect(parsed.ok && parsed.value.budgetObeyed).toBe(budgetObeyed);
      expect(parsed.ok && JSON.stringify(parsed.value)).toBe(JSON.stringify({ ...report, budgetObeyed }));
    }
  });

  it('is inferred when absent: the reference strategy never applied the budgets, every other did', () => {
    const reference = parsePlanReport(json({ strategy: 'reference' }, true));
    expect(reference.ok && reference.value.budgetObeyed).toBe('own');
    const ours = parsePlanReport(json({ strategy: 'ours (balanced overlap, joint optimisation)' }, true));
    expect(ours.ok && ours.value.budgetObeyed).toBe('device');
  });

  it('refuses any other value, by name', () => {
    const r = parsePlanReport(json({ budgetObeyed: 'mine' }));
    expect(!r.ok && r.error.code).toBe('E_BUNDLE');
    expect(!r.ok && r.error.message).toBe(`The plan report's budgetObeyed is "mine", not "device" or "own".`);
  });
});
