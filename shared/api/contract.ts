/**
 * The app's one typed contract (issue 15): every command the renderer may call, with its argument
 * and answer types, every event the app pushes, and the error shape. It is implemented once
 * (service.ts, `createApiService`) and reached over two transports that carry the same
 * `{ method, args }` calls: Electron IPC (electron/preload.ts exposes `window.wsep`) and the server
 * mode (server.ts: HTTP POST for calls, a WebSocket for events). The way Heroic Games Launcher types
 * its IPC channels: a wrong method name, argument or answer type does not compile on either side.
 *
 * The renderer imports this file's TYPES only (`import type`), and this file imports nothing but
 * types from modules that are plain data (core/errors.ts, core/progress.ts, fleet/store/types.ts),
 * so the browser build never pulls in the engine or Node.
 *
 * Calls answer with their value or fail with a `WsepError` (core/errors.ts: a stable `code`, a
 * `message` a user can act on, an optional `hint` and `details`): the UI shows them as they are.
 * Long work (provisioning, rollouts, rollbacks, telemetry pulls, planning) starts a JOB and answers at
 * once with it; progress and the end arrive as events, and `cancelJob` stops it.
 */
import type { ErrorCode, WsepError } from '../core/errors.ts';
import type { ProgressEvent } from '../core/progress.ts';
import type { ChannelArgs, ChannelAnswer, ChannelsOf } from '../core/service-calls.ts';
import type {
  AuditEntry,
  Device,
  DeviceKind,
  Rollout,
  RolloutState,
  RolloutWithSteps,
  TelemetryKind,
  TelemetryRow,
  TelemetrySummary,
} from '../fleet/store/types.ts';

export type { ErrorCode, WsepError, ProgressEvent };
export type {
  AuditEntry,
  Device,
  DeviceCapacities,
  DeviceKind,
  DeviceStatus,
  PlanHealth,
  PlanHealthModel,
  Rollout,
  RolloutState,
  RolloutStep,
  RolloutWithSteps,
  StepAccuracy,
  StepState,
  TelemetryKind,
  TelemetryRow,
  TelemetrySummary,
} from '../fleet/store/types.ts';

/** Bumped when a command or event changes shape; `appInfo` answers it. */
export const API_VERSION = 1;

// ---------------------------------------------------------------------------------------------------
// The app

