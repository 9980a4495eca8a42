/**
 * The audit log: who did what to which device or plan, when, and how it ended. Append-only; rows are
 * never updated, so a rollout writes its entry when it ends.
 */
import { userInfo } from 'node:os';
import type { Result } from '../../core/errors.ts';
import { readJsonObject } from './columns.ts';
import type { StoreDb } from './database.ts';
import { checkCount, checkJsonObject, checkOneOf, checkText, checkTime } from './validate.ts';
import {
  AUDIT_OUTCOMES,
  type AuditEntry,
  type AuditFilter,
  type AuditOutcome,
  type NewAuditEntry,
} from './types.ts';

interface AuditRow {
  id: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  detail: string;
  outcome: AuditOutcome;
}

/** The OS user running this process; 'unknown' where the system has no name for it (containers). */
export function osUserName(): string {
  try {
    const name = userInfo().username;
    if (name.length > 0) return name;
  } catch {
    // userInfo throws when the uid has no passwd entry.
  }
  return process.env['USER'] ?? process.env['USERNAME'] ?? 'unknown';
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    time: row.time,
    actor: row.actor,
    action: row.action,
    target: row.target,
    detail: readJsonObject({ table: 'audit', row: String(row.id), column: 'detail' }, row.detail),
    outcome: row.outcome,
  };
}

export function audit(db: StoreDb, entry: NewAuditEntry): Result<AuditEntry> {
  return db.call(`write the audit entry ${String(entry.action)}`, () => {
    const values = {
      time: checkTime('audit time', entry.time ?? new Date().toISOString()),
      actor: checkText('actor', entry.actor ?? osUserName(), 256),
      action: checkText('audit action', entry.action, 64),
      target: checkText('audit target', entry.target, 1024),
      detail: checkJsonObject('audit detail', entry.detail ?? {}),
      outcome: checkOneOf('audit outcome', entry.outcome, AUDIT_OUTCOMES),
    };
    const { lastInsertRowid } = db.write(() =>
      db
        .stmt(
          `INSERT INTO audit (time, actor, action, target, detail, outcome)
           VALUES (@time, @actor, @action, @target, @detail, @outcome)`,
        )
        .run(values),
    );
    return toEntry(db.stmt('SELECT * FROM audit WHERE id = ?').get(lastInsertRowid) as AuditRow);
  });
}

export function listAudit(db: StoreDb, filter: AuditFilter): Result<AuditEntry[]> {
  return db.call('read the audit log', () => {
    const limit = checkCount('limit', filter.limit ?? 100, 1);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit };
    if (filter.action !== undefined) {
      where.push('action = @action');
      params['action'] = filter.action;
    }
    if (filter.target !== undefined) {
      where.push('target = @target');
      params['target'] = filter.target;
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    return (db.stmt(sql).all(params) as AuditRow[]).map(toEntry);
  });
}
