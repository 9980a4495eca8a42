/**
 * The contract's one implementation (contract.ts `WsepApi`), over the fleet store and the engine's
 * functions: both transports — Electron IPC and the server mode — dispatch to this object
 * (dispatch.ts). Quick reads and writes run here on the store; long work (provisioning, rollouts,
 * rollbacks, telemetry pulls, planning) runs as jobs in worker threads (jobs.ts), each opening the
 * store by its path, and what changed is announced as events to every subscriber.
 *
 * The app data folder holds everything the app writes: `fleet.db` (the store) with `bundles/` (its
 * copies of rolled-out plans), `plans/` (plans computed in the app), `models/` and `data/` (the
 * user's own models and task data).
 */
import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { DEFAULT_DATA_ROOT } from '../datasets/load.ts';
import { withDevice } from '../fleet/device-link.ts';
import { runFleetJob, type StoreRef } from '../fleet/fleet-service.ts';
import { probeHostKey } from '../fleet/ssh/connection.ts';
import { isFingerprint } from '../fleet/ssh/host-key.ts';
import { openFleetStore, type FleetStore } from '../fleet/store/store.ts';
import { DEVICE_KINDS, type Device, type DeviceKind } from '../fleet/store/types.ts';
import { listDatasets, listModels, ZOO_DIR } from './catalog.ts';
import {
  API_VERSION,
  type AccuracyAlert,
  type ApiEvent,
  type Job,
  type PlanRequest,
  type RegisterDeviceInput,
  type RolloutInput,
  type TelemetryQueryInput,
  type ApiChannels,
} from './contract.ts';
import type { ProgressSink } from '../core/progress.ts';
import type { ServiceHandlers } from '../core/service-calls.ts';
import { JobRegistry } from './jobs.ts';
import { runPlanJob } from './plan-job.ts';
import { findPlan, listPlans, pageMapOf, readManifest } from './plans.ts';

/** Where the agent lives on a device when the register form leaves it empty (as `wsep devices add`). */
export const DEFAULT_DEVICE_ROOT = '/opt/wsep';
/** How long connecting to a device may take before it counts as unreachable. */
export const APP_CONNECT_TIMEOUT_MS = 10_000;

/** The contract implemented: per command, a handler that answers its value or a Result of it. */
export type ApiHandlers = ServiceHandlers<ApiChannels>;

export interface ApiServiceOptions {
  /** The app data folder (made when missing). */
  readonly dataDir: string;
  readonly transport: 'server' | 'electron';
  /** Further folders whose bundles the Plans page lists (e.g. the repository's plans/). */
  readonly plansDirs?: readonly string[];
  /** Where relative key paths are resolved (default: the process's working folder). */
  readonly cwd?: string;
  readonly version?: string;
  /** True when a demo fleet was started for this run (appInfo says so). */
  readonly demoFleet?: boolean;
  readonly connectTimeoutMs?: number;
  /** Pull every provisioned device's telemetry this often (0 or absent: only when asked). */
  readonly pullEverySeconds?: number;
}

export interface ApiService {
  /**
   * The contract's handlers: each answers its value or a failed Result; transports reach them through
   * dispatch.ts, which unwraps the Results (core/service-calls.ts `dispatch`).
   */
  readonly api: ApiHandlers;
  readonly store: FleetStore;
  readonly dataDir: string;
  /** Every event the app sends; answers the function that unsubscribes. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  /** Cancels running jobs, waits for them, and closes the store. */
  close(): Promise<void>;
}

/** The app data folder's parts. */
export function appPaths(dataDir: string) {
  return {
    store: join(dataDir, 'fleet.db'),
    plans: join(dataDir, 'plans'),
    models: join(dataDir, 'models'),
    data: join(dataDir, 'data'),
  };
}

// ---- Checks of what arrived over the wire (no compiler has seen it) ----

