/** LeakyRelu backward: dY where the input is positive, α·dY elsewhere. */
import { attrFloat } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const LeakyRelu: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const alpha = attrFloat(node, 'alpha', 0.01);
    const positive = e.op('Greater', [node.inputs[0]!, e.scalar(0)]);
    return [e.op('Where', [positive, dY, e.op('Mul', [dY, e.scalar(alpha)])])];
  },
};
