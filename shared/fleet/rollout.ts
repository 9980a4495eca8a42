/**
 * Rolling a plan out to devices in waves, with an accuracy gate. Per device: connect (pinned key) →
 * status with the files of an interrupted upload → skip when the plan is already active → stage
 * (page delta or full, resuming) → activate, which verifies every hash (and rebuilds a delta) before
 * it switches and runs the health check, tolerance = the allowed drop → record what was measured and
 * the plans the agent answered. Two remote commands per device, since each costs an SSH session setup.
 * A canary wave goes first; a device whose on-device accuracy falls more than the allowed drop below
 * the app's (its agent has already switched back) stops the rollout before the next wave, and so
 * does a device that cannot be reached after retries. Every step is in the store as it happens; when
 * the rollout ends, the devices it touched that did not succeed are asked for their plans again on
 * fresh connections, so the store always says what the devices say.
 */
import { makeError, ok, type Result, type WsepError } from '../core/errors.ts';
import { noProgress, type ProgressSink } from '../core/progress.ts';
import { DEFAULT_HEALTH_TOLERANCE_POINTS } from '../runtime/health-slice.ts';
import { healthFailureOf, type AgentClient } from './agent-client.ts';
import { connectDevice, agentOf, isUnreachable, namingDevice, withDevice } from './device-link.ts';
import { timed, type PhaseTimes } from './phase-times.ts';
import { archivePlan, type ArchivedPlan } from './plan-archive.ts';
import type { ActivateResult, AgentStatus, HealthResult } from './protocol.ts';
import type { SshConnection } from './ssh/connection.ts';
import { DeltaCache, stagePlan } from './staging.ts';
import type { FleetStore } from './store/store.ts';
import type { Device, RolloutState, StepAccuracy, StepState } from './store/types.ts';
import { resolveTargets } from './targets.ts';
import { DEFAULT_WAVES, parseWaves, runPool, sleepMs, splitWaves } from './waves.ts';

export const DEFAULT_CONCURRENCY = 4;
/** One attempt on one device: staging, verify and activation with its health check. */
export const DEFAULT_DEVICE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_BACKOFF_MS = 1_000;
/** The allowed drop when --max-drop is not given: the health check's own default. */
export const DEFAULT_MAX_DROP_POINTS = DEFAULT_HEALTH_TOLERANCE_POINTS;

export interface RolloutRequest {
  /** The bundle folder to roll out. */
  readonly bundleDir: string;
  /** Device names and tags, comma-separated (the user's `--to`). */
  readonly to: string;
  /** Cumulative wave shares, e.g. '10%,100%' (default DEFAULT_WAVES). */
  readonly waves?: string;
  /** Largest accuracy drop, in points, a device may show on its health slices (default 3.2). */
  readonly maxDropPoints?: number;
  readonly concurrency?: number;
  /** Each device attempt's time limit. */
  readonly deviceTimeoutMs?: number;
  readonly retries?: number;
  readonly backoffMs?: number;
  /** Folders with the tasks' data, for the health slices (build with `dataRoots`). */
  readonly roots: readonly string[];
  /** Samples per model in the health slices (default 64). */
  readonly healthSamples?: number;
  /** Send page deltas when a device holds a plan the store knows (default true). */
  readonly allowDelta?: boolean;
  readonly connectTimeoutMs?: number;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
}

export interface DeviceOutcome {
  readonly device: string;
  readonly wave: number;
  readonly state: StepState;
  readonly mode: 'full' | 'delta' | null;
  readonly bytesSent: number;
  readonly attempts: number;
  readonly measured: readonly StepAccuracy[] | null;
  readonly error: WsepError | null;
  /** The plans the device reported last (null when it could not be asked). */
  readonly activePlan: string | null;
  readonly previousPlan: string | null;
  /** Where this device's time went, over all its attempts (phase-times.ts). */
  readonly phaseMs: PhaseTimes;
}

export interface RolloutReport {
  readonly rolloutId: number;
  readonly planId: string;
  readonly state: Exclude<RolloutState, 'running'>;
  readonly reason: string | null;
  /** Device names per wave, canary first. */
  readonly waves: readonly (readonly string[])[];
  readonly devices: readonly DeviceOutcome[];
  /** Payload bytes sent to all devices, and what full copies would have been. */
  readonly bytesSent: number;
  readonly fullBytes: number;
  readonly wallMs: number;
  /** Of wallMs, on this machine before any device: checking the bundle, cutting its health slices. */
  readonly prepareMs: number;
}

