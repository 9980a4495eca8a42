/** Static shape inference against the shapes onnxruntime actually produces. */
import { describe, expect, it } from 'vitest';
import { WsepFailure } from '../core/errors.ts';
import { GraphBuilder, attr } from '../onnx/builder.ts';
import { createSession, ort } from '../onnx/ort.ts';
import { DataType, type Graph } from '../onnx/types.ts';
import { inferShapes } from './shapes.ts';

const ints = attr.ints;

describe('shape inference', () => {
  it('matches onnxruntime on every supported operator form, with a symbolic batch', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 2, 7, 6]);
    const w = b.constFloat('w', [4, 2, 3, 3], new Float32Array(72).fill(0.1));
    const outs = [
      b.op('Conv', [x, w], { strides: ints([2, 2]), pads: ints([1, 0, 0, 1]) }),
      b.op('Conv', [x, w], { auto_pad: attr.string('SAME_LOWER'), strides: ints([2, 3]) }),
      b.op('Conv', [x, w], { auto_pad: attr.string('VALID'), dilations: ints([2, 1]) }),
      b.op('ConvTranspose', [x, b.constFloat('wt', [2, 3, 3, 3], new Float32Array(54).fill(0.1))], {
        strides: ints([2, 2]),
        pads: ints([1, 1, 1, 1]),
        output_padding: ints([1, 0]),
      }),
      b.op('MaxPool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: attr.int(1) }),
      b.op('AveragePool', [x], {
        kernel_shape: ints([2, 3]),
        strides: ints([2, 2]),
        pads: ints([1, 1, 0, 1]),
      }),
      b.op('GlobalAveragePool', [x]),
      b.op('Flatten', [x], { axis: attr.int(1) }),
      b.op('Reshape', [x, b.constInt64('s1', [-1, 84])]),
      b.op('Reshape', [x, b.constInt64('s2', [0, 14, -1])]),
      b.op('Transpose', [x], { perm: ints([0, 3, 1, 2]) }),
      b.op('Concat', [x, x], { axis: attr.int(2) }),
      b.op('Slice', [
        x,
        b.constInt64('st', [-3, 1]),
        b.constInt64('en', [1000, -1]),
        b.constInt64('ax', [2, 3]),
      ]),
      b.op('Pad', [x, b.constInt64('pads', [0, 1, 2, -1, 0, 0, 1, 3])]),
      b.op('Unsqueeze', [x, b.constInt64('ua', [1, -1])]),
      b.op('Squeeze', [b.op('GlobalAveragePool', [x])]),
      b.op('Add', [x, b.constFloat('row', [6], new Float32Array(6))]),
      b.op('MatMul', [x, b.constFloat('m', [6, 5], new Float32Array(30))]),
      ...b.opN('Split', [x, b.constInt64('sp', [3, 4])], 2, { axis: attr.int(2) }),
    ];
    for (const o of outs) b.output(o, DataType.FLOAT);
    const model = b.build('shapes');
    const info = inferShapes(model.graph);
    const session = await createSession(model);
    if (!session.ok) throw new Error(session.error.message);
    const result = await session.value.run({
      x: new ort.Tensor('float32', new Float32Array(3 * 2 * 7 * 6), [3, 2, 7, 6]),
    });
    for (const o of outs) {
      if (!info.shapes.get(o)) throw new Error(`no shape for ${o}: ${info.failures.get(o)?.message}`);
      const inferred = info.shapes.get(o)!.map((d) => (d === 'batch' ? 3 : d));
      expect([o, inferred]).toEqual([o, result[o]!.dims]);
    }
    await session.value.release();
  });

  it('keeps the batch symbolic and refuses to merge it into other axes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['n', 4]);
    const y = b.op('Reshape', [x, b.constInt64('s', [-1])]);
    const info = inferShapes(b.build('merge').graph);
    expect(info.shapes.get(x)).toEqual(['batch', 4]);
    expect(info.shapes.get(y)).toBeUndefined();
    expect(info.failures.get(y)?.error.message).toMatch(/merges the batch/);
  });

  it('rejects a symbolic dimension other than the batch', () => {
    const graph: Graph = {
      name: 'g',
      nodes: [],
      inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['n', 'w'] }],
      outputs: [],
      initializers: [],
      valueInfo: [],
    };
    expect(() => inferShapes(graph)).toThrow(WsepFailure);
    expect(() => inferShapes(graph)).toThrow(/axis 1/);
  });
});
