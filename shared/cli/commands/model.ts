/**
 * `wsep model set-task|describe`: pair a model with its task (the `weightsep.task` metadata the
 * planner reads), after checking that it fits the task's data; and show what an architecture costs
 * in weights, pages and bytes for a task, without training, so that widths can be sized to a budget.
 */
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { findTaskDir, readTaskMeta } from '../../datasets/load.ts';
import { dataRoots } from '../../datasets/roots.ts';
import { readModelFile } from '../../onnx/io.ts';
import { checkFit } from '../../separation/fit-check.ts';
import { checkPageSize } from '../../separation/formation.ts';
import { TASK_KEY, setModelMetadata } from '../../separation/pairing.ts';
import { pageCount } from '../../image/plan.ts';
import { ARCH_FIELDS } from '../../zoo/arch-file.ts';
import { isArchFile, resolveArchitecture, type BuildTarget } from '../../zoo/architecture.ts';
import type { LayerRecord } from '../../zoo/model-builder.ts';
import { ZOO_TASKS, zooTask } from '../../zoo/tasks.ts';
import type { ParsedArgs } from '../args.ts';
import type { Command, CommandContext } from '../command.ts';

const DEFAULT_PAGE_SIZE = 512;

export interface SetTaskResult {
  readonly file: string;
  readonly task: string;
  /** The task the metadata named before, if any. */
  readonly previous: string | null;
  /** False when the task's data was not found (only with --force). */
  readonly checked: boolean;
  readonly fits: boolean | null;
  readonly problems: readonly string[];
  readonly forced: boolean;
}

export interface ArchDescription {
  readonly arch: string;
  readonly task: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly pageSize: number;
  readonly layers: readonly LayerRecord[];
  readonly weights: number;
  readonly pages: number;
  /** Weights in the last page (the page size when it is full). */
  readonly lastPageWeights: number;
  /** float32 bytes of the weights, and of the pages they fill. */
  readonly bytes: number;
  readonly pagedBytes: number;
  readonly macs: number;
}

function rejectOthers(args: ParsedArgs, sub: string, allowed: readonly string[]): Result<void> {
  const given = Object.keys(args.options).filter(
    (k) => args.options[k] !== undefined && k !== 'page-size' && !allowed.includes(k),
  );
  if (given.length > 0)
    return fail(
      'E_USAGE',
      `wsep model ${sub} does not take ${given.map((k) => `--${k}`).join(', ')}.`,
      'Run "wsep model --help" for the options of each sub-command.',
    );
  return ok(undefined);
}

async function setTask(args: ParsedArgs, ctx: CommandContext): Promise<Result<number>> {
  const [, fileArg, task] = args.positionals;
  if (fileArg === undefined || task === undefined)
    return fail(
      'E_USAGE',
      'wsep model set-task takes <model.onnx> <task>.',
      'Example: wsep model set-task letters.onnx letters',
    );
  const allowed = rejectOthers(args, 'set-task', ['data', 'force', 'json']);
  if (!allowed.ok) return allowed;
  if (args.options['page-size'] !== DEFAULT_PAGE_SIZE)
    return fail('E_USAGE', 'wsep model set-task does not take --page-size.');
  const file = isAbsolute(fileArg) ? fileArg : resolve(ctx.cwd, fileArg);
  const force = args.options['force'] === true;
  const model = readModelFile(file);
  if (!model.ok) return model;

  const dir = findTaskDir(task, dataRoots(args.options['data'], ctx.cwd));
  if (!dir.ok && (dir.error.code !== 'E_NOT_FOUND' || !force)) return dir;
  const meta = dir.ok ? readTaskMeta(dir.value) : dir;
  if (!meta.ok && dir.ok) return meta;
  const report = meta.ok ? checkFit(model.value, meta.value) : undefined;
  if (report && !report.fits && !force)
    return fail(
      'E_DATA_MISMATCH',
      `${fileArg} does not fit task '${task}': ${report.problems.join('; ')}.`,
      `Pair it with the task it was made for, or pass --force to set '${task}' anyway (the planner will refuse the pair).`,
      { task, problems: report.problems },
    );

  const previous = model.value.metadata[TASK_KEY] ?? null;
  const written = setModelMetadata(file, { [TASK_KEY]: task });
  if (!written.ok) return written;
  const result: SetTaskResult = {
    file,
    task,
    previous,
    checked: report !== undefined,
    fits: report ? report.fits : null,
    problems: report ? report.problems : [],
    forced: force,
  };
  if (args.options['json']) ctx.out(JSON.stringify(result, null, 2));
  else {
    const was = previous === null ? '' : previous === task ? ' (unchanged)' : ` (was '${previous}')`;
    const how = !report
      ? `not checked: no data for task '${task}' was found`
      : report.fits
        ? `it fits the task’s data (${meta.ok ? `input [${meta.value.inputShape.join(', ')}], ${meta.value.classes.length} classes` : ''})`
        : `it does NOT fit the task’s data (forced): ${report.problems.join('; ')}`;
    ctx.out(`${fileArg}: ${TASK_KEY} set to '${task}'${was}; ${how}.`);
  }
  return ok(0);
}

/** The shapes an architecture is built for: the task's data, else a zoo architecture's own task. */
function describeTarget(
  arch: string,
  task: string | undefined,
  args: ParsedArgs,
  ctx: CommandContext,
): Result<BuildTarget> {
  if (task !== undefined) {
    const dir = findTaskDir(task, dataRoots(args.options['data'], ctx.cwd));
    if (!dir.ok) return dir;
    const meta = readTaskMeta(dir.value);
    if (!meta.ok) return meta;
    return ok({ task, inputShape: meta.value.inputShape, classes: meta.value.classes.length });
  }
  const own = isArchFile(arch) ? undefined : zooTask(arch);
  if (!own)
    return fail(
      'E_USAGE',
      `wsep model describe --arch ${arch} needs --task <task>: the input shape and class count come from the task’s data.`,
    );
  return ok({ task: own.id, inputShape: own.inputShape, classes: own.classes });
}

