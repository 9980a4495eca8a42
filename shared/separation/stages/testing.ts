/**
 * Small inputs for the planner's stages tested one by one: models built in memory with synthetic
 * data (for the stages that read models), and task runners that need no onnxruntime (for the stages
 * that only evaluate or train through the runner's interface).
 */
import { Rng } from '../../core/rng.ts';
import type { Split, TaskData } from '../../datasets/types.ts';
import type { Evaluation } from '../../train/evaluator.ts';
import { STORED_DEVICE, withSizes } from '../../image/device-profile.ts';
import { buildModel } from '../../zoo/model-builder.ts';
import type { FisherResult } from '../fisher.ts';
import { formModel, pageSums, type Formation } from '../formation.ts';
import { plannerOptions, type PlannerOptions, type PlannerTask } from '../planner-options.ts';
import type { TaskRunner } from '../task-session.ts';

function split(rng: Rng, n: number, sample: number, classes: number): Split {
  return {
    n,
    x: Float32Array.from({ length: n * sample }, () => rng.normal()),
    y: Uint8Array.from({ length: n }, () => rng.int(classes)),
  };
}

/** Random inputs and labels of `inputShape`, 16 training samples, 8 validation and 8 test. */
export function syntheticData(
  task: string,
  inputShape: readonly number[],
  classes: number,
  seed: number,
): TaskData {
  const rng = new Rng(seed);
  const sample = inputShape.reduce((a, b) => a * b, 1);
  return {
    task,
    title: task,
    inputShape,
    classes: Array.from({ length: classes }, (_, c) => `c${c}`),
    train: split(rng, 16, sample, classes),
    val: split(rng, 8, sample, classes),
    test: split(rng, 8, sample, classes),
    preprocessing: { scale: 1, mean: [0], std: [1], layout: 'none' },
    splitMethod: 'random',
    source: 'synthetic',
    license: 'none',
  };
}

/** A two-layer perceptron on 6 inputs and 3 classes: 6·h + h + 3·h + 3 weights. */
export function denseTask(name: string, seed: number, hidden = 8): PlannerTask {
  return {
    name,
    model: buildModel(name, [6], seed, (b, x) => b.dense('fc2', b.relu(b.dense('fc1', x, hidden)), 3)).model,
    data: syntheticData(name, [6], 3, seed),
  };
}

/**
 * A task whose "model" wants its weights at `target`: training gradients of Σ (w − target)², and
 * accuracy 1 ÷ (1 + distance²) on validation, half of that on test (so that the two can be told apart).
 * Counts its calls.
 */
export function quadraticRunner(
  name: string,
  target: Float32Array,
): TaskRunner & { readonly calls: { train: number; validate: number; evaluate: number } } {
  const data = syntheticData(name, [1], 2, 1);
  const calls = { train: 0, validate: 0, evaluate: 0 };
  const distance = (w: Float32Array) => w.reduce((a, v, i) => a + (v - (target[i] ?? 0)) ** 2, 0);
  return {
    name,
    weightCount: target.length,
    data,
    calls,
    async trainBatch(w, grad) {
      calls.train++;
      w.forEach((v, i) => (grad[i] = 2 * (v - (target[i] ?? 0))));
      return distance(w);
    },
    async validate(w) {
      calls.validate++;
      const d = distance(w);
      return { accuracy: 1 / (1 + d), loss: d };
    },
    async evaluate(s: Split, w: Float32Array): Promise<Evaluation> {
      calls.evaluate++;
      const d = distance(w);
      return { n: s.n, accuracy: (s === data.test ? 0.5 : 1) / (1 + d), loss: d };
    },
    async release() {},
  };
}

/** Page size of `twoModels`. */
export const P = 16;

/**
 * Two perceptrons formed into pages of 16: 'a' has 83 weights (6 pages), 'b' 43 (3 pages); their
 * Fisher rises with the weight's index, so a model's last pages are its most important.
 */
export function twoModels(): {
  tasks: PlannerTask[];
  formations: Formation[];
  fisher: FisherResult[];
} {
  const tasks = [denseTask('a', 1), denseTask('b', 2, 4)];
  const formations = tasks.map((t) => {
    const f = formModel(t.model, P);
    if (!f.ok) throw new Error(f.error.message);
    return f.value;
  });
  const fisher = formations.map((f) => {
    const perWeight = Float64Array.from({ length: f.weightCount }, (_, i) => 1 + i);
    return {
      samples: 1,
      perWeight,
      pageScores: pageSums(perWeight, P),
      total: perWeight.reduce((a, b) => a + b, 0),
      zeroWeights: 0,
      zeroWeightsPerPage: new Int32Array(f.pageCount),
    };
  });
  return { tasks, formations, fisher };
}

/**
 * Options for `twoModels` on the stored device: `pool` shared pages after the 9 table entries, and
 * level 2 for `level2Pages` exclusive pages (the default: a's 3 forced ones and 1 extra).
 */
export function twoModelOptions(pool = 3, level2Pages = 4, selfTying = 1): PlannerOptions {
  return plannerOptions(
    withSizes(STORED_DEVICE, { l1Bytes: 9 * 4 + pool * P * 4, l2Bytes: level2Pages * P * 4 }),
    { method: { pageSize: P, selfTying } },
  );
}
