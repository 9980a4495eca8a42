/**
 * Finds the planner's inputs: every `.onnx` model in a folder, each paired with its task's data.
 * A model names its task in its metadata (`weightsep.task`, as the zoo writes it) or by its file name,
 * and may name the label-preserving augmentations of its training recipe (`weightsep.augment`, a
 * JSON list of train/augment.ts specs) for the joint optimisation.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { loadTask } from '../datasets/load.ts';
import { loadModel } from '../onnx/io.ts';
import { TRAINABLE_OPS } from '../autodiff/training-graph.ts';
import type { PlannerTask } from './planner.ts';
import { parseAugmentSpecs, type AugmentSpec } from '../train/augment.ts';

export interface LoadInputsOptions {
  /** Root of the task data folders; default the repository's resources/data. */
  readonly dataRoot?: string;
  /** Only these tasks (by name), in this order. */
  readonly only?: readonly string[];
}

export function loadPlannerTasks(modelsDir: string, options: LoadInputsOptions = {}): Result<PlannerTask[]> {
  let files: string[];
  try {
    if (!statSync(modelsDir).isDirectory())
      return fail('E_USAGE', `${modelsDir} is not a folder of .onnx models.`);
    files = readdirSync(modelsDir)
      .filter((f) => f.endsWith('.onnx'))
      .sort();
  } catch {
    return fail(
      'E_NOT_FOUND',
      `No models folder at ${modelsDir}.`,
      'Pass --models with a folder of .onnx files (the bundled zoo is resources/zoo).',
    );
  }
  if (files.length === 0)
    return fail(
      'E_NOT_FOUND',
      `${modelsDir} holds no .onnx models.`,
      'Build the zoo with "npm run zoo" or pass another folder.',
    );
  const tasks: PlannerTask[] = [];
  for (const file of files) {
    const path = join(modelsDir, file);
    const model = loadModel(path, { supportedOps: TRAINABLE_OPS });
    if (!model.ok) return model;
    const name = model.value.metadata['weightsep.task'] ?? basename(file, '.onnx');
    if (options.only && !options.only.includes(name)) continue;
    const data = loadTask(name, options.dataRoot ? { root: options.dataRoot } : {});
    if (!data.ok) {
      return fail(
        data.error.code,
        `Model ${file} (task "${name}"): ${data.error.message}`,
        data.error.hint ?? 'Name the model after its task, or set its weightsep.task metadata.',
      );
    }
    const augmentText = model.value.metadata['weightsep.augment'];
    let augment: AugmentSpec[] | undefined;
    if (augmentText !== undefined) {
      const parsed = parseAugmentSpecs(augmentText, data.value.inputShape.length);
      if (!parsed.ok) {
        return fail(
          'E_USAGE',
          `Model ${file}: its weightsep.augment metadata is unusable: ${parsed.error.message}`,
          'Fix or remove the metadata entry (wsep plan --no-augment ignores it).',
        );
      }
      augment = parsed.value;
    }
    tasks.push({ name, model: model.value, data: data.value, ...(augment ? { augment } : {}) });
  }
  if (options.only) {
    const missing = options.only.filter((n) => !tasks.some((t) => t.name === n));
    if (missing.length > 0)
      return fail('E_NOT_FOUND', `No model for task(s) ${missing.join(', ')} in ${modelsDir}.`);
    tasks.sort((a, b) => options.only!.indexOf(a.name) - options.only!.indexOf(b.name));
  }
  return ok(tasks);
}
