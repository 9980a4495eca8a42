/**
 * Putting a plan onto a device: either the whole copy (bundle + health slices) into
 * `staging/<planId>/`, or — when the device's active plan is one the store holds — a page delta
 * against it into `staging/<planId>.delta/` (only pages the device holds nowhere, new graphs and the
 * new manifest; shared/image diff), which the agent rebuilds and verifies when it activates the plan
 * (`activate --base`). An interrupted upload resumes: the agent's `status --plan` lists the complete
 * files it has, and those with the right size and hash are not sent again. Files go over the
 * connection's one SFTP session a few at a time, so one file's open, fsync and rename round trips
 * overlap another's bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ok, type Result } from '../core/errors.ts';
import { noProgress, type ProgressSink } from '../core/progress.ts';
import { diffBundles, writeDelta } from '../image/diff.ts';
import { archivedPlan, type ArchivedPlan } from './plan-archive.ts';
import { listPlanFiles, missingFiles, totalBytes } from './plan-files.ts';
import type { PhaseTimes } from './phase-times.ts';
import { AGENT_LAYOUT, type StagedFile } from './protocol.ts';
import { underRoot } from './provision.ts';
import type { SshConnection } from './ssh/connection.ts';
import type { FleetStore } from './store/store.ts';

export type StageMode = 'full' | 'delta';

export interface StageResult {
  readonly planId: string;
  readonly mode: StageMode;
  /** The plan the delta was made against (delta mode): activate with `--base` it to rebuild the plan. */
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
  /** The upload's wall time is added to `upload`. */
  readonly times?: PhaseTimes;
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

/** Files in flight at once on the one SFTP session (each with its own window of writes). */
export const FILES_IN_FLIGHT = 4;

interface Sender {
  readonly connection: SshConnection;
  readonly device: string;
  readonly progress: ProgressSink;
  readonly signal: AbortSignal | undefined;
  /** Bytes of everything this staging will upload, for progress. */
  readonly total: number;
  /** Bytes acknowledged so far, over every file. */
  done: number;
}

/**
 * Uploads `files` from `localDir` to `remoteDir`, FILES_IN_FLIGHT at a time, reporting bytes as they
 * go. After the first failure no new file is started; the first failure is the answer (the others
 * failed because of it, or finished and will be found complete by a resumed upload).
 */
async function sendFiles(
  sender: Sender,
  localDir: string,
  remoteDir: string,
  files: readonly StagedFile[],
): Promise<Result<number>> {
  let sent = 0;
  let next = 0;
  let failure: Result<never> | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < files.length) {
      const f = files[next++]!;
      let counted = 0;
      const up = await sender.connection.upload(join(localDir, f.path), `${remoteDir}/${f.path}`, {
        ...(sender.signal ? { signal: sender.signal } : {}),
        onBytes: (n) => {
          sender.done += n - counted;
          counted = n;
          sender.progress({
            stage: 'upload',
            task: sender.device,
            step: sender.done,
            total: sender.total,
            fraction: sender.total > 0 ? Math.min(1, sender.done / sender.total) : 1,
            message: f.path,
          });
        },
      });
      if (!up.ok) {
        failure ??= up;
        return;
      }
      sent += up.value.bytes;
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, lane));
  return failure ?? ok(sent);
}

/**
 * Stages `plan` on the device behind `connection`. `device` is what its agent's `status --plan`
 * answered: the active plan (the base of a delta) and the complete files of an earlier, interrupted
 * upload of this plan, which are not sent again. When those are the whole plan (an upload that
 * finished, or a plan whose health check failed and was kept), nothing is sent.
 */
export async function stagePlan(
  store: FleetStore,
  connection: SshConnection,
  endpoint: { readonly device: string; readonly root: string },
  plan: ArchivedPlan,
  device: { readonly activePlan: string | null; readonly present: readonly StagedFile[] },
  options: StageOptions = {},
): Promise<Result<StageResult>> {
  const t0 = performance.now();
  try {
    return await stage(store, connection, endpoint, plan, device, options);
  } finally {
    if (options.times) options.times.upload = (options.times.upload ?? 0) + (performance.now() - t0);
  }
}

async function stage(
  store: FleetStore,
  connection: SshConnection,
  endpoint: { readonly device: string; readonly root: string },
  plan: ArchivedPlan,
  device: { readonly activePlan: string | null; readonly present: readonly StagedFile[] },
  options: StageOptions,
): Promise<Result<StageResult>> {
  const stagingDir = underRoot(endpoint.root, `${AGENT_LAYOUT.staging}/${plan.planId}`);
  const sentBefore = connection.bytesSent;
  const fullBytes = totalBytes(plan.files);
  const needed = missingFiles(plan.files, device.present);
  const sender = (total: number): Sender => ({
    connection,
    device: endpoint.device,
    progress: options.progress ?? noProgress,
    signal: options.signal,
    total,
    done: 0,
  });
  const activePlan = device.activePlan;
  const base =
    needed.length > 0 && options.allowDelta !== false && activePlan !== null && activePlan !== plan.planId
      ? archivedPlan(store, activePlan)
      : undefined;
  if (base?.ok) {
    const cache = options.deltas ?? new DeltaCache();
    try {
      const delta = await cache.get(base.value, plan);
      if (!delta.ok) return delta;
      // Health files whose content the base plan's slices lack; the agent takes the rest from there.
      const health = missingFiles(plan.files.filter(isHealthFile), base.value.files.filter(isHealthFile));
      const deltaDir = `${stagingDir}${AGENT_LAYOUT.deltaSuffix}`;
      const upload = sender(totalBytes(delta.value.files) + totalBytes(health));
      const deltaSent = await sendFiles(upload, delta.value.dir, deltaDir, delta.value.files);
      if (!deltaSent.ok) return deltaSent;
      const healthSent = await sendFiles(upload, plan.dir, deltaDir, health);
      if (!healthSent.ok) return healthSent;
      const filesSent = delta.value.files.length + health.length;
      return ok({
        planId: plan.planId,
        mode: 'delta',
        basePlanId: base.value.planId,
        bytesSent: connection.bytesSent - sentBefore,
        filesSent,
        filesSkipped: plan.files.length - filesSent,
        fullBytes,
      });
    } finally {
      if (!options.deltas) cache.dispose();
    }
  }
  const sent = await sendFiles(sender(totalBytes(needed)), plan.dir, stagingDir, needed);
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
