import { fail, ok } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { readModelFile } from '../../onnx/io.ts';
import { dataTypeName, elementCount, type Dim, type Model } from '../../onnx/types.ts';
import { validateModel } from '../../onnx/validate.ts';
import { selectWeights } from '../../onnx/weights.ts';
import type { Command } from '../command.ts';

export interface ModelSummary {
  readonly file: string;
  readonly irVersion: number;
  readonly opset: Record<string, number>;
  readonly producer: string;
  readonly inputs: { name: string; type: string; shape: Dim[] | null }[];
  readonly outputs: { name: string; type: string; shape: Dim[] | null }[];
  readonly operators: Record<string, number>;
  readonly nodes: number;
  readonly weights: { name: string; dims: number[]; count: number }[];
  readonly parameters: number;
  readonly parameterBytes: number;
  /** Other initializers (shapes, BN statistics): kept in the graph, not paged. */
  readonly constants: { name: string; dims: number[]; type: string }[];
  readonly plannable: { ok: true } | { ok: false; code: string; message: string };
}

export function summarize(file: string, model: Model): ModelSummary {
  const weights = selectWeights(model);
  const weightNames = new Set(weights.map((w) => w.name));
  const initNames = new Set(model.graph.initializers.map((t) => t.name));
  const operators: Record<string, number> = {};
  for (const n of model.graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    operators[key] = (operators[key] ?? 0) + 1;
  }
  const parameters = weights.reduce((a, w) => a + elementCount(w.dims), 0);
  const check = validateModel(model);
  return {
    file,
    irVersion: model.irVersion,
    opset: Object.fromEntries(model.opsetImports.map((o) => [o.domain || 'ai.onnx', o.version])),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: model.graph.inputs
      .filter((i) => !initNames.has(i.name))
      .map((i) => ({ name: i.name, type: dataTypeName(i.elemType), shape: i.shape ? [...i.shape] : null })),
    outputs: model.graph.outputs.map((o) => ({
      name: o.name,
      type: dataTypeName(o.elemType),
      shape: o.shape ? [...o.shape] : null,
    })),
    operators,
    nodes: model.graph.nodes.length,
    weights: weights.map((w) => ({ name: w.name, dims: [...w.dims], count: elementCount(w.dims) })),
    parameters,
    parameterBytes: parameters * 4,
    constants: model.graph.initializers
      .filter((t) => !weightNames.has(t.name))
      .map((t) => ({ name: t.name, dims: [...t.dims], type: dataTypeName(t.dataType) })),
    plannable: check.ok ? { ok: true } : { ok: false, code: check.error.code, message: check.error.message },
  };
}

function shapeText(shape: Dim[] | null): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '(no shape)';
}

export function renderSummary(s: ModelSummary): string {
  const lines = [
    `${s.file}`,
    `  IR ${s.irVersion}, opset ${Object.entries(s.opset)
      .map(([d, v]) => `${d} ${v}`)
      .join(', ')}${s.producer ? `, produced by ${s.producer}` : ''}`,
    '',
    'Inputs',
    ...s.inputs.map((i) => `  ${i.name}  ${i.type} ${shapeText(i.shape)}`),
    'Outputs',
    ...s.outputs.map((o) => `  ${o.name}  ${o.type} ${shapeText(o.shape)}`),
    `Operators (${s.nodes} nodes)`,
    `  ${Object.entries(s.operators)
      .map(([op, n]) => `${op}×${n}`)
      .join('  ')}`,
    `Weights (${s.weights.length} tensors)`,
    ...s.weights.map((w) => `  ${w.name.padEnd(32)} [${w.dims.join(', ')}]  ${w.count}`),
    `Parameters: ${s.parameters.toLocaleString('en-US')} (${formatBytes(s.parameterBytes)} as float32)`,
  ];
  if (s.constants.length > 0)
    lines.push(`Other initializers (not paged): ${s.constants.map((c) => c.name).join(', ')}`);
  lines.push(s.plannable.ok ? 'WeightSep: supported.' : `WeightSep: not supported: ${s.plannable.message}`);
  return lines.join('\n');
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Show a model’s inputs, outputs, operators and weights.',
  usage: 'wsep inspect <model.onnx> [--json]',
  description:
    'Reads an ONNX model and prints what the planner will see. Exits 1 when the model cannot be planned.',
  positionals: { min: 1, max: 1, names: '<model.onnx>' },
  options: [{ name: 'json', kind: 'flag', description: 'Print the summary as JSON.' }],
  async run(args, ctx) {
    const file = args.positionals[0]!;
    const model = readModelFile(file);
    if (!model.ok) return fail(model.error.code, model.error.message, model.error.hint);
    const summary = summarize(file, model.value);
    ctx.out(args.options['json'] ? JSON.stringify(summary, null, 2) : renderSummary(summary));
    return ok(summary.plannable.ok ? 0 : 1);
  },
};
