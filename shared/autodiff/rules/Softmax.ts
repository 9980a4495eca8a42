/** Softmax backward along its axis (opset 13 semantics): dX = Y·(dY − Σ dY·Y). */
import { attr } from '../../onnx/builder.ts';
import { attrInt } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const Softmax: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const y = node.outputs[0]!;
    const dY = dY0(ctx);
    const axis = attrInt(node, 'axis', -1);
    const dot = e.op('ReduceSum', [e.op('Mul', [dY, y]), e.ints([axis])], { keepdims: attr.int(1) });
    return [e.op('Mul', [y, e.op('Sub', [dY, dot])])];
  },
};
