/**
 * `wsep run <bundle> --model <name> --input <file>`: classifies one input with one model of a bundle
 * through the paged runtime (shared/runtime/input.ts prepares the file, classify.ts runs it).
 */
import { resolve } from 'node:path';
import { fail, ok } from '../../core/errors.ts';
import { classify, type Classification } from '../../runtime/classify.ts';
import { prepareInput, type PreparedInput } from '../../runtime/input.ts';
import { PagedRuntime } from '../../runtime/runtime.ts';
import type { Command } from '../command.ts';

export interface RunSummary {
  readonly bundle: string;
  readonly planId: string;
  readonly model: string;
  readonly input: string;
  readonly held: string;
  readonly notes: readonly string[];
  readonly predicted: Classification['predicted'];
  readonly top: Classification['top'];
}

export function renderRun(s: RunSummary): string {
  const width = Math.max(5, ...s.top.map((c) => c.label.length));
  return [
    `${s.model}: ${s.predicted.label} (${(s.predicted.score * 100).toFixed(2)}%)`,
    `  input ${s.input}: ${s.held}${s.notes.length > 0 ? `; ${s.notes.join('; ')}` : ''}`,
    '',
    `  ${'class'.padEnd(width)}  score`,
    ...s.top.map((c) => `  ${c.label.padEnd(width)}  ${`${(c.score * 100).toFixed(2)}%`.padStart(7)}`),
  ].join('\n');
}

function summary(
  bundle: string,
  planId: string,
  input: string,
  prepared: PreparedInput,
  c: Classification,
): RunSummary {
  return {
    bundle,
    planId,
    model: c.model,
    input,
    held: prepared.held,
    notes: prepared.notes,
    predicted: c.predicted,
    top: c.top,
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Classify one input (.npy, .png/.jpg or a .csv row) with one model of a bundle.',
  usage: 'wsep run <bundle> --model <name> --input <file> [--top 5] [--json]',
  description: [
    'The input holds raw values, as the task data stores them: a .npy array in the model’s layout or the data’s stored layout (a leading batch axis of 1 allowed), an image whose 0..255 pixels are the values, or a .csv file with one row of features (a header row allowed).',
    'The bundle’s preprocessing (scale, train-split mean/std, layout) is applied as when the plan was made; grey and RGB images are converted to what the model takes, and the output says so.',
  ].join('\n'),
  positionals: { min: 1, max: 1, names: '<bundle>' },
  options: [
    { name: 'model', kind: 'string', value: 'name', description: 'The model (task id) to run.' },
    {
      name: 'input',
      kind: 'string',
      value: 'file',
      description: 'The input file: .npy, .png, .jpg or .csv.',
    },
    { name: 'top', kind: 'number', value: 'k', default: 5, description: 'How many classes to list.' },
    { name: 'json', kind: 'flag', description: 'Print the result as JSON.' },
  ],
  async run(args, ctx) {
    const model = args.options['model'];
    const input = args.options['input'];
    if (typeof model !== 'string' || model === '')
      return fail('E_USAGE', 'wsep run needs --model <name>.', `Usage: ${this.usage}`);
    if (typeof input !== 'string' || input === '')
      return fail('E_USAGE', 'wsep run needs --input <file>.', `Usage: ${this.usage}`);
    const top = Number(args.options['top'] ?? 5);
    if (!Number.isInteger(top) || top < 1)
      return fail('E_USAGE', `--top must be a whole number ≥ 1, got ${top}.`);
    const bundle = resolve(ctx.cwd, args.positionals[0]!);
    const opened = await PagedRuntime.open(bundle, { sessions: 'lazy' });
    if (!opened.ok) return opened;
    const rt = opened.value;
    try {
      const info = rt.modelInfo(model);
      if (!info)
        return fail('E_USAGE', `The bundle has no model "${model}".`, `Models: ${rt.models.join(', ')}.`);
      const prepared = prepareInput(resolve(ctx.cwd, input), info);
      if (!prepared.ok) return prepared;
      const c = await classify(rt, model, prepared.value.x, top);
      if (!c.ok) return c;
      const s = summary(bundle, rt.planId, input, prepared.value, c.value);
      ctx.out(args.options['json'] === true ? JSON.stringify(s, null, 2) : renderRun(s));
      return ok(0);
    } finally {
      await rt.close();
    }
  },
};
