/** Squeeze backward: the gradient is dY reshaped back to the input's shape. */
import { dY0, type GradRule } from './types.ts';

export const Squeeze: GradRule = {
  inputs: [0],
  backward(ctx) {
    return [ctx.e.reshapeLike(dY0(ctx), ctx.node.inputs[0]!)];
  },
};
