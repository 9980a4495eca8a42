/**
 * Plans on their way in: the files of an upload (so the app can resume it), the full check of a staged
 * or installed plan (every hash of the bundle and of its health slices), and the rebuild of a staged
 * plan from an installed one and a page delta.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  readFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import type { ApplyDeltaResult, StagedFile, VerifyResult } from '../../../shared/fleet/protocol.ts';
import { applyDelta } from '../../../shared/image/diff.ts';
import { sha256Hex } from '../../../shared/image/hash.ts';
import { verifyBundle } from '../../../shared/image/read.ts';
import { readHealthManifest, readHealthSlices } from '../../../shared/runtime/health-slice.ts';
import { fsyncDir } from '../../../shared/core/durable-fs.ts';
import { checkPlanId, type AgentRoot } from './layout.ts';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Files under `dir`, '/'-separated and sorted; uploads in progress (`.part`) and hidden entries left out. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name.endsWith('.part')) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(join(dir, entry.name), rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Removes uploads in progress (`.part`) and hidden leftovers at any depth of `dir`. */
export function removeUnfinished(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.name.startsWith('.') || entry.name.endsWith('.part'))
      rmSync(full, { recursive: true, force: true });
    else if (entry.isDirectory()) removeUnfinished(full);
  }
}

/** `files <planId>`: complete files of an upload with their hashes; none when nothing is staged. */
export async function stagedFiles(root: AgentRoot, planId: string): Promise<Result<StagedFile[]>> {
  const id = checkPlanId(planId);
  if (!id.ok) return id;
  const dir = root.stagedDir(planId);
  if (!existsSync(dir)) return ok([]);
  const files: StagedFile[] = [];
  for (const path of listFiles(dir)) {
    const full = join(dir, ...path.split('/'));
    files.push({ path, bytes: statSync(full).size, sha256: await sha256File(full) });
  }
  return ok(files);
}

/** Where plan `planId` is: staged first (what is being rolled out), else installed. */
export function locatePlan(
  root: AgentRoot,
  planId: string,
): Result<{ dir: string; location: 'staging' | 'plans' }> {
  const id = checkPlanId(planId);
  if (!id.ok) return id;
  if (existsSync(root.stagedDir(planId))) return ok({ dir: root.stagedDir(planId), location: 'staging' });
  if (existsSync(root.planDir(planId))) return ok({ dir: root.planDir(planId), location: 'plans' });
  return fail(
    'E_NOT_FOUND',
    `Plan ${planId.slice(0, 12)}… is neither staged nor installed under ${root.root}.`,
    'Send the plan first (wsep rollout stages it before it activates it).',
  );
}

/**
 * Checks a plan folder completely: the bundle with every hash, that it is the plan its folder names,
 * and the health slices against health.json. Any problem is E_BUNDLE_CORRUPT (exit 3) naming the first.
 */
export async function verifyPlanDir(
  root: AgentRoot,
  planId: string,
  dir: string,
): Promise<Result<{ files: number; bytes: number; healthModels: number }>> {
  const corrupt = (why: string): Result<never> =>
    fail(
      'E_BUNDLE_CORRUPT',
      `Plan ${planId.slice(0, 12)}… at ${dir} does not verify: ${why}`,
      'Send the plan again (wsep rollout resends only the files whose hash differs).',
    );
  const report = await verifyBundle(dir);
  if (!report.ok) return report;
  const first = report.value.problems[0];
  if (first) return corrupt(`${first.file ? `${first.file}: ` : ''}${first.message}`);
  if (report.value.planId !== planId)
    return corrupt(
      `the bundle is plan ${report.value.planId?.slice(0, 12)}…, not the plan its folder names.`,
    );
  const health = readHealthSlices(root.healthDir(dir));
  if (!health.ok) return corrupt(health.error.message);
  if (health.value.manifest.planId !== planId)
    return corrupt(`its health slices were built for plan ${health.value.manifest.planId.slice(0, 12)}….`);
  const bundleFiles = listFiles(dir).filter((p) => !p.startsWith('health/'));
  let bytes = health.value.bytes;
  for (const p of bundleFiles) bytes += statSync(join(dir, ...p.split('/'))).size;
  return ok({
    files: bundleFiles.length + health.value.files,
    bytes,
    healthModels: health.value.manifest.models.length,
  });
}

