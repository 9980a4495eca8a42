/**
 * `wsep data import|inspect`: turn a user's own data (image folder, CSV, NumPy) into a task folder
 * that train, plan and eval read (docs/DATA.md "Your own data"), and look into a task folder with
 * every file checked.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import type { TaskMeta } from '../../datasets/format.ts';
import { findTaskDir, loadTask, readTaskMeta } from '../../datasets/load.ts';
import { dataRoots, importRoot } from '../../datasets/roots.ts';
import type { Preprocessing } from '../../datasets/types.ts';
import { importUserData, type NormalizeChoice, type UserImportOptions } from '../../datasets/user-import.ts';
import type { ParsedArgs } from '../args.ts';
import type { Command, CommandContext } from '../command.ts';

export interface TaskSummary {
  readonly task: string;
  readonly title: string;
  readonly dir: string;
  readonly source: string;
  readonly license: string;
  readonly classes: readonly string[];
  readonly counts: {
    readonly total: number;
    readonly train: number;
    readonly val: number;
    readonly test: number;
  };
  readonly perClass: readonly {
    readonly class: string;
    readonly train: number;
    readonly val: number;
    readonly test: number;
  }[];
  readonly storedShape: readonly number[];
  readonly inputShape: readonly number[];
  readonly layout: string;
  readonly stored: {
    readonly dtype: string;
    readonly file: string;
    readonly bytes: number;
    readonly labelBytes: number;
    readonly maxAbsError: number;
  };
  readonly normalization: {
    readonly description: string;
    readonly scale: number;
    readonly axis: number | null;
    readonly mean: readonly number[];
    readonly std: readonly number[];
  };
  readonly splitMethod: string;
  /** Distinct groups per split, when the split was by group. */
  readonly groups?: {
    readonly name: string;
    readonly train: number;
    readonly val: number;
    readonly test: number;
  };
  readonly warnings: readonly string[];
}

export function summarizeTask(
  meta: TaskMeta,
  dir: string,
  pre: Preprocessing,
  warnings: readonly string[] = [],
): TaskSummary {
  const { train, val, test } = meta.counts.perClass;
  let groups: TaskSummary['groups'];
  const g = meta.perSample.group;
  if (g && meta.perSample.groupName) {
    const distinct = (name: 'train' | 'val' | 'test') => {
      const { start, count } = meta.splits[name];
      return new Set(g.slice(start, start + count)).size;
    };
    groups = {
      name: meta.perSample.groupName,
      train: distinct('train'),
      val: distinct('val'),
      test: distinct('test'),
    };
  }
  return {
    task: meta.task,
    title: meta.title,
    dir,
    source: meta.source,
    license: meta.license,
    classes: meta.classes,
    counts: {
      total: meta.counts.total,
      train: meta.counts.train,
      val: meta.counts.val,
      test: meta.counts.test,
    },
    perClass: meta.classes.map((c, i) => ({ class: c, train: train[i]!, val: val[i]!, test: test[i]! })),
    storedShape: meta.storedShape,
    inputShape: meta.inputShape,
    layout: meta.layout,
    stored: {
      dtype: meta.x.dtype,
      file: meta.x.file,
      bytes: meta.x.bytes,
      labelBytes: meta.y.bytes,
      maxAbsError: meta.x.maxAbsError,
    },
    normalization: {
      description: meta.normalization.description,
      scale: meta.normalization.scale,
      axis: meta.normalization.axis,
      mean: pre.mean,
      std: pre.std,
    },
    splitMethod: meta.splitMethod,
    ...(groups ? { groups } : {}),
    warnings,
  };
}

const shape = (s: readonly number[]) => `[${s.join(',')}]`;
const stats = (v: readonly number[]) =>
  v.length > 6
    ? `[${v
        .slice(0, 6)
        .map((x) => x.toPrecision(4))
        .join(', ')}, … (${v.length})]`
    : `[${v.map((x) => x.toPrecision(4)).join(', ')}]`;

