/**
 * Dropout backward: pass-through, because the training graph runs Dropout in inference mode, where
 * the forward is the identity. A Dropout whose training_mode input is (or may be) true would drop
 * at random in the forward, so it is refused rather than differentiated wrongly.
 */
import { raise } from '../../core/errors.ts';
import { dY0, type GradRule } from './types.ts';

export const Dropout: GradRule = {
  inputs: [0],
  backward(ctx) {
    const mode = ctx.node.inputs[2];
    if (mode && ctx.e.constant(mode)?.[0] !== 0) {
      raise(
        'E_AUTODIFF',
        `Dropout node "${ctx.node.name}" may run in training mode (training_mode is not a constant false); only inference-mode Dropout is supported.`,
      );
    }
    return [dY0(ctx)];
  },
};
