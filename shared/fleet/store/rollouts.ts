/**
 * Rollouts and their per-device steps. A rollout is 'running' until finishRollout (or, after a crash,
 * recoverInterrupted) gives it a final state; at that moment every step still open gets a final state
 * too, in the same transaction, so the history never shows work that nobody is doing.
 */
import { hostname } from 'node:os';
import { makeError, raise, type Result } from '../../core/errors.ts';
import {
  errorJson,
  errorProblem,
  measuredProblem,
  readError,
  readMeasured,
  readWaves,
  wavesProblem,
} from './columns.ts';
import type { StoreDb } from './database.ts';
import { deviceId, quoted } from './devices.ts';
import { osUserName } from './audit.ts';
import {
  checkCount,
  checkName,
  checkNumber,
  checkOneOf,
  checkPlanId,
  checkText,
  checkTime,
} from './validate.ts';
import {
  FINAL_STEP_STATES,
  ROLLOUT_STATES,
  STEP_STATES,
  type FinalRolloutState,
  type NewRollout,
  type RolloutOwner,
  type RecoveredRollouts,
  type Rollout,
  type RolloutFilter,
  type RolloutState,
  type RolloutStep,
  type RolloutWithSteps,
  type StepMode,
  type StepPatch,
  type StepState,
} from './types.ts';

interface RolloutRow {
  id: number;
  plan_id: string;
  targets: string;
  waves: string;
  max_drop_points: number;
  concurrency: number;
  actor: string;
  state: RolloutState;
  reason: string | null;
  started_at: string;
  ended_at: string | null;
}

interface StepRow {
  rollout_id: number;
  device: string;
  wave: number;
  state: StepState;
  mode: StepMode | null;
  bytes_sent: number;
  attempts: number;
  measured: string | null;
  error: string | null;
  started_at: string | null;
  ended_at: string | null;
}

/** SQL list of the final step states (constants, not input). */
const FINAL_SQL = FINAL_STEP_STATES.map((s) => `'${s}'`).join(', ');
const isFinalStep = (state: StepState): boolean => FINAL_STEP_STATES.includes(state);