export interface AppInfo {
  readonly apiVersion: typeof API_VERSION;
  /** The app's package version. */
  readonly version: string;
  /** 'server': the browser talks HTTP + WebSocket; 'electron': IPC through the preload. */
  readonly transport: 'server' | 'electron';
  /** The app data folder: the store (fleet.db), its bundle copies, computed plans. */
  readonly dataDir: string;
  readonly storePath: string;
  /** True when `--demo-fleet` started loopback devices for this run. */
  readonly demoFleet: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Devices

export interface RegisterDeviceInput {
  readonly name: string;
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  /** Default: the OS user running the app. */
  readonly user?: string;
  /** The SSH private key's path on this machine (absolute, or relative to the app's working folder). */
  readonly keyPath: string;
  /** Default 'linux'. */
  readonly kind?: DeviceKind;
  /** The agent's folder on the device (default /opt/wsep). */
  readonly root?: string;
  /** Node.js on the device (default 'node'). */
  readonly nodePath?: string;
  readonly tags?: readonly string[];
}

/** The host key a device presents, as the first-contact confirmation shows it. */
export interface PresentedHostKey {
  readonly keyType: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

export interface RegisteredDevice {
  /** Registered, with nothing trusted: `hostKeyFingerprint` stays null until `acceptHostKey`. */
  readonly device: Device;
  /** The key it presented, to show for confirmation; null when it could not be reached. */
  readonly presented: PresentedHostKey | null;
  /** Why the key could not be read (the device is registered all the same). */
  readonly probeError: WsepError | null;
}

/** What a key probe found: the device's record (its probed key updated) and the key. */
export interface ProbedDevice {
  readonly device: Device;
  readonly presented: PresentedHostKey;
  /** True when the presented key is the accepted one. */
  readonly matchesAccepted: boolean;
}

export interface DeviceDetail {
  readonly device: Device;
  /** Its newest rollouts (at most 10), newest first. */
  readonly rollouts: readonly Rollout[];
  readonly telemetry: TelemetrySummary;
}

// ---------------------------------------------------------------------------------------------------
// Plans, models and data

export interface PlanTaskFigures {
  readonly task: string;
  /** Test accuracy, 0..1, of the original model and of the plan. */
  readonly testBefore: number;
  readonly testAfter: number;
}

export interface PlanFigures {
  readonly pageSize: number;
  readonly valueType: 'f32' | 'i8';
  readonly sharedPages: number;
  /** The budgets planned for, and what the plan takes of each level. */
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  readonly l1Bytes: number;
  readonly l2Bytes: number;
  /** Original weight bytes ÷ stored bytes, and the packing's ceiling (Σ N_k ÷ max N_k). */
  readonly storedPacking: number;
  readonly ceiling: number;
  readonly tasks: readonly PlanTaskFigures[];
  /** histogram[c] = shared slots with c occupants. */
  readonly occupancyHistogram: readonly number[];
}

/** A plan bundle the app knows: one in the plans folders, or one the store holds (rolled out). */
export interface PlanListing {
  /** The bundle's planId (64 hex digits). */
  readonly id: string;
  readonly name: string;
  /** The bundle folder (the store's copy when only the store holds it). */
  readonly path: string;
  /** True when the store holds it (it was rolled out at least once). */
  readonly inStore: boolean;
  readonly createdAt: string | null;
  readonly bundleBytes: number;
  readonly modelCount: number;
  /** null when the bundle carries no planner report. */
  readonly figures: PlanFigures | null;
  /** The accuracy each model is expected to keep on a device's health slices (store copies only). */
  readonly expected: readonly { readonly model: string; readonly expectedAccuracy: number }[];
}

/** The page map: shared slots × models, each cell the page of that model in that slot (or empty). */
export interface PageMap {
  readonly planId: string;
  readonly models: readonly string[];
  readonly slots: number;
  /** occupants[slot] = the models (indexes into `models`) holding a page in that slot. */
  readonly occupants: readonly (readonly number[])[];
}

export interface ModelListing {
  readonly name: string;
  /** Where it comes from: the bundled zoo, or the user's imported models. */
  readonly source: 'zoo' | 'user';
  readonly path: string;
  readonly bytes: number;
  readonly weights: number | null;
  /** The task data the model is evaluated on, when present (its folder). */
  readonly dataPath: string | null;
}

export interface DatasetListing {
  readonly task: string;
  readonly source: 'zoo' | 'user';
  readonly path: string;
  readonly classes: number | null;
  readonly samples: { readonly train: number; readonly val: number; readonly test: number } | null;
}

export interface PlanRequest {
  /** The models to plan: names from `listModels` (default: every zoo model). */
  readonly models?: readonly string[];
  readonly l1Bytes: number;
  readonly l2Bytes: number;
  /** Default 512. */
  readonly pageSize?: number;
  /** Default 'f32'. */
  readonly valueType?: 'f32' | 'i8';
  /** Joint optimisation steps (default 1500, as `wsep plan --quick`: about 2 minutes on 2 cores). */
  readonly steps?: number;
  /** The bundle's folder name under the app's plans folder (default: plan-<time>). */
  readonly name?: string;
}

// ---------------------------------------------------------------------------------------------------
// Rollouts

export interface RolloutInput {
  /** A plan id from `listPlans`. */
  readonly planId: string;
  /** Device names and tags (the CLI's `--to`). */
  readonly to: readonly string[];
  /** Cumulative wave shares, e.g. '10%,100%' (default the fleet's). */
  readonly waves?: string;
  /** Largest accuracy drop on a device's health slices, in points. */
  readonly maxDropPoints?: number;
  readonly concurrency?: number;
  /** Send whole plans, never page deltas. */
  readonly full?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Telemetry

export interface TelemetryQueryInput {
  readonly device: string;
  readonly model?: string;
  readonly kind?: TelemetryKind;
  /** Rows at or after this ISO time. */
  readonly sinceTime?: string;
  /** The newest rows, oldest first (default 500). */
  readonly limit?: number;
}

/** One accuracy alert: a model's latest on-device accuracy below what its plan expects. */
export interface AccuracyAlert {
  readonly device: string;
  readonly model: string;
  readonly planId: string | null;
  readonly measured: number;
  readonly expected: number;
  /** expected − measured, in points. */
  readonly dropPoints: number;
  /** The plan's allowed drop, in points. */
  readonly tolerancePoints: number;
  readonly time: string;
}

// ---------------------------------------------------------------------------------------------------
// Jobs: long work in worker threads

export type JobKind = 'provision' | 'rollout' | 'rollback' | 'telemetryPull' | 'plan';
export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What each kind of job answers when it succeeds. */
export interface JobResults {
  readonly provision: { readonly device: Device };
  readonly rollout: {
    readonly rolloutId: number;
    readonly state: Exclude<RolloutState, 'running'>;
    readonly reason: string | null;
    readonly bytesSent: number;
  };
  readonly rollback: {
    readonly device: string;
    readonly active: string | null;
    readonly previous: string | null;
    readonly rolledBack: boolean;
  };
  readonly telemetryPull: {
    readonly inserted: number;
    readonly devices: readonly {
      readonly device: string;
      readonly ok: boolean;
      readonly inserted: number;
      readonly error: WsepError | null;
    }[];
  };
  readonly plan: { readonly plan: PlanListing };
}

export interface Job<K extends JobKind = JobKind> {
  /** Unique for the app's run, e.g. 'job-7'. */
  readonly id: string;
  readonly kind: K;
  /** What it works on: the device, the plan id, the targets (for lists and titles). */
  readonly subject: string;
  readonly state: JobState;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** The newest progress event of the whole job. */
  readonly progress: ProgressEvent | null;
  /** Per device (the event's `task`), its newest event: a rollout's live per-device progress. */
  readonly perTask: { readonly [task: string]: ProgressEvent };
  readonly result: JobResults[K] | null;
  readonly error: WsepError | null;
}

export type AnyJob = { [K in JobKind]: Job<K> }[JobKind];

// ---------------------------------------------------------------------------------------------------
// The commands

/**
 * Every command, as one service interface: the channel map (`ApiChannels`) is derived from it, and
 * service.ts implements it. Each returns a Promise (it may fail with a WsepError).
 */
export interface WsepApi {
  appInfo(): Promise<AppInfo>;

