/** HardSigmoid backward, Y = max(0, min(1, αx + β)): α·dY where 0 < Y < 1, else 0. */
import { attrFloat } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const HardSigmoid: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const y = node.outputs[0]!;
    const alpha = attrFloat(node, 'alpha', 0.2);
    const inside = e.op('And', [e.op('Greater', [y, e.scalar(0)]), e.op('Less', [y, e.scalar(1)])]);
    return [e.op('Where', [inside, e.op('Mul', [dY0(ctx), e.scalar(alpha)]), e.scalar(0)])];
  },
};