function usageOf(
  request: RolloutRequest,
): Result<{ shares: number[]; maxDrop: number; concurrency: number }> {
  const shares = parseWaves(request.waves ?? DEFAULT_WAVES);
  if (!shares.ok) return shares;
  const maxDrop = request.maxDropPoints ?? DEFAULT_MAX_DROP_POINTS;
  if (!Number.isFinite(maxDrop) || maxDrop < 0 || maxDrop > 100) {
    return {
      ok: false,
      error: makeError('E_USAGE', `--max-drop must be a number of points from 0 to 100, got ${maxDrop}.`),
    };
  }
  const concurrency = request.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    return {
      ok: false,
      error: makeError('E_USAGE', `--concurrency must be a whole number ≥ 1, got ${concurrency}.`),
    };
  }
  return ok({ shares: shares.value, maxDrop, concurrency });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Why a health check failed, in one sentence: the worst model, expected vs measured. */
export function gateReason(
  device: string,
  health: HealthResult | null,
  maxDrop: number,
  back: string | null,
): string {
  const worst = [...(health?.models ?? [])].sort((a, b) => b.dropPoints - a.dropPoints)[0];
  const where = back
    ? `; the device switched back to plan ${back.slice(0, 12)}…`
    : '; the device kept no plan active';
  if (!worst) return `Device "${device}" failed its health check${where}.`;
  return `Device "${device}": model ${worst.model} measured ${pct(worst.measured)} on its health slice, expected ${pct(worst.expected)} (a drop of ${worst.dropPoints.toFixed(1)} points, more than the ${maxDrop} allowed)${where}.`;
}

function measuredOf(health: HealthResult | null): StepAccuracy[] | null {
  return health
    ? health.models.map((m) => ({
        model: m.model,
        samples: m.samples,
        expectedAccuracy: m.expected,
        measuredAccuracy: m.measured,
      }))
    : null;
}

interface Context {
  readonly store: FleetStore;
  readonly rolloutId: number;
  readonly plan: ArchivedPlan;
  readonly maxDrop: number;
  readonly request: RolloutRequest;
  readonly progress: ProgressSink;
  readonly deltas: DeltaCache;
  /** Phase times per device name, over its attempts. */
  readonly times: Map<string, PhaseTimes>;
  /** Fraction of the rollout one device is worth, for progress. */
  readonly share: number;
  done: number;
}

function report(ctx: Context, device: string, within: number, message: string): void {
  ctx.progress({
    stage: 'rollout',
    task: device,
    step: Math.floor(ctx.done),
    fraction: Math.min(1, (ctx.done + within) * ctx.share),
    message,
  });
}

/**
 * Stage, verify, activate on one connected device. Gate failures come back as an outcome (they are
 * not retried); transport failures as errors (the pool retries the transient ones).
 */
