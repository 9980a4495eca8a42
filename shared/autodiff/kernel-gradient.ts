/**
 * The kernel gradient shared by Conv and ConvTranspose. For a convolution whose input `a` (channels
 * C, the side the kernel slides over) produces `b` (channels M):
 *   dW[m, c, k] = Σ_n Σ_o a[n, c, o·s + k·d − p] · b[n, m, o]
 * which is itself a convolution of `a` with `b` once batch and channels are swapped: dilation = the
 * forward stride, stride = the forward dilation, same pads. Its output can hold more taps than the
 * kernel (trailing rows no window reached), so it is sliced to the kernel size. Groups are folded
 * into the channel axis of that one convolution (run with group = g), which keeps grouped and
 * depthwise kernels exact without a node per group. The result is laid out [M, C/g, kernel].
 */
import { attr } from '../onnx/builder.ts';
import type { Emitter } from './emit.ts';
import type { WindowGeometry } from './geometry.ts';
import type { Shape } from './shapes.ts';

/** `a` has shape `aShape` (passed, since `a` may be a gradient with no entry in the shape table). */
export function kernelGradient(
  e: Emitter,
  a: string,
  aShape: Shape,
  b: string,
  geometry: WindowGeometry,
  group: number,
): string {
  const channels = aShape[1] as number;
  const spatial = aShape.slice(2) as number[];
  const rank = spatial.length;
  const swap = [1, 0, ...Array.from({ length: rank }, (_, i) => i + 2)];
  const perGroup = channels / group;
  // `a` as [C/g, g·N, spatial]: for group 1 this is the plain batch/channel swap.
  let aT: string;
  if (group === 1) {
    aT = e.transpose(a, swap);
  } else {
    const split = e.op('Reshape', [a, e.ints([0, group, perGroup, ...spatial])]);
    const moved = e.transpose(split, [2, 1, 0, ...Array.from({ length: rank }, (_, i) => i + 3)]);
    aT = e.op('Reshape', [moved, e.ints([perGroup, -1, ...spatial])]);
  }
  const taps = e.op('Conv', [aT, e.transpose(b, swap)], {
    strides: attr.ints(geometry.dilations),
    dilations: attr.ints(geometry.strides),
    pads: attr.ints([...geometry.padsBegin, ...geometry.padsEnd]),
    group: attr.int(group),
  });
  // taps: [C/g, M, k'] with k' ≥ k on every axis; keep the first k.
  const axes = Array.from({ length: rank }, (_, i) => i + 2);
  const cut = e.op('Slice', [
    taps,
    e.ints(geometry.kernel.map(() => 0)),
    e.ints(geometry.kernel),
    e.ints(axes),
  ]);
  return e.transpose(cut, swap);
}
