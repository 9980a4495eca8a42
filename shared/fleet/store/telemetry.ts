/**
 * Telemetry rows pulled from the devices, with each device's cursor (the last seq stored) and its count
 * of records lost to rotation on the device. A batch and its cursor are written in one transaction, so
 * a crash between them cannot make the next pull skip or repeat records.
 */
import { raise, type Result } from '../../core/errors.ts';
import { readJsonObject } from './columns.ts';
import type { StoreDb } from './database.ts';
import { deviceId, quoted } from './devices.ts';
import { checkCount, checkOneOf, checkPlanId, checkText, normalizeTime } from './validate.ts';
import type {
  AppendedTelemetry,
  TelemetryCursor,
  TelemetryInput,
  TelemetryKind,
  TelemetryQuery,
  TelemetryRow,
  TelemetrySummary,
} from './types.ts';

const KINDS: readonly TelemetryKind[] = ['task', 'device'];
/** Members stored in their own columns; every other member of a record goes to `fields`. */
const COLUMN_MEMBERS = new Set(['seq', 'time', 'kind', 'planId', 'model']);

interface TelemetryDbRow {
  seq: number;
  time: string;
  kind: TelemetryKind;
  plan_id: string | null;
  model: string | null;
  fields: string;
}

function toRow(device: string, row: TelemetryDbRow): TelemetryRow {
  return {
    device,
    seq: row.seq,
    time: row.time,
    kind: row.kind,
    planId: row.plan_id,
    model: row.model,
    fields: readJsonObject(
      { table: 'telemetry', row: `${quoted(device)}#${row.seq}`, column: 'fields' },
      row.fields,
    ),
  };
}

function readCursor(db: StoreDb, id: number): TelemetryCursor {
  const row = db.stmt('SELECT cursor, lost FROM telemetry_cursors WHERE device_id = ?').get(id) as
    { cursor: number; lost: number } | undefined;
  return row ?? { cursor: 0, lost: 0 };
}

/** One record as the columns of its row; throws E_USAGE naming the record when it is not valid. */
function recordValues(device: string, record: TelemetryInput, index: number, cursor: number) {
  const where = `telemetry record ${index} of ${quoted(device)}`;
  if (typeof record !== 'object' || record === null) raise('E_USAGE', `The ${where} is not an object.`);
  const seq = checkCount(`seq of the ${where}`, record.seq, 1);
  if (seq > cursor) {
    raise(
      'E_USAGE',
      `The ${where} has seq ${seq}, beyond the batch's cursor ${cursor}.`,
      "Pass the batch's cursor as the agent returned it.",
    );
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!COLUMN_MEMBERS.has(key)) fields[key] = value;
  return {
    seq,
    time: normalizeTime(`time of the ${where}`, record.time),
    kind: checkOneOf(`kind of the ${where}`, record.kind, KINDS),
    plan_id: record.planId == null ? null : checkPlanId(record.planId, `plan id of the ${where}`),
    model: record.model == null ? null : checkText(`model of the ${where}`, record.model, 256),
    fields: JSON.stringify(fields),
  };
}

export function appendTelemetry(
  db: StoreDb,
  device: string,
  records: readonly TelemetryInput[],
  cursor: number,
  lost: number,
): Result<AppendedTelemetry> {
  return db.call(`store the telemetry of ${quoted(String(device))}`, () => {
    const newCursor = checkCount('telemetry cursor', cursor);
    const newlyLost = checkCount('count of lost telemetry records', lost);
    if (!Array.isArray(records)) raise('E_USAGE', 'The telemetry records are not a list.');
    return db.write(() => {
      const id = deviceId(db, device);
      const insert = db.stmt(
        `INSERT INTO telemetry (device_id, seq, time, kind, plan_id, model, fields)
         VALUES (@device_id, @seq, @time, @kind, @plan_id, @model, @fields)
         ON CONFLICT (device_id, seq) DO NOTHING`,
      );
      let inserted = 0;
      // Checked one by one inside the transaction: a bad record rolls back the rows before it too.
      records.forEach((record, index) => {
        inserted += insert.run({ device_id: id, ...recordValues(device, record, index, newCursor) }).changes;
      });
      const stored = readCursor(db, id);
      // A batch that does not advance the cursor is a repeat (two pulls of the same device at once):
      // its rows were ignored above, and its `lost` was already counted by the first.
      if (newCursor <= stored.cursor) return { ...stored, inserted };
      db.stmt(
        `INSERT INTO telemetry_cursors (device_id, cursor, lost) VALUES (?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET cursor = excluded.cursor, lost = lost + excluded.lost`,
      ).run(id, newCursor, newlyLost);
      return { cursor: newCursor, lost: stored.lost + newlyLost, inserted };
    });
  });
}