async function deployOn(
  ctx: Context,
  device: Device,
  wave: number,
  attempt: number,
  agent: AgentClient,
  connection: SshConnection,
  signal: AbortSignal,
): Promise<Result<DeviceOutcome>> {
  const { store, rolloutId, plan } = ctx;
  const sigOpt = { signal };
  const step = (patch: Parameters<FleetStore['updateStep']>[2]) =>
    store.updateStep(rolloutId, device.name, patch);
  const times = ctx.times.get(device.name) ?? {};
  ctx.times.set(device.name, times);
  const status = await timed(times, 'status', () => agent.statusWithFiles(plan.planId, sigOpt));
  if (!status.ok) return status;
  store.markSeen(device.name);
  store.setDevicePlans(device.name, status.value.activePlan, status.value.previousPlan);
  const base: Omit<DeviceOutcome, 'state' | 'mode' | 'bytesSent' | 'measured' | 'error'> = {
    device: device.name,
    phaseMs: times,
    wave,
    attempts: attempt,
    activePlan: status.value.activePlan,
    previousPlan: status.value.previousPlan,
  };
  if (status.value.activePlan === plan.planId) {
    step({ state: 'skipped', endedAt: new Date().toISOString() });
    report(ctx, device.name, 1, 'already active');
    return ok({ ...base, state: 'skipped', mode: null, bytesSent: 0, measured: null, error: null });
  }
  report(ctx, device.name, 0.1, 'staging');
  const stageOptions = {
    signal,
    progress: ctx.progress,
    deltas: ctx.deltas,
    allowDelta: ctx.request.allowDelta !== false,
    times,
  };
  const staged = await stagePlan(
    store,
    connection,
    agent.endpoint,
    plan,
    { activePlan: status.value.activePlan, present: status.value.files.files },
    stageOptions,
  );
  if (!staged.ok) return staged;
  let sent = staged.value.bytesSent;
  let mode = staged.value.mode;
  step({ state: 'activating', mode, bytesSent: sent });
  report(ctx, device.name, 0.6, 'activating');
  ctx.progress({
    stage: 'activate',
    task: device.name,
    step: 0,
    fraction: Math.min(1, (ctx.done + 0.6) * ctx.share),
  });
  // The agent verifies every hash before it switches (and a delta's rebuild before it takes the
  // plan's name), so activation is the verify: no separate command, no second read of every byte.
  const activateOnce = (basePlanId: string | null) =>
    timed(times, 'activate', () =>
      basePlanId === null
        ? agent.activate(plan.planId, ctx.maxDrop, sigOpt)
        : agent.activateDelta(plan.planId, basePlanId, ctx.maxDrop, sigOpt),
    );
  let activated = await activateOnce(staged.value.basePlanId);
  if (!activated.ok && restageable(activated.error)) {
    // A file damaged on the device after it arrived (its hash no longer matches), or a delta the
    // device could not apply (its copy of the base plan is damaged): the files of the full plan whose
    // hash differs are sent — exactly the damaged ones, or the whole plan — and activated once more.
    const again = await timed(times, 'status', () => agent.statusWithFiles(plan.planId, sigOpt));
    if (!again.ok) return again;
    const full = await stagePlan(
      store,
      connection,
      agent.endpoint,
      plan,
      { activePlan: again.value.activePlan, present: again.value.files.files },
      { ...stageOptions, allowDelta: false },
    );
    if (!full.ok) return full;
    sent += full.value.bytesSent;
    mode = mode === 'delta' && full.value.filesSent > 0 ? 'full' : mode;
    step({ mode, bytesSent: sent });
    activated = await activateOnce(null);
  }
  // What the device now runs: the agent's answer says it (after a failed check, where it switched
  // back to); any other failure is asked again on a fresh connection when the rollout ends.
  const answered = activated.ok ? activated.value : healthFailureOf(activated.error);
  const plans = answered ? { activePlan: answered.active, previousPlan: answered.previous } : null;
  if (plans) store.setDevicePlans(device.name, plans.activePlan, plans.previousPlan);
  if (activated.ok) {
    const measured = measuredOf(activated.value.health);
    step({ state: 'succeeded', measured, bytesSent: sent, endedAt: new Date().toISOString() });
    report(ctx, device.name, 1, 'activated');
    return ok({
      ...base,
      ...plans,
      state: 'succeeded',
      mode,
      bytesSent: sent,
      measured,
      error: null,
    });
  }
  const failure: ActivateResult | undefined = healthFailureOf(activated.error);
  if (!failure) return activated;
  const reason = gateReason(device.name, failure.health, ctx.maxDrop, failure.active);
  const error = makeError(
    'E_HEALTH',
    reason,
    'Check the plan on a device like this one (wsep eval), or allow a larger drop with --max-drop.',
    {
      device: device.name,
      health: failure.health,
    },
  );
  const measured = measuredOf(failure.health);
  step({ state: 'rolled-back', measured, bytesSent: sent, error, endedAt: new Date().toISOString() });
  report(ctx, device.name, 1, 'health check failed; rolled back');
  return ok({
    ...base,
    ...plans,
    state: 'rolled-back',
    mode,
    bytesSent: sent,
    measured,
    error,
  });
}

/** Failures of an activation that a full staging of the files whose hash differs can mend. */
function restageable(error: WsepError): boolean {
  return (
    !isUnreachable(error) &&
    error.code !== 'E_CANCELLED' &&
    error.code !== 'E_DISK_FULL' &&
    error.code !== 'E_HEALTH' &&
    error.code !== 'E_USAGE'
  );
}

