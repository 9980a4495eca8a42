import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr, floatTensor } from '../onnx/builder.ts';
import { DataType, type Model } from '../onnx/types.ts';
import { checkFit, modelSignature, requireFit } from './fit-check.ts';
import { tinyModel } from './pairing-fixtures.ts';

const task = (inputShape: number[], classes: number, name = 'x') => ({
  task: name,
  inputShape,
  classes: Array.from({ length: classes }, (_, i) => `c${i}`),
});

/** A Gemm model whose input and output declarations are given by hand. */
function declared(
  inputs: { name: string; type: number; shape: (number | string)[] }[],
  output: (number | string)[],
): Model {
  const b = new GraphBuilder();
  for (const i of inputs) b.input(i.name, i.type, i.shape);
  const w = b.initializer(floatTensor('fc.weight', [2, 4], new Float32Array(8)));
  const y = b.op('Gemm', [inputs[0]!.name, w], { transB: attr.int(1) }, 'logits');
  b.output(y, DataType.FLOAT, output);
  return b.build('declared');
}

describe('checkFit', () => {
  it('accepts a model that takes the task’s input shape and outputs its class count', () => {
    const r = checkFit(tinyModel([1, 8, 8], 10), task([1, 8, 8], 10));
    expect(r).toMatchObject({ fits: true, problems: [] });
    expect(modelSignature(tinyModel([24], 4))).toMatchObject({
      inputs: ['input'],
      inputShape: [24],
      inputType: 'float',
      classes: 4,
    });
  });

  it('says in words what differs: input shape and class count', () => {
    const r = checkFit(tinyModel([1, 28, 28], 10), task([3, 32, 32], 26, 'letters'));
    expect(r.fits).toBe(false);
    expect(r.problems).toEqual([
      "model takes [1, 28, 28], task 'letters' gives [3, 32, 32]",
      "model outputs 10 classes, task 'letters' has 26",
    ]);
    // Same number of values in another layout is still a different input.
    expect(checkFit(tinyModel([784], 10), task([1, 28, 28], 10)).problems).toEqual([
      "model takes [784], task 'x' gives [1, 28, 28]",
    ]);
  });

  it('names a non-float input, several data inputs, and logits that are not [batch, classes]', () => {
    const int64 = declared([{ name: 'ids', type: DataType.INT64, shape: ['batch', 4] }], ['batch', 2]);
    expect(checkFit(int64, task([4], 2)).problems).toEqual([
      "model takes int64 input, task 'x' gives float32",
    ]);
    const two = declared(
      [
        { name: 'a', type: DataType.FLOAT, shape: ['batch', 4] },
        { name: 'b', type: DataType.FLOAT, shape: ['batch', 4] },
      ],
      ['batch', 2],
    );
    expect(checkFit(two, task([4], 2)).problems).toEqual([
      'model has 2 data inputs (a, b); WeightSep feeds exactly one',
    ]);
    const dynamic = declared([{ name: 'x', type: DataType.FLOAT, shape: ['batch', 4] }], ['batch', 'n']);
    expect(checkFit(dynamic, task([4], 2)).problems).toEqual([
      "model's first output ([batch, n]) is not declared as [batch, classes] logits, task 'x' has 2 classes",
    ]);
  });

  it('requireFit is E_DATA_MISMATCH naming the model, the task and every difference', () => {
    expect(requireFit(tinyModel([24], 4), task([24], 4), 'Model a.onnx').ok).toBe(true);
    const r = requireFit(tinyModel([24], 4), task([24], 7, 'har'), 'Model a.onnx');
    expect(!r.ok && r.error.code).toBe('E_DATA_MISMATCH');
    expect(!r.ok && r.error.message).toBe(
      "Model a.onnx does not fit task 'har': model outputs 4 classes, task 'har' has 7.",
    );
    expect(!r.ok && r.error.hint).toMatch(
      /--pair <model.onnx>=<task>.*wsep model set-task.*wsep train --task har/,
    );
  });
});
