/**
 * The training loop: mini-batch steps with an optimizer and a learning-rate schedule, evaluation on
 * the validation split every K steps, early stopping that keeps the best validation snapshot, and a
 * single evaluation on the test split at the very end (the test split never influences a choice).
 * Seeded, cancellable through an AbortSignal, and reporting progress events; errors are values.
 */
import { attemptAsync, fail, throwIfCancelled, unwrap, type Result } from '../core/errors.ts';
import { noProgress, ProgressTracker, type ProgressSink } from '../core/progress.ts';
import type { TaskData } from '../datasets/types.ts';
import type { Model } from '../onnx/types.ts';
import type { Augment } from './augment.ts';
import { BatchSampler } from './batches.ts';
import { Evaluator, type Evaluation } from './evaluator.ts';
import type { OptimizerSpec } from './optimizers.ts';
import { learningRate, type Schedule } from './schedule.ts';
import type { GradientOutput } from './session.ts';
import { Trainer } from './trainer.ts';

export interface FitOptions {
  /** Task name for progress events. */
  readonly task?: string;
  /** Optimizer steps; default 2000 unless `epochs` is given. */
  readonly steps?: number;
  /** Whole passes over the train split instead of `steps`. */
  readonly epochs?: number;
  /** Default 64. */
  readonly batchSize?: number;
  /** Default Adam, lr 1e-3. */
  readonly optimizer?: OptimizerSpec;
  /** Default constant. */
  readonly schedule?: Schedule;
  /** Evaluate on validation every this many steps (and at the start and the end). Default 100. */
  readonly evalEvery?: number;
  /** Stop after this many steps without a better validation accuracy; default: never stop early. */
  readonly patience?: number;
  /** Seeds the batch order and the augmentation. Default 0. */
  readonly seed?: number;
  readonly augment?: Augment;
  /** The weights to train, by name; default all learned weights. */
  readonly weights?: readonly string[];
  /** Default true; false skips the test split (e.g. while tuning). */
  readonly evaluateTest?: boolean;
  readonly intraOpThreads?: number;
  readonly allowSpinning?: boolean;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
}

/** One validation point. */
export interface EvalRecord {
  readonly step: number;
  readonly epoch: number;
  /** Mean training-batch loss since the previous record (NaN at step 0). */
  readonly trainLoss: number;
  readonly valLoss: number;
  readonly valAccuracy: number;
  readonly lr: number;
  readonly seconds: number;
}

export interface FitResult {
  readonly weightNames: readonly string[];
  /** The best validation snapshot, in `weightNames` order. */
  readonly weights: readonly Float32Array[];
  /** The input model with the best weights stored as its initializers. */
  readonly model: Model;
  readonly history: readonly EvalRecord[];
  readonly bestStep: number;
  readonly bestValAccuracy: number;
  readonly bestValLoss: number;
  /** On the best snapshot, evaluated once after training; absent when evaluateTest is false. */
  readonly test?: Evaluation;
  readonly stepsDone: number;
  readonly stoppedEarly: boolean;
  readonly seconds: number;
  /** Mean wall time of one training step (batch, forward, backward, update), milliseconds. */
  readonly stepMs: number;
  readonly gradientOutput: GradientOutput;
}

export async function fit(
  model: Model,
  data: TaskData,
  options: FitOptions = {},
): Promise<Result<FitResult>> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 64;
  const evalEvery = options.evalEvery ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    return fail('E_USAGE', `The batch size must be a positive integer, got ${batchSize}.`);
  if (!Number.isInteger(evalEvery) || evalEvery < 1)
    return fail('E_USAGE', `Evaluation interval must be a positive integer, got ${evalEvery}.`);
  if (data.train.n === 0 || data.val.n === 0)
    return fail('E_DATASET', `Task ${data.task} needs non-empty train and validation splits.`);
  const sessionOptions = {
    ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
    ...(options.allowSpinning !== undefined ? { allowSpinning: options.allowSpinning } : {}),
  };
  const trainer = await Trainer.create(model, {
    ...sessionOptions,
    ...(options.weights ? { weights: options.weights } : {}),
    ...(options.optimizer ? { optimizer: options.optimizer } : {}),
  });
  if (!trainer.ok) return trainer;
  const evaluator = await Evaluator.create(model, { ...sessionOptions, weights: trainer.value.weightNames });
  if (!evaluator.ok) {
    await trainer.value.release();
    return evaluator;
  }
  try {
    return await attemptAsync(() =>
      loop(trainer.value, evaluator.value, data, options, batchSize, evalEvery, started),
    );
  } finally {
    await trainer.value.release();
    await evaluator.value.release();
  }
}

