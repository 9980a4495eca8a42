/**
 * `wsep train`: trains a model on a task (by default the zoo architecture for that task, with the
 * zoo's recommended recipe; or another zoo architecture, a JSON architecture description or an ONNX
 * model, adapted to or checked against the task's data), reports validation and test accuracy, and
 * saves the trained model with its pairing (`weightsep.task`) and augmentations (`weightsep.augment`)
 * in its metadata, so that the planner treats it like a zoo model.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { loadTask } from '../../datasets/load.ts';
import { dataRoots } from '../../datasets/roots.ts';
import { loadModel, saveModel } from '../../onnx/io.ts';
import type { Model } from '../../onnx/types.ts';
import { requireFit } from '../../separation/fit-check.ts';
import { AUGMENT_KEY, TASK_KEY, parsePairs } from '../../separation/pairing.ts';
import { augmentFrom, parseAugmentSpecs, type AugmentSpec } from '../../train/augment.ts';
import { fit, type FitOptions, type FitResult } from '../../train/fit.ts';
import type { OptimizerSpec } from '../../train/optimizers.ts';
import type { Schedule } from '../../train/schedule.ts';
import { ARCH_FIELDS } from '../../zoo/arch-file.ts';
import { resolveArchitecture, type Architecture } from '../../zoo/architecture.ts';
import { describeAugmentation } from '../../zoo/summary.ts';
import { ZOO_TASKS, zooTask, type TrainingHints } from '../../zoo/tasks.ts';
import { progressSink, type Command } from '../command.ts';

/** The recipe used when neither the zoo nor the command line says otherwise. */
const FALLBACK: TrainingHints = {
  steps: 2000,
  batch: 64,
  lr: 1e-3,
  weightDecay: 0,
  evalEvery: 100,
  patience: 600,
  augment: [],
};

const AUGMENT_EXAMPLE = `--augment '[{"kind":"shift","axis":1,"max":2},{"kind":"noise","std":0.05}]'`;

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function positiveInt(name: string, v: number | undefined): Result<number | undefined> {
  if (v === undefined || (Number.isInteger(v) && v > 0)) return ok(v);
  return fail('E_USAGE', `wsep train: --${name} must be a positive integer, got ${v}.`);
}

