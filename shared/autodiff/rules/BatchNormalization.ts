/**
 * BatchNormalization backward in inference mode: the running mean and variance are constants, so
 * Y = γ·x̂ + β with x̂ = (X − mean)/√(var + ε) is affine in X: dX = dY·γ/√(var + ε),
 * dγ = Σ dY·x̂ and dβ = Σ dY over every axis but the channel. Training mode (batch statistics)
 * is not supported.
 */
import { raise } from '../../core/errors.ts';
import { attrFloat, attrInt } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const BatchNormalization: GradRule = {
  inputs: [0, 1, 2],
  backward(ctx) {
    const { e, node } = ctx;
    if (attrInt(node, 'training_mode', 0) !== 0 || node.outputs.filter((o) => o).length > 1) {
      raise(
        'E_AUTODIFF',
        `BatchNormalization node "${node.name}" runs in training mode; only inference mode (running statistics) is supported.`,
      );
    }
    const [x, scale, , mean, variance] = node.inputs as [string, string, string, string, string];
    const dY = dY0(ctx);
    const rank = e.shape(x).length;
    const channels = e.shape(x)[1] as number;
    // Per-channel [C] values broadcast against [N, C, spatial…] as [C, 1, …].
    const perChannel = e.ints([channels, ...Array.from({ length: rank - 2 }, () => 1)]);
    const asChannel = (v: string): string => e.op('Reshape', [v, perChannel]);
    const invStd = asChannel(
      e.op('Reciprocal', [
        e.op('Sqrt', [e.op('Add', [variance, e.scalar(attrFloat(node, 'epsilon', 1e-5))])]),
      ]),
    );
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    const grads: (string | undefined)[] = [];
    if (ctx.needs(0)) grads[0] = e.op('Mul', [dY, e.op('Mul', [asChannel(scale), invStd])]);
    if (ctx.needs(1)) {
      const normalised = e.op('Mul', [e.op('Sub', [x, asChannel(mean)]), invStd]);
      grads[1] = e.reduceSum(e.op('Mul', [dY, normalised]), axes, false);
    }
    if (ctx.needs(2)) grads[2] = e.reduceSum(dY, axes, false);
    return grads;
  },
};
