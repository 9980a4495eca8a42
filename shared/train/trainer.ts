/**
 * The trainer of one model: the training graph is built once, one onnxruntime session serves every
 * step, and the parameters live in flat Float32Arrays (one per weight, in `weightNames` order) that
 * the optimizer updates in place.
 *
 * The planner drives the same object differently: it sets weights from outside (or passes its own
 * arrays), asks for loss and gradients without an update, maps `grads` to its pages and runs its
 * own page-level Adam. So computing gradients and updating are separate calls.
 */
import { attemptAsync, fail, ok, type Result } from '../core/errors.ts';
import { buildTrainingGraph } from '../autodiff/training-graph.ts';
import { DataType, type Model } from '../onnx/types.ts';
import { createOptimizer, validateOptimizerSpec, type Optimizer, type OptimizerSpec } from './optimizers.ts';
import { TrainingSession, type GradientOutput, type TrainingSessionOptions } from './session.ts';

export interface TrainerOptions extends TrainingSessionOptions {
  /** The weights to train, by name; default: the model's learned weights (selectWeights). */
  readonly weights?: readonly string[];
  /** Default: Adam, lr 1e-3. */
  readonly optimizer?: OptimizerSpec;
}

export class Trainer {
  /** The parameters, updated in place by `step`; also what `gradients` reads by default. */
  readonly weights: Float32Array[];
  readonly optimizer: Optimizer;

  private constructor(
    private readonly model: Model,
    private readonly session: TrainingSession,
    weights: Float32Array[],
    optimizer: Optimizer,
  ) {
    this.weights = weights;
    this.optimizer = optimizer;
  }

  /** Builds the training graph of `model` (mean cross-entropy head) and opens its session. */
  static async create(model: Model, options: TrainerOptions = {}): Promise<Result<Trainer>> {
    const spec = validateOptimizerSpec(options.optimizer ?? { kind: 'adam', lr: 1e-3 });
    if (!spec.ok) return spec;
    const graph = buildTrainingGraph(
      model,
      options.weights ? { head: 'mean-ce', weights: options.weights } : { head: 'mean-ce' },
    );
    if (!graph.ok) return graph;
    const session = await TrainingSession.create(graph.value, options);
    if (!session.ok) return session;
    const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
    const weights: Float32Array[] = [];
    for (const name of graph.value.weightNames) {
      const t = byName.get(name);
      if (!t || t.dataType !== DataType.FLOAT)
        return fail('E_DATA_MISMATCH', `The model has no float32 initializer "${name}".`);
      // A copy: training must never write into the model object it was given.
      weights.push(Float32Array.from(t.data as Float32Array));
    }
    const optimizer = createOptimizer(
      spec.value,
      weights.map((w) => w.length),
    );
    return ok(new Trainer(model, session.value, weights, optimizer));
  }

  get weightNames(): readonly string[] {
    return this.session.graph.weightNames;
  }

  get weightDims(): readonly (readonly number[])[] {
    return this.session.weightDims;
  }

  /** Gradients of the last `gradients`/`step` call, in `weightNames` order (buffers reused every call). */
  get grads(): readonly Float32Array[] {
    return this.session.grads;
  }

  get sampleShape(): readonly number[] {
    return this.session.sampleShape;
  }

  get gradientOutput(): GradientOutput {
    return this.session.gradientOutput;
  }

  /** Copies `values` into the parameters (same order and sizes as `weights`). */
  setWeights(values: readonly Float32Array[]): Result<void> {
    if (values.length !== this.weights.length)
      return fail('E_DATA_MISMATCH', `Expected ${this.weights.length} weight arrays, got ${values.length}.`);
    for (let i = 0; i < values.length; i++) {
      if (values[i]!.length !== this.weights[i]!.length) {
        return fail(
          'E_DATA_MISMATCH',
          `Weight "${this.weightNames[i]}" needs ${this.weights[i]!.length} values, got ${values[i]!.length}.`,
        );
      }
    }
    values.forEach((v, i) => this.weights[i]!.set(v));
    return ok(undefined);
  }

  /** A copy of the current parameters (e.g. the best snapshot for early stopping). */
  snapshot(): Float32Array[] {
    return this.weights.map((w) => w.slice());
  }

  /**
   * Loss and gradients on a batch (first `batchSize` samples of x/y) without updating anything.
   * `weights` defaults to the trainer's own; any arrays of the right sizes may be passed instead.
   */
  async gradients(
    x: Float32Array,
    y: BigInt64Array,
    batchSize: number,
    weights: readonly Float32Array[] = this.weights,
  ): Promise<Result<number>> {
    return attemptAsync(() => this.session.run(weights, x, y, batchSize), 'E_ORT');
  }

  /** One optimizer step: gradients on the batch, then an in-place update. Returns the batch loss. */
  async step(x: Float32Array, y: BigInt64Array, batchSize: number): Promise<Result<number>> {
    const loss = await this.gradients(x, y, batchSize);
    if (!loss.ok) return loss;
    if (!Number.isFinite(loss.value)) {
      return fail(
        'E_INTERNAL',
        `The training loss became ${loss.value}.`,
        'Lower the learning rate, or check the data for NaN values.',
      );
    }
    this.optimizer.step(this.weights, this.session.grads);
    return loss;
  }

  /** The model with `weights` (default: the current parameters) stored back as its initializers. */
  toModel(weights: readonly Float32Array[] = this.weights): Model {
    const index = new Map(this.weightNames.map((n, i) => [n, i]));
    const graph = this.model.graph;
    return {
      ...this.model,
      graph: {
        ...graph,
        initializers: graph.initializers.map((t) => {
          const i = index.get(t.name);
          return i === undefined
            ? t
            : { name: t.name, dims: [...t.dims], dataType: DataType.FLOAT, data: weights[i]!.slice() };
        }),
      },
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
