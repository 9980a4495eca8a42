/**
 * The fleet store's public shapes: what the CLI, rollouts and telemetry pull read and write. Rows come
 * back as these typed objects (camelCase, JSON columns parsed and checked); times are ISO-8601 UTC
 * strings (`new Date().toISOString()`), which sort as text in SQLite and read well in `--json` output.
 */
import type { WsepError } from '../../core/errors.ts';

export type DeviceKind = 'linux' | 'mcu-gateway';
export const DEVICE_KINDS: readonly DeviceKind[] = ['linux', 'mcu-gateway'];

export type DeviceStatus = 'new' | 'provisioned' | 'online' | 'offline' | 'error';
export const DEVICE_STATUSES: readonly DeviceStatus[] = ['new', 'provisioned', 'online', 'offline', 'error'];

/** What the device's agent reported in `info` at provisioning. */
export interface DeviceCapacities {
  readonly level1Bytes: number;
  readonly level2Bytes: number;
  readonly arch: string;
  readonly agentVersion: string;
  /** The onnxruntime version the agent loaded; null when it could not load it. */
  readonly onnxruntime: string | null;
}

export interface Device {
  readonly name: string;
  readonly kind: DeviceKind;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key the app authenticates with (a path on this machine). */
  readonly keyPath: string;
  /** The agent's root folder on the device. */
  readonly root: string;
  /** The Node executable on the device ('node' when found on PATH). */
  readonly nodePath: string;
  /** The accepted host key (`SHA256:…`); null until the user accepts one. */
  readonly hostKeyFingerprint: string | null;
  /** The key seen at the last probe (`devices add`), shown to the user and waiting for an accept. */
  readonly probedHostKeyFingerprint: string | null;
  readonly capacities: DeviceCapacities | null;
  /** Sorted, no duplicates. */
  readonly tags: readonly string[];
  readonly status: DeviceStatus;
  /** Why the device is offline or in error (one sentence); null otherwise. */
  readonly statusReason: string | null;
  readonly lastSeen: string | null;
  readonly activePlan: string | null;
  readonly previousPlan: string | null;
  readonly createdAt: string;
}

export interface NewDevice {
  readonly name: string;
  readonly kind: DeviceKind;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly keyPath: string;
  readonly root: string;
  /** Default 'node'. */
  readonly nodePath?: string;
  readonly probedHostKeyFingerprint?: string | null;
  readonly tags?: readonly string[];
  /** Default: now. */
  readonly createdAt?: string;
}

/**
 * The fields `updateDevice` may change; absent fields stay as they are. The name, the accepted host
 * key and the plans have their own methods (renames are not supported; accept-key and
 * setDevicePlans say what they do).
 */
export interface DevicePatch {
  readonly kind?: DeviceKind;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly keyPath?: string;
  readonly root?: string;
  readonly nodePath?: string;
  readonly probedHostKeyFingerprint?: string | null;
  readonly capacities?: DeviceCapacities | null;
  /** Replaces the whole set. */
  readonly tags?: readonly string[];
  readonly status?: DeviceStatus;
  readonly statusReason?: string | null;
}

export interface DeviceFilter {
  /** Only devices carrying this tag. */
  readonly tag?: string;
}

// ---------------------------------------------------------------------------------------------------
// Plans

/** A JSON object as stored (plan summaries): checked to be an object, otherwise opaque to the store. */
export type JsonObject = { readonly [key: string]: unknown };

export interface PlanHealthModel {
  readonly model: string;
  readonly samples: number;
  /** Accuracy (0…1) the app measured on the on-device test slice when it staged the plan. */
  readonly expectedAccuracy: number;
}

/** The expected accuracy per model (from the plan's health.json). */
export interface PlanHealth {
  readonly tolerancePoints: number;
  readonly models: readonly PlanHealthModel[];
}

export interface Plan {
  /** The bundle's planId (64 lower-case hex digits). */
  readonly id: string;
  readonly name: string;
  /** The store's own copy of the bundle (see FleetStore.bundleDirFor). */
  readonly bundlePath: string;
  readonly createdAt: string;
  /** Packing figures and per-model accuracy, as the planner reported them. */
  readonly summary: JsonObject;
  readonly health: PlanHealth;
}

