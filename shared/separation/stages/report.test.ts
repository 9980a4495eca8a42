import { describe, expect, it } from 'vitest';
import { LINUX_ORT_DEVICE, traitsOf, withSizes } from '../../image/device-profile.ts';
import { DataType } from '../../onnx/types.ts';
import { selectWeights } from '../../onnx/weights.ts';
import type { PagedState } from '../optimize.ts';
import type { PlannerOptions, PlannerTask } from '../planner-options.ts';
import { OURS } from '../strategies/ours.ts';
import { quietStage } from './context.ts';
import { overlapStage } from './overlap.ts';
import { assemblePlan, type PlanFacts } from './report.ts';
import { separationStage } from './separation.ts';
import { P, twoModelOptions, twoModels } from './testing.ts';

/** What the stages would hand the assembly for twoModels(), on linux-ort, without running a session. */
function facts(options: PlannerOptions, tasks?: readonly PlannerTask[]): PlanFacts {
  const m = twoModels();
  const separated = separationStage(OURS, m.tasks, m.formations, m.fisher, options, quietStage);
  if (!separated.ok) throw new Error(separated.error.message);
  const paging = overlapStage(OURS, m.tasks, m.formations, m.fisher, separated.value, options, quietStage);
  if (!paging.ok) throw new Error(paging.error.message);
  const M = paging.value.sharedPageCount;
  const state: PagedState = {
    pageSize: P,
    sharedPageCount: M,
    shared: new Float32Array(M * P).fill(0.5),
    exclusive: paging.value.exclusive,
    tables: paging.value.tables,
    selfTied: paging.value.selfTying > 1,
  };
  return {
    tasks: tasks ?? m.tasks,
    formations: m.formations,
    options,
    strategyLabel: OURS.label,
    budgetObeyed: OURS.budget,
    paging: paging.value,
    initialised: { state, chosen: 'fisher-mean', losses: { 'fisher-mean': 1.5, random: 2.5 } },
    optimisation: { bestStep: 8, history: [], stepsRun: 10, msPerStep: 3, valAccuracy: [0.8, 0.7] },
    before: [
      { val: 0.9, test: 0.85 },
      { val: 0.8, test: 0.75 },
    ],
    after: {
      weights: m.formations.map((f) => f.flat.map((v) => v + 1)),
      accuracy: [
        { val: 0.8, test: 0.8 },
        { val: 0.7, test: 0.6 },
      ],
    },
    stageSeconds: { baseline: 1, optimize: 2 },
  };
}

describe('the plan and report assembly', () => {
  const device = withSizes(LINUX_ORT_DEVICE, { l1Bytes: 1 << 20, l2Bytes: 4 * P * 4 });
  const options = { ...twoModelOptions(), device };

  it('states the device’s sizes as budgets and its traits without them, and every task’s facts', () => {
    const given = facts(options);
    const r = assemblePlan(given);
    if (!r.ok) throw new Error(r.error.message);
    const { plan, report } = r.value;
    expect(plan.budgets).toEqual({ l1Bytes: 1 << 20, l2Bytes: 4 * P * 4 });
    expect(report.budgets).toEqual(plan.budgets);
    expect(report.device).toEqual(traitsOf(device));
    expect(Object.keys(report.device)).toEqual(['name', 'tableEntryBytes', 'runtime']);
    expect(report.strategy).toBe(OURS.label);
    expect(report.init).toBe('fisher-mean');
    expect(report.initLosses).toEqual({ 'fisher-mean': 1.5, random: 2.5 });
    expect(report.tasks.map((t) => [t.task, t.pages, t.test, t.val])).toEqual([
      ['a', 6, { before: 0.85, after: 0.8 }, { before: 0.9, after: 0.8 }],
      ['b', 3, { before: 0.75, after: 0.6 }, { before: 0.8, after: 0.7 }],
    ]);
    expect(plan.selfTied).toBe(false);
    expect(report.selfTying).toBe(1);
    // The models: weights as graph inputs (the final weights), the data's own input, the tables.
    plan.models.forEach((model, k) => {
      expect(model.inputName).toBe('input');
      expect(model.graph.graph.initializers.filter((t) => t.dataType === DataType.FLOAT)).toEqual([]);
      expect(model.pageTable).toBe(given.paging.tables[k]);
      expect(model.exclusivePages).toBe(given.initialised.state.exclusive[k]);
      expect(model.accuracy.test.after).toBe(report.tasks[k]!.test.after);
    });
    expect(selectWeights(plan.models[0]!.graph)).toEqual([]);
    // Timings stay out of the stored report (the plan id names the plan, not the run).
    expect(report.timing).toEqual({
      stepMs: 3,
      steps: 10,
      bestStep: 8,
      stages: { baseline: 1, optimize: 2 },
    });
    expect(plan.report?.timing).toEqual({ steps: 10, bestStep: 8 });
  });

  it('a self-tied plan says so, with the count in its report', () => {
    const r = assemblePlan(facts(twoModelOptions(2, 3, 2)));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.report.selfTying).toBe(2);
    expect(r.value.plan.selfTied).toBe(true);
  });

  it('refuses a model without a float input besides its weights', () => {
    const m = twoModels();
    const first = m.tasks[0]!;
    const integer = {
      ...first,
      model: {
        ...first.model,
        graph: {
          ...first.model.graph,
          inputs: first.model.graph.inputs.map((i) => ({ ...i, elemType: DataType.INT64 })),
        },
      },
    };
    const r = assemblePlan(facts(options, [integer, m.tasks[1]!]));
    expect(!r.ok && r.error.code).toBe('E_PLAN');
    expect(!r.ok && r.error.message).toBe('Task a: the model has no float input besides its weights.');
  });
});
