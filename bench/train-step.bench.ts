/**
 * Training-step time: our engine (backward graph on onnxruntime-node, one session, gradients in
 * preallocated buffers, Adam in JS) against @tensorflow/tfjs on its pure-JS CPU backend, on the same
 * LeNet-5-like network (the zoo's MNIST architecture), the same weights and the same batch.
 * A step is forward + backward + Adam update at batch 64.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../shared/core/rng.ts';
import { GraphBuilder, attr, floatTensor } from '../shared/onnx/builder.ts';
import { DataType, type Model } from '../shared/onnx/types.ts';
import { Trainer } from '../shared/train/trainer.ts';
import { median, timeIt, type BenchSection } from './harness.ts';

const BATCH = 64;
const CLASSES = 10;

/** Layer sizes: c5×5·16 – pool2 – c5×5·32 – pool2 – fc98 – fc10 (64,512 weights). */
const C1 = 16;
const C2 = 32;
const FC = 98;
const FLAT = C2 * 4 * 4;

interface LeNetWeights {
  readonly conv1: Float32Array; // [C1, 1, 5, 5]
  readonly b1: Float32Array;
  readonly conv2: Float32Array; // [C2, C1, 5, 5]
  readonly b2: Float32Array;
  readonly fc1: Float32Array; // [FC, FLAT]
  readonly b3: Float32Array;
  readonly fc2: Float32Array; // [CLASSES, FC]
  readonly b4: Float32Array;
}

function heWeights(seed: number): LeNetWeights {
  const rng = new Rng(seed);
  const normal = (n: number, fanIn: number) =>
    Float32Array.from({ length: n }, () => rng.normal() * Math.sqrt(2 / fanIn));
  return {
    conv1: normal(C1 * 25, 25),
    b1: new Float32Array(C1),
    conv2: normal(C2 * C1 * 25, C1 * 25),
    b2: new Float32Array(C2),
    fc1: normal(FC * FLAT, FLAT),
    b3: new Float32Array(FC),
    fc2: normal(CLASSES * FC, FC),
    b4: new Float32Array(CLASSES),
  };
}

function onnxLeNet(w: LeNetWeights): Model {
  const b = new GraphBuilder();
  const x = b.input('input', DataType.FLOAT, ['batch', 1, 28, 28]);
  const k5 = { kernel_shape: attr.ints([5, 5]) };
  const pool = { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) };
  const init = (name: string, dims: number[], data: Float32Array) =>
    b.initializer(floatTensor(name, dims, data));
  let h = b.op('Conv', [x, init('conv1.weight', [C1, 1, 5, 5], w.conv1), init('conv1.bias', [C1], w.b1)], k5);
  h = b.op('MaxPool', [b.op('Relu', [h])], pool);
  h = b.op('Conv', [h, init('conv2.weight', [C2, C1, 5, 5], w.conv2), init('conv2.bias', [C2], w.b2)], k5);
  h = b.op('Flatten', [b.op('MaxPool', [b.op('Relu', [h])], pool)], { axis: attr.int(1) });
  h = b.op('Relu', [
    b.op('Gemm', [h, init('fc1.weight', [FC, FLAT], w.fc1), init('fc1.bias', [FC], w.b3)], {
      transB: attr.int(1),
    }),
  ]);
  const y = b.op(
    'Gemm',
    [h, init('fc2.weight', [CLASSES, FC], w.fc2), init('fc2.bias', [CLASSES], w.b4)],
    { transB: attr.int(1) },
    'logits',
  );
  b.output(y, DataType.FLOAT, ['batch', CLASSES]);
  return b.build('lenet');
}

/** The same network in tfjs (NHWC); the activation is put back in NCHW order before Flatten. */
function tfLeNet(w: LeNetWeights) {
  const oihwToHwio = (data: Float32Array, o: number, i: number): tf.Tensor4D =>
    tf.tidy(() => tf.transpose(tf.tensor4d(data, [o, i, 5, 5]), [2, 3, 1, 0]));
  const vars = {
    conv1: tf.variable(oihwToHwio(w.conv1, C1, 1)),
    b1: tf.variable(tf.tensor1d(w.b1)),
    conv2: tf.variable(oihwToHwio(w.conv2, C2, C1)),
    b2: tf.variable(tf.tensor1d(w.b2)),
    fc1: tf.variable(tf.tensor2d(w.fc1, [FC, FLAT])),
    b3: tf.variable(tf.tensor1d(w.b3)),
    fc2: tf.variable(tf.tensor2d(w.fc2, [CLASSES, FC])),
    b4: tf.variable(tf.tensor1d(w.b4)),
  };
  const loss = (x: tf.Tensor4D, onehot: tf.Tensor2D): tf.Scalar => {
    const c1 = tf.relu(tf.add(tf.conv2d(x, vars.conv1, 1, 'valid'), vars.b1)) as tf.Tensor4D;
    const p1 = tf.maxPool(c1, 2, 2, 'valid');
    const c2 = tf.relu(tf.add(tf.conv2d(p1, vars.conv2, 1, 'valid'), vars.b2)) as tf.Tensor4D;
    const h = tf.maxPool(c2, 2, 2, 'valid');
    const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [-1, FLAT]);
    const h3 = tf.relu(tf.add(tf.matMul(flat, vars.fc1, false, true), vars.b3));
    const logits = tf.add(tf.matMul(h3, vars.fc2, false, true), vars.b4);
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  };
  return { vars, loss };
}

