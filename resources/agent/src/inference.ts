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
import { gatewayOf } from './activation.ts';
import { readConfig } from './device-info.ts';
import { runOnGateway } from './gateway.ts';
import type { AgentRoot } from './layout.ts';

/** Commands that need onnxruntime on the device (run, bench) are not an MCU gateway's. */
export function notOnGateway(root: AgentRoot, command: string): Result<void> {
  const config = readConfig(root);
  if (!config.ok) return config;
  return config.value.kind === 'mcu-gateway'
    ? fail(
        'E_USAGE',
        `${command} runs models with onnxruntime on a Linux device; this device is an MCU gateway.`,
        'Use eval (the MCU on its health slices) or the telemetry of start.',
      )
    : ok(undefined);
}

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
  const gw = gatewayOf(root);
  if (!gw.ok) return gw;
  if (gw.value) {
    const ran = await runOnGateway(
      root,
      gw.value,
      id.value,
      tolerancePoints === undefined ? {} : { tolerancePoints },
    );
    return ran.ok ? ok(ran.value.health) : ran;
  }
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
  const refused = notOnGateway(root, 'run');
  if (!refused.ok) return refused;
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
