/** Mul backward: dA = dY·B and dB = dY·A, each summed over the axes it was broadcast along. */
import { dY0, type GradRule } from './types.ts';

export const Mul: GradRule = {
  inputs: [0, 1],
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const out = e.shape(node.outputs[0]!);
    const [a, b] = node.inputs as [string, string];
    return [
      ctx.needs(0) ? e.unbroadcast(e.op('Mul', [dY, b]), out, a) : undefined,
      ctx.needs(1) ? e.unbroadcast(e.op('Mul', [dY, a]), out, b) : undefined,
    ];
  },
};
