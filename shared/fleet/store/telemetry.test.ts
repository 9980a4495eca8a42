import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { openFleetStore, type FleetStore } from './store.ts';
import { fakePlanId, newDevice, rawConnection } from './testing.ts';
import type { TelemetryInput } from './types.ts';

const PLAN = fakePlanId('telemetry');
const DEVICE = "edge 'one'; $(id)";

/** Records shaped as the agent writes them: a task record per model and a device record, in turn. */
function records(from: number, count: number): TelemetryInput[] {
  const out: TelemetryInput[] = [];
  for (let seq = from; seq < from + count; seq += 1) {
    const time = new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString();
    if (seq % 3 === 0) {
      out.push({
        seq,
        time,
        kind: 'device',
        planId: PLAN,
        level1ResidentBytes: 1000 + seq,
        level2BytesRead: 10 * seq,
        rssBytes: 5e7,
        errors: 0,
      } as TelemetryInput);
    } else {
      out.push({
        seq,
        time,
        kind: 'task',
        planId: PLAN,
        model: seq % 3 === 1 ? 'mnist' : 'fashion',
        window: 16,
        samples: 16,
        accuracy: 0.9 + seq / 1e4,
        switchMs: 1.5,
        inferMs: 0.25,
      } as TelemetryInput);
    }
  }
  return out;
}

