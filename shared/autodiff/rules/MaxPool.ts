/**
 * MaxPool backward: each output's gradient goes to the input element it took. The forward node is
 * given an Indices output (the training graph adds one when the model has none); onnxruntime's
 * indices are flat over the whole N·C·spatial input, so one ScatterElements over the flattened
 * input routes every gradient. reduction='add' is what makes overlapping windows (k3 s2) exact:
 * an element that wins two windows receives both gradients. (MaxUnpool would overwrite.)
 */
import { raise } from '../../core/errors.ts';
import { attr } from '../../onnx/builder.ts';
import { attrInt } from '../../onnx/types.ts';
import { dY0, type GradRule } from './types.ts';

export const MaxPool: GradRule = {
  inputs: [0],
  backward(ctx) {
    const { e, node } = ctx;
    const x = node.inputs[0]!;
    const indices = node.outputs[1];
    if (!indices)
      return raise('E_INTERNAL', `MaxPool node "${node.name}" has no Indices output in the training graph.`);
    if (attrInt(node, 'storage_order', 0) !== 0)
      raise(
        'E_AUTODIFF',
        `MaxPool node "${node.name}" uses storage_order=1 (column-major indices); only the default is supported.`,
      );
    const flat = e.ints([-1]);
    const size = e.op('Reshape', [e.op('Size', [x]), e.ints([1])]);
    const zeros = e.op('ConstantOfShape', [size], {}, 'zeros');
    const scattered = e.op(
      'ScatterElements',
      [zeros, e.op('Reshape', [indices, flat]), e.op('Reshape', [dY0(ctx), flat])],
      {
        axis: attr.int(0),
        reduction: attr.string('add'),
      },
    );
    return [e.reshapeLike(scattered, x)];
  },
};
