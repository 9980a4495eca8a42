import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { trainCommand, type TrainSummary } from './train.ts';
import { loadModel } from '../../onnx/io.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsep-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]) {
  const out: string[] = [];
  const status: string[] = [];
  const ctx: CommandContext = {
    out: (t) => out.push(t),
    err: () => {},
    status: (t) => status.push(t),
    signal: new AbortController().signal,
    cwd: dir,
  };
  const parsed = parseArgs(argv, trainCommand.options, 'train');
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { result: await trainCommand.run(parsed.value, ctx), out, status };
}

describe('wsep train', () => {
  it('trains the zoo model for a task briefly, reports, and saves a loadable model', async () => {
    const { result, out, status } = await run([
      '--task',
      'digits8x8',
      '--steps',
      '40',
      '--eval-every',
      '20',
      '--out',
      'd.onnx',
      '--json',
    ]);
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value).toBe(0);
    const summary = JSON.parse(out.join('\n')) as TrainSummary;
    expect(summary.steps).toBe(40);
    expect(summary.valAccuracy).toBeGreaterThan(0.3);
    expect(summary.testAccuracy).toBeGreaterThan(0.3);
    expect(summary.recipe.augment.length).toBeGreaterThan(0); // the zoo recipe's augmentation
    expect(status.some((s) => s.startsWith('[train]  digits8x8'))).toBe(true);
    const saved = loadModel(join(dir, 'd.onnx'));
    expect(saved.ok).toBe(true);
  });

  it('names usage mistakes', async () => {
    const noTask = await run([]);
    expect(!noTask.result.ok && noTask.result.error.code).toBe('E_USAGE');
    const badArch = await run(['--task', 'digits8x8', '--arch', 'resnet']);
    expect(!badArch.result.ok && badArch.result.error.code).toBe('E_USAGE');
    const badOpt = await run(['--task', 'digits8x8', '--optimizer', 'lbfgs']);
    expect(!badOpt.result.ok && badOpt.result.error.code).toBe('E_USAGE');
    const noData = await run(['--task', 'nosuchtask']);
    expect(!noData.result.ok && noData.result.error.code).toBe('E_USAGE');
  });
});
