/**
 * The training graph: one ONNX model that onnxruntime (inference build) runs to get the loss, the
 * logits and the gradient of every weight in a single pass. The forward graph is kept as it is with
 * its weights turned into inputs; a loss head is added on the logits; the backward rules emit the
 * gradient nodes. Only the batch size is symbolic.
 */
import { attempt, raise, type Result } from '../core/errors.ts';
import { DEFAULT_OPSET, GraphBuilder, attr } from '../onnx/builder.ts';
import { DataType, defaultOpset, type Model, type Node, type Tensor } from '../onnx/types.ts';
import { selectWeights } from '../onnx/weights.ts';
import { differentiablePath, emitBackward, missingRules, withPoolIndices } from './backward.ts';
import { Emitter } from './emit.ts';
import { RULES } from './rules/index.ts';
import { inferShapes, shapeText } from './shapes.ts';
import { upgradeToOpset13 } from './upgrade.ts';

export type LossHead = 'mean-ce' | 'per-sample-loglik';

export interface TrainingGraphOptions {
  readonly head: LossHead;
  /** Weights to differentiate; default: selectWeights(model) names in that order. */
  readonly weights?: readonly string[];
  /**
   * 'mean-ce' only: add knowledge distillation from the model as it is now (its initializer
   * values, frozen into a teacher copy of the forward pass inside the same graph). The loss becomes
   * (1 − α)·CE(labels) + α·T²·CE(softmax(teacher/T), softmax(student/T)), both batch means.
   */
  readonly distill?: { readonly alpha: number; readonly temperature: number };
}

export interface TrainingGraph {
  /** ONNX model: inputs = the data input (original name), `labels` (int64 [batch]), then every weight (original names, float32, fixed dims); no weight initializers. */
  readonly model: Model;
  readonly inputName: string;
  readonly labelName: string;
  readonly weightNames: readonly string[];
  /** Same order as weightNames; each output has the weight's dims. */
  readonly gradNames: readonly string[];
  /** 'mean-ce': scalar mean softmax cross-entropy; 'per-sample-loglik': Σ over the batch of log p(label | x). */
  readonly lossName: string;
  /** [batch, classes] pre-softmax scores, also an output. */
  readonly logitsName: string;
}

/** The operators that have a backward rule. */
export const TRAINABLE_OPS: ReadonlySet<string> = new Set(Object.keys(RULES));

export function buildTrainingGraph(model: Model, options: TrainingGraphOptions): Result<TrainingGraph> {
  return attempt(() => build(model, options));
}