export const trainStepSection: BenchSection = {
  id: 'train-step',
  title: 'Training step: onnxruntime backward graph vs tfjs-cpu',
  async run(ctx) {
    const repeats = ctx.quick ? 5 : 30;
    const warmup = ctx.quick ? 2 : 5;
    const tfRepeats = ctx.quick ? 2 : 10;
    const tfWarmup = 1;

    // One batch of MNIST-shaped data (N(0, 1) pixels, random labels), shared by both engines.
    const rng = new Rng(42);
    const x = Float32Array.from({ length: BATCH * 28 * 28 }, () => rng.normal());
    const labels = Array.from({ length: BATCH }, () => rng.int(CLASSES));
    const y = BigInt64Array.from(labels, (v) => BigInt(v));
    const weights = heWeights(7);
    const model = onnxLeNet(weights);

    // Ours: one session, Adam in JS. Both gradient paths are timed interleaved, so that load from
    // other processes hits them alike.
    const trainers = [];
    for (const mode of ['preallocated', 'copy'] as const) {
      const t = await Trainer.create(model, { gradientOutput: mode, optimizer: { kind: 'adam', lr: 1e-3 } });
      if (!t.ok) throw new Error(t.error.message);
      trainers.push(t.value);
    }
    const first = await trainers[0]!.gradients(x, y, BATCH);
    const oursLoss = first.ok ? first.value : Number.NaN;
    const samples: number[][] = trainers.map(() => []);
    for (let i = 0; i < warmup + repeats; i++) {
      for (let k = 0; k < trainers.length; k++) {
        const t0 = performance.now();
        const r = await trainers[k]!.step(x, y, BATCH);
        if (!r.ok) throw new Error(r.error.message);
        if (i >= warmup) samples[k]!.push(performance.now() - t0);
      }
    }
    const ours: Record<string, number> = {};
    trainers.forEach((t, k) => {
      ours[t.gradientOutput] = median(samples[k]!);
      ctx.log(`ours (${t.gradientOutput}): median ${median(samples[k]!).toFixed(2)} ms over ${repeats}`);
    });
    for (const t of trainers) await t.release();

    // tfjs, pure-JS CPU backend.
    await tf.setBackend('cpu');
    await tf.ready();
    const net = tfLeNet(weights);
    const xt = tf.transpose(tf.tensor4d(x, [BATCH, 1, 28, 28]), [0, 2, 3, 1]);
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES), 'float32') as tf.Tensor2D;
    const tfLoss = tf.tidy(() => net.loss(xt, onehot).dataSync()[0]!);
    const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
    const varList = Object.values(net.vars);
    const tfTimes = await timeIt(
      () => {
        const cost = optimizer.minimize(() => net.loss(xt, onehot), true, varList);
        cost?.dataSync();
        cost?.dispose();
      },
      tfRepeats,
      tfWarmup,
    );
    const tfMs = median(tfTimes);
    ctx.log(`tfjs-cpu: median ${tfMs.toFixed(0)} ms over ${tfRepeats}`);
    optimizer.dispose();
    tf.dispose([xt, onehot, ...varList]);

    const oursMs = ours['preallocated'] ?? ours['copy']!;
    const copyMs = ours['copy']!;
    const ratio = tfMs / oursMs;
    const markdown = [
      `LeNet-5-like network (the zoo's MNIST architecture: c5×5·16, pool, c5×5·32, pool, fc98, fc10; 64,512 weights),`,
      `one batch of ${BATCH} MNIST-shaped samples, forward + backward + Adam update. Median of ${repeats} steps`,
      `(ours) and ${tfRepeats} steps (tfjs) after warm-up, in one process. Ours: one onnxruntime-node session, 1 intra-op`,
      `thread, no spinning. Initial loss: ours ${oursLoss.toFixed(5)}, tfjs ${tfLoss.toFixed(5)} (same weights and data).`,
      '',
      '| engine | ms per step |',
      '|---|---|',
      ...(ours['preallocated'] !== undefined
        ? [`| WeightSep, gradients into preallocated buffers | ${ours['preallocated'].toFixed(2)} |`]
        : []),
      `| WeightSep, gradients copied from onnxruntime's outputs | ${copyMs.toFixed(2)} |`,
      `| @tensorflow/tfjs, cpu backend (pure JS) | ${tfMs.toFixed(0)} |`,
      '',
      `WeightSep is **${ratio.toFixed(0)}x** faster than tfjs-cpu per training step.`,
    ].join('\n');
    return {
      markdown,
      figures: {
        oursMs,
        oursCopyMs: copyMs,
        tfjsCpuMs: tfMs,
        ratio,
        oursInitialLoss: oursLoss,
        tfjsInitialLoss: tfLoss,
      },
    };
  },
};