export function telemetryCursor(db: StoreDb, device: string): Result<TelemetryCursor> {
  return db.call(`read the telemetry cursor of ${quoted(String(device))}`, () =>
    readCursor(db, deviceId(db, device)),
  );
}

export function queryTelemetry(db: StoreDb, device: string, query: TelemetryQuery): Result<TelemetryRow[]> {
  return db.call(`read the telemetry of ${quoted(String(device))}`, () => {
    const id = deviceId(db, device);
    const where = ['device_id = @id'];
    const params: Record<string, unknown> = { id, limit: checkCount('limit', query.limit ?? 1000, 1) };
    if (query.sinceTime !== undefined) {
      where.push('time >= @since');
      params['since'] = normalizeTime('start time', query.sinceTime);
    }
    if (query.model !== undefined) {
      where.push('model = @model');
      params['model'] = query.model;
    }
    if (query.kind !== undefined) {
      where.push('kind = @kind');
      params['kind'] = checkOneOf('telemetry kind', query.kind, KINDS);
    }
    const rows = db
      .stmt(`SELECT * FROM telemetry WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`)
      .all(params) as TelemetryDbRow[];
    return rows.reverse().map((row) => toRow(device, row));
  });
}

export function telemetrySummary(db: StoreDb, device: string): Result<TelemetrySummary> {
  return db.call(`summarise the telemetry of ${quoted(String(device))}`, () => {
    const id = deviceId(db, device);
    const counts = db
      .stmt('SELECT COUNT(*) AS rows, MAX(seq) AS last FROM telemetry WHERE device_id = ?')
      .get(id) as {
      rows: number;
      last: number | null;
    };
    const last =
      counts.last === null
        ? undefined
        : (db
            .stmt('SELECT time FROM telemetry WHERE device_id = ? AND seq = ?')
            .pluck()
            .get(id, counts.last) as string | undefined);
    // One index seek per model (walking the (device, model, seq) index from model to model), rather
    // than a GROUP BY join whose plan SQLite may pick badly without statistics.
    const nextModel = db.stmt('SELECT MIN(model) FROM telemetry WHERE device_id = ? AND model > ?').pluck();
    const latestOf = db.stmt(
      "SELECT * FROM telemetry WHERE device_id = ? AND model = ? AND kind = 'task' ORDER BY seq DESC LIMIT 1",
    );
    const latestTasks: TelemetryDbRow[] = [];
    for (
      let model = nextModel.get(id, '') as string | null;
      model !== null;
      model = nextModel.get(id, model) as string | null
    ) {
      const row = latestOf.get(id, model) as TelemetryDbRow | undefined;
      if (row !== undefined) latestTasks.push(row);
    }
    const latestDevice = db
      .stmt("SELECT * FROM telemetry WHERE device_id = ? AND kind = 'device' ORDER BY seq DESC LIMIT 1")
      .get(id) as TelemetryDbRow | undefined;
    return {
      device,
      ...readCursor(db, id),
      rows: counts.rows,
      lastTime: last ?? null,
      latestTasks: latestTasks.map((row) => toRow(device, row)),
      latestDevice: latestDevice === undefined ? null : toRow(device, latestDevice),
    };
  });
}
