import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveModel } from '../onnx/io.ts';
import { buildModel } from '../zoo/model-builder.ts';
import { zooTask } from '../zoo/tasks.ts';
import { loadPlannerTasks } from './inputs.ts';

describe('loadPlannerTasks', () => {
  it('pairs each zoo model with its data and its recipe’s augmentations', () => {
    const r = loadPlannerTasks('resources/zoo', { only: ['speech_commands', 'mnist'] });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.map((t) => t.name)).toEqual(['speech_commands', 'mnist']);
    expect(r.value[0]!.augment).toEqual(zooTask('speech_commands')!.training.augment);
    expect(r.value[1]!.augment).toEqual(zooTask('mnist')!.training.augment);
  });

  it('names the model whose augmentation metadata is unusable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsep-inputs-'));
    const model = buildModel('digits8x8', [1, 8, 8], 10, (b, x) => b.dense('fc', b.flatten(x), 10)).model;
    const bad = { ...model, metadata: { 'weightsep.augment': '[{"kind":"shift","axis":5,"max":1}]' } };
    expect(saveModel(join(dir, 'digits8x8.onnx'), bad).ok).toBe(true);
    const r = loadPlannerTasks(dir);
    expect(!r.ok && r.error.message).toMatch(
      /^Model digits8x8.onnx: its weightsep.augment metadata is unusable: .*axis 5/,
    );
  });
});
