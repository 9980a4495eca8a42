/**
 * The store's own copy of every plan it rolls out: `<store>/bundles/<planId>/` holds the bundle's
 * files and `health/` (the on-device test slices and the accuracy the app measured on them). Rollouts
 * send from this copy, and a later plan's page delta is made against the copy of the plan a device
 * holds, so the user's bundle folder may change or vanish after a rollout.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fail, ok, toError, type Result } from '../core/errors.ts';
import { MANIFEST_FILE, SHARED_FILE, exclusiveFile, graphFile } from '../image/manifest.ts';
import { readResidentBundle, verifyBundle } from '../image/read.ts';
import {
  HEALTH_FILE,
  buildHealthSlices,
  readHealthManifest,
  type HealthManifest,
  type HealthSliceOptions,
} from '../runtime/health-slice.ts';
import { writeHostPredictions } from '../mcu/host-predictions.ts';
import { listPlanFiles, totalBytes } from './plan-files.ts';
import { AGENT_LAYOUT, type StagedFile } from './protocol.ts';
import type { FleetStore } from './store/store.ts';
import type { Plan } from './store/types.ts';

export interface ArchiveOptions extends HealthSliceOptions {
  /** Folders searched for the tasks' data (build with `dataRoots`). */
  readonly roots: readonly string[];
  /** The plan's name in the store; default the bundle folder's name. */
  readonly name?: string;
  readonly signal?: AbortSignal;
}

export interface ArchivedPlan {
  readonly planId: string;
  /** The store's copy: bundle files and health/. */
  readonly dir: string;
  /** Every file of the copy with its size and hash (what a full staging sends). */
  readonly files: readonly StagedFile[];
  readonly bundleBytes: number;
  readonly healthBytes: number;
  readonly health: HealthManifest;
  readonly plan: Plan;
}

/** The bundle's own files, relative to its folder (extra files in the user's folder are not sent). */
function bundleFileNames(models: readonly string[]): string[] {
  return [MANIFEST_FILE, SHARED_FILE, ...models.flatMap((m) => [exclusiveFile(m), graphFile(m)])];
}

function describe(
  files: readonly StagedFile[],
  dir: string,
  health: HealthManifest,
  plan: Plan,
): ArchivedPlan {
  const isHealth = (f: StagedFile) => f.path.startsWith(`${AGENT_LAYOUT.healthDir}/`);
  return {
    planId: health.planId,
    dir,
    files,
    bundleBytes: totalBytes(files.filter((f) => !isHealth(f))),
    healthBytes: totalBytes(files.filter(isHealth)),
    health,
    plan,
  };
}

/** The copy of a plan the store already holds, or E_NOT_FOUND. */
export function archivedPlan(store: FleetStore, planId: string): Result<ArchivedPlan> {
  const plan = store.getPlan(planId);
  if (!plan.ok) return plan;
  const dir = plan.value.bundlePath;
  if (!existsSync(join(dir, MANIFEST_FILE)) || !existsSync(join(dir, AGENT_LAYOUT.healthFile))) {
    return fail(
      'E_NOT_FOUND',
      `The store's copy of plan ${planId.slice(0, 12)}… is missing at ${dir}.`,
      'Roll the bundle out again with wsep rollout <bundle>; the store makes a new copy.',
    );
  }
  const health = readHealthManifest(join(dir, AGENT_LAYOUT.healthDir));
  if (!health.ok) return health;
  const files = listPlanFiles(dir);
  if (!files.ok) return files;
  return ok(describe(files.value, dir, health.value, plan.value));
}

/**
 * Checks the bundle completely, copies it into the store with freshly built health slices (unless the
 * store already holds this plan), and records the plan. Returns the copy's file list.
 */
export async function archivePlan(
  store: FleetStore,
  bundleDir: string,
  options: ArchiveOptions,
): Promise<Result<ArchivedPlan>> {
  const source = resolve(bundleDir);
  const verified = await verifyBundle(source, options.signal ? { signal: options.signal } : {});
  if (!verified.ok) return verified;
  const problem = verified.value.problems[0];
  if (problem || verified.value.planId === undefined) {
    return fail(
      'E_BUNDLE_CORRUPT',
      `The bundle at ${source} is not valid: ${problem?.message ?? 'it has no plan id'}.`,
      'Run wsep bundle verify on it, and write the plan again if it is damaged.',
      { problems: verified.value.problems },
    );
  }
  const planId = verified.value.planId;
  const known = archivedPlan(store, planId);
  if (known.ok) return known;
  const dest = store.bundleDirFor(planId);
  if (!dest.ok) return dest;
  const bundle = await readResidentBundle(source);
  if (!bundle.ok) return bundle;
  const manifest = bundle.value.manifest;
  const temp = join(
    dirname(dest.value),
    `.${basename(dest.value)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    for (const rel of bundleFileNames(manifest.models.map((m) => m.name))) {
      mkdirSync(dirname(join(temp, rel)), { recursive: true });
      copyFileSync(join(source, rel), join(temp, rel));
    }
    const health = await buildHealthSlices(temp, options.roots, join(temp, AGENT_LAYOUT.healthDir), {
      ...(options.samples !== undefined ? { samples: options.samples } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.tolerancePoints !== undefined ? { tolerancePoints: options.tolerancePoints } : {}),
    });
    if (!health.ok) return health;
    // The host's class per slice sample, for MCU gateways (they check their firmware sample by sample).
    const host = await writeHostPredictions(temp, join(temp, AGENT_LAYOUT.healthDir));
    if (!host.ok) return host;
    rmSync(dest.value, { recursive: true, force: true });
    renameSync(temp, dest.value);
    const saved = store.savePlan({
      id: planId,
      name: options.name ?? basename(source),
      bundlePath: dest.value,
      summary: {
        source,
        pageSize: manifest.pageSize,
        sharedPages: manifest.shared.pageCount,
        budgets: manifest.budgets,
        bundleBytes: bundle.value.totalBytes,
        models: manifest.models.map((m) => ({
          model: m.name,
          testBefore: m.accuracy.test.before,
          testAfter: m.accuracy.test.after,
        })),
      },
      health: {
        tolerancePoints: health.value.tolerancePoints,
        models: health.value.models.map((m) => ({
          model: m.model,
          samples: m.samples,
          expectedAccuracy: m.expectedAccuracy,
        })),
      },
    });
    if (!saved.ok) return saved;
    const files = listPlanFiles(dest.value);
    if (!files.ok) return files;
    return ok(describe(files.value, dest.value, health.value, saved.value));
  } catch (thrown) {
    return { ok: false, error: toError(thrown, 'E_IO') };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** The health manifest's file inside a plan copy (for messages and tests). */
export const HEALTH_PATH = `${AGENT_LAYOUT.healthDir}/${HEALTH_FILE}`;
