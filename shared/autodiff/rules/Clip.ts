/**
 * Clip backward: dY where min < x < max, else 0. From opset 11 the bounds are optional inputs;
 * before, attributes. The bounds themselves get no gradient (they are not learned).
 */
import { attrFloat } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const Clip: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const x = node.inputs[0]!;
    const bound = (i: number, key: string): string | undefined => {
      if (node.inputs[i]) return node.inputs[i];
      return node.attributes[key] ? e.scalar(attrFloat(node, key, 0)) : undefined;
    };
    const lo = bound(1, 'min');
    const hi = bound(2, 'max');
    const conditions: string[] = [];
    if (lo) conditions.push(e.op('Greater', [x, lo]));
    if (hi) conditions.push(e.op('Less', [x, hi]));
    if (conditions.length === 0) return [dY0(ctx)];
    const inside = conditions.length === 2 ? e.op('And', conditions) : conditions[0]!;
    return [e.op('Where', [inside, dY0(ctx), e.scalar(0)])];
  },
};
