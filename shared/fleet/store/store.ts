/**
 * The fleet store's facade: one object per open database, every method synchronous (better-sqlite3)
 * and returning a Result. The tables' code lives in devices.ts, plans.ts, rollouts.ts, telemetry.ts,
 * audit.ts and consistency.ts; this file only wires them to one connection.
 */
import { join } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { HEX64 } from '../../image/hash.ts';
import { audit, listAudit } from './audit.ts';
import { checkConsistency } from './consistency.ts';
import { openDatabase, type StoreDb } from './database.ts';
import {
  acceptHostKey,
  addDevice,
  getDevice,
  listDevices,
  markOffline,
  markSeen,
  removeDevice,
  setDevicePlans,
  updateDevice,
} from './devices.ts';
import { getPlan, listPlans, removePlan, savePlan } from './plans.ts';
import {
  createRollout,
  finishRollout,
  getRollout,
  listRollouts,
  recoverInterrupted,
  updateStep,
} from './rollouts.ts';
import { appendTelemetry, queryTelemetry, telemetryCursor, telemetrySummary } from './telemetry.ts';
import type {
  AppendedTelemetry,
  AuditEntry,
  AuditFilter,
  ConsistencyOptions,
  ConsistencyProblem,
  Device,
  DeviceFilter,
  DevicePatch,
  FinalRolloutState,
  NewAuditEntry,
  NewDevice,
  NewPlan,
  NewRollout,
  Plan,
  RecoveredRollouts,
  RolloutFilter,
  RolloutStep,
  RolloutWithSteps,
  Rollout,
  StepPatch,
  TelemetryCursor,
  TelemetryInput,
  TelemetryQuery,
  TelemetryRow,
  TelemetrySummary,
} from './types.ts';

export interface FleetStoreOptions {
  /**
   * Where the store keeps its copies of rolled-out bundles. Default: `<folder of the database>/bundles`;
   * an in-memory store has none unless given one.
   */
  readonly bundlesDir?: string;
  /** How long a write waits for another connection's lock before failing as busy (default 5000 ms). */
  readonly busyTimeoutMs?: number;
}

export class FleetStore {
  /** The database file (':memory:' for an in-memory store). */
  readonly path: string;
  /** The folder of bundle copies; null for an in-memory store opened without one. */
  readonly bundlesDir: string | null;
  readonly #db: StoreDb;

  constructor(db: StoreDb, bundlesDir: string | null) {
    this.#db = db;
    this.path = db.path;
    this.bundlesDir = bundlesDir;
  }

  /** The schema version of the open database. */
  get schemaVersion(): number {
    return this.#db.schemaVersion;
  }