/** One attempt on one device, from connecting to the recorded outcome. */
async function deviceAttempt(
  ctx: Context,
  device: Device,
  wave: number,
  attempt: number,
  signal: AbortSignal,
): Promise<Result<DeviceOutcome>> {
  ctx.store.updateStep(ctx.rolloutId, device.name, {
    state: 'staging',
    attempts: attempt,
    ...(attempt === 1 ? { startedAt: new Date().toISOString() } : {}),
  });
  report(ctx, device.name, 0, attempt === 1 ? 'connecting' : `connecting (attempt ${attempt})`);
  const times = ctx.times.get(device.name) ?? {};
  ctx.times.set(device.name, times);
  const connection = await timed(times, 'connect', () =>
    connectDevice(device, {
      signal,
      ...(ctx.request.connectTimeoutMs !== undefined
        ? { connectTimeoutMs: ctx.request.connectTimeoutMs }
        : {}),
    }),
  );
  if (!connection.ok) return connection;
  try {
    const outcome = await deployOn(
      ctx,
      device,
      wave,
      attempt,
      agentOf(connection.value, device),
      connection.value,
      signal,
    );
    return outcome.ok ? outcome : { ok: false, error: namingDevice(device.name, outcome.error) };
  } finally {
    await connection.value.close();
  }
}

/**
 * How long a reconcile waits for a plan change under way on the device: a cancelled rollout closes its
 * connection, but an activation already running there finishes (its health check included).
 */
const IDLE_WAIT_MS = 30_000;
const IDLE_POLL_MS = 300;

/**
 * The agent's status once it is not busy (`busy`: its lock is held by an activate, rollback or
 * apply-delta), or the last status after IDLE_WAIT_MS. An agent older than 1.1.0 has no `busy`: its
 * first answer is taken.
 */
async function statusWhenIdle(agent: AgentClient): Promise<Result<AgentStatus>> {
  const deadline = performance.now() + IDLE_WAIT_MS;
  for (;;) {
    const asked = await agent.status({ timeoutMs: 60_000 });
    if (!asked.ok || asked.value.busy !== true || performance.now() >= deadline) return asked;
    await sleepMs(IDLE_POLL_MS, undefined);
  }
}

/** Asks the device for its plans on a fresh connection and records them (or marks it offline). */
export async function reconcileDevice(
  store: FleetStore,
  device: Device,
  connectTimeoutMs?: number,
): Promise<Result<{ activePlan: string | null; previousPlan: string | null }>> {
  const asked = await withDevice(
    device,
    connectTimeoutMs !== undefined ? { connectTimeoutMs } : {},
    (_connection, agent) => statusWhenIdle(agent),
  );
  if (!asked.ok) {
    if (isUnreachable(asked.error)) store.markOffline(device.name, asked.error.message);
    return asked;
  }
  store.markSeen(device.name);
  store.setDevicePlans(device.name, asked.value.activePlan, asked.value.previousPlan);
  return ok({ activePlan: asked.value.activePlan, previousPlan: asked.value.previousPlan });
}

