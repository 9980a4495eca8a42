/**
 * Conv backward. dX is a ConvTranspose of dY with the same weight, strides, pads, dilations and
 * group (its end pad and output_padding fitted so the result has X's size); the same weight layout
 * works because ConvTranspose reads [in = M, out/g = C/g, kernel]. dW is a convolution of X with dY
 * (see kernel-gradient.ts), exact for strides, pads, dilations and groups (depthwise included).
 */
import { attr } from '../../onnx/builder.ts';
import { attrInt } from '../../onnx/types.ts';
import { transposeFit, windowGeometry } from '../geometry.ts';
import { kernelGradient } from '../kernel-gradient.ts';
import { dY0, type GradRule } from './types.ts';

export const Conv: GradRule = {
  inputs: [0, 1, 2],
  backward(ctx) {
    const { e, node } = ctx;
    const [x, w, bias] = node.inputs as [string, string, string | undefined];
    const dY = dY0(ctx);
    const inSpatial = e.shape(x).slice(2) as number[];
    const kernel = e.fixedShape(w).slice(2);
    const g = windowGeometry(node, inSpatial, kernel);
    const group = attrInt(node, 'group', 1);
    const grads: (string | undefined)[] = [];
    if (ctx.needs(0)) {
      const fit = transposeFit(g, inSpatial);
      grads[0] = e.op('ConvTranspose', [dY, w], {
        strides: attr.ints(g.strides),
        dilations: attr.ints(g.dilations),
        pads: attr.ints([...g.padsBegin, ...fit.padsEnd]),
        output_padding: attr.ints(fit.outputPadding),
        group: attr.int(group),
        kernel_shape: attr.ints(kernel),
      });
    }
    if (ctx.needs(1)) grads[1] = kernelGradient(e, x, e.shape(x), dY, g, group);
    if (bias && ctx.needs(2)) {
      grads[2] = e.reduceSum(dY, [0, ...kernel.map((_, i) => i + 2)], false);
    }
    return grads;
  },
};
