/**
 * ConvTranspose backward. A transposed convolution X → Y is the adjoint of the convolution Y → X
 * with the same weight, strides, pads, dilations and group, so dX = Conv(dY, W) (output_padding
 * only adds rows the Conv never reads back, so the Conv lands exactly on X's size), and the kernel
 * gradient is the Conv kernel gradient with the roles swapped: dY is the side the kernel slides
 * over and X the side it produces, laid out [C_in, C_out/g, kernel] as ConvTranspose reads it.
 * Only explicit pads are supported (no auto_pad, no output_shape).
 */
import { raise } from '../../core/errors.ts';
import { attr } from '../../onnx/builder.ts';
import { attrInt, attrInts, attrString } from '../../onnx/types.ts';
import { kernelGradient } from '../kernel-gradient.ts';
import { dY0, type GradRule } from './types.ts';

export const ConvTranspose: GradRule = {
  inputs: [0, 1, 2],
  backward(ctx) {
    const { e, node } = ctx;
    if (
      attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET' ||
      attrInts(node, 'output_shape', []).length > 0
    ) {
      raise(
        'E_AUTODIFF',
        `ConvTranspose node "${node.name}" uses auto_pad or output_shape; only explicit pads can be differentiated.`,
      );
    }
    const [x, w, bias] = node.inputs as [string, string, string | undefined];
    const dY = dY0(ctx);
    const inSpatial = e.shape(x).slice(2) as number[];
    const kernel = e.fixedShape(w).slice(2);
    const rank = kernel.length;
    const ones = kernel.map(() => 1);
    const pads = attrInts(node, 'pads', [...kernel.map(() => 0), ...kernel.map(() => 0)]);
    const geometry = {
      kernel,
      strides: attrInts(node, 'strides', ones),
      dilations: attrInts(node, 'dilations', ones),
      padsBegin: pads.slice(0, rank),
      padsEnd: pads.slice(rank),
      out: inSpatial,
    };
    const group = attrInt(node, 'group', 1);
    const grads: (string | undefined)[] = [];
    if (ctx.needs(0)) {
      grads[0] = e.op('Conv', [dY, w], {
        strides: attr.ints(geometry.strides),
        dilations: attr.ints(geometry.dilations),
        pads: attr.ints(pads),
        group: attr.int(group),
        kernel_shape: attr.ints(kernel),
      });
    }
    if (ctx.needs(1)) grads[1] = kernelGradient(e, dY, e.shape(node.outputs[0]!), x, geometry, group);
    if (bias && ctx.needs(2)) grads[2] = e.reduceSum(dY, [0, ...kernel.map((_, i) => i + 2)], false);
    return grads;
  },
};
