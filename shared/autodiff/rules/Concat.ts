/** Concat backward: each input gets its slice of dY along the concatenation axis. */
import { attrInt } from '../../onnx/types.ts';
import { normAxis } from '../shapes.ts';
import { dY0, type GradRule } from './types.ts';

export const Concat: GradRule = {
  inputs: 'all',
  backward(ctx) {
    const { e, node } = ctx;
    const dY = dY0(ctx);
    const axis = normAxis(attrInt(node, 'axis', 0), e.shape(node.outputs[0]!).length);
    let offset = 0;
    return node.inputs.map((x, i) => {
      const size = e.shape(x)[axis] as number;
      const start = offset;
      offset += size;
      return ctx.needs(i)
        ? e.op('Slice', [dY, e.ints([start]), e.ints([start + size]), e.ints([axis])])
        : undefined;
    });
  },
};
