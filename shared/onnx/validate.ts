/**
 * Checks that a model is one WeightSep can plan and run: self-contained, float32 weights, supported
 * operators, static shapes except the batch dimension. Every problem of a kind is listed at once.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { SUPPORTED_OPS, WEIGHT_INPUTS } from './ops.ts';
import { DataType, dataTypeName, type Model } from './types.ts';

export interface ValidateOptions {
  /** Operators accepted; defaults to everything the engine supports. */
  readonly supportedOps?: ReadonlySet<string>;
  /** Where the model came from, for messages. */
  readonly source?: string;
}

export function validateModel(model: Model, options: ValidateOptions = {}): Result<Model> {
  const where = options.source ? ` in ${options.source}` : '';
  const graph = model.graph;

  const external = graph.initializers.filter((t) => t.externalLocation !== undefined);
  if (external.length > 0) {
    const list = external.map((t) => `"${t.name}" (in ${t.externalLocation})`).join(', ');
    return fail(
      'E_ONNX_EXTERNAL_DATA',
      `The model${where} keeps ${external.length} tensor(s) in external data files: ${list}.`,
      'Save the model with all weights inside the .onnx file (e.g. onnx.save(model, path, save_as_external_data=False)).',
      { tensors: external.map((t) => t.name) },
    );
  }

  const supported = options.supportedOps ?? SUPPORTED_OPS;
  const unsupported = graph.nodes.filter(
    (n) => (n.domain !== '' && n.domain !== 'ai.onnx') || !supported.has(n.opType),
  );
  if (unsupported.length > 0) {
    const list = unsupported.map(
      (n) => `${n.domain ? `${n.domain}:` : ''}${n.opType} (node "${n.name || '(unnamed)'}")`,
    );
    return fail(
      'E_ONNX_UNSUPPORTED_OP',
      `The model${where} uses ${unsupported.length} operator(s) WeightSep does not support: ${list.join(', ')}.`,
      `Supported operators: ${[...supported].sort().join(', ')}.`,
      { nodes: unsupported.map((n) => ({ name: n.name, opType: n.opType, domain: n.domain })) },
    );
  }

  const byName = new Map(graph.initializers.map((t) => [t.name, t]));
  const badWeights: string[] = [];
  for (const node of graph.nodes) {
    for (const pos of WEIGHT_INPUTS[node.opType] ?? []) {
      const t = byName.get(node.inputs[pos] ?? '');
      if (
        t &&
        t.dataType !== DataType.FLOAT &&
        (t.dataType === DataType.DOUBLE ||
          t.dataType === DataType.FLOAT16 ||
          t.dataType === DataType.BFLOAT16 ||
          node.opType !== 'Mul')
      ) {
        badWeights.push(`"${t.name}" (${dataTypeName(t.dataType)}, used by ${node.opType} "${node.name}")`);
      }
    }
  }
  if (badWeights.length > 0) {
    return fail(
      'E_ONNX_DTYPE',
      `The model${where} has weights that are not float32: ${[...new Set(badWeights)].join(', ')}.`,
      'Export the model in float32; quantised or half-precision models are not supported as planner input.',
    );
  }

  const dynamic: string[] = [];
  const initNames = new Set(byName.keys());
  for (const input of graph.inputs) {
    if (initNames.has(input.name)) continue;
    if (input.elemType !== DataType.FLOAT) {
      dynamic.push(`input "${input.name}" is ${dataTypeName(input.elemType)}, expected float`);
      continue;
    }
    if (!input.shape) {
      dynamic.push(`input "${input.name}" has no recorded shape`);
      continue;
    }
    input.shape.forEach((d, axis) => {
      if (axis > 0 && typeof d !== 'number')
        dynamic.push(`input "${input.name}" axis ${axis} is ${d === null ? 'unknown' : `"${d}"`}`);
      if (typeof d === 'number' && d <= 0 && axis > 0)
        dynamic.push(`input "${input.name}" axis ${axis} has size ${d}`);
    });
  }
  if (dynamic.length > 0) {
    return fail(
      'E_ONNX_DYNAMIC_SHAPE',
      `The model${where} has inputs WeightSep cannot run: ${dynamic.join('; ')}.`,
      'Only the first (batch) dimension may be dynamic; export with a fixed input size.',
    );
  }
  if (graph.inputs.filter((i) => !initNames.has(i.name)).length === 0) {
    return fail('E_ONNX_INVALID', `The model${where} has no data input.`);
  }
  if (graph.outputs.length === 0) return fail('E_ONNX_INVALID', `The model${where} has no output.`);
  return ok(model);
}
