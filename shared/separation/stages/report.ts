/**
 * The last step — the plan and its report, assembled from what the stages found (no evaluation, no
 * randomness): per model its graph with the weights as inputs, its page table, exclusive pages and
 * accuracies; the shared pages; the report with image/memory.ts's account for the device (report.ts).
 * The plan stores the report without wall-clock times, so that the same inputs and seed give the
 * same plan id; the caller gets the timed one.
 */
import { attempt, raise, unwrap, type Result } from '../../core/errors.ts';
import { traitsOf } from '../../image/device-profile.ts';
import type { BudgetObeyed } from '../../image/report.ts';
import { pageCount, type Plan, type PlannedModel } from '../../image/plan.ts';
import { DataType } from '../../onnx/types.ts';
import { weightsAsInputs } from '../../onnx/weights.ts';
import { unformWeights, type Formation } from '../formation.ts';
import type { JointResult, PagedState, QuantizedPages } from '../optimize.ts';
import { budgetsOf, type PlannerOptions, type PlannerTask } from '../planner-options.ts';
import { buildReport, storedReport, type TaskReport, type TimedPlanReport } from '../report.ts';
import type { FinalAccuracy, SplitAccuracies } from './accuracy.ts';
import type { Initialised } from './init.ts';
import type { Paging } from './overlap.ts';

/** Everything the plan and its report are made of. */
export interface PlanFacts {
  readonly tasks: readonly PlannerTask[];
  readonly formations: readonly Formation[];
  readonly options: PlannerOptions;
  /** The strategy's name for the report. */
  readonly strategyLabel: string;
  /** Which budget the strategy's plans obey (its `budget`), for the report. */
  readonly budgetObeyed: BudgetObeyed;
  readonly paging: Paging;
  /** The init stage's choice; its `state` holds the optimised pages by now. */
  readonly initialised: Initialised;
  readonly optimisation: JointResult;
  /** The original models' accuracy (baseline stage). */
  readonly before: readonly SplitAccuracies[];
  /** The plan's weights and accuracy (final stage): the int8 pages' for an i8 plan. */
  readonly after: FinalAccuracy;
  /** i8 plans: the stored pages (quantised from the state's float masters) and their scales. */
  readonly quantized?: QuantizedPages;
  /** i8 plans: the accuracy of the float masters themselves, the report's f32 figure. */
  readonly f32After?: FinalAccuracy;
  /** Wall time of each stage, seconds (in the returned report only). */
  readonly stageSeconds: Readonly<Record<string, number>>;
}

/** Task k's entry from `list`, which the stages fill for every task. */
function nth<T>(list: readonly T[], k: number, what: string): T {
  const item = list[k];
  if (item === undefined) raise('E_INTERNAL', `The plan has no ${what} for model ${k}.`);
  return item;
}

export function assemblePlan(facts: PlanFacts): Result<{ plan: Plan; report: TimedPlanReport }> {
  return attempt(() => {
    const { tasks, formations, options, paging, optimisation } = facts;
    const P = options.method.pageSize;
    const quantized = facts.quantized;
    // What the plan stores: the int8 pages when quantised, else the optimised pages themselves.
    const state: PagedState = quantized ? quantized.state : facts.initialised.state;
    const f32Pages = (k: number) => {
      if (!facts.f32After) return {};
      const a = nth(facts.f32After.accuracy, k, 'f32 accuracy');
      return { f32Pages: { test: a.test, val: a.val } };
    };
    const accuracy = (k: number) => {
      const before = nth(facts.before, k, 'original accuracy');
      const after = nth(facts.after.accuracy, k, 'final accuracy');
      return {
        test: { before: before.test, after: after.test },
        val: { before: before.val, after: after.val },
      };
    };
    const taskReports: TaskReport[] = tasks.map((t, k) => {
      const f = nth(formations, k, 'formation');
      return {
        task: t.name,
        weights: f.weightCount,
        pages: pageCount(f.weightCount, P),
        exclusivePages: nth(state.exclusive, k, 'exclusive pages').length / P,
        ...accuracy(k),
        ...f32Pages(k),
      };
    });
    const report = buildReport({
      pageSize: P,
      ...(quantized ? { valueType: 'i8' as const } : {}),
      budgets: budgetsOf(options.device),
      budgetObeyed: facts.budgetObeyed,
      device: traitsOf(options.device),
      sharedPageCount: paging.sharedPageCount,
      selfTying: paging.selfTying,
      strategy: facts.strategyLabel,
      init: facts.initialised.chosen,
      tasks: taskReports,
      occupancyHistogram: paging.occupancyHistogram,
      timing: {
        stepMs: optimisation.msPerStep,
        steps: optimisation.stepsRun,
        bestStep: optimisation.bestStep,
        stages: facts.stageSeconds,
      },
      initLosses: facts.initialised.losses,
      history: optimisation.history,
    });
    const models: PlannedModel[] = tasks.map((t, k) => {
      const f = nth(formations, k, 'formation');
      const weights = unwrap(unformWeights(nth(facts.after.weights, k, 'final weights'), f.tensors));
      const graph = weightsAsInputs(t.model, weights).model;
      const weightNames = new Set(f.tensors.map((x) => x.name));
      const initNames = new Set(graph.graph.initializers.map((x) => x.name));
      const input = graph.graph.inputs.find(
        (i) => !weightNames.has(i.name) && !initNames.has(i.name) && i.elemType === DataType.FLOAT,
      );
      if (!input) raise('E_PLAN', `Task ${t.name}: the model has no float input besides its weights.`);
      const output = graph.graph.outputs[0];
      if (!output) raise('E_PLAN', `Task ${t.name}: the model has no output.`);
      return {
        name: t.name,
        graph,
        inputName: input.name,
        inputShape: [...t.data.inputShape],
        outputName: output.name,
        classes: [...t.data.classes],
        preprocessing: t.data.preprocessing,
        tensors: f.tensors,
        weightCount: f.weightCount,
        pageTable: nth(state.tables, k, 'page table'),
        exclusivePages: nth(state.exclusive, k, 'exclusive pages'),
        ...(quantized ? { exclusiveScales: nth(quantized.exclusiveScales, k, 'exclusive scales') } : {}),
        accuracy: accuracy(k),
      };
    });
    const plan: Plan = {
      pageSize: P,
      valueType: quantized ? 'i8' : 'f32',
      budgets: budgetsOf(options.device),
      sharedPageCount: paging.sharedPageCount,
      sharedPages: state.shared,
      ...(quantized ? { sharedScales: quantized.sharedScales } : {}),
      selfTied: paging.selfTying > 1,
      models,
      // Stored without wall-clock times, so that the same inputs and seed give the same plan id.
      report: storedReport(report),
    };
    return { plan, report };
  }, 'E_PLAN');
}
