/**
 * The host runtime's class for every sample of a plan's health slices, written by the app beside
 * health.json (`health/host-predictions.json`) so that an MCU gateway — which has no onnxruntime and no
 * task data — can check its firmware sample by sample: with f32 pages the firmware must predict the
 * host's class on every sample, and the accuracy the app expects on any prefix of a slice is known
 * exactly, so the gateway may run only the first few samples (soft-float f32 under QEMU is slow).
 *
 * The file names the plan and the SHA-256 of each slice's inputs file it was computed on, so a stale or
 * misplaced file is refused rather than compared against the wrong samples. Linux agents ignore it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, toError, type Result } from '../core/errors.ts';
import { HEX64 } from '../image/hash.ts';
import { healthInputs, readHealthSlices, type HealthManifest } from '../runtime/health-slice.ts';
import { PagedRuntime } from '../runtime/runtime.ts';

export const HOST_PREDICTIONS_FILE = 'host-predictions.json';
export const HOST_PREDICTIONS_FORMAT = 'weightsep-host-predictions';
export const HOST_PREDICTIONS_VERSION = 1;

export interface HostModelPredictions {
  readonly model: string;
  /** SHA-256 of the slice's inputs file (health.json's inputs.sha256) the predictions were made on. */
  readonly inputsSha256: string;
  /** The host paged runtime's class per sample, in slice order. */
  readonly predictions: readonly number[];
}

export interface HostPredictions {
  readonly format: typeof HOST_PREDICTIONS_FORMAT;
  readonly version: typeof HOST_PREDICTIONS_VERSION;
  readonly planId: string;
  readonly models: readonly HostModelPredictions[];
}

/**
 * Runs the bundle at `bundleDir` on the health slices in `healthDir` with the host paged runtime and
 * writes `host-predictions.json` there.
 */
export async function writeHostPredictions(
  bundleDir: string,
  healthDir: string,
): Promise<Result<HostPredictions>> {
  const health = readHealthSlices(healthDir);
  if (!health.ok) return health;
  const opened = await PagedRuntime.open(bundleDir, { sessions: 'lazy' });
  if (!opened.ok) return opened;
  const runtime = opened.value;
  try {
    const inputs = healthInputs(runtime, health.value);
    if (!inputs.ok) return inputs;
    const models: HostModelPredictions[] = [];
    for (const m of health.value.manifest.models) {
      const switched = await runtime.switchTo(m.model);
      if (!switched.ok) return switched;
      const predicted = await runtime.predict(inputs.value.get(m.model)!);
      if (!predicted.ok) return predicted;
      models.push({
        model: m.model,
        inputsSha256: m.inputs.sha256,
        predictions: Array.from(predicted.value.predictions),
      });
    }
    const file: HostPredictions = {
      format: HOST_PREDICTIONS_FORMAT,
      version: HOST_PREDICTIONS_VERSION,
      planId: runtime.planId,
      models,
    };
    writeFileSync(join(healthDir, HOST_PREDICTIONS_FILE), `${JSON.stringify(file)}\n`);
    return ok(file);
  } catch (thrown) {
    return { ok: false, error: toError(thrown, 'E_RUNTIME') };
  } finally {
    await runtime.close();
  }
}

const corrupt = (path: string, why: string): Result<never> =>
  fail(
    'E_BUNDLE_CORRUPT',
    `${path} does not belong to this plan's health slices: ${why}.`,
    'Stage the plan again from the app (wsep rollout), which writes the host predictions anew.',
  );

/**
 * The host predictions for `manifest`'s slices, per model; null when the file is absent (a plan staged
 * by an older app). Anything present but not matching the manifest is E_BUNDLE_CORRUPT.
 */
export function readHostPredictions(
  healthDir: string,
  manifest: HealthManifest,
): Result<ReadonlyMap<string, readonly number[]> | null> {
  const path = join(healthDir, HOST_PREDICTIONS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (thrown) {
    if ((thrown as NodeJS.ErrnoException).code === 'ENOENT') return ok(null);
    return corrupt(path, 'it is not readable JSON');
  }
  const f = json as Partial<HostPredictions>;
  if (f.format !== HOST_PREDICTIONS_FORMAT || f.version !== HOST_PREDICTIONS_VERSION)
    return corrupt(path, `it is not a version-${HOST_PREDICTIONS_VERSION} ${HOST_PREDICTIONS_FORMAT} file`);
  if (typeof f.planId !== 'string' || !HEX64.test(f.planId) || f.planId !== manifest.planId)
    return corrupt(path, 'it names another plan');
  if (!Array.isArray(f.models)) return corrupt(path, 'it has no models');
  const out = new Map<string, readonly number[]>();
  for (const m of manifest.models) {
    const entry = f.models.find((e) => (e as HostModelPredictions | null)?.model === m.model);
    if (!entry) return corrupt(path, `it lacks model "${m.model}"`);
    if (entry.inputsSha256 !== m.inputs.sha256)
      return corrupt(path, `model "${m.model}" was predicted on other samples`);
    const p = entry.predictions;
    if (!Array.isArray(p) || p.length !== m.samples || !p.every((c) => Number.isInteger(c) && c >= 0))
      return corrupt(path, `model "${m.model}" does not list ${m.samples} classes`);
    out.set(m.model, p);
  }
  return ok(out);
}
