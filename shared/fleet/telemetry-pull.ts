/**
 * Pulling telemetry from devices into the store by cursor: per device, `telemetry --since <cursor>`
 * in batches until the agent says there is no more, each batch written with its new cursor in one
 * store transaction — so a pull cut short anywhere resumes where the store says, and nothing is
 * stored twice or skipped. A device that does not answer is marked offline and tried again next pull.
 */
import { ok, type Result, type WsepError } from '../core/errors.ts';
import { noProgress, type ProgressSink } from '../core/progress.ts';
import { isUnreachable, withDevice } from './device-link.ts';
import type { FleetStore } from './store/store.ts';
import type { Device } from './store/types.ts';
import { runPool } from './waves.ts';

/**
 * Records per batch the app asks for. Each batch is one remote command (an SSH session setup, about
 * as dear as thousands of rows), and a device keeps about 10,000 records by default (8 segments of
 * 256 KiB), so one batch takes a whole backlog: about 4 MB of JSON, well under the exec output limit.
 */
export const DEFAULT_TELEMETRY_BATCH = 20_000;

export interface PullOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
  readonly batch?: number;
  /** Devices pulled at once. */
  readonly concurrency?: number;
  readonly connectTimeoutMs?: number;
}

export interface DevicePull {
  readonly device: string;
  readonly ok: boolean;
  /** Records received and rows newly stored. */
  readonly records: number;
  readonly inserted: number;
  readonly batches: number;
  /** The stored cursor after the pull, and records the device rotated away unread (total). */
  readonly cursor: number;
  readonly lost: number;
  readonly error: WsepError | null;
  readonly wallMs: number;
  /** Of wallMs: the agent's `telemetry` commands, and the store's transactions (the rest is connecting). */
  readonly fetchMs: number;
  readonly storeMs: number;
}

export interface PullReport {
  readonly devices: readonly DevicePull[];
  readonly records: number;
  readonly inserted: number;
  readonly wallMs: number;
  /** Rows stored per second of wall time. */
  readonly rowsPerSecond: number;
}

async function pullDevice(
  store: FleetStore,
  device: Device,
  options: PullOptions,
  signal: AbortSignal,
): Promise<DevicePull> {
  const started = performance.now();
  const progress = options.progress ?? noProgress;
  let records = 0;
  let inserted = 0;
  let batches = 0;
  let fetchMs = 0;
  let storeMs = 0;
  const result = await withDevice(
    device,
    {
      signal,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    },
    async (_connection, agent) => {
      for (;;) {
        const cursor = store.telemetryCursor(device.name);
        if (!cursor.ok) return cursor;
        const t0 = performance.now();
        const batch = await agent.telemetry(cursor.value.cursor, options.batch ?? DEFAULT_TELEMETRY_BATCH, {
          signal,
        });
        const t1 = performance.now();
        fetchMs += t1 - t0;
        if (!batch.ok) return batch;
        const stored = store.appendTelemetry(
          device.name,
          batch.value.records,
          batch.value.cursor,
          batch.value.lost,
        );
        storeMs += performance.now() - t1;
        if (!stored.ok) return stored;
        batches += 1;
        records += batch.value.records.length;
        inserted += stored.value.inserted;
        progress({
          stage: 'telemetry',
          task: device.name,
          step: records,
          fraction: batch.value.more ? 0.5 : 1,
          message: `${records} records`,
        });
        if (!batch.value.more || batch.value.records.length === 0) return ok(stored.value);
      }
    },
  );
  const cursor = store.telemetryCursor(device.name);
  const at = cursor.ok ? cursor.value : { cursor: 0, lost: 0 };
  if (result.ok) store.markSeen(device.name);
  else if (isUnreachable(result.error)) store.markOffline(device.name, result.error.message);
  return {
    device: device.name,
    ok: result.ok,
    records,
    inserted,
    batches,
    cursor: at.cursor,
    lost: at.lost,
    error: result.ok ? null : result.error,
    wallMs: performance.now() - started,
    fetchMs,
    storeMs,
  };
}

/** Pulls every named device (all registered devices when `names` is empty). */
export async function pullTelemetry(
  store: FleetStore,
  names: readonly string[],
  options: PullOptions = {},
): Promise<Result<PullReport>> {
  const started = performance.now();
  let devices: Device[];
  if (names.length === 0) {
    const all = store.listDevices();
    if (!all.ok) return all;
    // Devices never provisioned have no agent to ask.
    devices = all.value.filter((d) => d.status !== 'new' && d.hostKeyFingerprint !== null);
  } else {
    devices = [];
    for (const name of names) {
      const found = store.getDevice(name);
      if (!found.ok) return found;
      devices.push(found.value);
    }
  }
  const pooled = await runPool(
    devices,
    async (device, { signal }) => ok(await pullDevice(store, device, options, signal)),
    {
      concurrency: options.concurrency ?? 4,
      retries: 0,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const pulls = pooled.map((p): DevicePull =>
    p.started && p.result.ok
      ? p.result.value
      : {
          device: p.item.name,
          ok: false,
          records: 0,
          inserted: 0,
          batches: 0,
          cursor: 0,
          lost: 0,
          error:
            p.started && !p.result.ok
              ? p.result.error
              : { code: 'E_CANCELLED', message: 'The pull was cancelled.' },
          wallMs: 0,
          fetchMs: 0,
          storeMs: 0,
        },
  );
  const wallMs = performance.now() - started;
  const inserted = pulls.reduce((s, p) => s + p.inserted, 0);
  return ok({
    devices: pulls,
    records: pulls.reduce((s, p) => s + p.records, 0),
    inserted,
    wallMs,
    rowsPerSecond: wallMs > 0 ? (inserted * 1000) / wallMs : 0,
  });
}
