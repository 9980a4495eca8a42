import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { TASK_KEY } from '../../separation/pairing.ts';
import { saveTinyModel, writeTinyTask } from '../../separation/pairing-fixtures.ts';
import { main } from '../main.ts';
import type { ModelSummary } from './inspect.ts';

const cwd = useTempDir('wsep-inspect-');
const data = join(cwd, 'mydata');
writeTinyTask(data, { task: 'letters', inputShape: [1, 8, 8], classes: 26, samples: 52 });
// 1·8·8·8 + 8 + 8·26 + 26 = 754 weights: 2 pages of 512, the last holding 242.
saveTinyModel(join(cwd, 'letters.onnx'), [1, 8, 8], 26);
saveTinyModel(join(cwd, 'tagged.onnx'), [1, 8, 8], 10, { [TASK_KEY]: 'letters' });
saveTinyModel(join(cwd, 'loose.onnx'), [12], 3);

async function inspect(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['inspect', ...argv], { out: (t) => out.push(t), err: (t) => err.push(t), cwd });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function json(argv: string[]): Promise<{ code: number; summary: ModelSummary }> {
  const r = await inspect([...argv, '--json']);
  return { code: r.code, summary: JSON.parse(r.out) as ModelSummary };
}

describe('wsep inspect: pairing, pages and fit', () => {
  it('guesses the task from the file name when that task’s data exists, and checks the fit', async () => {
    const r = await inspect(['letters.onnx', '--data', 'mydata']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Pages: 2 of 512 weights (4.0 KiB; the last holds 242)');
    expect(r.out).toContain('Task: letters (by its file name)');
    expect(r.out).toMatch(
      /Fit: fits task 'letters' \(.*mydata\/letters\): same input shape and class count\./,
    );
    const j = await json(['letters.onnx', '--data', 'mydata', '--page-size', '256']);
    // The existing fields stay; the new ones are added.
    expect(j.summary.parameters).toBe(754);
    expect(j.summary.weights.map((w) => w.name)).toEqual([
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
    ]);
    expect(j.summary.pairing).toEqual({ task: 'letters', source: 'file name' });
    expect(j.summary.pages).toEqual({ pageSize: 256, count: 3, lastPageWeights: 242 });
    expect(j.summary.fit).toMatchObject({ task: 'letters', checked: true, fits: true, problems: [] });
  });

  it('reads the metadata pairing, and exits 1 when the model does not fit its task', async () => {
    const r = await inspect(['tagged.onnx', '--data', 'mydata']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Task: letters (by its weightsep.task metadata)');
    expect(r.out).toContain("Fit: does not fit task 'letters'");
    expect(r.out).toContain("  model outputs 10 classes, task 'letters' has 26");
    // Without the user's data folder, the task is not found: said, not an error.
    const elsewhere = await json(['tagged.onnx']);
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.summary.fit).toMatchObject({ task: 'letters', checked: false, fits: null });
    expect(elsewhere.summary.fit!.note).toMatch(/^No task 'letters' in /);
  });

  it('says when a model has no pairing, and checks against --task when given', async () => {
    const r = await inspect(['loose.onnx', '--data', 'mydata']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Task: none (no weightsep.task metadata, and no task data named after the file)');
    const j = await json(['loose.onnx', '--data', 'mydata']);
    expect(j.summary.pairing).toEqual({ task: null, source: 'none' });
    expect(j.summary.fit).toBeNull();
    const given = await json(['loose.onnx', '--data', 'mydata', '--task', 'letters']);
    expect(given.code).toBe(1);
    expect(given.summary.pairing).toEqual({ task: 'letters', source: 'option' });
    expect(given.summary.fit!.problems).toEqual([
      "model takes [12], task 'letters' gives [1, 8, 8]",
      "model outputs 3 classes, task 'letters' has 26",
    ]);
    const unknown = await inspect(['loose.onnx', '--task', 'nosuch']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("error: No task 'nosuch' in ");
    expect((await inspect(['loose.onnx', '--page-size', '3'])).code).toBe(2);
  });
});
