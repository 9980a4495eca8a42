/**
 * Training graphs are emitted at opset 17 (ScatterElements needs 16 for reduction='add'), so a
 * model exported at opset 11 or 12 has its few operators whose form changed at 13 rewritten first:
 * Squeeze/Unsqueeze/Split take axes and sizes as inputs, Softmax/LogSoftmax work on one axis instead
 * of a coerced 2-D view, and Dropout's ratio attribute went away in 12. The rewritten graph computes
 * exactly what the original did.
 */
import { raise } from '../core/errors.ts';
import { GraphBuilder, attr } from '../onnx/builder.ts';
import { attrInt, defaultOpset, type Model, type Node } from '../onnx/types.ts';
import { inferShapes, normAxis } from './shapes.ts';

export const MIN_MODEL_OPSET = 11;

function without(node: Node, keys: readonly string[]): Node['attributes'] {
  return Object.fromEntries(Object.entries(node.attributes).filter(([k]) => !keys.includes(k)));
}

/** Returns the model in opset-13 operator forms (unchanged when it is already at 13 or later). */
export function upgradeToOpset13(model: Model): Model {
  const opset = defaultOpset(model);
  if (opset >= 13) return model;
  if (opset < MIN_MODEL_OPSET) {
    raise(
      'E_AUTODIFF',
      `The model uses opset ${opset}; training graphs need opset ${MIN_MODEL_OPSET} or later.`,
      'Export the model again with opset_version=17.',
    );
  }
  const graph = model.graph;
  const info = inferShapes(graph);
  const b = new GraphBuilder();
  b.reserve(graph.nodes.flatMap((n) => [...n.outputs, n.name]));
  b.reserve([...graph.inputs.map((i) => i.name), ...graph.initializers.map((t) => t.name)]);
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    const ints = node.attributes[node.opType === 'Split' ? 'split' : 'axes'];
    switch (node.opType) {
      case 'Squeeze':
      case 'Unsqueeze':
      case 'Split':
        if (ints?.type === 'ints') {
          const name = b.constInt64(node.opType === 'Split' ? 'split' : 'axes', ints.value);
          nodes.push({
            ...node,
            inputs: [node.inputs[0]!, name],
            attributes: without(node, ['axes', 'split']),
          });
        } else {
          nodes.push(node);
        }
        break;
      case 'Dropout':
        nodes.push({ ...node, attributes: without(node, ['ratio', 'is_test']) });
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        const shape = info.shapes.get(node.inputs[0]!);
        if (!shape)
          raise('E_AUTODIFF', `The shape of the input of ${node.opType} node "${node.name}" is unknown.`);
        const axis = normAxis(attrInt(node, 'axis', 1), shape.length);
        if (axis === shape.length - 1) {
          nodes.push({ ...node, attributes: { axis: attr.int(axis) } });
        } else if (axis === 1) {
          // Before opset 13 the op normalises over every axis from `axis` on: flatten, apply, restore.
          const flat = b.fresh(`${node.outputs[0]}.flat`);
          const applied = b.fresh(`${node.outputs[0]}.flat_out`);
          const target = b.constInt64('shape', [0, ...shape.slice(1).map((d) => d as number)]);
          nodes.push({
            name: b.fresh(`${node.name}_flatten`),
            opType: 'Flatten',
            domain: '',
            inputs: [node.inputs[0]!],
            outputs: [flat],
            attributes: { axis: attr.int(1) },
          });
          nodes.push({ ...node, inputs: [flat], outputs: [applied], attributes: { axis: attr.int(1) } });
          nodes.push({
            name: b.fresh(`${node.name}_restore`),
            opType: 'Reshape',
            domain: '',
            inputs: [applied, target],
            outputs: [node.outputs[0]!],
            attributes: {},
          });
        } else {
          raise(
            'E_AUTODIFF',
            `${node.opType} node "${node.name}" (opset ${opset}) normalises over axes ${axis}… of a rank-${shape.length} input; re-export with opset 13 or later.`,
          );
        }
        break;
      }
      default:
        nodes.push(node);
    }
  }
  return {
    ...model,
    opsetImports: model.opsetImports.map((o) =>
      o.domain === '' || o.domain === 'ai.onnx' ? { ...o, version: 13 } : o,
    ),
    graph: { ...graph, nodes, initializers: [...graph.initializers, ...b.initializers] },
  };
}