  // Devices
  listDevices(): Promise<Device[]>;
  getDevice(name: string): Promise<DeviceDetail>;
  /** Registers and probes the host key; trusts nothing (E_STORE when the name is taken). */
  registerDevice(input: RegisterDeviceInput): Promise<RegisteredDevice>;
  /** Looks at the key the device presents now and records it to be shown (e.g. after a change). */
  probeHostKey(name: string): Promise<ProbedDevice>;
  /**
   * Accepts the host key the user was shown: only when the device presents exactly `fingerprint`
   * now (else E_SSH_HOST_CHANGED, nothing accepted).
   */
  acceptHostKey(name: string, fingerprint: string): Promise<Device>;
  /** Removes the device from the store (its rollout history stays). */
  removeDevice(name: string): Promise<{ readonly removed: string }>;
  /** Starts a job: uploads the agent (and onnxruntime when missing), records capacities. */
  provisionDevice(name: string): Promise<Job<'provision'>>;
  /**
   * Starts the agent's workload loop on the device (it runs the active plan's models and writes the
   * telemetry every `intervalMs`, default the agent's); `alreadyRunning` when one was running.
   */
  startWorkload(
    name: string,
    intervalMs?: number,
  ): Promise<{ readonly device: string; readonly pid: number; readonly alreadyRunning: boolean }>;
  stopWorkload(name: string): Promise<{ readonly device: string; readonly stopped: boolean }>;

  // Plans, models and data
  listPlans(): Promise<PlanListing[]>;
  getPlan(id: string): Promise<PlanListing>;
  pageMap(id: string): Promise<PageMap>;
  /** Starts a planning job; its result is the new bundle in the app's plans folder. */
  computePlan(request: PlanRequest): Promise<Job<'plan'>>;
  listModels(): Promise<ModelListing[]>;
  listDatasets(): Promise<DatasetListing[]>;

  // Rollouts
  startRollout(input: RolloutInput): Promise<Job<'rollout'>>;
  /** Starts a job that switches the device back to its previous plan. */
  rollbackDevice(name: string): Promise<Job<'rollback'>>;
  listRollouts(filter?: { readonly device?: string; readonly limit?: number }): Promise<Rollout[]>;
  getRollout(id: number): Promise<RolloutWithSteps>;
  /** The audit log (rollouts, rollbacks, key acceptances…), newest first. */
  listAudit(filter?: {
    readonly target?: string;
    readonly action?: string;
    readonly limit?: number;
  }): Promise<AuditEntry[]>;

  // Telemetry
  /** Starts a pull of every named device (none: every provisioned one). */
  pullTelemetry(devices?: readonly string[]): Promise<Job<'telemetryPull'>>;
  queryTelemetry(query: TelemetryQueryInput): Promise<TelemetryRow[]>;
  telemetrySummary(device: string): Promise<TelemetrySummary>;
  /** Every model whose latest accuracy on a device is below its plan's expectation by more than the tolerance. */
  accuracyAlerts(): Promise<AccuracyAlert[]>;

