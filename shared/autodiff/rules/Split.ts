/** Split backward: the outputs' gradients concatenated along the split axis (zeros for unused outputs). */
import { attr } from '../../onnx/builder.ts';
import { splitSizes } from '../shapes.ts';
import type { GradRule } from './types.ts';

export const Split: GradRule = {
  inputs: [0],
  outputs: 'all',
  backward(ctx) {
    const { e, node } = ctx;
    const { axis } = splitSizes(node, e.shape(node.inputs[0]!), e.info.constants);
    const parts = node.outputs.map((_, i) => ctx.dYOrZeros(i));
    return [parts.length === 1 ? parts[0]! : e.op('Concat', parts, { axis: attr.int(axis) })];
  },
};
