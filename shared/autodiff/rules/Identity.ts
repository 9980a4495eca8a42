/** Identity backward: pass-through (the forward is the identity). */
import { dY0, type GradRule } from './types.ts';

export const Identity: GradRule = {
  inputs: [0],
  backward(ctx) {
    return [dY0(ctx)];
  },
};
