/** GlobalAveragePool backward: dY/(spatial size), expanded over the spatial axes. */
import { dY0, type GradRule } from './types.ts';

export const GlobalAveragePool: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const x = node.inputs[0]!;
    const area = (e.shape(x).slice(2) as number[]).reduce((a, b) => a * b, 1);
    const scaled = e.op('Mul', [dY0(ctx), e.scalar(1 / area)]);
    return [e.op('Expand', [scaled, e.runtimeShape(x)])];
  },
};
