/**
 * `wsep inspect`: what the planner will see in a model (inputs, outputs, operators, weights), its
 * page count, which task it is paired with and whether it fits that task's data.
 */
import { resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { DEFAULT_DATA_ROOT, findTaskDir, readTaskMeta } from '../../datasets/load.ts';
import { dataRoots } from '../../datasets/roots.ts';
import { readModelFile } from '../../onnx/io.ts';
import { dataTypeName, elementCount, type Dim, type Model } from '../../onnx/types.ts';
import { validateModel } from '../../onnx/validate.ts';
import { selectWeights } from '../../onnx/weights.ts';
import { checkFit } from '../../separation/fit-check.ts';
import { checkPageSize } from '../../separation/formation.ts';
import { pairingOf, pairingText, TASK_KEY } from '../../separation/pairing.ts';
import { pageCount } from '../../image/plan.ts';
import type { Command } from '../command.ts';

const DEFAULT_PAGE_SIZE = 512;

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
  /** Which task the model is paired with, and how: --task, its weightsep.task metadata, or its file name. */
  readonly pairing: { task: string | null; source: 'option' | 'metadata' | 'file name' | 'none' };
  /** The weights cut into pages, as the planner would (the last page may be partly filled). */
  readonly pages: { pageSize: number; count: number; lastPageWeights: number };
  /** The fit check against the paired task's data; checked is false when the data was not found. */
  readonly fit: {
    task: string;
    checked: boolean;
    fits: boolean | null;
    problems: readonly string[];
    dataDir: string | null;
    note?: string;
  } | null;
}

export interface InspectOptions {
  readonly pageSize?: number;
  /** Pair with this task instead of the metadata or file name. */
  readonly task?: string;
  /** Task data folders, searched in order (datasets/roots.ts); default the bundled resources/data. */
  readonly roots?: readonly string[];
}

type Pairing = ModelSummary['pairing'];
type Fit = ModelSummary['fit'];

/** The pairing as inspect shows it: a file-name guess counts only when that task's data exists. */
function inspectPairing(file: string, model: Model, o: InspectOptions, roots: readonly string[]): Pairing {
  if (o.task !== undefined) return { task: o.task, source: 'option' };
  const p = pairingOf(model, resolve(file));
  if (p.source === 'metadata') return { task: p.task, source: 'metadata' };
  return findTaskDir(p.task, roots).ok
    ? { task: p.task, source: 'file name' }
    : { task: null, source: 'none' };
}

function fitWithData(model: Model, task: string, roots: readonly string[]): Fit {
  const dir = findTaskDir(task, roots);
  const meta = dir.ok ? readTaskMeta(dir.value) : dir;
  if (!meta.ok)
    return { task, checked: false, fits: null, problems: [], dataDir: null, note: meta.error.message };
  const report = checkFit(model, meta.value);
  return {
    task,
    checked: true,
    fits: report.fits,
    problems: report.problems,
    dataDir: dir.ok ? dir.value : null,
  };
}

export function summarize(file: string, model: Model, options: InspectOptions = {}): ModelSummary {
  const roots = options.roots ?? [DEFAULT_DATA_ROOT];
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const pairing = inspectPairing(file, model, options, roots);
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
    pairing,
    pages: {
      pageSize,
      count: pageCount(parameters, pageSize),
      lastPageWeights: parameters - Math.max(0, pageCount(parameters, pageSize) - 1) * pageSize,
    },
    fit: pairing.task === null ? null : fitWithData(model, pairing.task, roots),
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
  lines.push(
    `Pages: ${s.pages.count} of ${s.pages.pageSize} weights (${formatBytes(s.pages.count * s.pages.pageSize * 4)}; the last holds ${s.pages.lastPageWeights})`,
  );
  lines.push(s.plannable.ok ? 'WeightSep: supported.' : `WeightSep: not supported: ${s.plannable.message}`);
  lines.push(`Task: ${renderPairing(s.pairing)}`);
  if (s.fit) lines.push(renderFit(s.fit));
  return lines.join('\n');
}

function renderPairing(p: Pairing): string {
  if (p.source === 'none' || p.task === null)
    return `none (no ${TASK_KEY} metadata, and no task data named after the file); pair it with wsep model set-task or --pair.`;
  if (p.source === 'option') return `${p.task} (given with --task)`;
  return `${p.task} (${pairingText(p.source)})`;
}

function renderFit(f: NonNullable<Fit>): string {
  if (!f.checked) return `Fit: not checked: ${f.note}`;
  if (f.fits) return `Fit: fits task '${f.task}' (${f.dataDir}): same input shape and class count.`;
  return [`Fit: does not fit task '${f.task}' (${f.dataDir}):`, ...f.problems.map((p) => `  ${p}`)].join(
    '\n',
  );
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Show a model’s inputs, outputs, operators, weights, pages and task pairing.',
  usage: 'wsep inspect <model.onnx> [--task task] [--data dir[,dir]] [--page-size 512] [--json]',
  description: [
    'Reads an ONNX model and prints what the planner will see: inputs, outputs, operators, weights, and',
    'the page count at --page-size. It also shows the task the model is paired with (--task, else its',
    'weightsep.task metadata, else a task named like the file) and, when that task’s data is found,',
    'whether the model fits it (input shape and class count). Exits 1 when the model cannot be planned',
    'or does not fit its task.',
  ].join('\n'),
  positionals: { min: 1, max: 1, names: '<model.onnx>' },
  options: [
    {
      name: 'task',
      kind: 'string',
      value: 'task',
      description: 'Check the model against this task instead of its metadata or file name.',
    },
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir]',
      description: 'Folders holding task data, searched in order before resources/data (default: ./data).',
    },
    {
      name: 'page-size',
      kind: 'number',
      description: 'Weights per page, for the page count (a power of two).',
      default: DEFAULT_PAGE_SIZE,
    },
    { name: 'json', kind: 'flag', description: 'Print the summary as JSON.' },
  ],
  async run(args, ctx) {
    const file = resolve(ctx.cwd, args.positionals[0]!);
    const pageSize = checkPageSize(Number(args.options['page-size'] ?? DEFAULT_PAGE_SIZE));
    if (!pageSize.ok) return pageSize;
    const task = args.options['task'] === undefined ? undefined : String(args.options['task']);
    const roots = dataRoots(args.options['data'], ctx.cwd);
    if (task !== undefined) {
      // An explicit task must exist; a guessed one may not (inspect then says it could not check).
      const found: Result<string> = findTaskDir(task, roots);
      if (!found.ok) return found;
    }
    const model = readModelFile(file);
    if (!model.ok) return fail(model.error.code, model.error.message, model.error.hint);
    const summary = summarize(args.positionals[0]!, model.value, {
      pageSize: pageSize.value,
      roots,
      ...(task !== undefined ? { task } : {}),
    });
    ctx.out(args.options['json'] ? JSON.stringify(summary, null, 2) : renderSummary(summary));
    return ok(summary.plannable.ok && summary.fit?.fits !== false ? 0 : 1);
  },
};