export interface NewPlan {
  readonly id: string;
  readonly name: string;
  readonly bundlePath: string;
  readonly summary: JsonObject;
  readonly health: PlanHealth;
  readonly createdAt?: string;
}

// ---------------------------------------------------------------------------------------------------
// Rollouts

export type RolloutState = 'running' | 'succeeded' | 'failed' | 'stopped' | 'cancelled' | 'interrupted';
export const ROLLOUT_STATES: readonly RolloutState[] = [
  'running',
  'succeeded',
  'failed',
  'stopped',
  'cancelled',
  'interrupted',
];
export type FinalRolloutState = Exclude<RolloutState, 'running'>;

export type StepState =
  | 'pending'
  | 'staging'
  | 'verifying'
  | 'activating'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'skipped'
  | 'cancelled';
export const STEP_STATES: readonly StepState[] = [
  'pending',
  'staging',
  'verifying',
  'activating',
  'succeeded',
  'failed',
  'rolled-back',
  'skipped',
  'cancelled',
];
/** States a step ends in; the others mean work is still to do or under way. */
export const FINAL_STEP_STATES: readonly StepState[] = [
  'succeeded',
  'failed',
  'rolled-back',
  'skipped',
  'cancelled',
];

export type StepMode = 'full' | 'delta';

/** One model's accuracy on its on-device slice after activation. */
export interface StepAccuracy {
  readonly model: string;
  readonly samples: number;
  readonly expectedAccuracy: number;
  readonly measuredAccuracy: number;
}

