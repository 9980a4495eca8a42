/**
 * `bench`: switching between the active plan's models on this device, two ways in the same run.
 *   paged — PagedRuntime.switchTo: one read of the model's exclusive pages, one gather (sessions exist);
 *   load  — what a device without WeightSep does: read the model's graph and its full weights from
 *           storage and create an onnxruntime session for it.
 * The full weights are the model's gathered weights, written once per run to a file on the same disk,
 * so both ways read from the same medium. Rounds interleave the two, model by model; medians reported.
 * Reads come from the page cache after the first round (dropping it needs root; the app's bench does).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import type { BenchModelResult, BenchResult } from '../../../shared/fleet/protocol.ts';
import { MANIFEST_FILE, parseManifest } from '../../../shared/image/manifest.ts';
import { createSession, floatTensor } from '../../../shared/onnx/ort.ts';
import { PagedRuntime } from '../../../shared/runtime/runtime.ts';
import type { AgentRoot } from './layout.ts';
import { activePlan, notOnGateway } from './inference.ts';

export const DEFAULT_BENCH_ROUNDS = 5;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function bench(root: AgentRoot, rounds = DEFAULT_BENCH_ROUNDS): Promise<Result<BenchResult>> {
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 1000)
    return fail('E_USAGE', `The number of rounds must be a whole number from 1 to 1000, got ${rounds}.`);
  const refused = notOnGateway(root, 'bench');
  if (!refused.ok) return refused;
  const id = activePlan(root);
  if (!id.ok) return id;
  const dir = root.planDir(id.value);
  const parsed = parseManifest(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as unknown);
  if (!parsed.manifest)
    return fail('E_BUNDLE_CORRUPT', `The active plan's manifest is invalid: ${parsed.problems[0]?.message}`);
  const manifest = parsed.manifest;
  const opened = await PagedRuntime.open(dir, { sessions: 'eager' });
  if (!opened.ok) return opened;
  const runtime = opened.value;
  const scratch = join(root.runDir, `bench-${process.pid}`);
  try {
    mkdirSync(scratch, { recursive: true });
    for (const m of manifest.models) {
      const switched = await runtime.switchTo(m.name);
      if (!switched.ok) return switched;
      const weights = runtime.activeWeights()!;
      writeFileSync(
        join(scratch, `${m.name}.f32`),
        new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
      );
    }
    const samples = new Map(
      manifest.models.map((m) => [m.name, { paged: [] as number[], load: [] as number[] }]),
    );
    const bytes = new Map<string, { paged: number; load: number }>();
    for (let round = 0; round < rounds; round++) {
      for (const m of manifest.models) {
        const t0 = performance.now();
        const switched = await runtime.switchTo(m.name);
        const t1 = performance.now();
        if (!switched.ok) return switched;
        const graph = readFileSync(join(dir, m.graph.file));
        const raw = readFileSync(join(scratch, `${m.name}.f32`));
        const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
        const session = await createSession(graph);
        if (!session.ok) return session;
        for (const t of m.tensors) floatTensor(values.subarray(t.offset, t.offset + t.length), t.dims);
        const t2 = performance.now();
        await session.value.release();
        samples.get(m.name)!.paged.push(t1 - t0);
        samples.get(m.name)!.load.push(t2 - t1);
        bytes.set(m.name, { paged: switched.value.bytesRead, load: graph.byteLength + raw.byteLength });
      }
    }
    const models: BenchModelResult[] = manifest.models.map((m) => ({
      model: m.name,
      switchMs: median(samples.get(m.name)!.paged),
      loadMs: median(samples.get(m.name)!.load),
      switchBytesRead: bytes.get(m.name)!.paged,
      loadBytesRead: bytes.get(m.name)!.load,
    }));
    const all = [...samples.values()];
    return ok({
      planId: id.value,
      rounds,
      models,
      switchMs: median(all.flatMap((s) => s.paged)),
      loadMs: median(all.flatMap((s) => s.load)),
    });
  } finally {
    await runtime.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
