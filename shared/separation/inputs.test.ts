import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir, useTempDir } from '../core/testing-temp.ts';
import { DEFAULT_DATA_ROOT } from '../datasets/load.ts';
import { saveModel } from '../onnx/io.ts';
import { buildModel } from '../zoo/model-builder.ts';
import { zooTask } from '../zoo/tasks.ts';
import { loadPlannerTasks } from './inputs.ts';
import { AUGMENT_KEY, TASK_KEY } from './pairing.ts';
import { saveTinyModel, writeTinyTask } from './pairing-fixtures.ts';

describe('loadPlannerTasks', () => {
  it('pairs each zoo model with its data and its recipe’s augmentations', () => {
    const r = loadPlannerTasks('resources/zoo', { only: ['speech_commands', 'mnist'] });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((t) => t.name)).toEqual(['speech_commands', 'mnist']);
    expect(r.value[0]!.augment).toEqual(zooTask('speech_commands')!.training.augment);
    expect(r.value[1]!.augment).toEqual(zooTask('mnist')!.training.augment);
  });

  it('names the model whose augmentation metadata is unusable', () => {
    const dir = testTempDir('wsep-inputs-');
    const model = buildModel('digits8x8', [1, 8, 8], 10, (b, x) => b.dense('fc', b.flatten(x), 10)).model;
    const bad = { ...model, metadata: { 'weightsep.augment': '[{"kind":"shift","axis":5,"max":1}]' } };
    expect(saveModel(join(dir, 'digits8x8.onnx'), bad).ok).toBe(true);
    const r = loadPlannerTasks(dir);
    expect(!r.ok && r.error.message).toMatch(
      /^Model digits8x8.onnx: its weightsep.augment metadata is unusable: .*axis 5/,
    );
    // --no-augment really does ignore it, as the hint says.
    const ignored = loadPlannerTasks(dir, { augment: false, only: ['digits8x8'] });
    expect(ignored.ok && ignored.value[0]!.augment).toBeUndefined();
  });
});

describe('loadPlannerTasks: pairing and fit', () => {
  // User data: 'letters' (26 classes of 8×8) and 'beeps' (3 classes of 12 values).
  const data = useTempDir('wsep-inputs-data-');
  writeTinyTask(data, { task: 'letters', inputShape: [1, 8, 8], classes: 26, samples: 52 });
  writeTinyTask(data, { task: 'beeps', inputShape: [12], classes: 3 });
  const roots = [data, DEFAULT_DATA_ROOT];

  function folder(models: Record<string, [number[], number, Record<string, string>?]>): string {
    const dir = testTempDir('wsep-inputs-');
    for (const [file, [shape, classes, meta]] of Object.entries(models))
      saveTinyModel(join(dir, file), shape, classes, meta ?? {});
    return dir;
  }

  it('finds user tasks in the data roots before the bundled ones, mixing both', () => {
    const dir = folder({
      'letters.onnx': [[1, 8, 8], 26],
      'm.onnx': [[12], 3, { [TASK_KEY]: 'beeps', [AUGMENT_KEY]: '[{"kind":"noise","std":0.1}]' }],
      'wall_following.onnx': [[24], 4],
    });
    const r = loadPlannerTasks(dir, { roots });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((t) => [t.name, t.data.classes.length])).toEqual([
      ['letters', 26],
      ['beeps', 3],
      ['wall_following', 4],
    ]);
    expect(r.value[1]!.augment).toEqual([{ kind: 'noise', std: 0.1 }]);
  });

  it('refuses a model that does not fit its task with E_DATA_MISMATCH, saying what differs', () => {
    const dir = folder({
      'letters.onnx': [[1, 8, 8], 10],
      'x.onnx': [[1, 28, 28], 3, { [TASK_KEY]: 'beeps' }],
      'wall_following.onnx': [[24], 4],
    });
    const r = loadPlannerTasks(dir, { roots });
    expect(!r.ok && r.error.code).toBe('E_DATA_MISMATCH');
    expect(!r.ok && r.error.message).toBe(
      "2 models do not fit their tasks' data: " +
        "Model letters.onnx (task 'letters', by its file name): model outputs 10 classes, task 'letters' has 26 | " +
        "Model x.onnx (task 'beeps', by its weightsep.task metadata): model takes [1, 28, 28], task 'beeps' gives [12].",
    );
    const one = loadPlannerTasks(dir, { roots, only: ['letters'] });
    expect(!one.ok && one.error.message).toBe(
      "Model letters.onnx (task 'letters', by its file name): model outputs 10 classes, task 'letters' has 26.",
    );
  });

  it('--pair overrides the metadata or file name, and adds a model from outside the folder', () => {
    const dir = folder({
      'a.onnx': [[12], 3, { [TASK_KEY]: 'letters' }],
      'wall_following.onnx': [[24], 4],
    });
    const outside = testTempDir('wsep-inputs-extra-');
    const extra = saveTinyModel(join(outside, 'my-letters.onnx'), [1, 8, 8], 26);
    const r = loadPlannerTasks(dir, {
      roots,
      pairs: [
        { model: join(dir, 'a.onnx'), task: 'beeps' },
        { model: extra, task: 'letters' },
      ],
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((t) => t.name)).toEqual(['beeps', 'wall_following', 'letters']);
    // Only pairs, and an empty folder.
    const empty = testTempDir('wsep-inputs-empty-');
    const alone = loadPlannerTasks(empty, { roots, pairs: [{ model: extra, task: 'letters' }] });
    expect(alone.ok && alone.value.map((t) => t.name)).toEqual(['letters']);
  });

  it('refuses two models paired with one task, naming both and how each was paired', () => {
    const dir = folder({
      'beeps.onnx': [[12], 3],
      'other.onnx': [[12], 3, { [TASK_KEY]: 'beeps' }],
    });
    const r = loadPlannerTasks(dir, { roots });
    expect(!r.ok && r.error.code).toBe('E_USAGE');
    expect(!r.ok && r.error.message).toBe(
      "Two models are paired with task 'beeps': beeps.onnx (by its file name) and other.onnx (by its weightsep.task metadata).",
    );
  });

  it('--only with an unknown task lists the tasks the folder’s models are paired with', () => {
    const dir = folder({
      'letters.onnx': [[1, 8, 8], 26],
      'm.onnx': [[12], 3, { [TASK_KEY]: 'beeps' }],
    });
    const r = loadPlannerTasks(dir, { roots, only: ['letters', 'mnist'] });
    expect(!r.ok && r.error.code).toBe('E_NOT_FOUND');
    expect(!r.ok && r.error.message).toBe(
      `No model for task(s) mnist in ${dir}. Known tasks: beeps, letters.`,
    );
  });

  it('names the model whose task has no data, with the folders searched', () => {
    const dir = folder({ 'nosuch.onnx': [[4], 2] });
    const r = loadPlannerTasks(dir, { roots });
    expect(!r.ok && r.error.code).toBe('E_NOT_FOUND');
    expect(!r.ok && r.error.message).toMatch(
      /^Model nosuch.onnx \(task 'nosuch', by its file name\): No task 'nosuch' in /,
    );
    expect(!r.ok && r.error.message).toContain('Known tasks: beeps');
    const sub = join(testTempDir('wsep-inputs-'), 'not-a-folder');
    mkdirSync(sub);
    expect(loadPlannerTasks(sub, { roots }).ok).toBe(false);
  });
});
