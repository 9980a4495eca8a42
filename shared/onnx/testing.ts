/** Small models for tests of the ONNX layer and its users. */
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr, floatTensor } from './builder.ts';
import { DataType, type Model } from './types.ts';

function randomTensor(rng: Rng, name: string, dims: number[], scale = 0.3) {
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.normal() * scale;
  return floatTensor(name, dims, data);
}

/** A tiny conv net: Conv → Relu → MaxPool → Flatten → Gemm, on 1×8×8 inputs, 3 classes. */
export function tinyConvNet(seed = 1): Model {
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  const x = b.input('input', DataType.FLOAT, ['batch', 1, 8, 8]);
  const w1 = b.initializer(randomTensor(rng, 'conv1.weight', [4, 1, 3, 3]));
  const b1 = b.initializer(randomTensor(rng, 'conv1.bias', [4], 0.1));
  const c = b.op('Conv', [x, w1, b1], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
  const r = b.op('Relu', [c]);
  const p = b.op('MaxPool', [r], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  const f = b.op('Flatten', [p], { axis: attr.int(1) });
  const w2 = b.initializer(randomTensor(rng, 'fc.weight', [3, 64], 0.2));
  const b2 = b.initializer(randomTensor(rng, 'fc.bias', [3], 0.1));
  const y = b.op('Gemm', [f, w2, b2], { transB: attr.int(1) }, 'logits');
  b.output(y, DataType.FLOAT, ['batch', 3]);
  return b.build('tiny');
}