export interface TrainSummary {
  readonly task: string;
  readonly model: string;
  readonly out: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly parameters: number;
  readonly steps: number;
  readonly bestStep: number;
  readonly stoppedEarly: boolean;
  readonly valAccuracy: number;
  readonly testAccuracy: number | null;
  readonly testLoss: number | null;
  readonly seconds: number;
  readonly stepMs: number;
  readonly recipe: {
    optimizer: OptimizerSpec;
    batch: number;
    schedule: Schedule;
    evalEvery: number;
    patience: number | null;
    augment: readonly AugmentSpec[];
    seed: number;
  };
  readonly history: FitResult['history'];
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a model on a task and save it.',
  usage:
    'wsep train --task <task> [--arch <zoo task|arch.json> | --model <file.onnx>] [--pair <file.onnx>=<task>] [--data dir[,dir]] [--steps N] [--lr X] [--batch N] [--augment <json|file.json> | --no-augment] [--seed N] [--out <file.onnx>] [--json]',
  description: [
    'Trains a model on the task’s train split, with early stopping on validation accuracy, then evaluates',
    'the best snapshot once on the test split and saves it with its weights as initializers and with',
    'weightsep.task (the task) and weightsep.augment (the augmentations used) in its metadata, so that',
    '`wsep plan` pairs it with its task and re-applies its augmentations.',
    '',
    'The model: the task’s own zoo architecture by default; --arch builds another zoo architecture or',
    'a JSON description with the task’s input shape and class count; --model (or --pair) starts from an',
    'ONNX model, which must take the task’s input shape and output its class count.',
    'Unless overridden, the recipe (steps, learning rate, batch, weight decay, augmentation, patience) is',
    'the zoo architecture’s, else a plain one (2000 steps, Adam 1e-3, no augmentation), with a cosine',
    'decay of the learning rate over the steps. `wsep model describe` shows an architecture’s weights',
    'and pages for a task without training.',
    '',
    'An architecture description (--arch my-arch.json), every field optional:',
    '  {"conv": [16, 32], "kernel": 3, "pool": 2, "dense": [64], "activation": "relu"}',
    ...ARCH_FIELDS.map((l) => `  ${l}`),
    '',
    'Augmentations (--augment): a JSON list, or a .json file holding one, of',
    '  {"kind":"shift","axis":a,"max":n}  {"kind":"flip","axis":a}  {"kind":"mask","axis":a,"maxWidth":n}',
    '  {"kind":"noise","std":s}  {"kind":"scale","min":x,"max":y}  {"kind":"offset","axis":a,"std":s}',
    '  where axis counts the per-sample axes from 0 (the channel axis of [C, H, W]).',
    `Zoo architectures: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
  ].join('\n'),
  positionals: { min: 0, max: 0, names: '' },
  options: [
    {
      name: 'task',
      kind: 'string',
      value: 'task',
      description: 'Task id; its data is searched in the --data folders, then resources/data.',
    },
    {
      name: 'arch',
      kind: 'string',
      value: 'zoo task|arch.json',
      description:
        'Architecture, built for the task’s input shape and classes: a zoo task’s, or a JSON description (default: the task’s own zoo architecture).',
    },
    {
      name: 'model',
      kind: 'string',
      value: 'file.onnx',
      description: 'Start from this model instead of an architecture.',
    },
    {
      name: 'pair',
      kind: 'string',
      value: 'file.onnx=task',
      description: 'The same as --model file.onnx --task task.',
    },
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir]',
      description: 'Folders holding task data, searched in order before resources/data (default: ./data).',
    },
    {
      name: 'steps',
      kind: 'number',
      value: 'N',
      description: 'Maximum optimizer steps (default: the recipe’s).',
    },
    { name: 'epochs', kind: 'number', value: 'N', description: 'Train for whole epochs instead of --steps.' },
    {
      name: 'lr',
      kind: 'number',
      value: 'X',
      description: 'Learning rate (default: the recipe’s, else 1e-3).',
    },
    {
      name: 'batch',
      kind: 'number',
      value: 'N',
      description: 'Batch size (default: the recipe’s, else 64).',
    },
    {
      name: 'optimizer',
      kind: 'string',
      value: 'adam|adamw|sgd',
      description: 'Optimizer (default: adamw when the recipe has weight decay, else adam).',
    },
    { name: 'weight-decay', kind: 'number', value: 'X', description: 'Weight decay (decoupled for adamw).' },
    {
      name: 'schedule',
      kind: 'string',
      value: 'constant|cosine',
      description: 'Learning-rate schedule; cosine decays to 0 over the steps.',
      default: 'cosine',
    },
    { name: 'eval-every', kind: 'number', value: 'N', description: 'Evaluate on validation every N steps.' },
    {
      name: 'patience',
      kind: 'number',
      value: 'N',
      description: 'Stop after N steps without a better validation accuracy; 0 never stops early.',
    },
    {
      name: 'augment',
      kind: 'string',
      value: 'json|file.json',
      description: 'Augmentations instead of the recipe’s: a JSON list (see above) or a file holding one.',
    },
    { name: 'no-augment', kind: 'flag', description: 'Train without augmentation.' },
    {
      name: 'seed',
      kind: 'number',
      value: 'N',
      description: 'Seed for the initial weights, batch order and augmentation.',
      default: 0,
    },
    { name: 'threads', kind: 'number', value: 'N', description: 'onnxruntime intra-op threads.', default: 1 },
    {
      name: 'out',
      kind: 'string',
      value: 'file.onnx',
      description: 'Where to save the trained model (default: <task>.onnx).',
    },
    { name: 'json', kind: 'flag', description: 'Print the result as JSON.' },
  ],
  async run(args, ctx) {
    const o = args.options;
    const at = (p: string) => (isAbsolute(p) ? p : resolve(ctx.cwd, p));
    let task = str(o['task']);
    let modelFile = str(o['model']);
    const pairText = str(o['pair']);
    if (pairText !== undefined) {
      if (task !== undefined || modelFile !== undefined)
        return fail(
          'E_USAGE',
          'wsep train: --pair is --model plus --task; give --pair alone, or --model and --task.',
        );
      const pairs = parsePairs(pairText, ctx.cwd);
      if (!pairs.ok) return pairs;
      if (pairs.value.length !== 1)
        return fail(
          'E_USAGE',
          `wsep train trains one model, but --pair names ${pairs.value.length}.`,
          'Run wsep train once per model.',
        );
      modelFile = pairs.value[0]!.model;
      task = pairs.value[0]!.task;
    }
    if (!task)
      return fail(
        'E_USAGE',
        'wsep train: --task is required.',
        `Zoo tasks: ${ZOO_TASKS.map((t) => t.id).join(', ')}; your own: import them with wsep data import.`,
      );
    const archOption = str(o['arch']);
    if (modelFile !== undefined && archOption !== undefined)
      return fail('E_USAGE', 'wsep train: give --model (or --pair) or --arch, not both.');
    if (o['augment'] !== undefined && o['no-augment'] === true)
      return fail('E_USAGE', 'wsep train: give --augment or --no-augment, not both.');
    for (const name of ['steps', 'epochs', 'batch', 'eval-every', 'threads']) {
      const checked = positiveInt(name, num(o[name]));
      if (!checked.ok) return checked;
    }
    if (num(o['steps']) !== undefined && num(o['epochs']) !== undefined)
      return fail('E_USAGE', 'wsep train: give --steps or --epochs, not both.');
    const optionsChecked = resolveRecipe(FALLBACK, o, []);
    if (!optionsChecked.ok) return optionsChecked;

    // Cheap mistakes first: the architecture is resolved before any data is read.
    const seed = num(o['seed']) ?? 0;
    let arch: Architecture | undefined;
    if (modelFile === undefined) {
      const name = archOption === undefined || archOption === 'zoo' ? task : archOption;
      if (name === task && !zooTask(task))
        return fail(
          'E_USAGE',
          `No zoo architecture for task '${task}'.`,
          `Give --arch with a zoo architecture (${ZOO_TASKS.map((t) => t.id).join(', ')}) or a description file (my-arch.json; see wsep train --help), or --model <file.onnx>.`,
        );
      const resolved = resolveArchitecture(name, ctx.cwd);
      if (!resolved.ok) return resolved;
      arch = resolved.value;
    }

    const data = loadTask(task, { roots: dataRoots(o['data'], ctx.cwd) });
    if (!data.ok) return data;
    const d = data.value;

    let model: Model;
    let modelLabel: string;
    let hints: TrainingHints;
    if (arch === undefined) {
      const loaded = loadModel(at(modelFile!));
      if (!loaded.ok) return loaded;
      const fits = requireFit(loaded.value, d, `Model ${modelFile}`);
      if (!fits.ok) return fits;
      model = loaded.value;
      modelLabel = modelFile!;
      hints = zooTask(task)?.training ?? FALLBACK;
    } else {
      const built = arch.build({ task, inputShape: d.inputShape, classes: d.classes.length }, seed);
      if (!built.ok) return built;
      model = built.value.model;
      modelLabel = `${arch.label} for [${d.inputShape.join(', ')}] → ${d.classes.length} classes (seed ${seed})`;
      hints = arch.recipe ?? FALLBACK;
    }

    const augment = augmentationFor(o, hints, arch?.label ?? modelLabel, d.inputShape, ctx.cwd, task);
    if (!augment.ok) return augment;
    const recipe = resolveRecipe(hints, o, augment.value);
    if (!recipe.ok) return recipe;
    const r = recipe.value;
    const augmenter = augmentFrom(r.augment);
    const options: FitOptions = {
      task,
      ...(num(o['epochs']) !== undefined ? { epochs: num(o['epochs'])! } : { steps: r.steps }),
      batchSize: r.batch,
      optimizer: r.optimizer,
      schedule: r.schedule,
      evalEvery: r.evalEvery,
      ...(r.patience !== null ? { patience: r.patience } : {}),
      seed,
      ...(augmenter ? { augment: augmenter } : {}),
      intraOpThreads: num(o['threads']) ?? 1,
      signal: ctx.signal,
      progress: progressSink(ctx),
    };
    const result = await fit(model, d, options);
    ctx.status('');
    if (!result.ok) return result;
    const f = result.value;

    const out = at(str(o['out']) ?? `${task}.onnx`);
    const saved = saveModel(out, {
      ...f.model,
      metadata: {
        ...f.model.metadata,
        [TASK_KEY]: task,
        // The planner re-applies these while it fine-tunes the shared pages.
        [AUGMENT_KEY]: JSON.stringify(r.augment),
        'weightsep.val_accuracy': f.bestValAccuracy.toFixed(4),
        ...(f.test ? { 'weightsep.test_accuracy': f.test.accuracy.toFixed(4) } : {}),
        'weightsep.seed': String(seed),
      },
    });
    if (!saved.ok) return saved;

    const summary: TrainSummary = {
      task,
      model: modelLabel,
      out,
      inputShape: [...d.inputShape],
      classes: d.classes.length,
      parameters: f.weights.reduce((a, w) => a + w.length, 0),
      steps: f.stepsDone,
      bestStep: f.bestStep,
      stoppedEarly: f.stoppedEarly,
      valAccuracy: f.bestValAccuracy,
      testAccuracy: f.test?.accuracy ?? null,
      testLoss: f.test?.loss ?? null,
      seconds: f.seconds,
      stepMs: f.stepMs,
      recipe: {
        optimizer: r.optimizer,
        batch: r.batch,
        schedule: r.schedule,
        evalEvery: r.evalEvery,
        patience: r.patience,
        augment: r.augment,
        seed,
      },
      history: f.history,
    };
    ctx.out(o['json'] ? JSON.stringify(summary, null, 2) : render(summary));
    return ok(0);
  },
};

/**
 * The augmentations to train with: --augment's list, none with --no-augment, else the recipe's,
 * each checked against the task's sample rank (a recipe made for images may name an axis a
 * sequence task does not have).
 */
function augmentationFor(
  o: Readonly<Record<string, unknown>>,
  hints: TrainingHints,
  source: string,
  inputShape: readonly number[],
  cwd: string,
  task: string,
): Result<readonly AugmentSpec[]> {
  if (o['no-augment'] === true) return ok([]);
  const option = str(o['augment']);
  if (option !== undefined) {
    let text = option;
    if (!option.trimStart().startsWith('[')) {
      const path = isAbsolute(option) ? option : resolve(cwd, option);
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return fail(
          'E_USAGE',
          `--augment: "${option}" is neither a JSON list nor a readable file.`,
          `Example: ${AUGMENT_EXAMPLE}`,
        );
      }
    }
    const parsed = parseAugmentSpecs(text, inputShape.length);
    if (!parsed.ok)
      return fail(
        'E_USAGE',
        `--augment: ${parsed.error.message} (task '${task}' samples are [${inputShape.join(', ')}])`,
        `Example: ${AUGMENT_EXAMPLE}`,
      );
    return parsed;
  }
  const checked = parseAugmentSpecs(JSON.stringify(hints.augment), inputShape.length);
  if (!checked.ok)
    return fail(
      'E_USAGE',
      `The recipe of ${source} augments samples its own way, which task '${task}' ([${inputShape.join(', ')}]) cannot take: ${checked.error.message}`,
      'Give --augment with a list for this task, or --no-augment.',
    );
  return checked;
}

interface Recipe {
  readonly steps: number;
  readonly batch: number;
  readonly optimizer: OptimizerSpec;
  readonly schedule: Schedule;
  readonly evalEvery: number;
  readonly patience: number | null;
  readonly augment: readonly AugmentSpec[];
}

/** The recipe (the architecture's, or the fallback), overridden by whatever the command line gives. */
function resolveRecipe(
  hints: TrainingHints,
  o: Readonly<Record<string, unknown>>,
  augment: readonly AugmentSpec[],
): Result<Recipe> {
  const lr = num(o['lr']) ?? hints.lr;
  const weightDecay = num(o['weight-decay']) ?? hints.weightDecay;
  const kind = str(o['optimizer']) ?? (weightDecay > 0 ? 'adamw' : 'adam');
  let optimizer: OptimizerSpec;
  if (kind === 'adam') optimizer = { kind: 'adam', lr, weightDecay };
  else if (kind === 'adamw') optimizer = { kind: 'adam', lr, weightDecay, decoupled: true };
  else if (kind === 'sgd') optimizer = { kind: 'sgd', lr, momentum: 0.9, weightDecay };
  else return fail('E_USAGE', `wsep train: --optimizer must be adam, adamw or sgd, got "${kind}".`);
  const scheduleName = str(o['schedule']) ?? 'cosine';
  if (scheduleName !== 'constant' && scheduleName !== 'cosine') {
    return fail('E_USAGE', `wsep train: --schedule must be constant or cosine, got "${scheduleName}".`);
  }
  const patienceOption = num(o['patience']);
  if (patienceOption !== undefined && (!Number.isInteger(patienceOption) || patienceOption < 0)) {
    return fail('E_USAGE', `wsep train: --patience must be a whole number ≥ 0, got ${patienceOption}.`);
  }
  const patience = patienceOption ?? hints.patience;
  return ok({
    steps: num(o['steps']) ?? hints.steps,
    batch: num(o['batch']) ?? hints.batch,
    optimizer,
    schedule: { kind: scheduleName },
    evalEvery: num(o['eval-every']) ?? hints.evalEvery,
    patience: patience > 0 ? patience : null,
    augment,
  });
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`;
}

function render(s: TrainSummary): string {
  const opt = s.recipe.optimizer;
  const optText =
    opt.kind === 'sgd'
      ? `SGD lr ${opt.lr}`
      : `${opt.decoupled ? 'AdamW' : 'Adam'} lr ${opt.lr}${opt.weightDecay ? ` wd ${opt.weightDecay}` : ''}`;
  return [
    `Trained ${s.model} on ${s.task}: ${s.parameters.toLocaleString('en-US')} weights, ${optText}, batch ${s.recipe.batch}.`,
    `  steps       ${s.steps}${s.stoppedEarly ? ' (stopped early)' : ''}, best at step ${s.bestStep}`,
    `  validation  ${pct(s.valAccuracy)}`,
    `  test        ${pct(s.testAccuracy)}`,
    `  augment     ${s.recipe.augment.map(describeAugmentation).join('; ') || 'none'}`,
    `  time        ${s.seconds.toFixed(1)} s (${s.stepMs.toFixed(1)} ms per step)`,
    `Saved ${s.out} (paired with task '${s.task}')`,
  ].join('\n');
}
