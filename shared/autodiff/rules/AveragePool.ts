/**
 * AveragePool backward: every output's gradient is spread evenly over its window. Because spatial
 * sizes are fixed, each output's divisor (window ∩ input, or ∩ padded input with
 * count_include_pad) is a build-time constant; dY is divided by it and spread with a depthwise
 * ConvTranspose whose kernel is all ones. This is exact for pads, both count_include_pad modes and
 * ceil_mode.
 */
import { attr } from '../../onnx/builder.ts';
import { attrInt, attrInts } from '../../onnx/types.ts';
import { poolCeilMode, transposeFit, windowGeometry, type WindowGeometry } from '../geometry.ts';
import { dY0, type GradRule } from './types.ts';

/** How many input positions output `o` averages on one axis (onnxruntime's rule). */
function axisCounts(g: WindowGeometry, axis: number, size: number, includePad: boolean): number[] {
  const counts: number[] = [];
  for (let o = 0; o < g.out[axis]!; o++) {
    const start = o * g.strides[axis]! - g.padsBegin[axis]!;
    const end = Math.min(start + g.kernel[axis]!, size + g.padsEnd[axis]!);
    counts.push(includePad ? end - start : Math.min(end, size) - Math.max(start, 0));
  }
  return counts;
}

export const AveragePool: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const x = node.inputs[0]!;
    const xShape = e.shape(x);
    const channels = xShape[1] as number;
    const inSpatial = xShape.slice(2) as number[];
    const g = windowGeometry(node, inSpatial, attrInts(node, 'kernel_shape', []), poolCeilMode(node));
    const includePad = attrInt(node, 'count_include_pad', 0) === 1;
    const counts = inSpatial.map((size, axis) => axisCounts(g, axis, size, includePad));
    // The divisor map is the outer product of the per-axis counts.
    let scale = [1];
    for (const c of counts) scale = scale.flatMap((s) => c.map((n) => s / n));
    const scaled = e.op('Mul', [dY0(ctx), e.b.constFloat('avgpool_scale', g.out, scale)]);
    const kernelSize = g.kernel.reduce((a, b) => a * b, 1);
    const ones = e.b.constFloat(
      'avgpool_ones',
      [channels, 1, ...g.kernel],
      new Float32Array(channels * kernelSize).fill(1),
    );
    const fit = transposeFit(g, inSpatial);
    const dX = e.op('ConvTranspose', [scaled, ones], {
      strides: attr.ints(g.strides),
      dilations: attr.ints(g.dilations),
      pads: attr.ints([...g.padsBegin, ...fit.padsEnd]),
      output_padding: attr.ints(fit.outputPadding),
      group: attr.int(channels),
      kernel_shape: attr.ints(g.kernel),
    });
    return [dX];
  },
};
