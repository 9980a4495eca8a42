/** Div backward, Y = A/B: dA = dY/B and dB = −dY·Y/B, each summed over its broadcast axes. */
import { dY0, type GradRule } from './types.ts';

export const Div: GradRule = {
  inputs: [0, 1],
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const out = e.shape(node.outputs[0]!);
    const [a, b] = node.inputs as [string, string];
    const y = node.outputs[0]!;
    const dA = ctx.needs(0) ? e.op('Div', [dY, b]) : undefined;
    return [
      dA ? e.unbroadcast(dA, out, a) : undefined,
      ctx.needs(1) ? e.unbroadcast(e.op('Neg', [e.op('Div', [e.op('Mul', [dY, y]), b])]), out, b) : undefined,
    ];
  },
};
