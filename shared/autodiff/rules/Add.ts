/** Add backward: dY to both operands, each summed over the axes it was broadcast along. */
import { dY0, type GradRule } from './types.ts';

export const Add: GradRule = {
  inputs: [0, 1],
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const out = e.shape(node.outputs[0]!);
    return node.inputs.map((x, i) => (ctx.needs(i) ? e.unbroadcast(dY, out, x) : undefined));
  },
};
