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
import { checkPlanId, type AgentRoot } from './layout.ts';
import { locatePlan, removeUnfinished, verifyPlanDir } from './staging.ts';

const short = (id: string | null): string => (id ? `${id.slice(0, 12)}…` : 'none');

type Checked =
  { ok: true; health: HealthResult } | { ok: false; health: HealthResult | null; reason: string };

async function healthOf(root: AgentRoot, planId: string, tolerancePoints?: number): Promise<Checked> {
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

function healthFailure(what: string, restored: string | null, result: ActivateResult): Result<never> {
  const error: WsepError = {
    code: 'E_HEALTH',
    message: `${what} failed its health check on this device and was rolled back: ${result.reason}`,
    hint: `The device runs plan ${short(restored)} again. Check the plan with wsep eval, or allow a larger drop (--max-drop) if this device's CPU rounds differently.`,
    details: result,
  };
  return { ok: false, error };
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
  if (found.value.location === 'staging') install(root, planId);
  root.setLink('previous', current ?? previous);
  root.setLink('current', planId);
  const checked = await healthOf(root, planId, tolerancePoints);
  if (!checked.ok) {
    root.setLink('current', current);
    root.setLink('previous', previous);
    // Kept as an upload, so the app can activate it again (say, with a larger tolerance) without resending.
    if (planId !== previous && !existsSync(root.stagedDir(planId))) {
      renameSync(root.planDir(planId), root.stagedDir(planId));
      fsyncDir(root.stagingRoot);
    }
    root.prune();
    return healthFailure(`Plan ${short(planId)}`, current, {
      planId,
      previous: current,
      active: current,
      health: checked.health,
      rolledBack: true,
      reason: checked.reason,
      unchanged: false,
    });
  }
  root.prune();
  root.removeFolder(root.deltaDir(planId));
  return ok({
    planId,
    previous: current,
    active: planId,
    health: checked.health,
    rolledBack: false,
    unchanged: false,
  });
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
  root.setLink('current', previous);
  root.setLink('previous', current);
  const checked = await healthOf(root, previous, tolerancePoints);
  if (!checked.ok) {
    root.setLink('current', current);
    root.setLink('previous', previous);
    return healthFailure(`The previous plan ${short(previous)}`, current, {
      planId: previous,
      previous: current,
      active: current,
      health: checked.health,
      rolledBack: true,
      reason: checked.reason,
      unchanged: false,
    });
  }
  return ok({
    planId: previous,
    previous: current,
    active: previous,
    health: checked.health,
    rolledBack: false,
    unchanged: false,
  });
}
