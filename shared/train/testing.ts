/**
 * Test helpers for the training loop: a synthetic, separable classification task, and a small MLP
 * whose training graph is written by hand (forward, softmax cross-entropy, backward), so the session
 * can be tested independently of shared/autodiff.
 */
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr, floatTensor } from '../onnx/builder.ts';
import { DataType, type Model } from '../onnx/types.ts';
import type { Split, TaskData } from '../datasets/types.ts';
import type { TrainingGraphSpec } from './session.ts';

/**
 * `classes` Gaussian blobs in `shape`-shaped inputs: each class has a random centre, samples are the
 * centre plus N(0, noise²). Linearly separable for small noise, but not trivially at step 0.
 */
export function syntheticTask(options: {
  shape: readonly number[];
  classes: number;
  train: number;
  val: number;
  test: number;
  seed: number;
  noise?: number;
}): TaskData {
  const rng = new Rng(options.seed);
  const d = options.shape.reduce((a, b) => a * b, 1);
  const noise = options.noise ?? 1;
  const centres = Array.from({ length: options.classes }, () =>
    Float32Array.from({ length: d }, () => rng.normal()),
  );
  const split = (n: number): Split => {
    const x = new Float32Array(n * d);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(options.classes);
      y[i] = c;
      for (let j = 0; j < d; j++) x[i * d + j] = centres[c]![j]! + noise * rng.normal();
    }
    return { n, x, y };
  };
  return {
    task: 'synthetic',
    title: 'Synthetic blobs',
    inputShape: [...options.shape],
    classes: Array.from({ length: options.classes }, (_, i) => `c${i}`),
    train: split(options.train),
    val: split(options.val),
    test: split(options.test),
    preprocessing: { scale: 1, mean: [0], std: [1], layout: 'none' },
    splitMethod: 'random',
    source: 'generated',
    license: 'none',
  };
}

function randomTensor(rng: Rng, name: string, dims: number[], scale: number) {
  const size = dims.reduce((a, b) => a * b, 1);
  return floatTensor(
    name,
    dims,
    Float32Array.from({ length: size }, () => rng.normal() * scale),
  );
}

/** An MLP: x[batch, d] → Gemm → Relu → Gemm → logits[batch, classes], with its weights as initializers. */
export function mlpModel(d: number, hidden: number, classes: number, seed = 1): Model {
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  const x = b.input('input', DataType.FLOAT, ['batch', d]);
  const w1 = b.initializer(randomTensor(rng, 'fc1.weight', [hidden, d], Math.sqrt(2 / d)));
  const b1 = b.initializer(randomTensor(rng, 'fc1.bias', [hidden], 0.01));
  const w2 = b.initializer(randomTensor(rng, 'fc2.weight', [classes, hidden], Math.sqrt(1 / hidden)));
  const b2 = b.initializer(randomTensor(rng, 'fc2.bias', [classes], 0.01));
  const h = b.op('Relu', [b.op('Gemm', [x, w1, b1], { transB: attr.int(1) })]);
  const y = b.op('Gemm', [h, w2, b2], { transB: attr.int(1) }, 'logits');
  b.output(y, DataType.FLOAT, ['batch', classes]);
  return b.build('mlp');
}

/**
 * The MLP's training graph, written out by hand: weights as inputs, mean cross-entropy, and
 * dlogits = (softmax − onehot)/N propagated through both Gemms and the Relu.
 */
export function mlpTrainingGraph(d: number, hidden: number, classes: number): TrainingGraphSpec {
  const b = new GraphBuilder();
  const x = b.input('input', DataType.FLOAT, ['batch', d]);
  const labels = b.input('labels', DataType.INT64, ['batch']);
  const w1 = b.input('fc1.weight', DataType.FLOAT, [hidden, d]);
  const b1 = b.input('fc1.bias', DataType.FLOAT, [hidden]);
  const w2 = b.input('fc2.weight', DataType.FLOAT, [classes, hidden]);
  const b2 = b.input('fc2.bias', DataType.FLOAT, [classes]);
  const z1 = b.op('Gemm', [x, w1, b1], { transB: attr.int(1) });
  const h = b.op('Relu', [z1]);
  const logits = b.op('Gemm', [h, w2, b2], { transB: attr.int(1) }, 'logits');
  const [loss, logProb] = b.opN(
    'SoftmaxCrossEntropyLoss',
    [logits, labels],
    2,
    { reduction: attr.string('mean') },
    'loss',
  );
  // dlogits = (exp(log p) − onehot(y)) / N
  const depth = b.constInt64('depth', [classes], []);
  const onOff = b.constFloat('onoff', [2], [0, 1]);
  const onehot = b.op('OneHot', [labels, depth, onOff], { axis: attr.int(-1) });
  const zero = b.constInt64('zero', [0], []);
  const n = b.op('Cast', [b.op('Gather', [b.op('Shape', [x]), zero])], { to: attr.int(DataType.FLOAT) });
  const dLogits = b.op('Div', [b.op('Sub', [b.op('Exp', [logProb!]), onehot]), n]);
  const axis0 = b.constInt64('axis0', [0]);
  const dW2 = b.op('Gemm', [dLogits, h], { transA: attr.int(1) }, 'grad.fc2.weight');
  const dB2 = b.op('ReduceSum', [dLogits, axis0], { keepdims: attr.int(0) }, 'grad.fc2.bias');
  const dH = b.op('MatMul', [dLogits, w2]);
  const zeroF = b.constFloat('zerof', [], [0]);
  const dZ1 = b.op('Where', [b.op('Greater', [z1, zeroF]), dH, zeroF]);
  const dW1 = b.op('Gemm', [dZ1, x], { transA: attr.int(1) }, 'grad.fc1.weight');
  const dB1 = b.op('ReduceSum', [dZ1, axis0], { keepdims: attr.int(0) }, 'grad.fc1.bias');
  b.output(loss!, DataType.FLOAT, []);
  b.output(logits, DataType.FLOAT, ['batch', classes]);
  for (const [g, dims] of [
    [dW1, [hidden, d]],
    [dB1, [hidden]],
    [dW2, [classes, hidden]],
    [dB2, [classes]],
  ] as const) {
    b.output(g, DataType.FLOAT, dims);
  }
  return {
    model: b.build('mlp-training'),
    inputName: x,
    labelName: labels,
    weightNames: [w1, b1, w2, b2],
    gradNames: [dW1, dB1, dW2, dB2],
    lossName: loss!,
    logitsName: logits,
  };
}

/** A seeded batch of standard-normal inputs [n, d] and uniform int64 labels in [0, classes). */
export function randomBatch(
  n: number,
  d: number,
  classes: number,
  seed: number,
): { x: Float32Array; y: BigInt64Array } {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: n * d }, () => rng.normal()),
    y: BigInt64Array.from({ length: n }, () => BigInt(rng.int(classes))),
  };
}