async function loop(
  trainer: Trainer,
  evaluator: Evaluator,
  data: TaskData,
  options: FitOptions,
  batchSize: number,
  evalEvery: number,
  started: number,
): Promise<FitResult> {
  const shape = trainer.sampleShape;
  if (shape.join(',') !== data.inputShape.join(',')) {
    unwrap(
      fail(
        'E_DATA_MISMATCH',
        `The model takes [${shape.join(', ')}] samples but ${data.task} has [${data.inputShape.join(', ')}].`,
      ),
    );
  }
  const sampler = new BatchSampler(data.train, shape, {
    batchSize,
    seed: options.seed ?? 0,
    last: 'drop',
    ...(options.augment ? { augment: options.augment } : {}),
  });
  const total =
    options.steps ?? (options.epochs !== undefined ? options.epochs * sampler.batchesPerEpoch : 2000);
  if (!Number.isInteger(total) || total < 1)
    unwrap(fail('E_USAGE', `The number of steps must be a positive integer, got ${total}.`));
  const schedule = options.schedule ?? { kind: 'constant' };
  const baseLr = trainer.optimizer.spec.lr;
  const tracker = new ProgressTracker(options.progress ?? noProgress, [['train', 1]]);
  const task = options.task ?? data.task;
  const reportEvery = Math.max(1, Math.floor(total / 200));
  const seconds = () => (performance.now() - started) / 1000;

  const history: EvalRecord[] = [];
  let best = { step: 0, accuracy: -1, loss: Infinity, weights: trainer.snapshot() };
  let lossSum = 0;
  let lossCount = 0;
  let stepTime = 0;
  let stepsDone = 0;
  let stoppedEarly = false;

  const validate = async (step: number): Promise<void> => {
    const v = await evaluator.evaluate(data.val, trainer.weights);
    history.push({
      step,
      epoch: sampler.epoch,
      trainLoss: lossCount > 0 ? lossSum / lossCount : Number.NaN,
      valLoss: v.loss,
      valAccuracy: v.accuracy,
      lr: trainer.optimizer.lr,
      seconds: seconds(),
    });
    lossSum = 0;
    lossCount = 0;
    // Ties in accuracy go to the lower validation loss, which is the smoother signal.
    if (v.accuracy > best.accuracy || (v.accuracy === best.accuracy && v.loss < best.loss)) {
      best = { step, accuracy: v.accuracy, loss: v.loss, weights: trainer.snapshot() };
    }
  };

  await validate(0);
  tracker.report('train', 0, total, { task });
  for (let step = 0; step < total; step++) {
    throwIfCancelled(options.signal);
    const t0 = performance.now();
    trainer.optimizer.lr = learningRate(schedule, baseLr, step, total);
    const count = sampler.next();
    lossSum += unwrap(await trainer.step(sampler.x, sampler.y, count));
    lossCount++;
    stepTime += performance.now() - t0;
    stepsDone = step + 1;
    if (stepsDone % evalEvery === 0 || stepsDone === total) {
      throwIfCancelled(options.signal);
      await validate(stepsDone);
      const last = history[history.length - 1]!;
      tracker.report('train', stepsDone, total, {
        task,
        message: `loss ${last.trainLoss.toFixed(3)}  val ${(last.valAccuracy * 100).toFixed(1)}%  best ${(best.accuracy * 100).toFixed(1)}%`,
      });
      if (options.patience !== undefined && stepsDone - best.step >= options.patience && stepsDone < total) {
        stoppedEarly = true;
        // The job is done: close the progress at 100% rather than leave it where the stop fell.
        tracker.report('train', stepsDone, stepsDone, {
          task,
          message: `stopped early; best validation at step ${best.step}`,
        });
        break;
      }
    } else if (stepsDone % reportEvery === 0) {
      tracker.report('train', stepsDone, total, { task });
    }
  }
  throwIfCancelled(options.signal);

  const test = options.evaluateTest === false ? undefined : await evaluator.evaluate(data.test, best.weights);
  const result: FitResult = {
    weightNames: trainer.weightNames,
    weights: best.weights,
    model: trainer.toModel(best.weights),
    history,
    bestStep: best.step,
    bestValAccuracy: best.accuracy,
    bestValLoss: best.loss,
    stepsDone,
    stoppedEarly,
    seconds: seconds(),
    stepMs: stepsDone > 0 ? stepTime / stepsDone : 0,
    gradientOutput: trainer.gradientOutput,
  };
  return test ? { ...result, test } : result;
}
