/** Tanh backward from the output: dX = dY·(1 − Y²). */
import { dY0, type GradRule } from './types.ts';

export const Tanh: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const y = node.outputs[0]!;
    const slope = e.op('Sub', [e.scalar(1), e.op('Mul', [y, y])]);
    return [e.op('Mul', [dY0(ctx), slope])];
  },
};
