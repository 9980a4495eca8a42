/**
 * The active plan at work on demand: `eval` (every model on its health slice, measured against what
 * the app measured) and `run` (one input file through one model).
 */
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import type { EvalResult, RunResult } from '../../../shared/fleet/protocol.ts';
import { classify } from '../../../shared/runtime/classify.ts';
import { checkHealth } from '../../../shared/runtime/health-slice.ts';
import { prepareInput } from '../../../shared/runtime/input.ts';
import { PagedRuntime } from '../../../shared/runtime/runtime.ts';
import type { AgentRoot } from './layout.ts';

/** The active plan's id, or E_NOT_FOUND (exit 5) when none is active. */
export function activePlan(root: AgentRoot): Result<string> {
  const id = root.linked('current');
  return id
    ? ok(id)
    : fail(
        'E_NOT_FOUND',
        `No plan is active under ${root.root}.`,
        'Roll a plan out to the device first (wsep rollout).',
      );
}

export async function evaluateActive(root: AgentRoot, tolerancePoints?: number): Promise<Result<EvalResult>> {
  const id = activePlan(root);
  if (!id.ok) return id;
  const dir = root.planDir(id.value);
  return checkHealth(dir, root.healthDir(dir), tolerancePoints === undefined ? {} : { tolerancePoints });
}

export async function runModel(
  root: AgentRoot,
  model: string,
  input: string,
  top = 5,
): Promise<Result<RunResult>> {
  const id = activePlan(root);
  if (!id.ok) return id;
  const opened = await PagedRuntime.open(root.planDir(id.value), { sessions: 'lazy' });
  if (!opened.ok) return opened;
  const runtime = opened.value;
  try {
    const info = runtime.modelInfo(model);
    if (!info)
      return fail(
        'E_NOT_FOUND',
        `The active plan has no model "${model}".`,
        `Models: ${runtime.models.join(', ')}.`,
      );
    const prepared = prepareInput(input, info);
    if (!prepared.ok) return prepared;
    const result = await classify(runtime, model, prepared.value.x, top);
    if (!result.ok) return result;
    const score = (s: { index: number; label: string; score: number }) => ({
      index: s.index,
      label: s.label,
      score: s.score,
    });
    return ok({
      planId: id.value,
      model,
      predicted: score(result.value.predicted),
      top: result.value.top.map(score),
      switchMs: result.value.switched.totalMs,
      runMs: result.value.runMs,
    });
  } finally {
    await runtime.close();
  }
}
