/**
 * One onnxruntime session over a training graph (forward + backward as plain ONNX, see
 * shared/autodiff), reused for every step and for every weight set: the session is created once
 * (6–36 ms) and weights are fed as inputs on each run, zero-copy (notes/gradients.md).
 *
 * Gradients are written straight into Float32Arrays this class owns, by passing preallocated output
 * tensors to `session.run`. The first run checks that onnxruntime really wrote into our buffers; if
 * it did not (or refused preallocated outputs), the session falls back to copying the outputs, which
 * gives the same values. `gradientOutput` says which path is in use. Measured with
 * onnxruntime-node 1.30: it does write into the buffers handed in (so `grads` stay the same arrays
 * for the session's life), although the tensors it returns wrap separate arrays.
 */
import { fail, makeError, ok, WsepFailure, type Result } from '../core/errors.ts';
import { createSession, ort, type SessionOptions } from '../onnx/ort.ts';
import type { TrainingGraph } from '../autodiff/training-graph.ts';

/**
 * A training graph as shared/autodiff builds it; tests may also write one by hand (testing.ts), so
 * the session depends on this shape only, not on how the graph was built.
 */
export type TrainingGraphSpec = TrainingGraph;

/** 'preallocated': onnxruntime writes gradients into our buffers; 'copy': we copy its outputs. */
export type GradientOutput = 'preallocated' | 'copy';

export interface TrainingSessionOptions extends SessionOptions {
  /** Ask for a path; 'preallocated' (default) still falls back to 'copy' when it does not work. */
  readonly gradientOutput?: GradientOutput;
}

export class TrainingSession {
  /** Gradients of the last run, one per weight in `weightNames` order. */
  readonly grads: Float32Array[];
  /** Per-sample input shape, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
  readonly sampleLength: number;
  readonly weightDims: readonly (readonly number[])[];
  private mode: GradientOutput;
  private verified = false;
  private readonly gradTensors: ort.Tensor[];
  private readonly lossBuffer = new Float32Array(1);
  private readonly lossTensor: ort.Tensor;
  /** Weight tensors are wrapped once per buffer: ort reads the live buffer on every run. */
  private readonly wrapped = new WeakMap<Float32Array, ort.Tensor>();

  private constructor(
    readonly graph: TrainingGraphSpec,
    private readonly session: ort.InferenceSession,
    weightDims: number[][],
    sampleShape: number[],
    mode: GradientOutput,
  ) {
    this.weightDims = weightDims;
    this.sampleShape = sampleShape;
    this.sampleLength = sampleShape.reduce((a, b) => a * b, 1);
    this.mode = mode;
    this.grads = weightDims.map((d) => new Float32Array(d.reduce((a, b) => a * b, 1)));
    this.gradTensors = this.grads.map((g, i) => new ort.Tensor('float32', g, weightDims[i]!));
    this.lossTensor = new ort.Tensor('float32', this.lossBuffer, []);
  }

  static async create(
    graph: TrainingGraphSpec,
    options: TrainingSessionOptions = {},
  ): Promise<Result<TrainingSession>> {
    const inputs = new Map(graph.model.graph.inputs.map((i) => [i.name, i]));
    const data = inputs.get(graph.inputName);
    const shape = data?.shape?.slice(1);
    if (!shape || shape.some((d) => typeof d !== 'number')) {
      return fail(
        'E_ONNX_DYNAMIC_SHAPE',
        `The training graph's input "${graph.inputName}" needs a fixed per-sample shape.`,
      );
    }
    const weightDims: number[][] = [];
    for (const name of graph.weightNames) {
      const dims = inputs.get(name)?.shape;
      if (!dims || dims.some((d) => typeof d !== 'number')) {
        return fail('E_AUTODIFF', `The training graph has no fixed-shape input for weight "${name}".`);
      }
      weightDims.push(dims as number[]);
    }
    if (graph.gradNames.length !== graph.weightNames.length) {
      return fail(
        'E_AUTODIFF',
        `The training graph has ${graph.gradNames.length} gradients for ${graph.weightNames.length} weights.`,
      );
    }
    const session = await createSession(graph.model, options);
    if (!session.ok) return session;
    return ok(
      new TrainingSession(
        graph,
        session.value,
        weightDims,
        shape as number[],
        options.gradientOutput ?? 'preallocated',
      ),
    );
  }

  /** The gradient path in use (after the first run, the one that was verified to work). */
  get gradientOutput(): GradientOutput {
    return this.mode;
  }

