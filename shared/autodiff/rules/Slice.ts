/** Slice backward (step 1): dY padded with zeros back to the input's extent. */
import { sliceSpec } from '../shapes.ts';
import { dY0, type GradRule } from './types.ts';

export const Slice: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const x = node.inputs[0]!;
    const shape = e.shape(x);
    const spec = sliceSpec(node, shape, e.info.constants);
    const before = shape.map((d, i) => (d === 'batch' ? 0 : spec.starts[i]!));
    const after = shape.map((d, i) => (d === 'batch' ? 0 : d - spec.ends[i]!));
    if ([...before, ...after].every((p) => p === 0)) return [dY0(ctx)];
    return [e.op('Pad', [dY0(ctx), e.ints([...before, ...after])])];
  },
};
