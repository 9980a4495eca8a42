/**
 * `wsep eval <bundle>`: re-measures every model of a bundle on its task's data through the paged
 * runtime and compares with the accuracy the plan recorded (shared/runtime/evaluate.ts does the work).
 */
import { resolve } from 'node:path';
import { fail, ok } from '../../core/errors.ts';
import { dataRoots } from '../../datasets/roots.ts';
import { DEFAULT_TOLERANCE_POINTS, evaluateBundle, type BundleEvaluation } from '../../runtime/evaluate.ts';
import { progressSink, type Command } from '../command.ts';

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const points = (d: number): string => `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}`;

export function renderEvaluation(e: BundleEvaluation): string {
  const header = ['model', 'samples', 'bundle', 'measured', 'Δ pts', ''];
  const rows = e.models.map((m) => [
    m.model,
    String(m.samples),
    pct(m.stored),
    pct(m.measured),
    points(m.deltaPoints),
    m.ok ? 'ok' : 'DIFFERS',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) =>
        c === 0 || c === cells.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!),
      )
      .join('  ')
      .trimEnd();
  const differing = e.models.filter((m) => !m.ok).length;
  return [
    `plan ${e.planId}, ${e.split} split, tolerance ${e.tolerancePoints} pts`,
    '',
    line(header),
    ...rows.map(line),
    '',
    differing === 0
      ? `All ${e.models.length} models measure as the bundle says.`
      : `${differing} of ${e.models.length} models differ from the bundle by more than ${e.tolerancePoints} pts.`,
  ].join('\n');
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Re-measure a bundle’s models on their task data and compare with the plan’s accuracy.',
  usage:
    'wsep eval <bundle> [--data <dir[,dir...]>] [--split test|val] [--models a,b] [--tolerance 0.1] [--json]',
  description: [
    'Each model runs through the paged runtime (as on a device) on a split of its task — the task whose id is the model’s name.',
    'The data must be the data the plan was made from: same classes, input shape and train-split statistics; otherwise eval stops and says so.',
    'Exits 1 when any model’s accuracy differs from the bundle’s by more than the tolerance.',
  ].join('\n'),
  positionals: { min: 1, max: 1, names: '<bundle>' },
  options: [
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir...]',
      description:
        'Folders holding task data, searched in order before resources/data (default: ./data if present).',
    },
    {
      name: 'split',
      kind: 'string',
      value: 'test|val',
      default: 'test',
      description: 'The split to measure.',
    },
    { name: 'models', kind: 'string', value: 'a,b', description: 'Only these models (default: all).' },
    {
      name: 'tolerance',
      kind: 'number',
      value: 'points',
      default: DEFAULT_TOLERANCE_POINTS,
      description: 'Largest accuracy difference, in percentage points, that still counts as agreeing.',
    },
    { name: 'json', kind: 'flag', description: 'Print the evaluation as JSON.' },
  ],
  async run(args, ctx) {
    const split = String(args.options['split'] ?? 'test');
    if (split !== 'test' && split !== 'val')
      return fail('E_USAGE', `--split must be test or val, got "${split}".`);
    const tolerance = Number(args.options['tolerance'] ?? DEFAULT_TOLERANCE_POINTS);
    if (!(tolerance >= 0))
      return fail('E_USAGE', `--tolerance must be a number of points ≥ 0, got ${tolerance}.`);
    const models =
      typeof args.options['models'] === 'string'
        ? args.options['models'].split(',').filter(Boolean)
        : undefined;
    const evaluated = await evaluateBundle(resolve(ctx.cwd, args.positionals[0]!), {
      roots: dataRoots(args.options['data'], ctx.cwd),
      split,
      tolerancePoints: tolerance,
      progress: progressSink(ctx),
      signal: ctx.signal,
      ...(models ? { models } : {}),
    });
    if (!evaluated.ok) return evaluated;
    ctx.out(
      args.options['json'] === true
        ? JSON.stringify(evaluated.value, null, 2)
        : renderEvaluation(evaluated.value),
    );
    return ok(evaluated.value.ok ? 0 : 1);
  },
};