function build(original: Model, options: TrainingGraphOptions): TrainingGraph {
  // A model that ends in Softmax/LogSoftmax trains on that node's input: the head applies its own.
  const output = original.graph.outputs[0];
  if (!output) raise('E_AUTODIFF', 'The model has no output.');
  const producer = original.graph.nodes.find((n) => n.outputs.includes(output.name));
  const logits =
    producer && (producer.opType === 'Softmax' || producer.opType === 'LogSoftmax')
      ? producer.inputs[0]!
      : output.name;

  const initializers = new Map(original.graph.initializers.map((t) => [t.name, t]));
  const dataInput = original.graph.inputs.find((i) => !initializers.has(i.name));
  if (!dataInput) raise('E_AUTODIFF', 'The model has no data input.');
  const weights = resolveWeights(original, options.weights, initializers);
  const weightNames = weights.map((w) => w.name);

  // Report every operator without a rule before doing any work.
  const missing = missingRules(differentiablePath(original.graph.nodes, weightNames, [logits]));
  if (missing.length > 0) {
    const list = missing.map((n) => `${n.opType} (node "${n.name}")`);
    raise(
      'E_AUTODIFF_NO_RULE',
      `The model uses ${missing.length} operator(s) on the path from its weights to its logits that have no backward rule: ${list.join(', ')}.`,
      `Operators with a backward rule: ${[...TRAINABLE_OPS].sort().join(', ')}.`,
      { nodes: missing.map((n) => ({ name: n.name, opType: n.opType })) },
    );
  }

  const model = upgradeToOpset13(original);
  const graph = model.graph;
  const opset = defaultOpset(model);

  const b = new GraphBuilder();
  b.reserve(graph.nodes.flatMap((n) => [...n.outputs, n.name]));
  b.reserve(graph.inputs.map((i) => i.name));
  b.reserve(graph.initializers.map((t) => t.name));

  // MaxPool's rule needs the Indices output; add it where the model does not ask for it.
  const weightSet = new Set(weightNames);
  const forward = withPoolIndices(graph.nodes, b);
  for (const n of forward) b.nodes.push(n);
  for (const t of graph.initializers) if (!weightSet.has(t.name)) b.initializer(t);
  // Axis 0 of the data input is the batch, symbolic even where the model fixed it (often 1): one
  // training graph then serves every batch size. A graph that hard-codes that size elsewhere (a
  // Reshape to [1, -1]) fails shape inference with a message naming the node.
  const declared = dataInput.shape?.[0];
  const batchDim = typeof declared === 'string' ? declared : 'batch';
  if (!dataInput.shape) raise('E_AUTODIFF', `The data input "${dataInput.name}" has no recorded shape.`);
  b.inputs.push({ ...dataInput, shape: [batchDim, ...dataInput.shape.slice(1)] });
  const labelName = b.fresh('labels');
  b.input(labelName, DataType.INT64, [batchDim]);
  for (const w of weights) b.input(w.name, DataType.FLOAT, [...w.dims]);

  const info = inferShapes({ ...graph, nodes: forward, initializers: b.initializers, inputs: b.inputs });
  const failure = info.failures.get(logits);
  if (failure) throw failure;
  const logitsShape = info.shapes.get(logits);
  if (!logitsShape || logitsShape.length !== 2 || typeof logitsShape[1] !== 'number') {
    raise(
      'E_AUTODIFF',
      `The logits "${logits}" must have shape [batch, classes]; they have ${logitsShape ? shapeText(logitsShape) : 'an unknown shape'}.`,
    );
  }
  const classes = logitsShape[1];
  const e = new Emitter(b, info);

  // Loss head on log-probabilities: with y one-hot, Σ y·log p is the batch's log-likelihood.
  const logProb = e.op('LogSoftmax', [logits], { axis: attr.int(1) }, 'log_prob');
  const oneHot = e.op(
    'OneHot',
    [labelName, e.ints([classes]), b.constFloat('onehot_values', [2], [0, 1])],
    { axis: attr.int(-1) },
    'one_hot',
  );
  const logLik = e.op(
    'ReduceSum',
    [e.op('Mul', [oneHot, logProb])],
    { keepdims: attr.int(0) },
    'log_likelihood',
  );
  const prob = e.op('Exp', [logProb], {}, 'prob');
  let lossName: string;
  let seed: string;
  if (options.head === 'per-sample-loglik') {
    lossName = logLik;
    seed = e.op('Sub', [oneHot, prob], {}, 'grad/logits');
  } else {
    const batchIndex = b.constInt64('batch_index', [0], []);
    const count = e.op(
      'Cast',
      [e.op('Gather', [e.runtimeShape(logits), batchIndex])],
      { to: attr.int(DataType.FLOAT) },
      'batch_size',
    );
    if (options.distill) {
      const { alpha, temperature: T } = options.distill;
      const teacherLogits = emitTeacher(b, graph.nodes, logits, weights);
      const invT = b.constFloat('inv_temperature', [], [1 / T]);
      const teacherProb = e.op(
        'Softmax',
        [e.op('Mul', [teacherLogits, invT])],
        { axis: attr.int(1) },
        'teacher_prob',
      );
      const softLogProb = e.op(
        'LogSoftmax',
        [e.op('Mul', [logits, invT])],
        { axis: attr.int(1) },
        'soft_log_prob',
      );
      const softCe = e.op(
        'Neg',
        [e.op('ReduceSum', [e.op('Mul', [teacherProb, softLogProb])], { keepdims: attr.int(0) })],
        {},
        'soft_ce',
      );
      const hard = b.constFloat('hard_weight', [], [1 - alpha]);
      const soft = b.constFloat('soft_weight', [], [alpha * T * T]);
      lossName = e.op(
        'Div',
        [e.op('Add', [e.op('Mul', [e.op('Neg', [logLik]), hard]), e.op('Mul', [softCe, soft])]), count],
        {},
        'loss',
      );
      // d/dz of T²·CE(p_t, softmax(z/T)) is T·(softmax(z/T) − p_t).
      const softGrad = e.op('Mul', [
        e.op('Sub', [e.op('Exp', [softLogProb]), teacherProb]),
        b.constFloat('soft_grad_weight', [], [alpha * T]),
      ]);
      const hardGrad = e.op('Mul', [e.op('Sub', [prob, oneHot]), hard]);
      seed = e.op('Div', [e.op('Add', [hardGrad, softGrad]), count], {}, 'grad/logits');
    } else {
      lossName = e.op('Div', [e.op('Neg', [logLik]), count], {}, 'loss');
      seed = e.op('Div', [e.op('Sub', [prob, oneHot]), count], {}, 'grad/logits');
    }
  }

  const grads = emitBackward(
    e,
    differentiablePath(forward, weightNames, [logits]),
    new Map([[logits, seed]]),
    weightNames,
  );
  const gradNames = weights.map((w) => {
    const g = grads.get(w.name) ?? e.zeros(w.dims);
    return b.op('Identity', [g], {}, `${w.name}.grad`);
  });

  b.output(lossName, DataType.FLOAT, []);
  b.output(logits, DataType.FLOAT, [batchDim, classes]);
  weights.forEach((w, i) => b.output(gradNames[i]!, DataType.FLOAT, [...w.dims]));

  const built = b.build(`${graph.name}-training`, Math.max(opset, DEFAULT_OPSET), model.producerName);
  const trainingModel: Model = {
    ...built,
    irVersion: Math.max(model.irVersion, built.irVersion),
    opsetImports: [
      ...model.opsetImports.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx'),
      ...built.opsetImports,
    ],
    producerVersion: model.producerVersion,
    metadata: model.metadata,
  };
  return {
    model: trainingModel,
    inputName: dataInput.name,
    labelName,
    weightNames,
    gradNames,
    lossName,
    logitsName: logits,
  };
}

