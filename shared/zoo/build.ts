/**
 * Builds the ten-task zoo: for each task, the architecture from tasks.ts, initialised from the seed,
 * trained with the engine on the task's train split, selected on validation, measured once on test,
 * and written to `<out>/<task>.onnx` with `<out>/zoo.json`. Tasks train in worker threads, two at a
 * time by default (one per core; each session uses one thread), so a build fits a 2-core machine.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attemptAsync, fail, ok, unwrap, type Result } from '../core/errors.ts';
import type { ProgressEvent, ProgressSink } from '../core/progress.ts';
import { runInWorker, type JobContext } from '../core/worker-job.ts';
import { loadTask } from '../datasets/load.ts';
import { writeFileAtomic } from '../onnx/io.ts';
import { encodeModel } from '../onnx/codec.ts';
import { selectWeights } from '../onnx/weights.ts';
import { augmentFrom } from '../train/augment.ts';
import { fit } from '../train/fit.ts';
import { ZOO_TASKS, zooTask } from './tasks.ts';

export interface ZooEntry {
  readonly task: string;
  readonly title: string;
  readonly file: string;
  readonly dataset: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly weights: number;
  readonly bytes: number;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly trainSeconds: number;
  readonly steps: number;
  readonly bestStep: number;
  readonly seed: number;
  readonly split: {
    readonly train: number;
    readonly val: number;
    readonly test: number;
    readonly method: string;
  };
}

export interface ZooManifest {
  readonly format: 'weightsep-zoo';
  readonly version: 1;
  readonly seed: number;
  readonly models: readonly ZooEntry[];
}

export interface BuildZooOptions {
  readonly outDir: string;
  readonly tasks?: readonly string[];
  readonly seed?: number;
  /** Tasks trained at once (worker threads). Default 2. */
  readonly concurrency?: number;
  /** Multiplies every task's step budget (e.g. 0.1 for a smoke build). Default 1. */
  readonly stepScale?: number;
  readonly dataRoot?: string;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
}

export interface TrainTaskInput {
  readonly task: string;
  readonly seed: number;
  readonly stepScale: number;
  readonly outDir: string;
  readonly dataRoot?: string;
}

