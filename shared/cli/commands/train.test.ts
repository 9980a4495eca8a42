import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { loadModel } from '../../onnx/io.ts';
import { loadPlannerTasks } from '../../separation/inputs.ts';
import { AUGMENT_KEY, TASK_KEY } from '../../separation/pairing.ts';
import { saveTinyModel, writeTinyTask } from '../../separation/pairing-fixtures.ts';
import { zooTask } from '../../zoo/tasks.ts';
import { main } from '../main.ts';
import { runCommandInProcess } from '../testing.ts';
import { trainCommand, type TrainSummary } from './train.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsep-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]) {
  return runCommandInProcess(trainCommand, argv, dir);
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
    const summary = JSON.parse(out) as TrainSummary;
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

describe('wsep train for new tasks', () => {
  // A user's tasks in <cwd>/data: 'letters' (26 classes of 1×8×8) and 'beeps' (3 classes of 12 values).
  const cwd = useTempDir('wsep-train-new-');
  const data = join(cwd, 'data');
  writeTinyTask(data, { task: 'letters', inputShape: [1, 8, 8], classes: 26, samples: 78 });
  writeTinyTask(data, { task: 'beeps', inputShape: [12], classes: 3 });

  async function wsep(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['train', ...argv], { out: (t) => out.push(t), err: (t) => err.push(t), cwd });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const brief = ['--steps', '2', '--eval-every', '1', '--batch', '8'];

  it('builds a zoo architecture for the task’s class count and records task and augmentations', async () => {
    const r = await wsep([
      '--task',
      'letters',
      '--arch',
      'digits8x8',
      ...brief,
      '--out',
      'letters.onnx',
      '--json',
    ]);
    expect(r.err).not.toContain('error:');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as TrainSummary;
    expect(summary.classes).toBe(26);
    expect(summary.model).toMatch(/^zoo:digits8x8 for \[1, 8, 8\] → 26 classes/);
    // The architecture's recipe comes with it.
    expect(summary.recipe.augment).toEqual(zooTask('digits8x8')!.training.augment);
    const saved = loadModel(join(cwd, 'letters.onnx'));
    if (!saved.ok) throw new Error(saved.error.message);
    expect(saved.value.graph.outputs[0]!.shape).toEqual(['batch', 26]);
    expect(saved.value.metadata[TASK_KEY]).toBe('letters');
    expect(JSON.parse(saved.value.metadata[AUGMENT_KEY]!)).toEqual(zooTask('digits8x8')!.training.augment);
    // The planner takes it as it takes a zoo model: paired by its metadata, with its augmentations.
    const models = join(cwd, 'models');
    mkdirSync(models);
    renameSync(join(cwd, 'letters.onnx'), join(models, 'anything.onnx'));
    const inputs = loadPlannerTasks(models, { roots: [data] });
    if (!inputs.ok) throw new Error(inputs.error.message);
    expect(inputs.value.map((t) => [t.name, t.augment])).toEqual([
      ['letters', zooTask('digits8x8')!.training.augment],
    ]);
  });

  it('trains an architecture description file, and a model given by --pair with --augment', async () => {
    writeFileSync(join(cwd, 'mlp.json'), '{"dense": [16]}');
    const file = await wsep(['--task', 'beeps', '--arch', 'mlp.json', ...brief, '--out', 'b1.onnx']);
    expect(file.err).not.toContain('error:');
    expect(file.out).toMatch(
      /^Trained mlp.json \(fc16\) for \[12\] → 3 classes \(seed 0\) on beeps: 259 weights/,
    );
    expect(file.out).toContain('augment     none');
    saveTinyModel(join(cwd, 'start.onnx'), [12], 3);
    const augment = '[{"kind":"noise","std":0.1},{"kind":"shift","axis":0,"max":1}]';
    const pair = await wsep([
      '--pair',
      'start.onnx=beeps',
      '--augment',
      augment,
      ...brief,
      '--out',
      'b2.onnx',
    ]);
    expect(pair.code).toBe(0);
    expect(pair.out).toContain('augment     noise σ=0.1; shift ±1 on axis 0');
    const saved = loadModel(join(cwd, 'b2.onnx'));
    expect(saved.ok && saved.value.metadata[TASK_KEY]).toBe('beeps');
    expect(saved.ok && JSON.parse(saved.value.metadata[AUGMENT_KEY]!)).toEqual(JSON.parse(augment));
  });

  it('refuses, before training, a model or architecture that does not fit the task', async () => {
    saveTinyModel(join(cwd, 'ten.onnx'), [1, 8, 8], 10);
    const model = await wsep(['--task', 'letters', '--model', 'ten.onnx']);
    expect(model.code).toBe(1);
    expect(model.err).toContain(
      "error: Model ten.onnx does not fit task 'letters': model outputs 10 classes, task 'letters' has 26.",
    );
    const arch = await wsep(['--task', 'letters', '--arch', 'cifar10']);
    expect(arch.code).toBe(1);
    expect(arch.err).toContain(
      'error: Architecture zoo:cifar10 cannot take task \'letters\' input [1, 8, 8]: MaxPool "conv2.maxpool": a 2×2 window does not fit its [32, 1, 1] input (1×1 map).',
    );
    expect(arch.err).toMatch(
      /hint: Use an architecture made for inputs this size \(zoo architectures that take it: digits8x8/,
    );
  });

  it('names usage mistakes about tasks, pairs and augmentations', async () => {
    const noArch = await wsep(['--task', 'letters']);
    expect(noArch.code).toBe(2);
    expect(noArch.err).toContain("error: No zoo architecture for task 'letters'.");
    expect(noArch.err).toMatch(
      /hint: Give --arch with a zoo architecture \(mnist, fmnist, .*wall_following\)/,
    );
    expect((await wsep(['--pair', 'a.onnx=beeps', '--task', 'beeps'])).err).toContain(
      '--pair is --model plus --task',
    );
    expect((await wsep(['--pair', 'a.onnx=beeps,b.onnx=letters'])).err).toContain(
      'trains one model, but --pair names 2',
    );
    expect((await wsep(['--task', 'beeps', '--model', 'a.onnx', '--arch', 'mnist'])).err).toContain(
      'not both',
    );
    const both = await wsep([
      '--task',
      'beeps',
      '--arch',
      'wall_following',
      '--augment',
      '[]',
      '--no-augment',
    ]);
    expect(both.err).toContain('give --augment or --no-augment, not both');
    const axis = await wsep([
      '--task',
      'beeps',
      '--arch',
      'wall_following',
      '--augment',
      '[{"kind":"flip","axis":1}]',
    ]);
    expect(axis.code).toBe(2);
    expect(axis.err).toContain(
      "--augment: Augmentation 1 (flip) has axis 1; samples have 1 axes. (task 'beeps' samples are [12])",
    );
    const recipe = await wsep(['--task', 'beeps', '--arch', 'mlp.json', '--augment', 'nothing-here']);
    expect(recipe.err).toContain('"nothing-here" is neither a JSON list nor a readable file');
  });
});
