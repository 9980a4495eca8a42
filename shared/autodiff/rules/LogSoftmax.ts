/** LogSoftmax backward along its axis (opset 13 semantics): dX = dY − exp(Y)·Σ dY. */
import { attr } from '../../onnx/builder.ts';
import { attrInt } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const LogSoftmax: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const axis = attrInt(node, 'axis', -1);
    const total = e.op('ReduceSum', [dY, e.ints([axis])], { keepdims: attr.int(1) });
    return [e.op('Sub', [dY, e.op('Mul', [e.op('Exp', [node.outputs[0]!]), total])])];
  },
};
