/** Sigmoid backward from the output: dX = dY·Y·(1 − Y). */
import { dY0, type GradRule } from './types.ts';

export const Sigmoid: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const y = node.outputs[0]!;
    const slope = e.op('Mul', [y, e.op('Sub', [e.scalar(1), y])]);
    return [e.op('Mul', [dY0(ctx), slope])];
  },
};
