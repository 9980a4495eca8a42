/**
 * The plans the app knows, as the Plans and Rollouts pages show them: the bundles in the app's plans
 * folders (each a folder with a manifest.json) and the store's copies of every plan rolled out. Read
 * from each bundle's manifest and its planner report (image/manifest.ts, image/report.ts): no page
 * data is read, so listing stays quick however large the bundles are.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import type { FleetStore } from '../fleet/store/store.ts';
import type { Plan } from '../fleet/store/types.ts';
import { MANIFEST_FILE, parseManifest, type Manifest } from '../image/manifest.ts';
import { readPlanReport } from '../image/report.ts';
import type { PageMap, PlanFigures, PlanListing } from './contract.ts';

/** The manifest of the bundle in `dir`, or why it cannot be read. */
export function readManifest(dir: string): Result<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (thrown) {
    return fail('E_BUNDLE', `Cannot read the plan's manifest in ${dir}: ${(thrown as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fail('E_BUNDLE', `The manifest in ${dir} is not a JSON object.`);
  const parsed = parseManifest(json as Record<string, unknown>);
  if (!parsed.manifest) {
    return fail(
      'E_BUNDLE',
      `The manifest in ${dir} is not valid: ${parsed.problems[0]?.message ?? 'unknown problem'}.`,
      undefined,
      { problems: parsed.problems },
    );
  }
  return ok(parsed.manifest);
}

/** The planner's figures of a bundle, from its report; null when it has none that parses. */
export function planFigures(manifest: Manifest): PlanFigures | null {
  const report = readPlanReport(manifest.report);
  if (!report) return null;
  return {
    pageSize: report.pageSize,
    valueType: report.valueType,
    sharedPages: report.sharedPageCount,
    budgets: report.budgets,
    l1Bytes: report.totals.l1Bytes,
    l2Bytes: report.totals.l2Bytes,
    storedPacking: report.totals.storedPacking,
    ceiling: report.totals.ceiling,
    tasks: report.tasks.map((t) => ({ task: t.task, testBefore: t.test.before, testAfter: t.test.after })),
    occupancyHistogram: report.occupancyHistogram,
  };
}

function bundleBytes(manifest: Manifest, dir: string): number {
  let manifestBytes = 0;
  try {
    manifestBytes = statSync(join(dir, MANIFEST_FILE)).size;
  } catch {
    // counted as 0: the listing says what it can
  }
  return (
    manifestBytes +
    manifest.shared.bytes +
    manifest.models.reduce((sum, m) => sum + m.exclusive.bytes + m.graph.bytes, 0)
  );
}

function listing(
  manifest: Manifest,
  dir: string,
  name: string,
  createdAt: string | null,
  stored: Plan | undefined,
): PlanListing {
  return {
    id: manifest.planId,
    name,
    path: dir,
    inStore: stored !== undefined,
    createdAt,
    bundleBytes: bundleBytes(manifest, dir),
    modelCount: manifest.models.length,
    figures: planFigures(manifest),
    expected: (stored?.health.models ?? []).map((m) => ({
      model: m.model,
      expectedAccuracy: m.expectedAccuracy,
    })),
  };
}

/** Bundle folders directly under `dir` (those with a manifest), newest first by the manifest's time. */
function bundleFolders(dir: string): { path: string; name: string; createdAt: string }[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const found: { path: string; name: string; createdAt: string }[] = [];
  for (const name of entries) {
    if (name.startsWith('.')) continue; // a plan being written
    const path = join(dir, name);
    try {
      const stat = statSync(join(path, MANIFEST_FILE));
      if (stat.isFile()) found.push({ path, name, createdAt: stat.mtime.toISOString() });
    } catch {
      // not a bundle
    }
  }
  return found;
}

/**
 * Every plan the app knows: the bundles in `dirs` (a plan id found twice is listed once, from the
 * first folder) and the store's copies of plans rolled out from elsewhere. Newest first.
 */
export function listPlans(dirs: readonly string[], store: FleetStore): Result<PlanListing[]> {
  const stored = store.listPlans();
  if (!stored.ok) return stored;
  const byId = new Map(stored.value.map((p) => [p.id, p]));
  const seen = new Set<string>();
  const plans: PlanListing[] = [];
  for (const dir of dirs) {
    for (const folder of bundleFolders(dir)) {
      const manifest = readManifest(folder.path);
      if (!manifest.ok || seen.has(manifest.value.planId)) continue;
      seen.add(manifest.value.planId);
      plans.push(
        listing(manifest.value, folder.path, folder.name, folder.createdAt, byId.get(manifest.value.planId)),
      );
    }
  }
  for (const plan of stored.value) {
    if (seen.has(plan.id)) continue;
    const manifest = readManifest(plan.bundlePath);
    if (!manifest.ok) continue;
    seen.add(plan.id);
    plans.push(listing(manifest.value, plan.bundlePath, plan.name, plan.createdAt, plan));
  }
  return ok(plans.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '')));
}

export function findPlan(dirs: readonly string[], store: FleetStore, id: string): Result<PlanListing> {
  const plans = listPlans(dirs, store);
  if (!plans.ok) return plans;
  const found = plans.value.find((p) => p.id === id || (id.length >= 8 && p.id.startsWith(id)));
  if (!found) return fail('E_NOT_FOUND', `No plan ${id} in the app's plans folders or its store.`);
  return ok(found);
}

/** Which models hold a page in each shared slot (docs/FORMAT.md §5.2: entries below M are slots). */
export function pageMapOf(manifest: Manifest): PageMap {
  const slots = manifest.shared.pageCount;
  const occupants: number[][] = Array.from({ length: slots }, () => []);
  manifest.models.forEach((model, index) => {
    for (const entry of model.pageTable) {
      const slot = occupants[entry];
      if (entry < slots && slot && slot[slot.length - 1] !== index) slot.push(index);
    }
  });
  return { planId: manifest.planId, models: manifest.models.map((m) => m.name), slots, occupants };
}
