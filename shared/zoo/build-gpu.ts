/**
 * Builds the SOTA-size architectures of the embedded-GPU profile (resources/zoo/gpu/): each is
 * initialised from the seed and trained with the engine on CIFAR-10 for a bounded wall-clock time
 * (they exist to measure planning and switching at realistic sizes, not to reach their published
 * accuracy on a CPU), then measured on CIFAR-10's validation and test splits. Their ONNX files are
 * large and stay out of git; `npm run zoo:gpu` rebuilds them and gpu.json records what happened.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { attemptAsync, fail, unwrap, type Result } from '../core/errors.ts';
import type { ProgressSink } from '../core/progress.ts';
import { loadTask } from '../datasets/load.ts';
import { encodeModel } from '../onnx/codec.ts';
import { writeFileAtomic } from '../onnx/io.ts';
import { selectWeights } from '../onnx/weights.ts';
import { fit } from '../train/fit.ts';
import { Trainer } from '../train/trainer.ts';
import { BatchSampler } from '../train/batches.ts';
import { GPU_ZOO } from './gpu.ts';

export interface GpuZooEntryResult {
  readonly name: string;
  readonly title: string;
  readonly file: string;
  readonly weights: number;
  readonly bytes: number;
  readonly task: string;
  readonly steps: number;
  readonly stepMs: number;
  readonly trainSeconds: number;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
}

export interface BuildGpuZooOptions {
  readonly outDir: string;
  readonly models?: readonly string[];
  /** Training time per model, seconds (the step count is derived from a timed first step). */
  readonly secondsPerModel?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
}

export async function buildGpuZoo(options: BuildGpuZooOptions): Promise<Result<GpuZooEntryResult[]>> {
  const names = options.models ?? GPU_ZOO.map((m) => m.name);
  const unknown = names.filter((n) => !GPU_ZOO.some((m) => m.name === n));
  if (unknown.length)
    return fail(
      'E_NOT_FOUND',
      `Unknown GPU model(s) ${unknown.join(', ')}.`,
      `Known: ${GPU_ZOO.map((m) => m.name).join(', ')}.`,
    );
  const data = loadTask('cifar10');
  if (!data.ok) return data;
  const seed = options.seed ?? 1;
  const batch = options.batchSize ?? 32;
  const budget = options.secondsPerModel ?? 120;
  return attemptAsync(async () => {
    mkdirSync(options.outDir, { recursive: true });
    const results: GpuZooEntryResult[] = [];
    for (const name of names) {
      const spec = GPU_ZOO.find((m) => m.name === name)!;
      const model = spec.build(seed, data.value.classes.length);
      // Time one step to turn the wall-clock budget into a step count.
      const probe = unwrap(await Trainer.create(model));
      const sampler = new BatchSampler(data.value.train, data.value.inputShape, { batchSize: batch, seed });
      sampler.next();
      await probe.gradients(sampler.x, sampler.y, sampler.size);
      const t0 = performance.now();
      await probe.gradients(sampler.x, sampler.y, sampler.size);
      const stepMs = performance.now() - t0;
      await probe.release();
      const steps = Math.max(5, Math.floor((budget * 1000) / (stepMs * 1.15)));
      options.progress?.({
        stage: 'gpu-zoo',
        task: name,
        step: 0,
        total: steps,
        fraction: results.length / names.length,
        message: `${stepMs.toFixed(0)} ms/step`,
      });
      const trained = unwrap(
        await fit(model, data.value, {
          task: name,
          steps,
          batchSize: batch,
          optimizer: { kind: 'adam', lr: 1e-3 },
          schedule: { kind: 'cosine' },
          evalEvery: steps,
          seed,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.progress ? { progress: options.progress } : {}),
        }),
      );
      const weights = selectWeights(trained.model).reduce((a, t) => a + t.data.length, 0);
      const file = `${name}.onnx`;
      unwrap(writeFileAtomic(join(options.outDir, file), encodeModel(trained.model)));
      results.push({
        name,
        title: spec.title,
        file,
        weights,
        bytes: weights * 4,
        task: 'cifar10',
        steps: trained.stepsDone,
        stepMs: trained.stepMs,
        trainSeconds: Math.round(trained.seconds),
        valAccuracy: trained.bestValAccuracy,
        testAccuracy: trained.test?.accuracy ?? NaN,
      });
    }
    unwrap(
      writeFileAtomic(
        join(options.outDir, 'gpu.json'),
        Buffer.from(
          `${JSON.stringify({ format: 'weightsep-gpu-zoo', version: 1, seed, batch, secondsPerModel: budget, models: results }, null, 2)}\n`,
        ),
      ),
    );
    return results;
  });
}
