/**
 * The fleet's operations as worker-thread jobs (shared/core/worker-job.ts), so the app's main process
 * stays responsive during a rollout: progress events come back as messages, and aborting the signal
 * cancels the job (its SSH connections close, the rollout ends 'cancelled' and is reconciled).
 *
 * Each job opens the store itself by path — better-sqlite3 connections cannot cross threads, and two
 * connections to one WAL database are safe — and closes it when done.
 */
import { type Result } from '../core/errors.ts';
import { runInWorker, type JobContext, type RunInWorkerOptions } from '../core/worker-job.ts';
import { provisionDevice, type ProvisionResult } from './provision.ts';
import { rollbackDevice, runRollout, type RolloutReport, type RolloutRequest } from './rollout.ts';
import type { ActivateResult } from './protocol.ts';
import { openFleetStore, type FleetStore } from './store/store.ts';
import { pullTelemetry, type PullReport } from './telemetry-pull.ts';

/** Where a job finds the store. */
export interface StoreRef {
  readonly path: string;
  /** Default: `<folder of the database>/bundles`. */
  readonly bundlesDir?: string;
}

export interface ProvisionInput {
  readonly store: StoreRef;
  readonly device: string;
  readonly connectTimeoutMs?: number;
}

export interface RolloutInput {
  readonly store: StoreRef;
  readonly request: RolloutRequest;
}

export interface RollbackInput {
  readonly store: StoreRef;
  readonly device: string;
  readonly connectTimeoutMs?: number;
}

export interface TelemetryPullInput {
  readonly store: StoreRef;
  /** Empty: every provisioned device. */
  readonly devices: readonly string[];
  readonly batch?: number;
  readonly connectTimeoutMs?: number;
}

/** Every fleet job: its input and its result. */
export interface FleetJobs {
  readonly provision: readonly [ProvisionInput, ProvisionResult];
  readonly rollout: readonly [RolloutInput, RolloutReport];
  readonly rollback: readonly [RollbackInput, ActivateResult];
  readonly telemetryPull: readonly [TelemetryPullInput, PullReport];
}

async function withStore<T>(
  ref: StoreRef,
  work: (store: FleetStore) => Promise<Result<T>>,
): Promise<Result<T>> {
  const opened = openFleetStore(ref.path, ref.bundlesDir !== undefined ? { bundlesDir: ref.bundlesDir } : {});
  if (!opened.ok) return opened;
  try {
    return await work(opened.value);
  } finally {
    opened.value.close();
  }
}

export function provisionJob(input: ProvisionInput, context: JobContext): Promise<Result<ProvisionResult>> {
  return withStore(input.store, (store) =>
    provisionDevice(store, input.device, {
      signal: context.signal,
      progress: context.progress,
      ...(input.connectTimeoutMs !== undefined ? { connectTimeoutMs: input.connectTimeoutMs } : {}),
    }),
  );
}

export function rolloutJob(input: RolloutInput, context: JobContext): Promise<Result<RolloutReport>> {
  return withStore(input.store, (store) =>
    runRollout(store, input.request, { signal: context.signal, progress: context.progress }),
  );
}

export function rollbackJob(input: RollbackInput, context: JobContext): Promise<Result<ActivateResult>> {
  return withStore(input.store, (store) =>
    rollbackDevice(store, input.device, {
      signal: context.signal,
      progress: context.progress,
      ...(input.connectTimeoutMs !== undefined ? { connectTimeoutMs: input.connectTimeoutMs } : {}),
    }),
  );
}

export function telemetryPullJob(
  input: TelemetryPullInput,
  context: JobContext,
): Promise<Result<PullReport>> {
  return withStore(input.store, (store) =>
    pullTelemetry(store, input.devices, {
      signal: context.signal,
      progress: context.progress,
      ...(input.batch !== undefined ? { batch: input.batch } : {}),
      ...(input.connectTimeoutMs !== undefined ? { connectTimeoutMs: input.connectTimeoutMs } : {}),
    }),
  );
}

const EXPORTS: { readonly [K in keyof FleetJobs]: string } = {
  provision: 'provisionJob',
  rollout: 'rolloutJob',
  rollback: 'rollbackJob',
  telemetryPull: 'telemetryPullJob',
};

/** Runs a fleet job in a worker thread; abort `options.signal` to cancel it. */
export function runFleetJob<K extends keyof FleetJobs>(
  job: K,
  input: FleetJobs[K][0],
  options: RunInWorkerOptions = {},
): Promise<Result<FleetJobs[K][1]>> {
  return runInWorker<FleetJobs[K][0], FleetJobs[K][1]>(
    new URL(import.meta.url),
    EXPORTS[job],
    input,
    options,
  );
}
