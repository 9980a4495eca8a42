/**
 * One task as the planner's optimisers see it (`TaskGradients`): a training session over the
 * model's backward graph and a forward-only evaluator, both created once and fed the task's flat
 * weight vector (formation order) through per-tensor views, so no weights are copied per step.
 */
import { fail, ok, unwrap, type Result } from '../core/errors.ts';
import { buildTrainingGraph } from '../autodiff/training-graph.ts';
import type { Split, TaskData } from '../datasets/types.ts';
import type { Model } from '../onnx/types.ts';
import { augmentFrom, type AugmentSpec } from '../train/augment.ts';
import { BatchSampler } from '../train/batches.ts';
import { Evaluator, type Evaluation } from '../train/evaluator.ts';
import { TrainingSession } from '../train/session.ts';
import type { TaskGradients } from './optimize.ts';
import type { TensorSlot } from '../image/plan.ts';

export interface TaskSessionOptions {
  readonly batchSize: number;
  readonly seed: number;
  readonly intraOpThreads?: number;
  /** Augmentations applied to every training batch (validation and test are never augmented). */
  readonly augment?: readonly AugmentSpec[];
  /** Distil from the model as given (its original weights) while training its pages. */
  readonly distill?: { readonly alpha: number; readonly temperature: number };
}

/** A task as the planner drives it, in this thread (TaskSession) or in a worker (task-workers.ts). */
export interface TaskRunner extends TaskGradients {
  readonly data: TaskData;
  evaluate(split: Split, weights: Float32Array, predictions?: boolean): Promise<Evaluation>;
  release(): Promise<void>;
}

export class TaskSession implements TaskRunner {
  private readonly views = new WeakMap<Float32Array, Float32Array[]>();

  private constructor(
    readonly name: string,
    readonly data: TaskData,
    readonly tensors: readonly TensorSlot[],
    readonly weightCount: number,
    private readonly training: TrainingSession,
    private readonly evaluator: Evaluator,
    private readonly sampler: BatchSampler,
  ) {}

  /** `tensors` must be the model's formation (selectWeights order). */
  static async create(
    name: string,
    model: Model,
    data: TaskData,
    tensors: readonly TensorSlot[],
    options: TaskSessionOptions,
  ): Promise<Result<TaskSession>> {
    const graph = buildTrainingGraph(model, {
      head: 'mean-ce',
      weights: tensors.map((t) => t.name),
      ...(options.distill ? { distill: options.distill } : {}),
    });
    if (!graph.ok) return graph;
    const sessionOptions = { intraOpThreads: options.intraOpThreads ?? 1 };
    const training = await TrainingSession.create(graph.value, sessionOptions);
    if (!training.ok) return training;
    const evaluator = await Evaluator.create(model, {
      ...sessionOptions,
      weights: tensors.map((t) => t.name),
    });
    if (!evaluator.ok) return evaluator;
    const shape = training.value.sampleShape;
    if (shape.join(',') !== data.inputShape.join(',')) {
      return fail(
        'E_DATA_MISMATCH',
        `Task ${name}: the model expects inputs of shape [${shape.join(', ')}] but the data has [${data.inputShape.join(', ')}].`,
      );
    }
    if (evaluator.value.classes !== data.classes.length) {
      return fail(
        'E_DATA_MISMATCH',
        `Task ${name}: the model has ${evaluator.value.classes} outputs but the data has ${data.classes.length} classes.`,
      );
    }
    const augment = options.augment ? augmentFrom(options.augment) : undefined;
    const sampler = new BatchSampler(data.train, data.inputShape, {
      batchSize: options.batchSize,
      seed: options.seed,
      last: 'drop',
      ...(augment ? { augment } : {}),
    });
    const weightCount = tensors.reduce((a, t) => a + t.length, 0);
    return ok(new TaskSession(name, data, tensors, weightCount, training.value, evaluator.value, sampler));
  }

  /** The per-tensor views of a flat weight vector, made once per buffer. */
  private tensorViews(flat: Float32Array): Float32Array[] {
    let views = this.views.get(flat);
    if (!views) {
      views = this.tensors.map((t) => flat.subarray(t.offset, t.offset + t.length));
      this.views.set(flat, views);
    }
    return views;
  }

  async trainBatch(weights: Float32Array, grad: Float32Array): Promise<number> {
    const size = this.sampler.next();
    const loss = await this.training.run(this.tensorViews(weights), this.sampler.x, this.sampler.y, size);
    this.tensors.forEach((t, i) => grad.set(this.training.grads[i]!, t.offset));
    return loss;
  }

  async validate(weights: Float32Array): Promise<{ accuracy: number; loss: number }> {
    return this.evaluate(this.data.val, weights);
  }

  async evaluate(split: Split, weights: Float32Array, predictions = false): Promise<Evaluation> {
    return this.evaluator.evaluate(split, this.tensorViews(weights), { predictions });
  }

  async release(): Promise<void> {
    await this.training.release();
    await this.evaluator.release();
  }
}

/** Unwraps inside planner code that already runs under `attempt`. */
export function unwrapTask(r: Result<TaskSession>): TaskSession {
  return unwrap(r);
}