export async function verifyPlan(root: AgentRoot, planId: string): Promise<Result<VerifyResult>> {
  const found = locatePlan(root, planId);
  if (!found.ok) return found;
  const checked = await verifyPlanDir(root, planId, found.value.dir);
  if (!checked.ok) return checked;
  return ok({ planId, location: found.value.location, ...checked.value });
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const path of listFiles(from)) {
    const target = join(to, ...path.split('/'));
    mkdirSync(join(target, '..'), { recursive: true });
    copyFileSync(join(from, ...path.split('/')), target);
  }
}

/**
 * Slices health.json lists but the delta did not bring are taken from the base plan when its file has
 * the listed hash: a new plan over the same tasks has the same slices, and they are most of a small
 * delta's bytes otherwise (64 float32 samples per model). Anything still missing fails verification.
 */
function reuseBaseSlices(baseHealth: string, newHealth: string): Result<number> {
  const manifest = readHealthManifest(newHealth);
  if (!manifest.ok) return manifest;
  let reused = 0;
  for (const f of manifest.value.models.flatMap((m) => [m.inputs, m.labels])) {
    const target = join(newHealth, f.file);
    const source = join(baseHealth, f.file);
    if (existsSync(target) || !existsSync(source)) continue;
    if (sha256Hex(readFileSync(source)) !== f.sha256) continue;
    copyFileSync(source, target);
    reused++;
  }
  return ok(reused);
}

/**
 * `apply-delta <planId> --base <basePlanId>`: rebuilds the plan from the installed base plan and the
 * delta in staging/<planId>.delta/ (with the new health files in its health/: health.json and the
 * slices that differ from the base plan's), in a hidden folder that
 * is verified before it is renamed to staging/<planId>; then the delta is removed.
 */
export async function applyStagedDelta(
  root: AgentRoot,
  planId: string,
  basePlanId: string,
): Promise<Result<ApplyDeltaResult>> {
  for (const id of [planId, basePlanId]) {
    const checked = checkPlanId(id);
    if (!checked.ok) return checked;
  }
  const base = root.planDir(basePlanId);
  if (!existsSync(base))
    return fail(
      'E_NOT_FOUND',
      `The base plan ${basePlanId.slice(0, 12)}… is not installed under ${root.root}, so the delta cannot be applied.`,
      'Send the full plan instead of a delta.',
    );
  const delta = root.deltaDir(planId);
  if (!existsSync(join(delta, 'health')))
    return fail(
      'E_NOT_FOUND',
      `No delta with health files for plan ${planId.slice(0, 12)}… under ${delta}.`,
      'Upload the delta (delta.json, pages.bin and health/) before applying it.',
    );
  const building = join(root.stagingRoot, `.${planId}.build-${randomBytes(4).toString('hex')}`);
  try {
    const applied = await applyDelta(base, delta, building);
    if (!applied.ok) return applied;
    copyTree(join(delta, 'health'), root.healthDir(building));
    const reused = reuseBaseSlices(root.healthDir(base), root.healthDir(building));
    if (!reused.ok) return reused;
    const checked = await verifyPlanDir(root, planId, building);
    if (!checked.ok) return checked;
    root.removeFolder(root.stagedDir(planId));
    renameSync(building, root.stagedDir(planId));
    fsyncDir(root.stagingRoot);
    root.removeFolder(delta);
    return ok({ planId, basePlanId, files: checked.value.files, bytes: checked.value.bytes });
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}