export function renderTaskSummary(s: TaskSummary): string {
  const width = Math.max(5, ...s.classes.map((c) => c.length));
  const n = s.normalization;
  const lines = [
    `${s.task} — ${s.title}`,
    `  folder         ${s.dir}`,
    `  source         ${s.source}`,
    `  licence        ${s.license}`,
    `  samples        ${s.counts.total}: train ${s.counts.train}, val ${s.counts.val}, test ${s.counts.test}`,
    `  stored         ${s.stored.dtype} ${shape(s.storedShape)} in ${s.stored.file}, ${formatBytes(s.stored.bytes + s.stored.labelBytes)} with labels (${s.stored.maxAbsError === 0 ? 'exact' : `max error ${s.stored.maxAbsError.toExponential(2)}`})`,
    `  model input    ${shape(s.inputShape)}${s.layout !== 'none' ? ` (${s.layout})` : ''}`,
    `  normalisation  ${n.description}`,
    `                 mean ${stats(n.mean)}, std ${stats(n.std)}`,
    `  split          ${s.splitMethod}`,
  ];
  if (s.groups)
    lines.push(
      `  groups         ${s.groups.name}: ${s.groups.train} in train, ${s.groups.val} in val, ${s.groups.test} in test`,
    );
  lines.push(
    '',
    `  ${'class'.padEnd(width)}  ${'train'.padStart(6)}  ${'val'.padStart(6)}  ${'test'.padStart(6)}`,
    ...s.perClass.map(
      (c) =>
        `  ${c.class.padEnd(width)}  ${String(c.train).padStart(6)}  ${String(c.val).padStart(6)}  ${String(c.test).padStart(6)}`,
    ),
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Option parsing: anything malformed is a usage error naming the option and the value.

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** `32x32` → width 32, height 32. */
export function parseSize(text: string): Result<{ width: number; height: number }> {
  const m = /^(\d+)\s*[xX×]\s*(\d+)$/.exec(text.trim());
  const width = m ? Number(m[1]) : 0;
  const height = m ? Number(m[2]) : 0;
  if (!m || width < 1 || height < 1 || width > 4096 || height > 4096)
    return fail(
      'E_USAGE',
      `--size "${text}" is not a size; write WIDTHxHEIGHT in pixels, e.g. --size 32x32.`,
    );
  return ok({ width, height });
}

/** `128x3` → [128, 3]. */
export function parseShape(text: string): Result<number[]> {
  const parts = text.trim().split(/\s*[xX×,]\s*/);
  const dims = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || dims.some((d) => d < 1))
    return fail(
      'E_USAGE',
      `--shape "${text}" is not a shape; write the sizes joined by x, e.g. --shape 128x3.`,
    );
  return ok(dims);
}

const IMPORT_ONLY = [
  'task',
  'force',
  'title',
  'license',
  'test',
  'test-labels',
  'labels',
  'groups',
  'test-groups',
  'test-fraction',
  'val-fraction',
  'seed',
  'normalize',
  'classes',
  'size',
  'channels',
  'header',
  'no-header',
  'label-column',
  'group-column',
  'shape',
  'delimiter',
  'layout',
] as const;

function importOptions(args: ParsedArgs, ctx: CommandContext, source: string): Result<UserImportOptions> {
  const o = args.options;
  const task = str(o['task']);
  if (task === undefined)
    return fail(
      'E_USAGE',
      'wsep data import needs --task <id>, the name of the task folder to write.',
      'e.g. --task my_sensors',
    );
  if (o['header'] === true && o['no-header'] === true)
    return fail('E_USAGE', '--header and --no-header contradict each other; pass one.');
  const normalize = str(o['normalize']);
  if (normalize !== undefined && !['channel', 'global', 'none'].includes(normalize))
    return fail('E_USAGE', `--normalize must be channel, global or none, got "${normalize}".`);
  const channels = num(o['channels']);
  if (channels !== undefined && channels !== 1 && channels !== 3)
    return fail('E_USAGE', `--channels must be 1 (grey) or 3 (colour), got ${channels}.`);
  const layout = str(o['layout']);
  if (layout !== undefined && layout.toLowerCase() !== 'hwc')
    return fail(
      'E_USAGE',
      `--layout "${layout}" is not known; the only layout to give is hwc (samples are [H,W,C] images). Without it samples are taken in the model's layout.`,
    );
  let size: { width: number; height: number } | undefined;
  if (str(o['size']) !== undefined) {
    const s = parseSize(str(o['size'])!);
    if (!s.ok) return s;
    size = s.value;
  }
  let shape: number[] | undefined;
  if (str(o['shape']) !== undefined) {
    const s = parseShape(str(o['shape'])!);
    if (!s.ok) return s;
    shape = s.value;
  }
  let classes: string[] | undefined;
  if (str(o['classes']) !== undefined) {
    classes = str(o['classes'])!
      .split(',')
      .map((c) => c.trim());
    if (classes.some((c) => c === ''))
      return fail(
        'E_USAGE',
        `--classes "${str(o['classes'])}" has an empty name; list the names joined by commas.`,
      );
  }
  const delimiter = str(o['delimiter']);
  const delim = delimiter === '\\t' || delimiter === 'tab' ? '\t' : delimiter;
  if (delim !== undefined && delim.length !== 1)
    return fail('E_USAGE', `--delimiter must be one character (or "tab"), got "${delimiter}".`);

  const pick = <K extends keyof UserImportOptions>(key: K, v: UserImportOptions[K] | undefined) =>
    v === undefined ? {} : ({ [key]: v } as Pick<UserImportOptions, K>);
  return ok({
    source,
    task,
    root: importRoot(o['data'], ctx.cwd),
    cwd: ctx.cwd,
    force: o['force'] === true,
    ...pick('title', str(o['title'])),
    ...pick('license', str(o['license'])),
    ...pick('test', str(o['test'])),
    ...pick('testLabels', str(o['test-labels'])),
    ...pick('labels', str(o['labels'])),
    ...pick('groups', str(o['groups'])),
    ...pick('testGroups', str(o['test-groups'])),
    ...pick('testFraction', num(o['test-fraction'])),
    ...pick('valFraction', num(o['val-fraction'])),
    ...pick('seed', num(o['seed'])),
    ...pick('normalize', normalize as NormalizeChoice | undefined),
    ...pick('classes', classes),
    ...pick('size', size),
    ...pick('channels', channels),
    ...pick('header', o['header'] === true ? true : o['no-header'] === true ? false : undefined),
    ...pick('labelColumn', str(o['label-column'])),
    ...pick('groupColumn', str(o['group-column'])),
    ...pick('shape', shape),
    ...pick('delimiter', delim),
    ...pick('layout', layout === undefined ? undefined : ('hwc' as const)),
    onStage: (line) => ctx.err(`[import] ${line}`),
  });
}

async function runImport(args: ParsedArgs, ctx: CommandContext, source: string): Promise<Result<number>> {
  const options = importOptions(args, ctx, source);
  if (!options.ok) return options;
  const result = importUserData(options.value);
  if (!result.ok) return result;
  const { meta, dir, preprocessing, warnings } = result.value;
  for (const w of warnings) ctx.err(`warning: ${w}`);
  const summary = summarizeTask(meta, dir, preprocessing, warnings);
  ctx.out(args.options['json'] === true ? JSON.stringify(summary, null, 2) : renderTaskSummary(summary));
  const data = str(args.options['data']);
  const dataFlag = data ? ` --data ${data}` : '';
  ctx.err(
    `next: wsep model describe --arch <zoo task|arch.json> --task ${meta.task}${dataFlag}   (size a model)\n` +
      `      wsep train --task ${meta.task} --arch <zoo task|arch.json>${dataFlag} --out ${meta.task}.onnx`,
  );
  return ok(0);
}

async function runInspect(args: ParsedArgs, ctx: CommandContext, task: string): Promise<Result<number>> {
  const stray = IMPORT_ONLY.filter((name) => args.options[name] !== undefined);
  if (stray.length > 0)
    return fail(
      'E_USAGE',
      `--${stray[0]} applies to wsep data import, not inspect.`,
      'Usage: wsep data inspect <task> [--data <dir>] [--json]',
    );
  const roots = dataRoots(args.options['data'], ctx.cwd);
  const dir = findTaskDir(task, roots);
  if (!dir.ok) return dir;
  const meta = readTaskMeta(dir.value);
  if (!meta.ok) return meta;
  const loaded = loadTask(task, { roots });
  if (!loaded.ok) return loaded;
  const summary = summarizeTask(meta.value, dir.value, loaded.value.preprocessing);
  ctx.out(args.options['json'] === true ? JSON.stringify(summary, null, 2) : renderTaskSummary(summary));
  return ok(0);
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'Import your own data as a task, or inspect a task folder.',
  usage:
    'wsep data import <source> --task <id> [--data <dir>] [--test <source>] [options] | inspect <task> [--data <dir[,dir...]>] [--json]',
  description: [
    'import: <source> is a folder of images with one sub-folder per class (PNG/JPEG), a CSV file (one row per',
    'sample), an .npz holding x and y (and optionally groups), an x.npy with --labels y.npy, or a folder',
    'holding x.npy and y.npy. Writes <data>/<id>/ (default ./data/<id>) in the task format of docs/DATA.md:',
    'test is --test or a stratified --test-fraction of the source, validation a stratified --val-fraction of',
    'the rest; with groups (--group-column, --groups, or groups in the .npz) whole groups go to test and',
    'validation. Refuses to replace an existing task folder without --force; writes nothing on any error.',
    'inspect: loads a task (sizes and hashes checked) and prints its classes, splits, storage and',
    'normalisation; exits 1 when the folder is broken. Tasks are searched in --data, else ./data, then the',
    'bundled resources/data.',
  ].join('\n'),
  positionals: { min: 2, max: 2, names: '<import|inspect> <source|task>' },
  options: [
    {
      name: 'task',
      kind: 'string',
      value: 'id',
      description: 'import: the task id (letters, digits, _ and -); the folder name.',
    },
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir...]',
      description:
        'import: write into the first folder (default ./data); inspect: search these folders, then the bundled tasks.',
    },
    { name: 'force', kind: 'flag', description: 'import: replace an existing task folder.' },
    { name: 'title', kind: 'string', value: 'text', description: 'import: a one-line title for the task.' },
    {
      name: 'license',
      kind: 'string',
      value: 'text',
      description: 'import: the data’s licence, recorded in meta.json.',
    },
    {
      name: 'test',
      kind: 'string',
      value: 'source',
      description: 'import: a second source of the same kind used as the test split as is.',
    },
    { name: 'labels', kind: 'string', value: 'y.npy', description: 'import: the labels of an x.npy source.' },
    {
      name: 'test-labels',
      kind: 'string',
      value: 'y.npy',
      description: 'import: the labels of an x.npy --test source.',
    },
    {
      name: 'groups',
      kind: 'string',
      value: 'file',
      description: 'import: one group per sample (text, one per line, or .npy); splits keep groups whole.',
    },
    {
      name: 'test-groups',
      kind: 'string',
      value: 'file',
      description: 'import: the groups of the --test source.',
    },
    {
      name: 'test-fraction',
      kind: 'number',
      value: 'f',
      description: 'import: share of the source carved off as test when there is no --test (default 0.2).',
    },
    {
      name: 'val-fraction',
      kind: 'number',
      value: 'f',
      description: 'import: share of the non-test samples held out for validation (default 0.15).',
    },
    {
      name: 'seed',
      kind: 'number',
      value: 'N',
      description: 'import: seed of the random splits (default 0).',
    },
    {
      name: 'normalize',
      kind: 'string',
      value: 'channel|global|none',
      description:
        'import: per-channel (per-feature) or one global mean/std from the train split, or none (default channel).',
    },
    {
      name: 'classes',
      kind: 'string',
      value: 'a,b,c',
      description:
        'import: class names in index order (integer labels are indices into it); default: the sorted labels.',
    },
    {
      name: 'size',
      kind: 'string',
      value: 'WxH',
      description: 'import, images: resize every image to this size (bilinear).',
    },
    {
      name: 'channels',
      kind: 'number',
      value: '1|3',
      description: 'import, images: grey or colour (default 1 when every image is grey, else 3).',
    },
    {
      name: 'header',
      kind: 'flag',
      description: 'import, CSV: the first row is a header (default: detected).',
    },
    { name: 'no-header', kind: 'flag', description: 'import, CSV: the first row is data.' },
    {
      name: 'label-column',
      kind: 'string',
      value: 'name|N',
      description:
        'import, CSV: the label column, by header name or number from 1 (default: "label", else the last).',
    },
    {
      name: 'group-column',
      kind: 'string',
      value: 'name|N',
      description: 'import, CSV: a column of groups (subject, session).',
    },
    {
      name: 'shape',
      kind: 'string',
      value: 'AxB',
      description: 'import, CSV: the model input shape of the features (default [F]).',
    },
    {
      name: 'delimiter',
      kind: 'string',
      value: 'char',
      description: 'import, CSV: cell separator (default , or tab for .tsv).',
    },
    {
      name: 'layout',
      kind: 'string',
      value: 'hwc',
      description:
        'import, NumPy: samples are [H,W,C] images, moved channels-first (default: x is in model layout).',
    },
    { name: 'json', kind: 'flag', description: 'Print the summary as JSON.' },
  ],
  async run(args, ctx) {
    const [sub, target] = args.positionals;
    if (sub === 'import') return runImport(args, ctx, target!);
    if (sub === 'inspect') return runInspect(args, ctx, target!);
    return fail('E_USAGE', `Unknown data sub-command "${sub}".`, 'Use import or inspect.');
  },
};
