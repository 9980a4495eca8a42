/**
 * Forward-only evaluation: accuracy and mean cross-entropy on a split, in batches of 256, through
 * one onnxruntime session over the weights-as-inputs form of the model. The same session serves any
 * weight set (the trainer's current weights, a best snapshot, a planner's paged weights).
 */
import { fail, makeError, ok, WsepFailure, type Result } from '../core/errors.ts';
import type { Split } from '../datasets/types.ts';
import { createSession, ort, type SessionOptions } from '../onnx/ort.ts';
import { DataType, elementCount, type Model } from '../onnx/types.ts';
import { selectWeights, weightsAsInputs } from '../onnx/weights.ts';

export interface Evaluation {
  readonly n: number;
  /** Fraction correct, 0..1. */
  readonly accuracy: number;
  /** Mean cross-entropy of the true label (natural log), computed in float64 from the logits. */
  readonly loss: number;
  /** Predicted class per sample, when asked for. */
  readonly predictions?: Int32Array;
}

export interface EvaluatorOptions extends SessionOptions {
  /** The weights fed per run, by name and in this order; default: the model's learned weights. */
  readonly weights?: readonly string[];
  /** Default 256. */
  readonly batchSize?: number;
}

export class Evaluator {
  private readonly wrapped = new WeakMap<Float32Array, ort.Tensor>();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly weightNames: readonly string[],
    readonly weightDims: readonly (readonly number[])[],
    /** The weight values stored in the model, copied, in `weightNames` order. */
    readonly initialWeights: readonly Float32Array[],
    private readonly inputName: string,
    private readonly outputName: string,
    readonly sampleShape: readonly number[],
    readonly classes: number,
    private readonly batchSize: number,
  ) {}

  static async create(model: Model, options: EvaluatorOptions = {}): Promise<Result<Evaluator>> {
    const all = selectWeights(model);
    const names = options.weights ?? all.map((w) => w.name);
    const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
    const chosen = [];
    for (const name of names) {
      const t = byName.get(name);
      if (!t || t.dataType !== DataType.FLOAT)
        return fail('E_DATA_MISMATCH', `The model has no float32 initializer "${name}".`);
      chosen.push(t);
    }
    const asInputs = weightsAsInputs(model, chosen);
    const initNames = new Set(asInputs.model.graph.initializers.map((t) => t.name));
    const weightNames = new Set(names);
    const dataInputs = asInputs.model.graph.inputs.filter(
      (i) => !initNames.has(i.name) && !weightNames.has(i.name),
    );
    if (dataInputs.length !== 1) {
      return fail(
        'E_ONNX_INVALID',
        `Evaluation needs a model with one data input; this one has ${dataInputs.length}.`,
      );
    }
    const input = dataInputs[0]!;
    const shape = input.shape?.slice(1);
    if (!shape || shape.some((d) => typeof d !== 'number')) {
      return fail('E_ONNX_DYNAMIC_SHAPE', `The model input "${input.name}" needs a fixed per-sample shape.`);
    }
    const output = model.graph.outputs[0];
    const classes = output?.shape?.[1];
    if (!output || typeof classes !== 'number') {
      return fail('E_ONNX_INVALID', 'The model’s first output must be the logits, [batch, classes].');
    }
    // A model that ends in Softmax/LogSoftmax is scored on that node's input (as the training graph
    // does), so that the loss is the cross-entropy of the logits; the input becomes an extra output.
    const producer = model.graph.nodes.find((n) => n.outputs.includes(output.name));
    const endsInSoftmax =
      producer !== undefined && (producer.opType === 'Softmax' || producer.opType === 'LogSoftmax');
    const logitsName = endsInSoftmax ? producer.inputs[0]! : output.name;
    const evalModel: Model = endsInSoftmax
      ? {
          ...asInputs.model,
          graph: {
            ...asInputs.model.graph,
            outputs: [...asInputs.model.graph.outputs, { name: logitsName, elemType: DataType.FLOAT }],
          },
        }
      : asInputs.model;
    const session = await createSession(evalModel, options);
    if (!session.ok) return session;
    return ok(
      new Evaluator(
        session.value,
        names,
        chosen.map((t) => [...t.dims]),
        chosen.map((t) => Float32Array.from(t.data as Float32Array)),
        input.name,
        logitsName,
        shape as number[],
        classes,
        options.batchSize ?? 256,
      ),
    );
  }

  /** Evaluates `weights` (in `weightNames` order) on a split. Throws WsepFailure on a bad weight set. */
  async evaluate(
    split: Split,
    weights: readonly Float32Array[],
    options: { predictions?: boolean } = {},
  ): Promise<Evaluation> {
    if (weights.length !== this.weightNames.length) {
      throw new WsepFailure(
        makeError(
          'E_DATA_MISMATCH',
          `Expected ${this.weightNames.length} weight arrays, got ${weights.length}.`,
        ),
      );
    }
    const feeds: Record<string, ort.Tensor> = {};
    weights.forEach((w, i) => (feeds[this.weightNames[i]!] = this.weightTensor(w, i)));
    const len = this.sampleShape.reduce((a, b) => a * b, 1);
    const predictions = options.predictions ? new Int32Array(split.n) : undefined;
    let correct = 0;
    let lossSum = 0;
    const c = this.classes;
    for (let start = 0; start < split.n; start += this.batchSize) {
      const count = Math.min(this.batchSize, split.n - start);
      // A subarray of the split: no copy.
      feeds[this.inputName] = new ort.Tensor(
        'float32',
        split.x.subarray(start * len, (start + count) * len),
        [count, ...this.sampleShape],
      );
      const out = await this.session.run(feeds, [this.outputName]);
      const logits = out[this.outputName]?.data;
      if (!(logits instanceof Float32Array) || logits.length !== count * c) {
        throw new WsepFailure(makeError('E_ORT', `The model returned no [${count}, ${c}] float32 logits.`));
      }
      for (let s = 0; s < count; s++) {
        const row = s * c;
        let best = 0;
        let max = logits[row]!;
        for (let k = 1; k < c; k++) {
          if (logits[row + k]! > max) {
            max = logits[row + k]!;
            best = k;
          }
        }
        let sum = 0;
        for (let k = 0; k < c; k++) sum += Math.exp(logits[row + k]! - max);
        const label = split.y[start + s]!;
        lossSum += max + Math.log(sum) - logits[row + label]!;
        if (best === label) correct++;
        if (predictions) predictions[start + s] = best;
      }
    }
    const n = split.n;
    const result = { n, accuracy: n > 0 ? correct / n : 0, loss: n > 0 ? lossSum / n : 0 };
    return predictions ? { ...result, predictions } : result;
  }

  private weightTensor(values: Float32Array, index: number): ort.Tensor {
    let t = this.wrapped.get(values);
    if (!t) {
      const dims = this.weightDims[index]!;
      if (values.length !== elementCount(dims)) {
        throw new WsepFailure(
          makeError(
            'E_DATA_MISMATCH',
            `Weight "${this.weightNames[index]}" needs ${elementCount(dims)} values, got ${values.length}.`,
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