  // Jobs
  listJobs(): Promise<AnyJob[]>;
  getJob(id: string): Promise<AnyJob>;
  /** Asks the job to stop; answers it as it is now (its end arrives as a 'job.ended' event). */
  cancelJob(id: string): Promise<AnyJob>;
}

/** The channel map: method name → [argument tuple, answer]. */
export type ApiChannels = ChannelsOf<WsepApi>;
export type ApiMethod = keyof ApiChannels & string;
export type ApiArgs<K extends ApiMethod> = ChannelArgs<ApiChannels, K>;
export type ApiAnswer<K extends ApiMethod> = ChannelAnswer<ApiChannels, K>;

/** Every method name, for transports that check what arrived over the wire. */
export const API_METHODS = [
  'appInfo',
  'listDevices',
  'getDevice',
  'registerDevice',
  'probeHostKey',
  'acceptHostKey',
  'removeDevice',
  'provisionDevice',
  'startWorkload',
  'stopWorkload',
  'listPlans',
  'getPlan',
  'pageMap',
  'computePlan',
  'listModels',
  'listDatasets',
  'startRollout',
  'rollbackDevice',
  'listRollouts',
  'getRollout',
  'listAudit',
  'pullTelemetry',
  'queryTelemetry',
  'telemetrySummary',
  'accuracyAlerts',
  'listJobs',
  'getJob',
  'cancelJob',
] as const satisfies readonly ApiMethod[];

// Every method is listed (a missing one fails here).
type _AllListed = ApiMethod extends (typeof API_METHODS)[number] ? true : never;
export const API_METHODS_COMPLETE: _AllListed = true;

// ---------------------------------------------------------------------------------------------------
// Events (server → renderer): WebSocket messages in server mode, 'wsep:event' IPC messages in Electron

export type ApiEvent =
  | { readonly type: 'job.started'; readonly job: AnyJob }
  /** A job's progress; `job.progress` / `job.perTask` are updated with `event`. */
  | {
      readonly type: 'job.progress';
      readonly jobId: string;
      readonly kind: JobKind;
      readonly event: ProgressEvent;
    }
  /** A job ended (succeeded, failed or cancelled): `job.result` or `job.error` says how. */
  | { readonly type: 'job.ended'; readonly job: AnyJob }
  /** A device was added, changed (key, provisioning, status, plans) or removed: reload it. */
  | { readonly type: 'devices.changed'; readonly device: string }
  /** A rollout's state or steps changed in the store. */
  | { readonly type: 'rollout.changed'; readonly rolloutId: number }
  /** A pull stored new telemetry rows for a device. */
  | { readonly type: 'telemetry.arrived'; readonly device: string; readonly inserted: number }
  /** The plans folders gained or lost a bundle. */
  | { readonly type: 'plans.changed' };

export type ApiEventType = ApiEvent['type'];

// ---------------------------------------------------------------------------------------------------
// The wire (both transports)

/** A call as it travels: HTTP POST body to `API_CALL_PATH`, or the IPC channel's argument. */
export interface ApiRequest {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** A call's answer as it travels (HTTP body: status 200 either way; the IPC invoke's value). */
export type ApiResponse =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: WsepError };

/** Server mode: calls are POSTed here with the token in `TOKEN_HEADER`. */
export const API_CALL_PATH = '/api/call';
/** Server mode: the event WebSocket (the token as the `token` query parameter or the cookie). */
export const API_EVENTS_PATH = '/api/events';
/** Server mode: the header that carries the token on calls. */
export const TOKEN_HEADER = 'x-wsep-token';
/** Server mode: the cookie the server sets when the page was opened with `?token=…`. */
export const TOKEN_COOKIE = 'wsep_token';
/** Server mode: the query parameter of the printed URL. */
export const TOKEN_QUERY = 'token';
/** Electron: the IPC channel of calls (ipcRenderer.invoke), and of events (webContents.send). */
export const IPC_CALL_CHANNEL = 'wsep:call';
export const IPC_EVENT_CHANNEL = 'wsep:event';

/**
 * What the preload exposes as `window.wsep` in Electron (and what the renderer's client uses):
 * `call` carries an ApiRequest and resolves with the ApiResponse; `onEvent` subscribes and returns
 * the unsubscribe function.
 */
export interface WsepBridge {
  call(request: ApiRequest): Promise<ApiResponse>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}
