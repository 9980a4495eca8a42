/**
 * Gemm backward, Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A (likewise B'). Each gradient is one
 * more Gemm whose transpose flags absorb the forward ones, so no explicit Transpose is emitted;
 * C's gradient undoes its broadcast.
 */
import { attr } from '../../onnx/builder.ts';
import { attrFloat, attrInt } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const Gemm: GradRule = {
  inputs: [0, 1, 2],
  backward(ctx) {
    const { e, node } = ctx;
    const [a, b, c] = node.inputs as [string, string, string | undefined];
    const dY = dY0(ctx);
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const transA = attrInt(node, 'transA', 0) === 1;
    const transB = attrInt(node, 'transB', 0) === 1;
    const gemm = (p: string, q: string, tp: boolean, tq: boolean): string =>
      e.op('Gemm', [p, q], {
        alpha: attr.float(alpha),
        transA: attr.int(tp ? 1 : 0),
        transB: attr.int(tq ? 1 : 0),
      });
    const grads: (string | undefined)[] = [];
    // dA' = α·dY·B'ᵀ ; dA = transA ? (dA')ᵀ = α·B'·dYᵀ : dA'.
    if (ctx.needs(0)) grads[0] = transA ? gemm(b, dY, transB, true) : gemm(dY, b, false, !transB);
    // dB' = α·A'ᵀ·dY ; dB = transB ? (dB')ᵀ = α·dYᵀ·A' : dB'.
    if (ctx.needs(1)) grads[1] = transB ? gemm(dY, a, true, transA) : gemm(a, dY, !transA, false);
    if (c && ctx.needs(2)) {
      const scaled = beta === 1 ? dY : e.op('Mul', [dY, e.scalar(beta)]);
      grads[2] = e.unbroadcast(scaled, e.shape(node.outputs[0]!), c);
    }
    return grads;
  },
};