  /**
   * Runs forward and backward on the first `batchSize` samples of `x` (laid out [batch, ...sampleShape])
   * with labels `y`, for the weight set `weights`. Fills `grads` and returns the mean loss.
   * Weights are only read; nothing is updated.
   */
  async run(
    weights: readonly Float32Array[],
    x: Float32Array,
    y: BigInt64Array,
    batchSize: number,
  ): Promise<number> {
    const g = this.graph;
    if (weights.length !== g.weightNames.length) {
      throw new WsepFailure(
        makeError(
          'E_DATA_MISMATCH',
          `Expected ${g.weightNames.length} weight arrays, got ${weights.length}.`,
        ),
      );
    }
    if (batchSize < 1 || x.length < batchSize * this.sampleLength || y.length < batchSize) {
      throw new WsepFailure(
        makeError(
          'E_DATA_MISMATCH',
          `The batch buffers hold fewer than ${batchSize} samples of [${this.sampleShape.join(', ')}].`,
        ),
      );
    }
    const feeds: Record<string, ort.Tensor> = {
      [g.inputName]: new ort.Tensor('float32', x.subarray(0, batchSize * this.sampleLength), [
        batchSize,
        ...this.sampleShape,
      ]),
      [g.labelName]: new ort.Tensor('int64', y.subarray(0, batchSize), [batchSize]),
    };
    for (let i = 0; i < weights.length; i++) feeds[g.weightNames[i]!] = this.weightTensor(weights[i]!, i);
    if (this.mode === 'preallocated') {
      const loss = await this.runPreallocated(feeds);
      if (loss !== undefined) return loss;
    }
    return this.runCopy(feeds);
  }

  /** Returns undefined (and switches to copying) when preallocated outputs turn out not to work. */
  private async runPreallocated(feeds: Record<string, ort.Tensor>): Promise<number | undefined> {
    const fetches: Record<string, ort.Tensor> = { [this.graph.lossName]: this.lossTensor };
    this.graph.gradNames.forEach((name, i) => (fetches[name] = this.gradTensors[i]!));
    if (!this.verified) {
      // Sentinels: after the run, our buffers must hold exactly what onnxruntime returned.
      this.lossBuffer.fill(Number.NaN);
      for (const g of this.grads) g.fill(Number.NaN);
    }
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, fetches);
    } catch (thrown) {
      if (this.verified) throw thrown;
      this.mode = 'copy';
      return undefined;
    }
    if (!this.verified) {
      // onnxruntime-node 1.30 writes into the buffers handed in, but returns tensors over its own
      // copies; so compare values, not array identity.
      const inPlace =
        sameValues(out[this.graph.lossName]?.data, this.lossBuffer) &&
        this.graph.gradNames.every((name, i) => sameValues(out[name]?.data, this.grads[i]!));
      this.verified = true;
      if (!inPlace) {
        this.mode = 'copy';
        this.copyOutputs(out);
        return readLoss(out[this.graph.lossName]);
      }
    }
    return this.lossBuffer[0]!;
  }

  private async runCopy(feeds: Record<string, ort.Tensor>): Promise<number> {
    const out = await this.session.run(feeds, [this.graph.lossName, ...this.graph.gradNames]);
    this.copyOutputs(out);
    return readLoss(out[this.graph.lossName]);
  }

  private copyOutputs(out: ort.InferenceSession.ReturnType): void {
    this.graph.gradNames.forEach((name, i) => {
      const t = out[name];
      if (!t || !(t.data instanceof Float32Array) || t.data.length !== this.grads[i]!.length) {
        throw new WsepFailure(
          makeError(
            'E_ORT',
            `The training graph returned no float32 gradient "${name}" of ${this.grads[i]!.length} values.`,
          ),
        );
      }
      this.grads[i]!.set(t.data);
    });
  }

  private weightTensor(values: Float32Array, index: number): ort.Tensor {
    let t = this.wrapped.get(values);
    if (!t) {
      const dims = this.weightDims[index]!;
      if (values.length !== this.grads[index]!.length) {
        throw new WsepFailure(
          makeError(
            'E_DATA_MISMATCH',
            `Weight "${this.graph.weightNames[index]}" needs ${this.grads[index]!.length} values, got ${values.length}.`,
          ),
        );
      }
      t = new ort.Tensor('float32', values, dims);
      this.wrapped.set(values, t);
    }
    return t;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function sameValues(data: unknown, buffer: Float32Array): boolean {
  if (!(data instanceof Float32Array) || data.length !== buffer.length) return false;
  for (let i = 0; i < buffer.length; i++) if (!Object.is(data[i], buffer[i])) return false;
  return true;
}

function readLoss(t: ort.Tensor | undefined): number {
  if (!t || !(t.data instanceof Float32Array) || t.data.length !== 1) {
    throw new WsepFailure(makeError('E_ORT', 'The training graph returned no scalar float32 loss.'));
  }
  return t.data[0]!;
}