/** Trains one zoo task and writes its model; runs inside a worker (see buildZoo). */
export async function trainZooTask(input: TrainTaskInput, ctx: JobContext): Promise<Result<ZooEntry>> {
  const spec = zooTask(input.task);
  if (!spec)
    return fail(
      'E_NOT_FOUND',
      `Unknown zoo task "${input.task}". Known: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
    );
  const data = loadTask(spec.id, input.dataRoot ? { root: input.dataRoot } : {});
  if (!data.ok) return data;
  const hints = spec.training;
  const steps = Math.max(1, Math.round(hints.steps * input.stepScale));
  const augment = augmentFrom(hints.augment);
  const trained = await fit(spec.build(input.seed), data.value, {
    task: spec.id,
    steps,
    batchSize: hints.batch,
    optimizer: { kind: 'adam', lr: hints.lr, weightDecay: hints.weightDecay, decoupled: true },
    schedule: { kind: hints.schedule ?? 'cosine' },
    evalEvery: Math.min(hints.evalEvery, steps),
    patience: hints.patience,
    seed: input.seed,
    ...(augment ? { augment } : {}),
    progress: ctx.progress,
    signal: ctx.signal,
  });
  if (!trained.ok) return trained;
  const r = trained.value;
  const weights = selectWeights(r.model).reduce((a, t) => a + t.data.length, 0);
  const entry: ZooEntry = {
    task: spec.id,
    title: spec.title,
    file: `${spec.id}.onnx`,
    dataset: data.value.source,
    inputShape: [...spec.inputShape],
    classes: spec.classes,
    weights,
    bytes: weights * 4,
    valAccuracy: r.bestValAccuracy,
    testAccuracy: r.test?.accuracy ?? NaN,
    trainSeconds: Math.round(r.seconds * 10) / 10,
    steps: r.stepsDone,
    bestStep: r.bestStep,
    seed: input.seed,
    split: {
      train: data.value.train.n,
      val: data.value.val.n,
      test: data.value.test.n,
      method: data.value.splitMethod,
    },
  };
  const model = {
    ...r.model,
    metadata: {
      ...r.model.metadata,
      'weightsep.task': spec.id,
      'weightsep.val_accuracy': entry.valAccuracy.toFixed(4),
      'weightsep.test_accuracy': entry.testAccuracy.toFixed(4),
      'weightsep.seed': String(input.seed),
      // The planner re-applies the recipe's augmentations while it fine-tunes the pages.
      'weightsep.augment': JSON.stringify(spec.training.augment),
    },
  };
  mkdirSync(input.outDir, { recursive: true });
  const written = writeFileAtomic(join(input.outDir, entry.file), encodeModel(model));
  if (!written.ok) return written;
  return ok(entry);
}

const THIS_MODULE = new URL(import.meta.url);

export async function buildZoo(options: BuildZooOptions): Promise<Result<ZooManifest>> {
  const seed = options.seed ?? 1;
  const ids = options.tasks ?? ZOO_TASKS.map((t) => t.id);
  for (const id of ids) {
    if (!zooTask(id))
      return fail(
        'E_NOT_FOUND',
        `Unknown zoo task "${id}".`,
        `Known tasks: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
      );
  }
  return attemptAsync(async () => {
    mkdirSync(options.outDir, { recursive: true });
    const entries = new Map<string, ZooEntry>();
    const queue = [...ids];
    const fractions = new Map<string, number>();
    const report = (task: string, e: ProgressEvent) => {
      fractions.set(task, e.fraction);
      const done = [...fractions.values()].reduce((a, b) => a + b, 0) / ids.length;
      options.progress?.({ ...e, task, fraction: done });
    };
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const input: TrainTaskInput = {
          task: id,
          seed,
          stepScale: options.stepScale ?? 1,
          outDir: options.outDir,
          ...(options.dataRoot ? { dataRoot: options.dataRoot } : {}),
        };
        const taskId = id;
        const r = await runInWorker<TrainTaskInput, ZooEntry>(THIS_MODULE, 'trainZooTask', input, {
          progress: (e) => report(taskId, e),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        entries.set(id, unwrap(r));
        options.progress?.({
          stage: 'done',
          task: id,
          step: entries.size,
          total: ids.length,
          fraction: entries.size / ids.length,
        });
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 2, ids.length)) }, worker),
    );
    // Keep entries of tasks not rebuilt this time (a partial rebuild with --only).
    const previous = readZooManifest(options.outDir);
    const merged = new Map<string, ZooEntry>(
      previous.ok ? previous.value.models.map((m) => [m.task, m]) : [],
    );
    for (const [id, e] of entries) merged.set(id, e);
    const order = ZOO_TASKS.map((t) => t.id);
    const manifest: ZooManifest = {
      format: 'weightsep-zoo',
      version: 1,
      seed,
      models: [...merged.values()].sort((a, b) => order.indexOf(a.task) - order.indexOf(b.task)),
    };
    unwrap(
      writeFileAtomic(
        join(options.outDir, 'zoo.json'),
        Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
      ),
    );
    return manifest;
  }, 'E_INTERNAL');
}

export function readZooManifest(dir: string): Result<ZooManifest> {
  const path = join(dir, 'zoo.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return fail('E_NOT_FOUND', `No zoo manifest at ${path}.`, 'Build the zoo with "npm run zoo".');
  }
  try {
    const json = JSON.parse(text) as ZooManifest;
    if (json.format !== 'weightsep-zoo' || !Array.isArray(json.models)) throw new Error('not a zoo manifest');
    return ok(json);
  } catch (thrown) {
    return fail('E_IO', `${path} is not a valid zoo manifest: ${(thrown as Error).message}.`);
  }
}
