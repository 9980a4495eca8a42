/**
 * MatMul backward with numpy semantics: dA = dY·Bᵀ and dB = Aᵀ·dY over the last two axes, then
 * summed over the batch axes an operand was broadcast along. 1-D operands are promoted to matrices
 * first (and dY gets back the axis the forward dropped), as the forward does.
 */
import { broadcastShapes, type Shape } from '../shapes.ts';
import { dY0, type GradRule } from './types.ts';

export const MatMul: GradRule = {
  inputs: [0, 1],
  backward(ctx) {
    const { e, node } = ctx;
    const [a, b] = node.inputs as [string, string];
    const aShape = e.shape(a);
    const bShape = e.shape(b);
    const aP: Shape = aShape.length === 1 ? [1, aShape[0]!] : aShape;
    const bP: Shape = bShape.length === 1 ? [bShape[0]!, 1] : bShape;
    const a2 = aShape.length === 1 ? e.op('Unsqueeze', [a, e.ints([0])]) : a;
    const b2 = bShape.length === 1 ? e.op('Unsqueeze', [b, e.ints([1])]) : b;
    let dY = dY0(ctx);
    if (bShape.length === 1) dY = e.op('Unsqueeze', [dY, e.ints([-1])]);
    if (aShape.length === 1) dY = e.op('Unsqueeze', [dY, e.ints([-2])]);
    const batch = broadcastShapes(aP.slice(0, -2), bP.slice(0, -2), node);
    const swapLast = (x: string, rank: number): string => {
      const perm = Array.from({ length: rank }, (_, i) => i);
      perm[rank - 2] = rank - 1;
      perm[rank - 1] = rank - 2;
      return e.transpose(x, perm);
    };
    const promoted = (s: Shape, p: Shape): Shape | undefined => (s.length === 1 ? p : undefined);
    const grads: (string | undefined)[] = [];
    if (ctx.needs(0)) {
      const g = e.op('MatMul', [dY, swapLast(b2, bP.length)]);
      grads[0] = e.unbroadcast(
        g,
        [...batch, aP[aP.length - 2]!, aP[aP.length - 1]!],
        a,
        promoted(aShape, aP),
      );
    }
    if (ctx.needs(1)) {
      const g = e.op('MatMul', [swapLast(a2, aP.length), dY]);
      grads[1] = e.unbroadcast(
        g,
        [...batch, bP[bP.length - 2]!, bP[bP.length - 1]!],
        b,
        promoted(bShape, bP),
      );
    }
    return grads;
  },
};