async function describe(args: ParsedArgs, ctx: CommandContext): Promise<Result<number>> {
  if (args.positionals.length > 1)
    return fail('E_USAGE', 'wsep model describe takes no file; give --arch and --task.');
  const allowed = rejectOthers(args, 'describe', ['arch', 'task', 'data', 'json']);
  if (!allowed.ok) return allowed;
  const archName = args.options['arch'];
  if (typeof archName !== 'string')
    return fail(
      'E_USAGE',
      'wsep model describe needs --arch <zoo task|arch.json>.',
      `Zoo architectures: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
    );
  const pageSize = checkPageSize(Number(args.options['page-size']));
  if (!pageSize.ok) return pageSize;
  const arch = resolveArchitecture(archName, ctx.cwd);
  if (!arch.ok) return arch;
  const task = typeof args.options['task'] === 'string' ? args.options['task'] : undefined;
  const target = describeTarget(archName, task, args, ctx);
  if (!target.ok) return target;
  const built = arch.value.build(target.value, 0);
  if (!built.ok) return built;
  const P = pageSize.value;
  const weights = built.value.weights;
  const pages = pageCount(weights, P);
  const d: ArchDescription = {
    arch: arch.value.label,
    task: target.value.task,
    inputShape: [...target.value.inputShape],
    classes: target.value.classes,
    pageSize: P,
    layers: built.value.layers,
    weights,
    pages,
    lastPageWeights: weights - Math.max(0, pages - 1) * P,
    bytes: weights * 4,
    pagedBytes: pages * P * 4,
    macs: built.value.macs,
  };
  ctx.out(args.options['json'] ? JSON.stringify(d, null, 2) : renderDescription(d));
  return ok(0);
}

const thousands = (n: number) => n.toLocaleString('en-US');

export function renderDescription(d: ArchDescription): string {
  const rows = d.layers.map((l) => [
    l.name,
    l.label,
    `[${l.outShape.join(', ')}]`,
    thousands(l.weights),
    l.weights > 0 ? (l.weights / d.pageSize).toFixed(1) : '',
    thousands(l.macs),
  ]);
  const head = ['layer', 'kind', 'output', 'weights', 'pages', 'MACs'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    `  ${r.map((c, i) => (i >= 3 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ')}`.trimEnd();
  const free = d.pages * d.pageSize - d.weights;
  return [
    `${d.arch} for task '${d.task}': input [${d.inputShape.join(', ')}], ${d.classes} classes`,
    line(head),
    ...rows.map(line),
    `Weights: ${thousands(d.weights)} (${formatBytes(d.bytes)} as float32), ${((2 * d.macs) / 1e6).toFixed(2)} MFLOPs per sample`,
    `Pages: ${d.pages} of ${d.pageSize} weights (${formatBytes(d.pagedBytes)}); the last holds ${d.lastPageWeights}${free > 0 ? `, ${free} weights short of full` : ''}`,
  ].join('\n');
}

const SUBCOMMANDS: Record<string, (args: ParsedArgs, ctx: CommandContext) => Promise<Result<number>>> = {
  'set-task': setTask,
  describe,
};

export const modelCommand: Command = {
  name: 'model',
  summary: 'Pair a model with its task, or show an architecture’s weights and pages for a task.',
  usage:
    'wsep model set-task <model.onnx> <task> [--data dir[,dir]] [--force] [--json] | describe --arch <zoo task|arch.json> [--task task] [--data dir[,dir]] [--page-size 512] [--json]',
  description: [
    `set-task: writes the model’s ${TASK_KEY} metadata (the file is replaced atomically, every other`,
    'field kept), after checking that the model fits the task’s data: its input takes the task’s input',
    'shape and its output has the task’s class count. A mismatch is refused unless --force.',
    'describe: builds an architecture (a zoo task’s, or a JSON description) for a task’s input shape and',
    'class count, without training, and prints its layers, weights, pages and bytes; --task may be left',
    'out for a zoo architecture (its own task). An architecture description, every field optional:',
    '  {"conv": [16, 32], "kernel": 3, "pool": 2, "dense": [64], "activation": "relu"}',
    ...ARCH_FIELDS.map((l) => `  ${l}`),
  ].join('\n'),
  positionals: { min: 1, max: 3, names: '<set-task|describe> [<model.onnx> <task>]' },
  options: [
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir]',
      description: 'Folders holding task data, searched in order before resources/data (default: ./data).',
    },
    {
      name: 'force',
      kind: 'flag',
      description: 'set-task: set the task even when the model does not fit its data (or it is not found).',
    },
    {
      name: 'arch',
      kind: 'string',
      value: 'zoo task|arch.json',
      description: 'describe: the architecture, a zoo task’s or a JSON description.',
    },
    {
      name: 'task',
      kind: 'string',
      value: 'task',
      description: 'describe: the task whose data sets the shapes.',
    },
    {
      name: 'page-size',
      kind: 'number',
      description: 'describe: weights per page (a power of two).',
      default: DEFAULT_PAGE_SIZE,
    },
    { name: 'json', kind: 'flag', description: 'Print the result as JSON.' },
  ],
  async run(args, ctx) {
    const name = args.positionals[0]!;
    const sub = SUBCOMMANDS[name];
    if (!sub) return fail('E_USAGE', `Unknown model sub-command "${name}".`, 'Use set-task or describe.');
    return sub(args, ctx);
  },
};
