/**
 * Plans the fleet has seen: the bundle's planId, the store's own copy of the bundle (so that a later
 * rollout can send a delta against it), the planner's summary and the expected accuracy per model.
 */
import { raise, type Result } from '../../core/errors.ts';
import { healthProblem, readHealth, readJsonObject } from './columns.ts';
import type { StoreDb } from './database.ts';
import { checkJsonObject, checkPlanId, checkText, checkTime } from './validate.ts';
import type { NewPlan, Plan } from './types.ts';

interface PlanRow {
  id: string;
  name: string;
  bundle_path: string;
  created_at: string;
  summary: string;
  health: string;
}

const short = (id: string): string => `${id.slice(0, 12)}…`;

function toPlan(row: PlanRow): Plan {
  const at = (column: string) => ({ table: 'plans', row: row.id, column });
  return {
    id: row.id,
    name: row.name,
    bundlePath: row.bundle_path,
    createdAt: row.created_at,
    summary: readJsonObject(at('summary'), row.summary),
    health: readHealth(at('health'), row.health),
  };
}

function planNotFound(id: string): never {
  raise('E_NOT_FOUND', `The fleet store has no plan ${short(id)}.`, 'Roll the plan out once to record it.', {
    planId: id,
  });
}

function readPlan(db: StoreDb, id: string): Plan {
  const row = db.stmt('SELECT * FROM plans WHERE id = ?').get(id) as PlanRow | undefined;
  if (row === undefined) planNotFound(id);
  return toPlan(row);
}

export function savePlan(db: StoreDb, plan: NewPlan): Result<Plan> {
  return db.call(`record plan ${String(plan.id).slice(0, 12)}`, () => {
    const id = checkPlanId(plan.id);
    const problem = healthProblem(plan.health);
    if (problem !== null)
      raise('E_USAGE', `The health figures of plan ${short(id)} are not valid: ${problem}.`);
    const values = {
      id,
      name: checkText('plan name', plan.name, 256),
      bundle_path: checkText('bundle path', plan.bundlePath),
      created_at: checkTime('creation time', plan.createdAt ?? new Date().toISOString()),
      summary: checkJsonObject('plan summary', plan.summary),
      health: checkJsonObject('plan health', plan.health),
    };
    db.write(() =>
      db
        .stmt(
          `INSERT INTO plans (id, name, bundle_path, created_at, summary, health)
           VALUES (@id, @name, @bundle_path, @created_at, @summary, @health)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, bundle_path = excluded.bundle_path,
             summary = excluded.summary, health = excluded.health`,
        )
        .run(values),
    );
    return readPlan(db, id);
  });
}

export function getPlan(db: StoreDb, id: string): Result<Plan> {
  return db.call(`read plan ${String(id).slice(0, 12)}`, () => readPlan(db, checkPlanId(id)));
}

export function listPlans(db: StoreDb): Result<Plan[]> {
  return db.call('list the plans', () =>
    (db.stmt('SELECT * FROM plans ORDER BY created_at DESC, id').all() as PlanRow[]).map(toPlan),
  );
}

export function removePlan(db: StoreDb, id: string): Result<void> {
  return db.call(`remove plan ${String(id).slice(0, 12)}`, () => {
    const planId = checkPlanId(id);
    db.write(() => {
      if (db.stmt('SELECT 1 FROM rollouts WHERE plan_id = ? LIMIT 1').get(planId) !== undefined) {
        raise(
          'E_USAGE',
          `Plan ${short(planId)} cannot be removed: rollouts in the store refer to it.`,
          'Keep it; the rollout history needs it.',
          { planId },
        );
      }
      // The foreign key (ON DELETE RESTRICT) backs this check for any writer that bypasses it.
      if (db.stmt('DELETE FROM plans WHERE id = ?').run(planId).changes === 0) planNotFound(planId);
    });
  });
}