/** Rolls `request.bundleDir` out; the rollout is in the store (with every step) whatever happens. */
export async function runRollout(
  store: FleetStore,
  request: RolloutRequest,
  options: RunOptions = {},
): Promise<Result<RolloutReport>> {
  const started = performance.now();
  const settings = usageOf(request);
  if (!settings.ok) return settings;
  const { shares, maxDrop, concurrency } = settings.value;
  const devices = store.listDevices();
  if (!devices.ok) return devices;
  const targets = resolveTargets(devices.value, request.to);
  if (!targets.ok) return targets;
  const unpinned = targets.value.filter((d) => d.hostKeyFingerprint === null).map((d) => d.name);
  if (unpinned.length > 0) {
    return {
      ok: false,
      error: makeError(
        'E_SSH_HOST_UNKNOWN',
        `No host key is accepted yet for ${unpinned.map((n) => JSON.stringify(n)).join(', ')}, so the rollout did not start.`,
        'Check each fingerprint and run wsep devices accept-key <device> first.',
        { devices: unpinned },
      ),
    };
  }
  const progress = options.progress ?? noProgress;
  progress({
    stage: 'rollout',
    step: 0,
    fraction: 0,
    message: 'checking the bundle and cutting health slices',
  });
  const plan = await archivePlan(store, request.bundleDir, {
    roots: request.roots,
    tolerancePoints: maxDrop,
    ...(request.healthSamples !== undefined ? { samples: request.healthSamples } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!plan.ok) return plan;
  const prepareMs = performance.now() - started;
  const waves = splitWaves(targets.value, shares);
  const created = store.createRollout({
    planId: plan.value.planId,
    targets: request.to,
    waves: shares,
    maxDropPoints: maxDrop,
    concurrency,
    steps: waves.flatMap((w, i) => w.map((d) => ({ device: d.name, wave: i }))),
  });
  if (!created.ok) return created;
  const rolloutId = created.value.id;
  store.audit({
    action: 'rollout.start',
    target: `rollout ${rolloutId}`,
    outcome: 'ok',
    detail: {
      planId: plan.value.planId,
      to: request.to,
      waves: shares,
      maxDropPoints: maxDrop,
      devices: targets.value.map((d) => d.name),
    },
  });
  const ctx: Context = {
    store,
    rolloutId,
    plan: plan.value,
    maxDrop,
    request,
    progress,
    deltas: new DeltaCache(),
    times: new Map(),
    share: 1 / Math.max(1, targets.value.length),
    done: 0,
  };
  const outcomes = new Map<string, DeviceOutcome>();
  const touched: Device[] = [];
  let state: Exclude<RolloutState, 'running'> = 'succeeded';
  let reason: string | null = null;
  try {
    for (const [wave, members] of waves.entries()) {
      if (options.signal?.aborted) {
        state = 'cancelled';
        reason = `Cancelled before wave ${wave + 1}.`;
        break;
      }
      const pooled = await runPool(
        members,
        (device, { attempt, signal }) => deviceAttempt(ctx, device, wave, attempt, signal),
        {
          concurrency,
          timeoutMs: request.deviceTimeoutMs ?? DEFAULT_DEVICE_TIMEOUT_MS,
          retries: request.retries ?? DEFAULT_RETRIES,
          backoffMs: request.backoffMs ?? DEFAULT_BACKOFF_MS,
          ...(options.signal ? { signal: options.signal } : {}),
          stopWhen: (_d, r) => !r.ok || r.value.state === 'rolled-back',
          onRetry: (device, attempt, error, delay) =>
            progress({
              stage: 'rollout',
              task: device.name,
              step: 0,
              fraction: Math.min(1, ctx.done * ctx.share),
              message: `${error.message} Retrying in ${Math.round(delay / 100) / 10} s (attempt ${attempt}).`,
            }),
        },
      );
      for (const p of pooled) {
        if (!p.started) continue;
        touched.push(p.item);
        ctx.done += 1;
        if (p.result.ok) {
          outcomes.set(p.item.name, p.result.value);
          if (p.result.value.state === 'rolled-back' && state === 'succeeded') {
            state = 'stopped';
            reason = p.result.value.error?.message ?? `Device "${p.item.name}" failed its health check.`;
          }
          continue;
        }
        const error = p.result.error;
        const cancelled = error.code === 'E_CANCELLED' || options.signal?.aborted === true;
        store.updateStep(rolloutId, p.item.name, {
          state: cancelled ? 'cancelled' : 'failed',
          attempts: p.attempts,
          error,
          endedAt: new Date().toISOString(),
        });
        if (isUnreachable(error)) store.markOffline(p.item.name, error.message);
        const prior = store.getRollout(rolloutId);
        const bytes = prior.ok
          ? (prior.value.steps.find((s) => s.device === p.item.name)?.bytesSent ?? 0)
          : 0;
        outcomes.set(p.item.name, {
          device: p.item.name,
          wave,
          state: cancelled ? 'cancelled' : 'failed',
          mode: null,
          bytesSent: bytes,
          attempts: p.attempts,
          measured: null,
          error,
          activePlan: null,
          previousPlan: null,
          phaseMs: ctx.times.get(p.item.name) ?? {},
        });
        if (cancelled) {
          state = 'cancelled';
          reason ??= 'Cancelled by the user.';
        } else if (state === 'succeeded' || state === 'stopped') {
          state = 'failed';
          reason = error.message;
        }
      }
      if (state !== 'succeeded') break;
    }
  } finally {
    ctx.deltas.dispose();
  }
  if (state === 'cancelled' || options.signal?.aborted) {
    state = 'cancelled';
    reason ??= 'Cancelled by the user.';
  }
  // The store must say what the devices say: ask every device that did not end in success again.
  for (const device of touched) {
    const outcome = outcomes.get(device.name);
    if (outcome && (outcome.state === 'succeeded' || outcome.state === 'skipped')) continue;
    const times = ctx.times.get(device.name) ?? {};
    ctx.times.set(device.name, times);
    const asked = await timed(times, 'reconcile', () =>
      reconcileDevice(store, device, request.connectTimeoutMs),
    );
    if (asked.ok && outcome) outcomes.set(device.name, { ...outcome, ...asked.value });
  }
  const finished = store.finishRollout(rolloutId, state, reason);
  if (!finished.ok) return finished;
  const devicesOut = finished.value.steps.map(
    (s): DeviceOutcome =>
      outcomes.get(s.device) ?? {
        device: s.device,
        wave: s.wave,
        state: s.state,
        mode: s.mode,
        bytesSent: s.bytesSent,
        attempts: s.attempts,
        measured: s.measured,
        error: s.error,
        activePlan: null,
        previousPlan: null,
        phaseMs: ctx.times.get(s.device) ?? {},
      },
  );
  const bytesSent = devicesOut.reduce((sum, d) => sum + d.bytesSent, 0);
  store.audit({
    action: 'rollout',
    target: `rollout ${rolloutId}`,
    outcome:
      state === 'succeeded'
        ? 'ok'
        : state === 'cancelled'
          ? 'cancelled'
          : state === 'stopped'
            ? 'stopped'
            : 'failed',
    detail: {
      planId: plan.value.planId,
      to: request.to,
      state,
      reason,
      bytesSent,
      devices: devicesOut.map((d) => ({
        device: d.device,
        state: d.state,
        mode: d.mode,
        bytesSent: d.bytesSent,
      })),
    },
  });
  progress({
    stage: 'rollout',
    step: targets.value.length,
    total: targets.value.length,
    fraction: 1,
    message: state,
  });
  return ok({
    rolloutId,
    planId: plan.value.planId,
    state,
    reason,
    waves: waves.map((w) => w.map((d) => d.name)),
    devices: devicesOut,
    bytesSent,
    fullBytes: plan.value.files.reduce((s, f) => s + f.bytes, 0) * targets.value.length,
    wallMs: performance.now() - started,
    prepareMs,
  });
}

/** Switches a device back to its previous plan (health-checked by its agent) and records it. */
export async function rollbackDevice(
  store: FleetStore,
  name: string,
  options: RunOptions & { readonly connectTimeoutMs?: number } = {},
): Promise<Result<ActivateResult>> {
  const found = store.getDevice(name);
  if (!found.ok) return found;
  const device = found.value;
  (options.progress ?? noProgress)({
    stage: 'rollback',
    task: name,
    step: 0,
    fraction: 0,
    message: 'rolling back',
  });
  const result = await withDevice(
    device,
    {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    },
    async (_connection, agent) => {
      const done = await agent.rollback(options.signal ? { signal: options.signal } : {});
      const after = await agent.status();
      if (after.ok) {
        store.markSeen(name);
        store.setDevicePlans(name, after.value.activePlan, after.value.previousPlan);
      }
      return done;
    },
  );
  if (!result.ok && isUnreachable(result.error)) store.markOffline(name, result.error.message);
  store.audit({
    action: 'rollback',
    target: name,
    outcome: result.ok ? 'ok' : result.error.code === 'E_CANCELLED' ? 'cancelled' : 'failed',
    detail: result.ok
      ? { active: result.value.active, previous: result.value.previous }
      : { error: { code: result.error.code, message: result.error.message } },
  });
  (options.progress ?? noProgress)({
    stage: 'rollback',
    task: name,
    step: 1,
    fraction: 1,
    message: result.ok ? 'done' : 'failed',
  });
  return result.ok ? result : { ok: false, error: namingDevice(name, result.error) };
}
