/**
 * The MCU export as an MCU gateway makes it: from a staged plan (the bundle and its health slices) on
 * the gateway itself, with no task data and no onnxruntime there. The slices become model input with
 * the same function the app used (`healthSliceInputs`), and
 * what the firmware must match comes from the app: health.json's expected accuracy, and the host
 * runtime's class per sample (host-predictions.json).
 *
 * Soft-float f32 inference under QEMU is slow, so the gateway may run only the first `samples` of each
 * slice. The accuracy expected on that prefix is then the host predictions' accuracy on it (exact, not
 * an estimate); on the whole slice it is health.json's number. A plan staged without host predictions
 * runs its whole slices.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { DeviceProfile } from '../image/device-profile.ts';
import { readBundle } from '../image/read.ts';
import type { Split } from '../datasets/types.ts';
import { healthSliceInputs, readHealthSlices } from '../runtime/health-slice.ts';
import type { RuntimeModelInfo } from '../runtime/runtime.ts';
import type { Board } from './board.ts';
import { writeExport, type HostResult, type McuExport } from './export.ts';
import { readHostPredictions } from './host-predictions.ts';

export const DEFAULT_GATEWAY_SAMPLES = 8;

export interface GatewayExport {
  readonly manifest: McuExport;
  /** Samples run per model (a prefix of each slice) and the slices' own sizes. */
  readonly samples: ReadonlyMap<string, { readonly run: number; readonly slice: number }>;
  /** Whether the app's host predictions came with the plan (per-sample agreement is checked). */
  readonly hostPredictions: boolean;
}

function prefix(split: Split, k: number): Split {
  const size = split.x.length / Math.max(1, split.n);
  return { n: k, x: split.x.slice(0, k * size), y: split.y.slice(0, k) };
}

/**
 * Exports the plan at `bundleDir` with the slices in `healthDir` into `outDir`. Fails (E_BUDGET, "Region
 * fram is short by N bytes") when the plan does not fit the profile, writing nothing.
 */
export async function exportOnGateway(
  bundleDir: string,
  healthDir: string,
  outDir: string,
  options: { board: Board; profile: DeviceProfile; samples?: number },
): Promise<Result<GatewayExport>> {
  const wanted = options.samples ?? DEFAULT_GATEWAY_SAMPLES;
  const loaded = await readBundle(bundleDir);
  if (!loaded.ok) return loaded;
  const { plan, planId } = loaded.value;
  const health = readHealthSlices(healthDir);
  if (!health.ok) return health;
  const predicted = readHostPredictions(healthDir, health.value.manifest);
  if (!predicted.ok) return predicted;
  if (health.value.manifest.planId !== planId)
    return fail(
      'E_BUNDLE_CORRUPT',
      `The health slices were built for plan ${health.value.manifest.planId.slice(0, 12)}…, not for plan ${planId.slice(0, 12)}….`,
    );
  // Decoding and preprocessing only, from the bundle's own model records: opening the paged runtime
  // would load onnxruntime, which a gateway does not have.
  const inputs = new Map<string, Split>();
  for (const m of health.value.manifest.models) {
    const model = plan.models.find((x) => x.name === m.model);
    if (!model)
      return fail('E_BUNDLE_CORRUPT', `The health slices name model "${m.model}", which the bundle lacks.`);
    const info: RuntimeModelInfo = {
      name: model.name,
      inputShape: model.inputShape,
      classes: model.classes,
      preprocessing: model.preprocessing,
      accuracy: model.accuracy,
    };
    const split = healthSliceInputs(health.value.slices.get(m.model)!, info);
    if (!split.ok) return split;
    inputs.set(m.model, split.value);
  }
  const missing = plan.models.find((x) => !inputs.has(x.name));
  if (missing)
    return fail('E_BUNDLE_CORRUPT', `The health slices lack model "${missing.name}" of the bundle.`);
  const slices = new Map<string, Split>();
  const host = new Map<string, HostResult>();
  const samples = new Map<string, { run: number; slice: number }>();
  for (const m of health.value.manifest.models) {
    const split = inputs.get(m.model)!;
    const all = predicted.value?.get(m.model);
    const k = all && wanted > 0 ? Math.min(wanted, split.n) : split.n;
    const part = prefix(split, k);
    const predictions = all ? all.slice(0, k) : [];
    const accuracy =
      k === split.n
        ? m.expectedAccuracy
        : predictions.filter((c, i) => c === part.y[i]).length / Math.max(1, k);
    slices.set(m.model, part);
    host.set(m.model, { accuracy, predictions });
    samples.set(m.model, { run: k, slice: split.n });
  }
  const manifest = writeExport(outDir, plan, planId, slices, host, {
    board: options.board,
    profile: options.profile,
    logitsSamples: 0,
  });
  if (!manifest.ok) return manifest;
  return ok({ manifest: manifest.value, samples, hostPredictions: predicted.value !== null });
}