function usage(message: string): Result<never> {
  return fail('E_USAGE', message);
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function isWhole(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

function checkRegister(input: RegisterDeviceInput): Result<RegisterDeviceInput> {
  if (typeof input !== 'object' || input === null) return usage('Registering a device needs its details.');
  if (!isText(input.name)) return usage('A device needs a name.');
  if (!isText(input.host)) return usage(`Device "${input.name}" needs a host name or address.`);
  if (!isText(input.keyPath)) return usage(`Device "${input.name}" needs the path of your SSH private key.`);
  if (input.port !== undefined && !(isWhole(input.port, 1) && input.port <= 65535))
    return usage(`The SSH port must be a whole number from 1 to 65535, got ${String(input.port)}.`);
  if (input.kind !== undefined && !(DEVICE_KINDS as readonly unknown[]).includes(input.kind))
    return usage(`The kind must be one of ${DEVICE_KINDS.join(', ')}, got "${String(input.kind)}".`);
  if (
    input.tags !== undefined &&
    !(Array.isArray(input.tags) && input.tags.every((t) => typeof t === 'string'))
  )
    return usage('Tags must be a list of texts.');
  return ok(input);
}

export function createApiService(options: ApiServiceOptions): Result<ApiService> {
  const dataDir = resolve(options.dataDir);
  const paths = appPaths(dataDir);
  try {
    for (const dir of [dataDir, paths.plans, paths.models]) mkdirSync(dir, { recursive: true });
  } catch (thrown) {
    return fail('E_IO', `Cannot make the app data folder ${dataDir}: ${(thrown as Error).message}`);
  }
  const opened = openFleetStore(paths.store);
  if (!opened.ok) return opened;
  const store = opened.value;
  // Rollouts left 'running' by an app or CLI process that ended are marked interrupted, as the CLI does.
  store.recoverInterrupted();

  const cwd = options.cwd ?? process.cwd();
  const connectTimeoutMs = options.connectTimeoutMs ?? APP_CONNECT_TIMEOUT_MS;
  const storeRef: StoreRef = { path: store.path };

  const plansDirs = [paths.plans, ...(options.plansDirs ?? [])];
  const dataRoots = [paths.data, DEFAULT_DATA_ROOT];
  const listeners = new Set<(event: ApiEvent) => void>();
  const emit = (event: ApiEvent) => {
    for (const listener of listeners) listener(event);
  };
  const jobs = new JobRegistry(emit);
  const deviceChanged = (device: string) => emit({ type: 'devices.changed', device });

  /**
   * Passes a rollout's progress on, and announces the rollout once its first device starts: the worker
   * creates the rollout in the store, so the history can show it while it runs, not only when it ends.
   */
  const announceStart = (progress: ProgressSink, planId: string): ProgressSink => {
    let announced = false;
    return (event) => {
      if (!announced && event.task !== undefined) {
        const running = store.listRollouts({ state: 'running', limit: 20 });
        const mine = running.ok ? running.value.find((r) => r.planId === planId) : undefined;
        if (mine !== undefined) {
          announced = true;
          emit({ type: 'rollout.changed', rolloutId: mine.id });
        }
      }
      progress(event);
    };
  };

  const getDevice = (name: unknown): Result<Device> =>
    isText(name) ? store.getDevice(name) : usage('Which device? A device name is needed.');

  const startPull = (devices: readonly string[]): Job<'telemetryPull'> =>
    jobs.start(
      'telemetryPull',
      devices.length > 0 ? devices.join(', ') : 'all devices',
      async (w) => {
        const pulled = await runFleetJob(
          'telemetryPull',
          { store: storeRef, devices, connectTimeoutMs },
          { signal: w.signal, progress: w.progress },
        );
        if (!pulled.ok) return pulled;
        return ok({
          inserted: pulled.value.inserted,
          devices: pulled.value.devices.map((d) => ({
            device: d.device,
            ok: d.ok,
            inserted: d.inserted,
            error: d.error,
          })),
        });
      },
      (result) => {
        for (const d of result.devices) {
          if (d.inserted > 0) emit({ type: 'telemetry.arrived', device: d.device, inserted: d.inserted });
          deviceChanged(d.device);
        }
      },
    );

  const api: ApiHandlers = {
    async appInfo() {
      return {
        apiVersion: API_VERSION,
        version: options.version ?? '0.0.0',
        transport: options.transport,
        dataDir,
        storePath: store.path,
        demoFleet: options.demoFleet ?? false,
      };
    },

    // ---- Devices ----

    async listDevices() {
      return store.listDevices();
    },

    async getDevice(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      const rollouts = store.listRollouts({ device: device.value.name, limit: 10 });
      if (!rollouts.ok) return rollouts;
      const telemetry = store.telemetrySummary(device.value.name);
      if (!telemetry.ok) return telemetry;
      return { device: device.value, rollouts: rollouts.value, telemetry: telemetry.value };
    },

    async registerDevice(given) {
      const checked = checkRegister(given);
      if (!checked.ok) return checked;
      const input = checked.value;
      const port = input.port ?? 22;
      const user = isText(input.user) ? input.user : osUser();
      const probe = await probeHostKey({ host: input.host, port, user, connectTimeoutMs });
      const added = store.addDevice({
        name: input.name.trim(),
        kind: (input.kind ?? 'linux') as DeviceKind,
        host: input.host.trim(),
        port,
        user,
        keyPath: isAbsolute(input.keyPath) ? input.keyPath : resolve(cwd, input.keyPath),
        root: isText(input.root) ? input.root : DEFAULT_DEVICE_ROOT,
        nodePath: isText(input.nodePath) ? input.nodePath : 'node',
        probedHostKeyFingerprint: probe.ok ? probe.value.fingerprint : null,
        tags: [...new Set((input.tags ?? []).map((t) => t.trim()).filter((t) => t !== ''))],
      });
      if (!added.ok) return added;
      store.audit({
        action: 'device.add',
        target: added.value.name,
        outcome: 'ok',
        detail: { host: input.host, port, user, presented: probe.ok ? probe.value.fingerprint : null },
      });
      deviceChanged(added.value.name);
      return {
        device: added.value,
        presented: probe.ok ? { keyType: probe.value.keyType, fingerprint: probe.value.fingerprint } : null,
        probeError: probe.ok ? null : probe.error,
      };
    },

    async probeHostKey(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      const probe = await probeHostKey({ ...device.value, connectTimeoutMs });
      if (!probe.ok) return probe;
      const updated = store.updateDevice(device.value.name, {
        probedHostKeyFingerprint: probe.value.fingerprint,
      });
      if (!updated.ok) return updated;
      deviceChanged(device.value.name);
      return {
        device: updated.value,
        presented: { keyType: probe.value.keyType, fingerprint: probe.value.fingerprint },
        matchesAccepted: probe.value.fingerprint === device.value.hostKeyFingerprint,
      };
    },

    async acceptHostKey(name, fingerprint) {
      const device = getDevice(name);
      if (!device.ok) return device;
      if (typeof fingerprint !== 'string' || !isFingerprint(fingerprint))
        return usage(`"${String(fingerprint)}" is not a SHA256:… fingerprint.`);
      // Look again: the key accepted must be the one the device presents now, and the one shown.
      const probe = await probeHostKey({ ...device.value, connectTimeoutMs });
      if (!probe.ok) return probe;
      const presented = probe.value.fingerprint;
      if (presented !== fingerprint) {
        store.updateDevice(device.value.name, { probedHostKeyFingerprint: presented });
        store.audit({
          action: 'device.accept-key',
          target: device.value.name,
          outcome: 'refused',
          detail: { given: fingerprint, presented },
        });
        deviceChanged(device.value.name);
        return fail(
          'E_SSH_HOST_CHANGED',
          `Device "${device.value.name}" presents ${presented}, not the fingerprint you confirmed (${fingerprint}); nothing was accepted.`,
          'Check the fingerprint on the device itself; a different key may mean something else answers at that address.',
          { given: fingerprint, presented },
        );
      }
      if (presented === device.value.hostKeyFingerprint) return device.value;
      const accepted = store.acceptHostKey(device.value.name, presented);
      if (!accepted.ok) return accepted;
      store.audit({
        action: 'device.accept-key',
        target: device.value.name,
        outcome: 'ok',
        detail: { fingerprint: presented, replaced: device.value.hostKeyFingerprint },
      });
      deviceChanged(device.value.name);
      return accepted.value;
    },

    async removeDevice(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      const removed = store.removeDevice(device.value.name);
      if (!removed.ok) return removed;
      store.audit({ action: 'device.remove', target: device.value.name, outcome: 'ok' });
      deviceChanged(device.value.name);
      return { removed: device.value.name };
    },

    async provisionDevice(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      const subject = device.value.name;
      if (jobs.busy('provision', subject))
        return fail('E_USAGE', `Device "${subject}" is being provisioned already.`);
      return jobs.start(
        'provision',
        subject,
        async (w) => {
          const done = await runFleetJob(
            'provision',
            { store: storeRef, device: subject, connectTimeoutMs },
            { signal: w.signal, progress: w.progress },
          );
          if (!done.ok) return done;
          const after = store.getDevice(subject);
          return after.ok ? ok({ device: after.value }) : after;
        },
        () => deviceChanged(subject),
      );
    },

    async startWorkload(name, intervalMs) {
      const device = getDevice(name);
      if (!device.ok) return device;
      if (intervalMs !== undefined && !isWhole(intervalMs, 100))
        return usage('The workload interval must be a whole number of milliseconds ≥ 100.');
      const started = await withDevice(device.value, { connectTimeoutMs }, (_c, agent) =>
        agent.start(intervalMs),
      );
      if (!started.ok) return started;
      return {
        device: device.value.name,
        pid: started.value.pid,
        alreadyRunning: started.value.alreadyRunning,
      };
    },

    async stopWorkload(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      const stopped = await withDevice(device.value, { connectTimeoutMs }, (_c, agent) => agent.stop());
      if (!stopped.ok) return stopped;
      return { device: device.value.name, stopped: stopped.value.stopped };
    },

    // ---- Plans, models and data ----

    async listPlans() {
      return listPlans(plansDirs, store);
    },

    async getPlan(id) {
      if (!isText(id)) return usage('Which plan? A plan id is needed.');
      return findPlan(plansDirs, store, id);
    },

    async pageMap(id) {
      if (!isText(id)) return usage('Which plan? A plan id is needed.');
      const plan = findPlan(plansDirs, store, id);
      if (!plan.ok) return plan;
      const manifest = readManifest(plan.value.path);
      if (!manifest.ok) return manifest;
      return pageMapOf(manifest.value);
    },

    async computePlan(request: PlanRequest) {
      if (typeof request !== 'object' || request === null) return usage('Planning needs its budgets.');
      if (!isWhole(request.l1Bytes, 1) || !isWhole(request.l2Bytes, 0))
        return usage('The level-1 budget must be a whole number of bytes > 0, and level 2 ≥ 0.');
      if (request.pageSize !== undefined && !isWhole(request.pageSize, 1))
        return usage('The page size must be a whole number of values > 0.');
      if (request.steps !== undefined && !isWhole(request.steps, 1))
        return usage('The number of steps must be a whole number > 0.');
      if (request.valueType !== undefined && request.valueType !== 'f32' && request.valueType !== 'i8')
        return usage('The value type must be f32 or i8.');
      const name = request.name ?? `plan-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
        return usage(`A plan's name must be letters, digits, ".", "_" or "-" (64 at most), got "${name}".`);
      const out = join(paths.plans, name);
      return jobs.start(
        'plan',
        name,
        async (w) => {
          const planned = await runPlanJob(
            {
              modelsDir: ZOO_DIR,
              ...(request.models && request.models.length > 0 ? { only: request.models } : {}),
              roots: dataRoots,
              l1Bytes: request.l1Bytes,
              l2Bytes: request.l2Bytes,
              ...(request.pageSize !== undefined ? { pageSize: request.pageSize } : {}),
              valueType: request.valueType ?? 'f32',
              ...(request.steps !== undefined ? { steps: request.steps } : {}),
              out,
            },
            { signal: w.signal, progress: w.progress },
          );
          if (!planned.ok) return planned;
          const plan = findPlan(plansDirs, store, planned.value.planId);
          return plan.ok ? ok({ plan: plan.value }) : plan;
        },
        () => emit({ type: 'plans.changed' }),
      );
    },

    async listModels() {
      return listModels(ZOO_DIR, paths.models, dataRoots);
    },

    async listDatasets() {
      return listDatasets(dataRoots);
    },

    // ---- Rollouts ----

    async startRollout(input: RolloutInput) {
      if (typeof input !== 'object' || input === null) return usage('A rollout needs a plan and targets.');
      if (!isText(input.planId)) return usage('Which plan? A plan id is needed.');
      if (!Array.isArray(input.to) || input.to.length === 0 || !input.to.every(isText))
        return usage('A rollout needs at least one device or tag.');
      const plan = findPlan(plansDirs, store, input.planId);
      if (!plan.ok) return plan;
      const to = input.to.map((t) => t.trim()).join(',');
      return jobs.start(
        'rollout',
        to,
        async (w) => {
          const report = await runFleetJob(
            'rollout',
            {
              store: storeRef,
              request: {
                bundleDir: plan.value.path,
                to,
                ...(input.waves !== undefined ? { waves: input.waves } : {}),
                ...(input.maxDropPoints !== undefined ? { maxDropPoints: input.maxDropPoints } : {}),
                ...(input.concurrency !== undefined ? { concurrency: input.concurrency } : {}),
                roots: dataRoots,
                allowDelta: input.full !== true,
                connectTimeoutMs,
              },
            },
            { signal: w.signal, progress: announceStart(w.progress, plan.value.id) },
          );
          if (!report.ok) return report;
          const r = report.value;
          for (const d of r.devices) deviceChanged(d.device);
          emit({ type: 'rollout.changed', rolloutId: r.rolloutId });
          return ok({ rolloutId: r.rolloutId, state: r.state, reason: r.reason, bytesSent: r.bytesSent });
        },
        () => emit({ type: 'plans.changed' }),
      );
    },

    async rollbackDevice(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      const subject = device.value.name;
      if (jobs.busy('rollback', subject))
        return fail('E_USAGE', `Device "${subject}" is being rolled back already.`);
      return jobs.start(
        'rollback',
        subject,
        async (w) => {
          const done = await runFleetJob(
            'rollback',
            { store: storeRef, device: subject, connectTimeoutMs },
            { signal: w.signal, progress: w.progress },
          );
          if (!done.ok) return done;
          return ok({
            device: subject,
            active: done.value.active,
            previous: done.value.previous,
            rolledBack: done.value.rolledBack,
          });
        },
        () => deviceChanged(subject),
      );
    },

    async listRollouts(filter = {}) {
      return store.listRollouts({
        ...(isText(filter.device) ? { device: filter.device } : {}),
        ...(isWhole(filter.limit, 1) ? { limit: filter.limit } : {}),
      });
    },

    async getRollout(id) {
      if (!isWhole(id, 1)) return usage('Which rollout? A rollout number is needed.');
      return store.getRollout(id);
    },

    async listAudit(filter = {}) {
      return store.listAudit({
        ...(isText(filter.target) ? { target: filter.target } : {}),
        ...(isText(filter.action) ? { action: filter.action } : {}),
        ...(isWhole(filter.limit, 1) ? { limit: filter.limit } : {}),
      });
    },

    // ---- Telemetry ----

    async pullTelemetry(devices = []) {
      if (!Array.isArray(devices) || !devices.every(isText))
        return usage('Name the devices to pull, or none for every provisioned one.');
      return startPull(devices);
    },

    async queryTelemetry(query: TelemetryQueryInput) {
      if (typeof query !== 'object' || query === null) return usage('Which device? A query is needed.');
      const device = getDevice(query.device);
      if (!device.ok) return device;
      if (query.kind !== undefined && query.kind !== 'task' && query.kind !== 'device')
        return usage('The telemetry kind must be task or device.');
      return store.queryTelemetry(device.value.name, {
        ...(isText(query.model) ? { model: query.model } : {}),
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
        ...(isText(query.sinceTime) ? { sinceTime: query.sinceTime } : {}),
        limit: isWhole(query.limit, 1) ? query.limit : 500,
      });
    },

    async telemetrySummary(name) {
      const device = getDevice(name);
      if (!device.ok) return device;
      return store.telemetrySummary(device.value.name);
    },

    async accuracyAlerts() {
      const devices = store.listDevices();
      if (!devices.ok) return devices;
      const alerts: AccuracyAlert[] = [];
      for (const device of devices.value) {
        const summary = store.telemetrySummary(device.name);
        if (!summary.ok) continue;
        for (const row of summary.value.latestTasks) {
          const measured = row.fields['accuracy'];
          if (typeof measured !== 'number' || row.model === null || row.planId === null) continue;
          const plan = store.getPlan(row.planId);
          if (!plan.ok) continue;
          const expected = plan.value.health.models.find((m) => m.model === row.model);
          if (!expected) continue;
          const dropPoints = (expected.expectedAccuracy - measured) * 100;
          if (dropPoints > plan.value.health.tolerancePoints) {
            alerts.push({
              device: device.name,
              model: row.model,
              planId: row.planId,
              measured,
              expected: expected.expectedAccuracy,
              dropPoints,
              tolerancePoints: plan.value.health.tolerancePoints,
              time: row.time,
            });
          }
        }
      }
      return alerts;
    },

    // ---- Jobs ----

    async listJobs() {
      return jobs.list();
    },

    async getJob(id) {
      if (!isText(id)) return usage('Which job? A job id is needed.');
      return jobs.get(id);
    },

    async cancelJob(id) {
      if (!isText(id)) return usage('Which job? A job id is needed.');
      return jobs.cancel(id);
    },
  };

  // The periodic pull: every provisioned device, unless a pull is still running.
  const pullEvery = options.pullEverySeconds ?? 0;
  const timer =
    pullEvery > 0
      ? setInterval(() => {
          if (jobs.busy('telemetryPull', 'all devices')) return;
          const devices = store.listDevices();
          if (devices.ok && devices.value.some((d) => d.capacities !== null && d.activePlan !== null))
            startPull([]);
        }, pullEvery * 1000)
      : null;
  timer?.unref();

  return ok({
    api,
    store,
    dataDir,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (timer) clearInterval(timer);
      await jobs.close();
      listeners.clear();
      store.close();
    },
  });
}
