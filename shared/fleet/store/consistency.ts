/**
 * The store's final-state rules, checked on demand (the fault tests call this after every fault): once
 * no process runs a rollout, every rollout and every step has ended, a succeeded rollout has no failed
 * step, times agree with states, and no telemetry row lies beyond its device's cursor.
 */
import type { Result } from '../../core/errors.ts';
import type { StoreDb } from './database.ts';
import { quoted } from './devices.ts';
import { liveRollouts } from './rollouts.ts';
import { FINAL_STEP_STATES, type ConsistencyOptions, type ConsistencyProblem } from './types.ts';

const FINAL_SQL = FINAL_STEP_STATES.map((s) => `'${s}'`).join(', ');

export function checkConsistency(db: StoreDb, options: ConsistencyOptions): Result<ConsistencyProblem[]> {
  return db.call('check its consistency', () => {
    const running = new Set([...(options.runningRollouts ?? []), ...liveRollouts(db)]);
    const problems: ConsistencyProblem[] = [];
    const add = (kind: ConsistencyProblem['kind'], subject: string, message: string) =>
      problems.push({ kind, subject, message });

    const rollouts = db.stmt('SELECT id, state, ended_at FROM rollouts ORDER BY id').all() as {
      id: number;
      state: string;
      ended_at: string | null;
    }[];
    for (const r of rollouts) {
      if (r.state === 'running' && !running.has(r.id)) {
        add(
          'rollout-not-final',
          `rollout ${r.id}`,
          `Rollout ${r.id} is still 'running' but no process runs it.`,
        );
      }
      if (r.state === 'running' && r.ended_at !== null) {
        add('end-time', `rollout ${r.id}`, `Rollout ${r.id} is running but has an end time.`);
      }
      if (r.state !== 'running' && r.ended_at === null) {
        add('end-time', `rollout ${r.id}`, `Rollout ${r.id} ended (${r.state}) without an end time.`);
      }
    }

    const openSteps = db
      .stmt(
        `SELECT s.rollout_id, s.device, s.state, r.state AS rollout_state FROM rollout_steps s
         JOIN rollouts r ON r.id = s.rollout_id
         WHERE r.state <> 'running' AND s.state NOT IN (${FINAL_SQL}) ORDER BY s.rollout_id, s.device`,
      )
      .all() as { rollout_id: number; device: string; state: string; rollout_state: string }[];
    for (const s of openSteps) {
      add(
        'step-not-final',
        `rollout ${s.rollout_id} step ${quoted(s.device)}`,
        `Rollout ${s.rollout_id} ended (${s.rollout_state}) but its step for ${quoted(s.device)} is still '${s.state}'.`,
      );
    }

    const failedInSuccess = db
      .stmt(
        `SELECT s.rollout_id, s.device, s.state FROM rollout_steps s JOIN rollouts r ON r.id = s.rollout_id
         WHERE r.state = 'succeeded' AND s.state NOT IN ('succeeded', 'skipped') ORDER BY s.rollout_id, s.device`,
      )
      .all() as { rollout_id: number; device: string; state: string }[];
    for (const s of failedInSuccess) {
      add(
        'succeeded-with-failures',
        `rollout ${s.rollout_id} step ${quoted(s.device)}`,
        `Rollout ${s.rollout_id} is 'succeeded' but its step for ${quoted(s.device)} is '${s.state}'.`,
      );
    }

    const stepTimes = db
      .stmt(
        `SELECT rollout_id, device, state FROM rollout_steps
         WHERE (state IN (${FINAL_SQL}) AND ended_at IS NULL)
            OR (state NOT IN (${FINAL_SQL}) AND ended_at IS NOT NULL)
         ORDER BY rollout_id, device`,
      )
      .all() as { rollout_id: number; device: string; state: string }[];
    for (const s of stepTimes) {
      add(
        'end-time',
        `rollout ${s.rollout_id} step ${quoted(s.device)}`,
        `The step for ${quoted(s.device)} in rollout ${s.rollout_id} is '${s.state}' but its end time disagrees.`,
      );
    }

    const samePlans = db
      .stmt(
        'SELECT name FROM devices WHERE active_plan IS NOT NULL AND active_plan = previous_plan ORDER BY name',
      )
      .pluck()
      .all() as string[];
    for (const name of samePlans) {
      add(
        'device-plans',
        `device ${quoted(name)}`,
        `Device ${quoted(name)} has the same active and previous plan.`,
      );
    }

    // Per device, MAX(seq) is one seek in the (device_id, seq) primary key.
    const beyondCursor = db
      .stmt(
        `SELECT name, last, cursor FROM (
           SELECT d.name, (SELECT MAX(seq) FROM telemetry t WHERE t.device_id = d.id) AS last,
                  COALESCE(c.cursor, 0) AS cursor
           FROM devices d LEFT JOIN telemetry_cursors c ON c.device_id = d.id)
         WHERE last > cursor ORDER BY name`,
      )
      .all() as { name: string; last: number; cursor: number }[];
    for (const t of beyondCursor) {
      add(
        'telemetry-cursor',
        `device ${quoted(t.name)}`,
        `Device ${quoted(t.name)} has telemetry up to seq ${t.last} but its cursor is ${t.cursor}.`,
      );
    }
    return problems;
  });
}
