/**
 * Putting a plan into a device's `staging/<planId>/`: either the whole copy (bundle + health slices),
 * or — when the device's active plan is one the store holds — a page delta against it (only pages
 * the device holds nowhere, new graphs and the new manifest; shared/image diff), which the agent
 * rebuilds and verifies with `apply-delta`. Either way an interrupted upload resumes: the agent lists
 * the complete files it has (`files`), and those with the right size and hash are not sent again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ok, type Result } from '../core/errors.ts';
import { noProgress, type ProgressSink } from '../core/progress.ts';
import { diffBundles, writeDelta } from '../image/diff.ts';
import type { AgentClient } from './agent-client.ts';
import { archivedPlan, type ArchivedPlan } from './plan-archive.ts';
import { listPlanFiles, missingFiles, totalBytes } from './plan-files.ts';
import { isUnreachable } from './device-link.ts';
import { AGENT_LAYOUT, type StagedFile } from './protocol.ts';
import { underRoot } from './provision.ts';
import type { SshConnection } from './ssh/connection.ts';
import type { FleetStore } from './store/store.ts';

export type StageMode = 'full' | 'delta';

export interface StageResult {
  readonly planId: string;
  readonly mode: StageMode;
  /** The plan the delta was made against (delta mode). */
  readonly basePlanId: string | null;
  /** Payload bytes uploaded for this plan. */
  readonly bytesSent: number;
  readonly filesSent: number;
  /** Files the device already held complete (an earlier, interrupted upload). */
  readonly filesSkipped: number;
  /** Bytes of the whole plan copy (bundle + health), for comparison. */
  readonly fullBytes: number;
}

export interface StageOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
  /** Allow a page delta when the device's active plan is in the store (default true). */
  readonly allowDelta?: boolean;
  /** Where deltas are made (per rollout; reused for devices with the same active plan). */
  readonly deltas?: DeltaCache;
}

/** Deltas made during one rollout, by base plan id, in a temporary folder removed by `dispose`. */
export class DeltaCache {
  private dir: string | undefined;
  private readonly made = new Map<string, Promise<Result<DeltaFolder>>>();

  /** The delta folder from `base` to `target` and its files, made once. */
  get(base: ArchivedPlan, target: ArchivedPlan): Promise<Result<DeltaFolder>> {
    const key = `${base.planId}>${target.planId}`;
    let pending = this.made.get(key);
    if (!pending) {
      pending = this.make(base, target);
      this.made.set(key, pending);
    }
    return pending;
  }

  private async make(base: ArchivedPlan, target: ArchivedPlan): Promise<Result<DeltaFolder>> {
    this.dir ??= mkdtempSync(join(tmpdir(), 'wsep-delta-'));
    const delta = await diffBundles(base.dir, target.dir);
    if (!delta.ok) return delta;
    const dir = join(this.dir, `${base.planId.slice(0, 16)}-${target.planId.slice(0, 16)}`);
    const written = writeDelta(delta.value, dir);
    if (!written.ok) return written;
    const files = listPlanFiles(dir);
    if (!files.ok) return files;
    return ok({ dir, files: files.value });
  }

  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.made.clear();
  }
}

export interface DeltaFolder {
  readonly dir: string;
  readonly files: readonly StagedFile[];
}

const isHealthFile = (f: StagedFile) => f.path.startsWith(`${AGENT_LAYOUT.healthDir}/`);

interface Sender {
  readonly connection: SshConnection;
  readonly device: string;
  readonly progress: ProgressSink;
  readonly signal: AbortSignal | undefined;
  /** Bytes of everything this staging will upload, for progress. */
  total: number;
  done: number;
}

/** Uploads `files` from `localDir` to `remoteDir`, one after another, reporting bytes as they go. */
async function sendFiles(
  sender: Sender,
  localDir: string,
  remoteDir: string,
  files: readonly StagedFile[],
): Promise<Result<number>> {
  let sent = 0;
  for (const f of files) {
    const before = sender.done;
    const up = await sender.connection.upload(join(localDir, f.path), `${remoteDir}/${f.path}`, {
      ...(sender.signal ? { signal: sender.signal } : {}),
      onBytes: (n) =>
        sender.progress({
          stage: 'upload',
          task: sender.device,
          step: before + n,
          total: sender.total,
          fraction: sender.total > 0 ? Math.min(1, (before + n) / sender.total) : 1,
          message: f.path,
        }),
    });
    if (!up.ok) return up;
    sent += up.value.bytes;
    sender.done = before + up.value.bytes;
  }
  return ok(sent);
}