function toRollout(row: RolloutRow): Rollout {
  return {
    id: row.id,
    planId: row.plan_id,
    targets: row.targets,
    waves: readWaves({ table: 'rollouts', row: String(row.id), column: 'waves' }, row.waves),
    maxDropPoints: row.max_drop_points,
    concurrency: row.concurrency,
    actor: row.actor,
    state: row.state,
    reason: row.reason,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}

function toStep(row: StepRow): RolloutStep {
  const at = (column: string) => ({
    table: 'rollout_steps',
    row: `${row.rollout_id}/${quoted(row.device)}`,
    column,
  });
  return {
    rolloutId: row.rollout_id,
    device: row.device,
    wave: row.wave,
    state: row.state,
    mode: row.mode,
    bytesSent: row.bytes_sent,
    attempts: row.attempts,
    measured: readMeasured(at('measured'), row.measured),
    error: readError(at('error'), row.error),
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}

function rolloutNotFound(id: number): never {
  raise('E_NOT_FOUND', `The fleet store has no rollout ${id}.`, 'See the rollouts with wsep fleet status.', {
    rolloutId: id,
  });
}

function readRolloutRow(db: StoreDb, id: number): RolloutRow {
  const row = db.stmt('SELECT * FROM rollouts WHERE id = ?').get(id) as RolloutRow | undefined;
  if (row === undefined) rolloutNotFound(id);
  return row;
}

function readRollout(db: StoreDb, id: number): RolloutWithSteps {
  const rollout = toRollout(readRolloutRow(db, id));
  const steps = db
    .stmt('SELECT * FROM rollout_steps WHERE rollout_id = ? ORDER BY wave, device')
    .all(id) as StepRow[];
  return { ...rollout, steps: steps.map(toStep) };
}

function readStep(db: StoreDb, rolloutId: number, device: string): RolloutStep {
  const row = db
    .stmt('SELECT * FROM rollout_steps WHERE rollout_id = ? AND device = ?')
    .get(rolloutId, device) as StepRow | undefined;
  if (row === undefined) {
    raise(
      'E_NOT_FOUND',
      `Rollout ${rolloutId} has no step for device ${quoted(device)}.`,
      'Check the device name.',
      {
        rolloutId,
        device,
      },
    );
  }
  return toStep(row);
}

export function createRollout(db: StoreDb, rollout: NewRollout): Result<RolloutWithSteps> {
  return db.call('start a rollout', () => {
    const planId = checkPlanId(rollout.planId);
    const waveProblem = wavesProblem(rollout.waves);
    if (waveProblem !== null) raise('E_USAGE', `The rollout's ${waveProblem}.`, 'Write them like 10%,100%.');
    const values = {
      plan_id: planId,
      targets: checkText('rollout targets', rollout.targets),
      waves: JSON.stringify(rollout.waves),
      max_drop_points: checkNumber('maximum accuracy drop (points)', rollout.maxDropPoints, 0, 100),
      concurrency: checkCount('concurrency', rollout.concurrency, 1),
      actor: checkText('actor', rollout.actor ?? osUserName(), 256),
      started_at: checkTime('start time', rollout.startedAt ?? new Date().toISOString()),
      owner_host: checkText('owner host', (rollout.owner ?? thisProcess()).host, 256),
      owner_pid: checkCount('owner pid', (rollout.owner ?? thisProcess()).pid, 1),
    };
    if (rollout.steps.length === 0) {
      raise('E_USAGE', 'A rollout needs at least one device.', 'Name devices or tags with --to.');
    }
    const seen = new Set<string>();
    const steps = rollout.steps.map((step) => {
      const device = checkName('device name', step.device);
      if (seen.has(device)) raise('E_USAGE', `Device ${quoted(device)} appears twice in the rollout.`);
      seen.add(device);
      const wave = checkCount('wave index', step.wave);
      if (wave >= rollout.waves.length) {
        raise(
          'E_USAGE',
          `Device ${quoted(device)} is in wave ${wave}, but the rollout has ${rollout.waves.length}.`,
        );
      }
      return { device, wave };
    });
    const id = db.write(() => {
      if (db.stmt('SELECT 1 FROM plans WHERE id = ?').get(planId) === undefined) {
        raise(
          'E_USAGE',
          `Plan ${planId.slice(0, 12)}… is not in the fleet store.`,
          'Record it with savePlan before starting its rollout.',
          { planId },
        );
      }
      for (const { device } of steps) {
        deviceId(db, device);
        const busy = db
          .stmt(
            `SELECT r.id FROM rollout_steps s JOIN rollouts r ON r.id = s.rollout_id
             WHERE s.device = ? AND r.state = 'running' AND s.state NOT IN (${FINAL_SQL})`,
          )
          .pluck()
          .get(device) as number | undefined;
        if (busy !== undefined) {
          raise(
            'E_ROLLOUT',
            `Device ${quoted(device)} is already in rollout ${busy}, which is still running.`,
            'Wait for that rollout to end; if its wsep process died, run wsep fleet status to mark it interrupted.',
            { device, rolloutId: busy },
          );
        }
      }
      const { lastInsertRowid } = db
        .stmt(
          `INSERT INTO rollouts (plan_id, targets, waves, max_drop_points, concurrency, actor, state, started_at,
                                 owner_host, owner_pid)
           VALUES (@plan_id, @targets, @waves, @max_drop_points, @concurrency, @actor, 'running', @started_at,
                   @owner_host, @owner_pid)`,
        )
        .run(values);
      const rolloutId = Number(lastInsertRowid);
      const insert = db.stmt(
        "INSERT INTO rollout_steps (rollout_id, device, wave, state) VALUES (?, ?, ?, 'pending')",
      );
      for (const { device, wave } of steps) insert.run(rolloutId, device, wave);
      return rolloutId;
    });
    return readRollout(db, id);
  });
}

export function getRollout(db: StoreDb, id: number): Result<RolloutWithSteps> {
  return db.call(`read rollout ${id}`, () => readRollout(db, checkCount('rollout id', id, 1)));
}

export function listRollouts(db: StoreDb, filter: RolloutFilter): Result<Rollout[]> {
  return db.call('list the rollouts', () => {
    const limit = checkCount('limit', filter.limit ?? 100, 1);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit };
    if (filter.state !== undefined) {
      where.push('r.state = @state');
      params['state'] = checkOneOf('rollout state', filter.state, ROLLOUT_STATES);
    }
    if (filter.device !== undefined) {
      where.push('EXISTS (SELECT 1 FROM rollout_steps s WHERE s.rollout_id = r.id AND s.device = @device)');
      params['device'] = filter.device;
    }
    const sql = `SELECT r.* FROM rollouts r ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY r.id DESC LIMIT @limit`;
    return (db.stmt(sql).all(params) as RolloutRow[]).map(toRollout);
  });
}

/**
 * Changes a step of a running rollout. Leaving 'pending' stamps startedAt and reaching a final state
 * stamps endedAt, unless the patch gives them.
 */
export function updateStep(
  db: StoreDb,
  rolloutId: number,
  device: string,
  patch: StepPatch,
): Result<RolloutStep> {
  return db.call(`update the step of ${quoted(String(device))} in rollout ${rolloutId}`, () => {
    const set: Record<string, unknown> = {};
    if (patch.state !== undefined) set['state'] = checkOneOf('step state', patch.state, STEP_STATES);
    if (patch.mode !== undefined) {
      set['mode'] =
        patch.mode === null ? null : checkOneOf('step mode', patch.mode, ['full', 'delta'] as const);
    }
    if (patch.bytesSent !== undefined) set['bytes_sent'] = checkCount('bytes sent', patch.bytesSent);
    if (patch.attempts !== undefined) set['attempts'] = checkCount('attempts', patch.attempts);
    if (patch.measured !== undefined) {
      if (patch.measured !== null) {
        const problem = measuredProblem(patch.measured);
        if (problem !== null) raise('E_USAGE', `The step's ${problem}.`);
      }
      set['measured'] = patch.measured === null ? null : JSON.stringify(patch.measured);
    }
    if (patch.error !== undefined) {
      if (patch.error !== null && errorProblem(patch.error) !== null) {
        raise('E_USAGE', "The step's error is not a WsepError {code, message, hint?, details?}.");
      }
      set['error'] = patch.error === null ? null : errorJson(patch.error);
    }
    if (patch.startedAt !== undefined) {
      set['started_at'] = patch.startedAt === null ? null : checkTime('step start', patch.startedAt);
    }
    if (patch.endedAt !== undefined) {
      set['ended_at'] = patch.endedAt === null ? null : checkTime('step end', patch.endedAt);
    }
    db.write(() => {
      const rollout = readRolloutRow(db, rolloutId);
      const step = readStep(db, rolloutId, device);
      if (rollout.state !== 'running') {
        raise(
          'E_ROLLOUT',
          `Rollout ${rolloutId} has ended (${rollout.state}); its step for ${quoted(device)} can no longer change.`,
          'Start a new rollout to act on the device again.',
          { rolloutId, device },
        );
      }
      const now = new Date().toISOString();
      if (
        patch.state !== undefined &&
        patch.state !== 'pending' &&
        step.startedAt === null &&
        !('started_at' in set)
      ) {
        set['started_at'] = now;
      }
      if (patch.state !== undefined && isFinalStep(patch.state) && !('ended_at' in set))
        set['ended_at'] = now;
      if (patch.state !== undefined && !isFinalStep(patch.state) && !('ended_at' in set))
        set['ended_at'] = null;
      const columns = Object.keys(set);
      if (columns.length === 0) return;
      // Column names come from the fixed list above, never from the caller.
      db.stmt(
        `UPDATE rollout_steps SET ${columns.map((c) => `${c} = @${c}`).join(', ')}
         WHERE rollout_id = @rollout_id AND device = @device`,
      ).run({ ...set, rollout_id: rolloutId, device });
    });
    return readStep(db, rolloutId, device);
  });
}

/**
 * Gives the open steps of a rollout a final state: 'pending' ones become `pendingTo` (skipped: their wave
 * never started; cancelled: the rollout was interrupted), those under way become 'cancelled'.
 */
function closeOpenSteps(
  db: StoreDb,
  rolloutId: number,
  endedAt: string,
  pendingTo: 'skipped' | 'cancelled',
  error: string | null,
): number {
  const pending = db
    .stmt(
      "UPDATE rollout_steps SET state = ?, ended_at = ?, error = COALESCE(?, error) WHERE rollout_id = ? AND state = 'pending'",
    )
    .run(pendingTo, endedAt, error, rolloutId).changes;
  const underWay = db
    .stmt(
      `UPDATE rollout_steps SET state = 'cancelled', ended_at = ?, error = COALESCE(?, error)
       WHERE rollout_id = ? AND state NOT IN (${FINAL_SQL})`,
    )
    .run(endedAt, error, rolloutId).changes;
  return pending + underWay;
}

export function finishRollout(
  db: StoreDb,
  id: number,
  state: FinalRolloutState,
  reason: string | null,
  endedAt: string,
): Result<RolloutWithSteps> {
  return db.call(`finish rollout ${id}`, () => {
    const final = checkOneOf(
      'final rollout state',
      state,
      ROLLOUT_STATES.filter((s): s is FinalRolloutState => s !== 'running'),
    );
    const why = reason === null ? null : checkText('rollout reason', reason, 4096);
    const at = checkTime('end time', endedAt);
    db.write(() => {
      const row = readRolloutRow(db, id);
      if (row.state !== 'running') {
        raise(
          'E_ROLLOUT',
          `Rollout ${id} has already ended (${row.state}).`,
          'A rollout is finished only once.',
          {
            rolloutId: id,
          },
        );
      }
      if (final === 'succeeded') {
        const bad = db
          .stmt(
            `SELECT device, state FROM rollout_steps
             WHERE rollout_id = ? AND state NOT IN ('succeeded', 'skipped', 'pending') ORDER BY wave, device LIMIT 1`,
          )
          .get(id) as { device: string; state: StepState } | undefined;
        if (bad !== undefined) {
          raise(
            'E_ROLLOUT',
            `Rollout ${id} cannot be recorded as succeeded: its step for ${quoted(bad.device)} is ${bad.state}.`,
            'Finish it as failed or stopped, with the reason.',
            { rolloutId: id, device: bad.device },
          );
        }
      }
      closeOpenSteps(db, id, at, 'skipped', null);
      db.stmt('UPDATE rollouts SET state = ?, reason = ?, ended_at = ? WHERE id = ?').run(final, why, at, id);
    });
    return readRollout(db, id);
  });
}

/** This process, as a rollout's owner. */
export function thisProcess(): RolloutOwner {
  return { host: hostname(), pid: process.pid };
}

/** Whether `pid` names a process on this host (EPERM: it exists, but belongs to another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (thrown) {
    return (thrown as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running rollouts whose owner is alive: on this host with an existing pid, or on another host
 * (a store on a shared disk; this process cannot tell, so it leaves them alone).
 */
export function liveRollouts(db: StoreDb): number[] {
  const rows = db
    .stmt("SELECT id, owner_host, owner_pid FROM rollouts WHERE state = 'running' ORDER BY id")
    .all() as { id: number; owner_host: string | null; owner_pid: number | null }[];
  const here = hostname();
  return rows
    .filter((r) => r.owner_host !== null && r.owner_pid !== null)
    .filter((r) => r.owner_host !== here || processExists(r.owner_pid!))
    .map((r) => r.id);
}

export function recoverInterrupted(
  db: StoreDb,
  now: string,
  runningRollouts: readonly number[] = [],
): Result<RecoveredRollouts> {
  return db.call('recover interrupted rollouts', () => {
    const at = checkTime('recovery time', now);
    return db.write(() => {
      const keep = new Set([...runningRollouts, ...liveRollouts(db)]);
      const ids = (
        db.stmt("SELECT id FROM rollouts WHERE state = 'running' ORDER BY id").pluck().all() as number[]
      ).filter((id) => !keep.has(id));
      let cancelledSteps = 0;
      for (const id of ids) {
        const error = errorJson(
          makeError(
            'E_CANCELLED',
            `The wsep process running rollout ${id} ended before this step finished.`,
            "Check the device's plan with wsep fleet status, then roll out again if needed.",
          ),
        );
        cancelledSteps += closeOpenSteps(db, id, at, 'cancelled', error);
        db.stmt("UPDATE rollouts SET state = 'interrupted', reason = ?, ended_at = ? WHERE id = ?").run(
          'The wsep process running it ended before it finished (a crash or a kill).',
          at,
          id,
        );
      }
      return { rolloutIds: ids, cancelledSteps };
    });
  });
}
