/**
 * HardSwish backward, Y = x·max(0, min(1, x/6 + 1/2)): the slope is 0 below −3, 1 above 3 and
 * x/3 + 1/2 in between.
 */
import { dY0, type GradRule } from './types.ts';

export const HardSwish: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const x = node.inputs[0]!;
    const ramp = e.op('Add', [e.op('Mul', [x, e.scalar(1 / 3)]), e.scalar(0.5)]);
    const upper = e.op('Where', [e.op('Greater', [x, e.scalar(3)]), e.scalar(1), ramp]);
    const slope = e.op('Where', [e.op('Less', [x, e.scalar(-3)]), e.scalar(0), upper]);
    return [e.op('Mul', [dY0(ctx), slope])];
  },
};