describe('telemetry rows and cursors', () => {
  let store: FleetStore;
  beforeEach(() => {
    store = unwrap(openFleetStore(':memory:'));
    unwrap(store.addDevice(newDevice(DEVICE)));
    unwrap(store.addDevice(newDevice('other')));
  });
  afterEach(() => store.close());

  it('starts at cursor 0 and stores a batch with its cursor, fields round-tripped', () => {
    expect(unwrap(store.telemetryCursor(DEVICE))).toEqual({ cursor: 0, lost: 0 });
    const batch = records(1, 6);
    expect(unwrap(store.appendTelemetry(DEVICE, batch, 6, 0))).toEqual({ cursor: 6, lost: 0, inserted: 6 });
    expect(unwrap(store.telemetryCursor(DEVICE))).toEqual({ cursor: 6, lost: 0 });
    const rows = unwrap(store.queryTelemetry(DEVICE));
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows[0]).toEqual({
      device: DEVICE,
      seq: 1,
      time: '2025-01-01T00:00:01.000Z',
      kind: 'task',
      planId: PLAN,
      model: 'mnist',
      fields: { window: 16, samples: 16, accuracy: 0.9001, switchMs: 1.5, inferMs: 0.25 },
    });
    expect(rows[2]).toMatchObject({
      kind: 'device',
      model: null,
      fields: { level1ResidentBytes: 1003, level2BytesRead: 30, rssBytes: 5e7, errors: 0 },
    });
    expect(unwrap(store.queryTelemetry('other'))).toEqual([]);
  });

  it('is idempotent on (device, seq), and a repeated batch does not count its losses twice', () => {
    unwrap(store.appendTelemetry(DEVICE, records(1, 4), 4, 2));
    expect(unwrap(store.appendTelemetry(DEVICE, records(1, 4), 4, 2))).toEqual({
      cursor: 4,
      lost: 2,
      inserted: 0,
    });
    // An overlapping batch: only the new records are written.
    expect(unwrap(store.appendTelemetry(DEVICE, records(3, 4), 6, 1))).toEqual({
      cursor: 6,
      lost: 3,
      inserted: 2,
    });
    expect(unwrap(store.queryTelemetry(DEVICE)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // The same seq on another device is another row.
    expect(unwrap(store.appendTelemetry('other', records(1, 4), 4, 0)).inserted).toBe(4);
  });

  it('moves the cursor on an empty batch (records rotated away are counted as lost)', () => {
    expect(unwrap(store.appendTelemetry(DEVICE, [], 40, 40))).toEqual({ cursor: 40, lost: 40, inserted: 0 });
    expect(unwrap(store.telemetryCursor(DEVICE))).toEqual({ cursor: 40, lost: 40 });
  });

  it('writes nothing, neither rows nor cursor, when a record in the middle is invalid', () => {
    unwrap(store.appendTelemetry(DEVICE, records(1, 3), 3, 1));
    const bad = [...records(4, 5)];
    bad.splice(3, 0, { seq: 7.5, time: 'x', kind: 'task' } as TelemetryInput);
    const failure = failureOf(store.appendTelemetry(DEVICE, bad, 9, 4));
    expect(failure.code).toBe('E_USAGE');
    expect(failure.message).toBe(
      `The seq of the telemetry record 3 of ${JSON.stringify(DEVICE)} (7.5) is not valid.`,
    );
    expect(unwrap(store.telemetryCursor(DEVICE))).toEqual({ cursor: 3, lost: 1 });
    expect(unwrap(store.queryTelemetry(DEVICE)).map((r) => r.seq)).toEqual([1, 2, 3]);

    const badKind = [...records(4, 3), { seq: 7, time: Date.UTC(2025, 0, 2), kind: 'weather' } as never];
    expect(failureOf(store.appendTelemetry(DEVICE, badKind, 7, 0)).message).toMatch(
      /kind of the telemetry record 3/,
    );
    expect(unwrap(store.telemetryCursor(DEVICE)).cursor).toBe(3);
  });

  it('refuses a record beyond the batch cursor, a bad cursor and an unknown device', () => {
    expect(failureOf(store.appendTelemetry(DEVICE, records(1, 3), 2, 0)).message).toMatch(
      /has seq 3, beyond the batch's cursor 2/,
    );
    expect(failureOf(store.appendTelemetry(DEVICE, [], -1, 0)).code).toBe('E_USAGE');
    expect(failureOf(store.appendTelemetry(DEVICE, [], 1, -1)).code).toBe('E_USAGE');
    expect(failureOf(store.appendTelemetry('ghost', records(1, 1), 1, 0)).code).toBe('E_NOT_FOUND');
    expect(unwrap(store.queryTelemetry(DEVICE))).toEqual([]);
  });

  it('accepts times as epoch milliseconds and stores them as ISO text', () => {
    const ms = Date.UTC(2025, 4, 6, 7, 8, 9, 10);
    unwrap(store.appendTelemetry(DEVICE, [{ seq: 1, time: ms, kind: 'device', planId: null }], 1, 0));
    expect(unwrap(store.queryTelemetry(DEVICE))[0]?.time).toBe('2025-05-06T07:08:09.010Z');
  });

  it('queries by time, model, kind and limit (the newest rows, oldest first)', () => {
    unwrap(store.appendTelemetry(DEVICE, records(1, 30), 30, 0));
    const since = unwrap(store.queryTelemetry(DEVICE, { sinceTime: '2025-01-01T00:00:25.000Z' }));
    expect(since.map((r) => r.seq)).toEqual([25, 26, 27, 28, 29, 30]);
    const mnist = unwrap(store.queryTelemetry(DEVICE, { model: 'mnist', limit: 3 }));
    expect(mnist.map((r) => r.seq)).toEqual([22, 25, 28]);
    const device = unwrap(store.queryTelemetry(DEVICE, { kind: 'device' }));
    expect(device.every((r) => r.kind === 'device')).toBe(true);
    expect(device).toHaveLength(10);
    expect(failureOf(store.queryTelemetry(DEVICE, { sinceTime: 'soon' })).code).toBe('E_USAGE');
  });

  it('summarises: cursor, losses, row count and the newest row per model and of the device', () => {
    expect(unwrap(store.telemetrySummary(DEVICE))).toEqual({
      device: DEVICE,
      cursor: 0,
      lost: 0,
      rows: 0,
      lastTime: null,
      latestTasks: [],
      latestDevice: null,
    });
    unwrap(store.appendTelemetry(DEVICE, records(1, 10), 10, 5));
    const summary = unwrap(store.telemetrySummary(DEVICE));
    expect(summary).toMatchObject({ cursor: 10, lost: 5, rows: 10, lastTime: '2025-01-01T00:00:10.000Z' });
    expect(summary.latestTasks.map((r) => [r.model, r.seq])).toEqual([
      ['fashion', 8],
      ['mnist', 10],
    ]);
    expect(summary.latestDevice?.seq).toBe(9);
  });
});

describe('stored telemetry', () => {
  it('survives a reopen, and a damaged fields column reads as E_STORE', () => {
    const path = join(testTempDir('store-telemetry'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    unwrap(store.addDevice(newDevice('d')));
    unwrap(store.appendTelemetry('d', records(1, 5), 5, 0));
    store.close();
    const again = unwrap(openFleetStore(path));
    try {
      expect(unwrap(again.telemetryCursor('d'))).toEqual({ cursor: 5, lost: 0 });
      expect(unwrap(again.queryTelemetry('d'))).toHaveLength(5);
      const raw = rawConnection(path);
      raw.prepare("UPDATE telemetry SET fields = '[1, 2]' WHERE seq = 4").run();
      raw.close();
      const failure = failureOf(again.queryTelemetry('d'));
      expect(failure.code).toBe('E_STORE');
      expect(failure.message).toBe(
        'The fleet store\'s telemetry row "d"#4 has an unreadable fields column: it is not a JSON object.',
      );
    } finally {
      again.close();
    }
  });
});

describe('a large telemetry table', () => {
  // Speed itself is measured in the bench; here the plans are pinned, because a GROUP BY join that
  // SQLite planned without statistics once took minutes on 20k rows.
  it('summarises and queries by index, never by scanning the table', () => {
    const path = join(testTempDir('store-telemetry-large'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      unwrap(store.addDevice(newDevice('busy')));
      for (let from = 1; from <= 20_000; from += 2000) {
        unwrap(store.appendTelemetry('busy', records(from, 2000), from + 1999, 0));
      }
      const summary = unwrap(store.telemetrySummary('busy'));
      unwrap(store.queryTelemetry('busy', { model: 'mnist', limit: 100 }));
      unwrap(store.checkConsistency());
      const raw = rawConnection(path);
      const plan = (sql: string): string =>
        (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1, 'mnist') as { detail: string }[])
          .map((r) => r.detail)
          .join('; ');
      const latest = plan(
        "SELECT * FROM telemetry WHERE device_id = ? AND model = ? AND kind = 'task' ORDER BY seq DESC LIMIT 1",
      );
      const next = plan('SELECT MIN(model) FROM telemetry WHERE device_id = ? AND model > ?');
      raw.close();
      for (const detail of [latest, next]) {
        expect(detail).toMatch(/USING (COVERING )?INDEX/);
        expect(detail).not.toMatch(/SCAN telemetry(?! USING)/);
      }
      expect(summary).toMatchObject({ rows: 20_000, cursor: 20_000 });
      expect(summary.latestTasks.map((r) => [r.model, r.seq])).toEqual([
        ['fashion', 20_000],
        ['mnist', 19_999],
      ]);
    } finally {
      store.close();
    }
  });
});
