/** Relu backward: dY where the output is positive, else 0 (the subgradient 0 at the kink). */
import { dY0, type GradRule } from './types.ts';

export const Relu: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const positive = e.op('Greater', [node.outputs[0]!, e.scalar(0)]);
    return [e.op('Where', [positive, dY0(ctx), e.scalar(0)])];
  },
};