function resolveWeights(
  model: Model,
  names: readonly string[] | undefined,
  initializers: ReadonlyMap<string, Tensor>,
): Tensor[] {
  if (!names) return selectWeights(model);
  const seen = new Set<string>();
  return names.map((name) => {
    const t = initializers.get(name);
    if (!t) return raise('E_AUTODIFF', `Weight "${name}" is not an initializer of the model.`);
    if (t.dataType !== DataType.FLOAT) raise('E_AUTODIFF', `Weight "${name}" is not float32.`);
    if (seen.has(name)) raise('E_AUTODIFF', `Weight "${name}" is listed twice.`);
    seen.add(name);
    return t;
  });
}

/**
 * A frozen copy of the forward pass, reading the weights' current values as initializers under new
 * names, for distillation: the student's gradient never reaches it (its nodes read no weight input).
 * Returns the teacher's logits.
 */
function emitTeacher(
  b: GraphBuilder,
  nodes: readonly Node[],
  logits: string,
  weights: readonly Tensor[],
): string {
  const renamed = new Map<string, string>();
  for (const w of weights) renamed.set(w.name, b.initializer({ ...w, name: b.fresh(`teacher/${w.name}`) }));
  for (const n of nodes) {
    for (const out of n.outputs) if (out !== '') renamed.set(out, b.fresh(`teacher/${out}`));
  }
  for (const n of nodes) {
    b.nodes.push({
      ...n,
      name: b.fresh(`teacher/${n.name || n.opType}`),
      inputs: n.inputs.map((i) => renamed.get(i) ?? i),
      outputs: n.outputs.map((o) => renamed.get(o) ?? o),
    });
  }
  return renamed.get(logits)!;
}
