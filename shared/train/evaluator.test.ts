import { describe, expect, it } from 'vitest';
import { attr } from '../onnx/builder.ts';
import { DataType, type Model } from '../onnx/types.ts';
import { Evaluator } from './evaluator.ts';
import { mlpModel, syntheticTask } from './testing.ts';

const data = syntheticTask({ shape: [6], classes: 3, train: 10, val: 50, test: 10, seed: 3 });

/** The same model with a Softmax appended: probabilities out instead of logits. */
function withSoftmax(model: Model): Model {
  const g = model.graph;
  const logits = g.outputs[0]!.name;
  return {
    ...model,
    graph: {
      ...g,
      nodes: [
        ...g.nodes,
        {
          name: 'sm',
          opType: 'Softmax',
          domain: '',
          inputs: [logits],
          outputs: ['probs'],
          attributes: { axis: attr.int(1) },
        },
      ],
      outputs: [{ name: 'probs', elemType: DataType.FLOAT, shape: ['batch', 3] }],
    },
  };
}

async function open(model: Model, batchSize: number): Promise<Evaluator> {
  const e = await Evaluator.create(model, { batchSize });
  if (!e.ok) throw new Error(e.error.message);
  return e.value;
}

describe('Evaluator', () => {
  it('gives the same result whatever the batch size, with predictions that match the accuracy', async () => {
    const model = mlpModel(6, 5, 3, 2);
    const big = await open(model, 256);
    const small = await open(model, 7); // 50 = 7·7 + 1: a partial last batch
    const a = await big.evaluate(data.val, big.initialWeights, { predictions: true });
    const b = await small.evaluate(data.val, small.initialWeights);
    expect(a.n).toBe(50);
    expect(b.accuracy).toBe(a.accuracy);
    expect(b.loss).toBeCloseTo(a.loss, 6);
    const correct = a.predictions!.reduce((n, p, i) => n + (p === data.val.y[i] ? 1 : 0), 0);
    expect(correct / 50).toBe(a.accuracy);
    // Another weight set through the same session.
    const zero = big.initialWeights.map((w) => new Float32Array(w.length));
    const z = await big.evaluate(data.val, zero);
    expect(z.loss).toBeCloseTo(Math.log(3), 6);
    await big.release();
    await small.release();
  });

  it('scores a model that ends in Softmax on its logits', async () => {
    const plain = await open(mlpModel(6, 5, 3, 2), 256);
    const soft = await open(withSoftmax(mlpModel(6, 5, 3, 2)), 256);
    const a = await plain.evaluate(data.val, plain.initialWeights);
    const b = await soft.evaluate(data.val, soft.initialWeights);
    expect(b.accuracy).toBe(a.accuracy);
    expect(b.loss).toBeCloseTo(a.loss, 6);
    await plain.release();
    await soft.release();
  });

  it('rejects a wrong weight set', async () => {
    const e = await open(mlpModel(6, 5, 3, 2), 256);
    await expect(e.evaluate(data.val, [new Float32Array(3)])).rejects.toThrow(/weight arrays/);
    await e.release();
  });
});
