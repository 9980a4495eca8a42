/** Transpose backward: dY transposed by the inverse permutation. */
import { attrInts } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const Transpose: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const rank = e.shape(node.inputs[0]!).length;
    const perm = attrInts(
      node,
      'perm',
      Array.from({ length: rank }, (_, i) => rank - 1 - i),
    );
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [e.transpose(dY0(ctx), inverse)];
  },
};