export interface RolloutStep {
  readonly rolloutId: number;
  readonly device: string;
  /** 0 for the canary wave. */
  readonly wave: number;
  readonly state: StepState;
  readonly mode: StepMode | null;
  readonly bytesSent: number;
  readonly attempts: number;
  readonly measured: readonly StepAccuracy[] | null;
  readonly error: WsepError | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

export interface Rollout {
  readonly id: number;
  readonly planId: string;
  /** The user's `--to` text, as typed. */
  readonly targets: string;
  /** Cumulative fractions, e.g. [0.1, 1]. */
  readonly waves: readonly number[];
  readonly maxDropPoints: number;
  readonly concurrency: number;
  readonly actor: string;
  readonly state: RolloutState;
  readonly reason: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

export interface RolloutWithSteps extends Rollout {
  /** Ordered by wave, then device name. */
  readonly steps: readonly RolloutStep[];
}

export interface NewRollout {
  readonly planId: string;
  readonly targets: string;
  readonly waves: readonly number[];
  readonly maxDropPoints: number;
  readonly concurrency: number;
  /** Default: the OS user name. */
  readonly actor?: string;
  /** Default: now. */
  readonly startedAt?: string;
  /** Every device of the rollout with its wave; all start 'pending'. */
  readonly steps: readonly { readonly device: string; readonly wave: number }[];
  /** The process that runs it. Default: this process (its host name and pid). */
  readonly owner?: RolloutOwner;
}

/**
 * The process running a rollout. Another process (a second `wsep rollout`, the app) ends a 'running'
 * rollout as interrupted only when its owner is gone: same host and the pid no longer exists.
 */
export interface RolloutOwner {
  readonly host: string;
  readonly pid: number;
}

export interface StepPatch {
  readonly state?: StepState;
  readonly mode?: StepMode | null;
  readonly bytesSent?: number;
  readonly attempts?: number;
  readonly measured?: readonly StepAccuracy[] | null;
  readonly error?: WsepError | null;
  readonly startedAt?: string | null;
  readonly endedAt?: string | null;
}

export interface RolloutFilter {
  readonly state?: RolloutState;
  /** Only rollouts with a step on this device. */
  readonly device?: string;
  /** Newest first; default 100. */
  readonly limit?: number;
}

export interface RecoveredRollouts {
  /** Ids of the rollouts found 'running' and now 'interrupted'. */
  readonly rolloutIds: readonly number[];
  readonly cancelledSteps: number;
}

// ---------------------------------------------------------------------------------------------------
// Telemetry

export type TelemetryKind = 'task' | 'device';

/**
 * One record as the agent sends it (protocol.ts TelemetryRecord fits). Every member besides these
 * becomes the row's `fields` (accuracy, switchMs, level1ResidentBytes, …).
 */
export interface TelemetryInput {
  readonly seq: number;
  /** ISO-8601, or milliseconds since the epoch. */
  readonly time: string | number;
  readonly kind: TelemetryKind;
  readonly planId?: string | null;
  readonly model?: string | null;
}

export interface TelemetryRow {
  readonly device: string;
  readonly seq: number;
  readonly time: string;
  readonly kind: TelemetryKind;
  readonly planId: string | null;
  readonly model: string | null;
  readonly fields: JsonObject;
}

export interface TelemetryCursor {
  /** The last seq stored (0 before the first pull). */
  readonly cursor: number;
  /** Records the device rotated away before they were pulled, summed over all pulls. */
  readonly lost: number;
}

export interface AppendedTelemetry extends TelemetryCursor {
  /** Rows written by this call (records already stored are not written twice). */
  readonly inserted: number;
}

export interface TelemetryQuery {
  /** Rows at or after this time. */
  readonly sinceTime?: string;
  readonly model?: string;
  readonly kind?: TelemetryKind;
  /** The newest rows, returned oldest first; default 1000. */
  readonly limit?: number;
}

export interface TelemetrySummary extends TelemetryCursor {
  readonly device: string;
  readonly rows: number;
  readonly lastTime: string | null;
  /** The newest 'task' row of each model, by model name. */
  readonly latestTasks: readonly TelemetryRow[];
  /** The newest 'device' row. */
  readonly latestDevice: TelemetryRow | null;
}

// ---------------------------------------------------------------------------------------------------
// Audit

export type AuditOutcome = 'ok' | 'failed' | 'cancelled' | 'stopped' | 'refused';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['ok', 'failed', 'cancelled', 'stopped', 'refused'];

export interface AuditEntry {
  readonly id: number;
  readonly time: string;
  /** The OS user who ran the command. */
  readonly actor: string;
  /** e.g. 'device.add', 'device.accept-key', 'rollout', 'rollback'. */
  readonly action: string;
  /** What it acted on: a device name, a rollout id, a plan id. */
  readonly target: string;
  readonly detail: JsonObject;
  readonly outcome: AuditOutcome;
}

export interface NewAuditEntry {
  readonly action: string;
  readonly target: string;
  readonly outcome: AuditOutcome;
  readonly detail?: JsonObject;
  /** Default: the OS user name. */
  readonly actor?: string;
  /** Default: now. */
  readonly time?: string;
}

export interface AuditFilter {
  readonly action?: string;
  readonly target?: string;
  /** Newest first; default 100. */
  readonly limit?: number;
}

// ---------------------------------------------------------------------------------------------------
// Consistency

export type ConsistencyProblemKind =
  /** A rollout still 'running' although no process runs it. */
  | 'rollout-not-final'
  /** A finished rollout with a step still pending or under way. */
  | 'step-not-final'
  /** A 'succeeded' rollout with a step that did not succeed (or skip). */
  | 'succeeded-with-failures'
  /** A finished rollout or step without an end time, or a running one with one. */
  | 'end-time'
  /** A device whose previous plan equals its active plan. */
  | 'device-plans'
  /** Telemetry rows beyond the device's stored cursor (rows and cursor written apart). */
  | 'telemetry-cursor';

export interface ConsistencyProblem {
  readonly kind: ConsistencyProblemKind;
  /** What it concerns: `rollout 3`, `rollout 3 step dev-a`, `device dev-a`. */
  readonly subject: string;
  readonly message: string;
}

export interface ConsistencyOptions {
  /** Rollouts this process is running right now (they may be 'running'). */
  readonly runningRollouts?: readonly number[];
}
