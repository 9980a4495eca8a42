/**
 * Pad backward (constant mode): the gradient of padding by (b, e) is cropping by (b, e); negative
 * pads crop in the forward, so their gradient pads with zeros again.
 */
import { raise } from '../../core/errors.ts';
import { attrString } from '../../onnx/types.ts';
import { padAmounts } from '../shapes.ts';
import { dY0, type GradRule } from './types.ts';

export const Pad: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const mode = attrString(node, 'mode', 'constant');
    if (mode !== 'constant')
      raise(
        'E_AUTODIFF',
        `Pad node "${node.name}" uses mode "${mode}"; only constant padding can be differentiated.`,
      );
    const outShape = e.shape(node.outputs[0]!);
    const rank = outShape.length;
    const pads = padAmounts(node, rank, e.info.constants);
    let g = dY0(ctx);
    // Crop what the forward added.
    const axes: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < rank; i++) {
      const d = outShape[i]!;
      if (d === 'batch' || (pads[i]! <= 0 && pads[i + rank]! <= 0)) continue;
      axes.push(i);
      starts.push(Math.max(pads[i]!, 0));
      ends.push(d - Math.max(pads[i + rank]!, 0));
    }
    if (axes.length > 0) g = e.op('Slice', [g, e.ints(starts), e.ints(ends), e.ints(axes)]);
    // Restore with zeros what the forward cropped.
    const restore = pads.map((p) => Math.max(-p, 0));
    if (restore.some((p) => p > 0)) g = e.op('Pad', [g, e.ints(restore)]);
    return [g];
  },
};