/**
 * Stages `plan` on the device behind `connection`. `activePlan` is what the device's agent reports as
 * active (the base of a delta). The files of an earlier interrupted staging are reused.
 */
export async function stagePlan(
  store: FleetStore,
  connection: SshConnection,
  agent: AgentClient,
  plan: ArchivedPlan,
  activePlan: string | null,
  options: StageOptions = {},
): Promise<Result<StageResult>> {
  const device = agent.endpoint.device;
  const root = agent.endpoint.root;
  const signal = options.signal;
  const sigOpt = signal ? { signal } : {};
  const stagingDir = underRoot(root, `${AGENT_LAYOUT.staging}/${plan.planId}`);
  const sentBefore = connection.bytesSent;
  const present = await agent.files(plan.planId, sigOpt);
  if (!present.ok) return present;
  const fullBytes = totalBytes(plan.files);
  const sender: Sender = {
    connection,
    device,
    progress: options.progress ?? noProgress,
    signal,
    total: 0,
    done: 0,
  };
  const base =
    options.allowDelta !== false && activePlan !== null && activePlan !== plan.planId
      ? archivedPlan(store, activePlan)
      : undefined;
  if (base?.ok) {
    const cache = options.deltas ?? new DeltaCache();
    try {
      return await stageDelta(
        sender,
        agent,
        plan,
        base.value,
        cache,
        stagingDir,
        fullBytes,
        sentBefore,
        sigOpt,
      );
    } finally {
      if (!options.deltas) cache.dispose();
    }
  }
  const needed = missingFiles(plan.files, present.value);
  sender.total = totalBytes(needed);
  const sent = await sendFiles(sender, plan.dir, stagingDir, needed);
  if (!sent.ok) return sent;
  return ok({
    planId: plan.planId,
    mode: 'full',
    basePlanId: null,
    bytesSent: connection.bytesSent - sentBefore,
    filesSent: needed.length,
    filesSkipped: plan.files.length - needed.length,
    fullBytes,
  });
}

/**
 * The bundle as a page delta into `staging/<planId>.delta/`, with the health files in its `health/`:
 * only those whose content the base plan's slices lack (the agent takes the rest from the installed
 * base plan). An agent that cannot do that says so when applying; then every health file is sent and
 * the delta applied once more.
 */
async function stageDelta(
  sender: Sender,
  agent: AgentClient,
  plan: ArchivedPlan,
  base: ArchivedPlan,
  cache: DeltaCache,
  stagingDir: string,
  fullBytes: number,
  sentBefore: number,
  sigOpt: { signal?: AbortSignal },
): Promise<Result<StageResult>> {
  const delta = await cache.get(base, plan);
  if (!delta.ok) return delta;
  const deltaDir = `${stagingDir}${AGENT_LAYOUT.deltaSuffix}`;
  const health = plan.files.filter(isHealthFile);
  const baseHealth = base.files.filter(isHealthFile);
  const changedHealth = missingFiles(health, baseHealth);
  sender.total = totalBytes(delta.value.files) + totalBytes(changedHealth);
  const deltaSent = await sendFiles(sender, delta.value.dir, deltaDir, delta.value.files);
  if (!deltaSent.ok) return deltaSent;
  const healthSent = await sendFiles(sender, plan.dir, deltaDir, changedHealth);
  if (!healthSent.ok) return healthSent;
  let filesSent = delta.value.files.length + changedHealth.length;
  let applied = await agent.applyDelta(plan.planId, base.planId, sigOpt);
  if (!applied.ok && !isUnreachable(applied.error) && applied.error.code !== 'E_CANCELLED') {
    const rest = missingFiles(health, changedHealth);
    if (rest.length > 0) {
      sender.total += totalBytes(rest);
      const restSent = await sendFiles(sender, plan.dir, deltaDir, rest);
      if (!restSent.ok) return restSent;
      filesSent += rest.length;
      applied = await agent.applyDelta(plan.planId, base.planId, sigOpt);
    }
  }
  if (!applied.ok) return applied;
  return ok({
    planId: plan.planId,
    mode: 'delta',
    basePlanId: base.planId,
    bytesSent: sender.connection.bytesSent - sentBefore,
    filesSent,
    filesSkipped: plan.files.length - filesSent,
    fullBytes,
  });
}