  // Devices -----------------------------------------------------------------------------------------
  addDevice(device: NewDevice): Result<Device> {
    return addDevice(this.#db, device);
  }
  getDevice(name: string): Result<Device> {
    return getDevice(this.#db, name);
  }
  listDevices(filter: DeviceFilter = {}): Result<Device[]> {
    return listDevices(this.#db, filter);
  }
  updateDevice(name: string, patch: DevicePatch): Result<Device> {
    return updateDevice(this.#db, name, patch);
  }
  /** Pins `fingerprint` as the device's host key (and clears the probed one). */
  acceptHostKey(name: string, fingerprint: string): Result<Device> {
    return acceptHostKey(this.#db, name, fingerprint);
  }
  /** Removes the device with its tags, telemetry and cursor; rollout history keeps its name. */
  removeDevice(name: string): Result<void> {
    return removeDevice(this.#db, name);
  }
  /** The device answered: status 'online' (unless 'new'), lastSeen = time, reason cleared. */
  markSeen(name: string, time: string = nowIso()): Result<Device> {
    return markSeen(this.#db, name, time);
  }
  /** The device did not answer: status 'offline' with the reason (one sentence). */
  markOffline(name: string, reason: string): Result<Device> {
    return markOffline(this.#db, name, reason);
  }
  /** Records the plans as the device's agent reports them. */
  setDevicePlans(name: string, activePlan: string | null, previousPlan: string | null): Result<Device> {
    return setDevicePlans(this.#db, name, activePlan, previousPlan);
  }

  // Plans -------------------------------------------------------------------------------------------
  /** Inserts the plan, or updates name, bundle path, summary and health of a known id (createdAt kept). */
  savePlan(plan: NewPlan): Result<Plan> {
    return savePlan(this.#db, plan);
  }
  getPlan(id: string): Result<Plan> {
    return getPlan(this.#db, id);
  }
  /** Newest first. */
  listPlans(): Result<Plan[]> {
    return listPlans(this.#db);
  }
  /** Refused while a rollout refers to the plan. The bundle copy on disk is the caller's to delete. */
  removePlan(id: string): Result<void> {
    return removePlan(this.#db, id);
  }
  /** Where the store keeps its copy of a plan's bundle: `<bundlesDir>/<planId>/`. */
  bundleDirFor(planId: string): Result<string> {
    if (!HEX64.test(planId)) {
      return fail('E_USAGE', `"${planId}" is not a plan id.`, 'A plan id is 64 lower-case hex digits.');
    }
    if (this.bundlesDir === null) {
      return fail(
        'E_STORE',
        'This in-memory fleet store has no folder for bundle copies.',
        'Open it with openFleetStore(":memory:", { bundlesDir }).',
      );
    }
    return ok(join(this.bundlesDir, planId));
  }

  // Rollouts ----------------------------------------------------------------------------------------
  /** A new 'running' rollout with one 'pending' step per device. */
  createRollout(rollout: NewRollout): Result<RolloutWithSteps> {
    return createRollout(this.#db, rollout);
  }
  getRollout(id: number): Result<RolloutWithSteps> {
    return getRollout(this.#db, id);
  }
  listRollouts(filter: RolloutFilter = {}): Result<Rollout[]> {
    return listRollouts(this.#db, filter);
  }
  updateStep(rolloutId: number, device: string, patch: StepPatch): Result<RolloutStep> {
    return updateStep(this.#db, rolloutId, device, patch);
  }
  /**
   * Ends a running rollout. In the same transaction, steps still 'pending' become 'skipped' (their wave
   * never started) and steps under way become 'cancelled', each with endedAt, so the rollout is final.
   */
  finishRollout(
    id: number,
    state: FinalRolloutState,
    reason: string | null,
    endedAt: string = nowIso(),
  ): Result<RolloutWithSteps> {
    return finishRollout(this.#db, id, state, reason, endedAt);
  }
  /**
   * After a crash: rollouts still 'running' become 'interrupted' and their unfinished steps
   * 'cancelled'. Call when no rollout of this store runs (the CLI calls it at start), or name the ones
   * this process runs in `options.runningRollouts`.
   */
  recoverInterrupted(now: string = nowIso(), options: ConsistencyOptions = {}): Result<RecoveredRollouts> {
    return recoverInterrupted(this.#db, now, options.runningRollouts ?? []);
  }

  // Telemetry ---------------------------------------------------------------------------------------
  /**
   * Stores a batch and the device's new cursor in ONE transaction: either all of it or nothing.
   * Records already stored (same device and seq) are skipped; `lost` is added to the device's count.
   */
  appendTelemetry(
    device: string,
    records: readonly TelemetryInput[],
    cursor: number,
    lost: number,
  ): Result<AppendedTelemetry> {
    return appendTelemetry(this.#db, device, records, cursor, lost);
  }
  telemetryCursor(device: string): Result<TelemetryCursor> {
    return telemetryCursor(this.#db, device);
  }
  queryTelemetry(device: string, query: TelemetryQuery = {}): Result<TelemetryRow[]> {
    return queryTelemetry(this.#db, device, query);
  }
  telemetrySummary(device: string): Result<TelemetrySummary> {
    return telemetrySummary(this.#db, device);
  }

  // Audit -------------------------------------------------------------------------------------------
  audit(entry: NewAuditEntry): Result<AuditEntry> {
    return audit(this.#db, entry);
  }
  listAudit(filter: AuditFilter = {}): Result<AuditEntry[]> {
    return listAudit(this.#db, filter);
  }

  // Invariants --------------------------------------------------------------------------------------
  /** The problems that break the store's final-state rules; empty when it is consistent. */
  checkConsistency(options: ConsistencyOptions = {}): Result<ConsistencyProblem[]> {
    return checkConsistency(this.#db, options);
  }

  /** Closes the connection; the object must not be used afterwards. */
  close(): void {
    this.#db.close();
  }
}

/**
 * Opens (creating when absent, with its folder) the store at `path`, or an in-memory one for ':memory:',
 * and brings its schema up to date.
 */
export function openFleetStore(path: string, options: FleetStoreOptions = {}): Result<FleetStore> {
  const db = openDatabase(path, options.busyTimeoutMs);
  if (!db.ok) return db;
  const bundlesDir = options.bundlesDir ?? (path === ':memory:' ? null : join(db.value.dir, 'bundles'));
  return ok(new FleetStore(db.value, bundlesDir));
}

export function nowIso(): string {
  return new Date().toISOString();
}
