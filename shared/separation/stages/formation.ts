/**
 * Stage 1 — formation (DESIGN.md, the planner, step 1): each model's layer scales equalised when
 * asked (equalize.ts, function-preserving, so every later stage, the original accuracy included, sees
 * the equalised weights), the model checked for the operators the planner can train, and its weights
 * cut into pages (formation.ts). Cheap: no session, no data pass.
 */
import { attempt, fail, ok, throwIfCancelled, type Result } from '../../core/errors.ts';
import { TRAINABLE_OPS } from '../../autodiff/training-graph.ts';
import { validateModel } from '../../onnx/validate.ts';
import { equalizeLayerScales } from '../equalize.ts';
import { formModel, type Formation } from '../formation.ts';
import type { PlannerTask } from '../planner-options.ts';
import type { StageContext } from './context.ts';

export interface FormedTasks {
  /** The tasks as planned: their models with equalised layer scales when asked. */
  readonly tasks: readonly PlannerTask[];
  /** Per task, its weights in formation order and cut into pages. */
  readonly formations: readonly Formation[];
}

export interface FormationStageOptions {
  readonly pageSize: number;
  readonly equalizeLayerScales: boolean;
}

export function formationStage(
  given: readonly PlannerTask[],
  options: FormationStageOptions,
  ctx: StageContext,
): Result<FormedTasks> {
  const tasks: PlannerTask[] = [];
  const formations: Formation[] = [];
  for (const [k, t] of given.entries()) {
    const formed = attempt(() => {
      throwIfCancelled(ctx.signal);
      return options.equalizeLayerScales ? { ...t, model: equalizeLayerScales(t.model).model } : t;
    }, 'E_PLAN');
    if (!formed.ok) return formed;
    const task = formed.value;
    const valid = validateModel(task.model, { supportedOps: TRAINABLE_OPS, source: task.name });
    if (!valid.ok) return valid;
    const f = formModel(task.model, options.pageSize);
    if (!f.ok) return fail(f.error.code, `Task ${task.name}: ${f.error.message}`, f.error.hint);
    tasks.push(task);
    formations.push(f.value);
    ctx.progress(k + 1, given.length, { task: task.name });
  }
  return ok({ tasks, formations });
}
