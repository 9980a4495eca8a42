/**
 * Switching plans with a health check: `activate` installs a staged plan, points `current` at it (the
 * old one becomes `previous`), and runs every model on its health slice; `rollback` returns to
 * `previous` the same way. When the check fails — a drop beyond the tolerance, or a plan that does not
 * even run here — the agent switches back by itself before it answers, so a device is never left on a
 * plan that failed: exit 4 (E_HEALTH) with the measurements in `details`.
 */
import { existsSync, renameSync } from 'node:fs';
import { fail, ok, type Result, type WsepError } from '../../../shared/core/errors.ts';
import { fsyncDir } from '../../../shared/core/durable-fs.ts';
import type { ActivateResult, HealthResult } from '../../../shared/fleet/protocol.ts';
import { checkHealth, describeHealthFailure } from '../../../shared/runtime/health-slice.ts';
import { readConfig } from './device-info.ts';
import {
  appendTelemetry,
  describeGatewayFailure,
  exportForGateway,
  openGateway,
  pruneExports,
  runOnGateway,
  type Gateway,
} from './gateway.ts';
import { checkPlanId, type AgentRoot } from './layout.ts';
import { locatePlan, removeUnfinished, verifyPlanDir } from './staging.ts';

const short = (id: string | null): string => (id ? `${id.slice(0, 12)}…` : 'none');

type Checked =
  { ok: true; health: HealthResult } | { ok: false; health: HealthResult | null; reason: string };

/**
 * On an MCU gateway the check is a run of the microcontroller; a passing run is also telemetry (the
 * caller holds the root's lock, so it is the only writer).
 */
async function gatewayHealthOf(
  root: AgentRoot,
  gw: Gateway,
  planId: string,
  tolerancePoints?: number,
): Promise<Checked> {
  const ran = await runOnGateway(root, gw, planId, tolerancePoints === undefined ? {} : { tolerancePoints });
  if (!ran.ok)
    return { ok: false, health: null, reason: `the MCU health check could not run: ${ran.error.message}` };
  const { health } = ran.value;
  if (!health.passed) return { ok: false, health, reason: describeGatewayFailure(health)! };
  const written = appendTelemetry(root, ran.value.records);
  if (!written.ok) process.stderr.write(`cannot append telemetry: ${written.error.message}\n`);
  return { ok: true, health };
}

async function healthOf(
  root: AgentRoot,
  planId: string,
  tolerancePoints: number | undefined,
  gw: Gateway | undefined,
): Promise<Checked> {
  if (gw) return gatewayHealthOf(root, gw, planId, tolerancePoints);
  const dir = root.planDir(planId);
  const result = await checkHealth(
    dir,
    root.healthDir(dir),
    tolerancePoints === undefined ? {} : { tolerancePoints },
  );
  if (!result.ok)
    return { ok: false, health: null, reason: `the health check could not run: ${result.error.message}` };
  if (!result.value.passed)
    return { ok: false, health: result.value, reason: describeHealthFailure(result.value)! };
  return { ok: true, health: result.value };
}

/**
 * What a switch from `current` to `planId` answers after its health check: the switch, or E_HEALTH with
 * the device on `current` again (the caller has put its links back). `what` names the plan in the error.
 */
function checkedOutcome(
  what: string,
  planId: string,
  current: string | null,
  checked: Checked,
): Result<ActivateResult> {
  if (checked.ok)
    return ok({
      planId,
      previous: current,
      active: planId,
      health: checked.health,
      rolledBack: false,
      unchanged: false,
    });
  const result: ActivateResult = {
    planId,
    previous: current,
    active: current,
    health: checked.health,
    rolledBack: true,
    reason: checked.reason,
    unchanged: false,
  };
  const error: WsepError = {
    code: 'E_HEALTH',
    message: `${what} failed its health check on this device and was rolled back: ${result.reason}`,
    hint: `The device runs plan ${short(current)} again. Check the plan with wsep eval, or allow a larger drop (--max-drop) if this device's CPU rounds differently.`,
    details: result,
  };
  return { ok: false, error };
}

/** The gateway when agent.json makes this device an MCU gateway, else undefined (a Linux device). */
export function gatewayOf(root: AgentRoot): Result<Gateway | undefined> {
  const config = readConfig(root);
  if (!config.ok) return config;
  if (config.value.kind !== 'mcu-gateway') return ok(undefined);
  return openGateway(root, config.value.mcu!);
}

/** Moves a staged plan into plans/, leaving out unfinished uploads; an installed copy is replaced. */
function install(root: AgentRoot, planId: string): void {
  const staged = root.stagedDir(planId);
  removeUnfinished(staged);
  root.removeFolder(root.planDir(planId));
  renameSync(staged, root.planDir(planId));
  fsyncDir(root.plansRoot);
  fsyncDir(root.stagingRoot);
}

export async function activate(
  root: AgentRoot,
  planId: string,
  tolerancePoints?: number,
): Promise<Result<ActivateResult>> {
  const id = checkPlanId(planId);
  if (!id.ok) return id;
  const current = root.linked('current');
  const previous = root.linked('previous');
  if (current === planId) {
    // A plan sent again while it runs: nothing to switch; drop the duplicate upload.
    root.removeFolder(root.stagedDir(planId));
    return ok({ planId, previous, active: current, health: null, rolledBack: false, unchanged: true });
  }
  const found = locatePlan(root, planId);
  if (!found.ok) return found;
  const verified = await verifyPlanDir(root, planId, found.value.dir);
  if (!verified.ok) return verified;
  const gw = gatewayOf(root);
  if (!gw.ok) return gw;
  if (gw.value) {
    // The blobs are made before anything switches: a plan that does not fit the MCU's profile is
    // refused here and the device stays on its plan.
    const exported = await exportForGateway(root, gw.value, planId, found.value.dir);
    if (!exported.ok) return exported;
  }
  if (found.value.location === 'staging') install(root, planId);
  root.setLink('previous', current ?? previous);
  root.setLink('current', planId);
  const checked = await healthOf(root, planId, tolerancePoints, gw.value);
  if (!checked.ok) {
    root.setLink('current', current);
    root.setLink('previous', previous);
    // Kept as an upload, so the app can activate it again (say, with a larger tolerance) without resending.
    if (planId !== previous && !existsSync(root.stagedDir(planId))) {
      renameSync(root.planDir(planId), root.stagedDir(planId));
      fsyncDir(root.stagingRoot);
    }
  }
  root.prune();
  pruneExports(root);
  if (checked.ok) root.removeFolder(root.deltaDir(planId));
  return checkedOutcome(`Plan ${short(planId)}`, planId, current, checked);
}

/** Back to `previous` (health-checked too); E_NOT_FOUND (exit 5) when there is none. */
export async function rollback(root: AgentRoot, tolerancePoints?: number): Promise<Result<ActivateResult>> {
  const current = root.linked('current');
  const previous = root.linked('previous');
  if (previous === null)
    return fail(
      'E_NOT_FOUND',
      `There is no previous plan to roll back to under ${root.root} (the device runs plan ${short(current)}).`,
      'Roll a plan out to the device instead (wsep rollout).',
    );
  const gw = gatewayOf(root);
  if (!gw.ok) return gw;
  root.setLink('current', previous);
  root.setLink('previous', current);
  const checked = await healthOf(root, previous, tolerancePoints, gw.value);
  if (!checked.ok) {
    root.setLink('current', current);
    root.setLink('previous', previous);
  }
  return checkedOutcome(`The previous plan ${short(previous)}`, previous, current, checked);
}
