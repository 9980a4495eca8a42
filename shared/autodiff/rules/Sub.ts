/** Sub backward: dY to A, −dY to B, each summed over the axes it was broadcast along. */
import { dY0, type GradRule } from './types.ts';

export const Sub: GradRule = {
  inputs: [0, 1],
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const out = e.shape(node.outputs[0]!);
    const [a, b] = node.inputs as [string, string];
    return [
      ctx.needs(0) ? e.unbroadcast(dY, out, a) : undefined,
      ctx.needs(1) ? e.unbroadcast(e.op('Neg', [dY]), out, b) : undefined,
    ];
  },
};
