/**
 * `wsep train`: trains a model on a task (by default the zoo architecture for that task, with the
 * zoo's recommended recipe), reports validation and test accuracy, and saves the trained model.
 */
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { loadTask } from '../../datasets/load.ts';
import { loadModel, saveModel } from '../../onnx/io.ts';
import type { Model } from '../../onnx/types.ts';
import { augmentFrom, type AugmentSpec } from '../../train/augment.ts';
import { fit, type FitOptions, type FitResult } from '../../train/fit.ts';
import type { OptimizerSpec } from '../../train/optimizers.ts';
import type { Schedule } from '../../train/schedule.ts';
import { ZOO_TASKS, zooTask, type ZooTaskSpec } from '../../zoo/tasks.ts';
import type { Command } from '../command.ts';
import { formatProgress } from '../progress-line.ts';

/** The recipe used when neither the zoo nor the command line says otherwise. */
const FALLBACK = { steps: 2000, batch: 64, lr: 1e-3, weightDecay: 0, evalEvery: 100, patience: 600 } as const;

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
    'wsep train --task <task> [--model <file.onnx> | --arch zoo] [--steps N] [--lr X] [--batch N] [--seed N] [--out <file.onnx>] [--json]',
  description: [
    'Trains the zoo architecture for the task (or the given ONNX model) on the task’s train split, with',
    'early stopping on validation accuracy, then evaluates the best snapshot once on the test split and',
    'saves it with its weights as initializers. Unless overridden, the recipe (steps, learning rate, batch,',
    'weight decay, augmentation, patience) is the zoo’s recommendation for the task, with a cosine decay of',
    'the learning rate over the steps.',
    `Zoo tasks: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
  ].join('\n'),
  positionals: { min: 0, max: 0, names: '' },
  options: [
    {
      name: 'task',
      kind: 'string',
      value: 'task',
      description: 'Task id; its data is read from resources/data/<task>.',
    },
    {
      name: 'model',
      kind: 'string',
      value: 'file.onnx',
      description: 'Start from this model instead of a zoo architecture.',
    },
    {
      name: 'arch',
      kind: 'string',
      value: 'zoo|task',
      description: 'Architecture: "zoo" (the task’s own) or another zoo task’s id.',
      default: 'zoo',
    },
    {
      name: 'steps',
      kind: 'number',
      value: 'N',
      description: 'Maximum optimizer steps (default: the zoo recipe).',
    },
    { name: 'epochs', kind: 'number', value: 'N', description: 'Train for whole epochs instead of --steps.' },
    {
      name: 'lr',
      kind: 'number',
      value: 'X',
      description: 'Learning rate (default: the zoo recipe, else 1e-3).',
    },
    { name: 'batch', kind: 'number', value: 'N', description: 'Batch size (default 64).' },
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
    { name: 'no-augment', kind: 'flag', description: 'Turn the recipe’s augmentation off.' },
    {
      name: 'seed',
      kind: 'number',
      value: 'N',
      description: 'Seed for the initial weights, batch order and augmentation.',
      default: 0,
    },
    { name: 'threads', kind: 'number', value: 'N', description: 'onnxruntime intra-op threads.', default: 1 },
    {
      name: 'data',
      kind: 'string',
      value: 'folder',
      description: 'Folder holding the task data (default: resources/data).',
    },
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
    const task = str(o['task']);
    if (!task)
      return fail(
        'E_USAGE',
        'wsep train: --task is required.',
        `Zoo tasks: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
      );
    const at = (p: string) => (isAbsolute(p) ? p : resolve(ctx.cwd, p));
    for (const name of ['steps', 'epochs', 'batch', 'eval-every', 'threads']) {
      const checked = positiveInt(name, num(o[name]));
      if (!checked.ok) return checked;
    }
    if (num(o['steps']) !== undefined && num(o['epochs']) !== undefined)
      return fail('E_USAGE', 'wsep train: give --steps or --epochs, not both.');

    // The model: a file, or a zoo architecture built from the seed.
    const spec = zooTask(task);
    const seed = num(o['seed']) ?? 0;
    const modelFile = str(o['model']);
    let model: Model;
    let modelLabel: string;
    if (modelFile) {
      const loaded = loadModel(at(modelFile));
      if (!loaded.ok) return loaded;
      model = loaded.value;
      modelLabel = modelFile;
    } else {
      const arch = str(o['arch']) ?? 'zoo';
      const archSpec = arch === 'zoo' ? spec : zooTask(arch);
      if (!archSpec) {
        const list = ZOO_TASKS.map((t) => t.id).join(', ');
        return fail(
          'E_USAGE',
          arch === 'zoo' ? `No zoo architecture for task '${task}'.` : `Unknown architecture '${arch}'.`,
          `Give --model <file.onnx>, or use a zoo task: ${list}.`,
        );
      }
      model = archSpec.build(seed);
      modelLabel = `zoo:${archSpec.id} (seed ${seed})`;
    }

    const data = loadTask(task, str(o['data']) ? { root: at(str(o['data'])!) } : {});
    if (!data.ok) return data;

    const recipe = resolveRecipe(spec, o);
    if (!recipe.ok) return recipe;
    const r = recipe.value;
    const options: FitOptions = {
      task,
      ...(num(o['epochs']) !== undefined ? { epochs: num(o['epochs'])! } : { steps: r.steps }),
      batchSize: r.batch,
      optimizer: r.optimizer,
      schedule: r.schedule,
      evalEvery: r.evalEvery,
      ...(r.patience !== null ? { patience: r.patience } : {}),
      seed,
      ...(augmentFrom(r.augment) ? { augment: augmentFrom(r.augment)! } : {}),
      intraOpThreads: num(o['threads']) ?? 1,
      signal: ctx.signal,
      progress: (e) => ctx.status(formatProgress(e)),
    };
    const result = await fit(model, data.value, options);
    ctx.status('');
    if (!result.ok) return result;
    const f = result.value;

    const out = at(str(o['out']) ?? `${task}.onnx`);
    const saved = saveModel(out, f.model);
    if (!saved.ok) return saved;

    const summary: TrainSummary = {
      task,
      model: modelLabel,
      out,
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

interface Recipe {
  readonly steps: number;
  readonly batch: number;
  readonly optimizer: OptimizerSpec;
  readonly schedule: Schedule;
  readonly evalEvery: number;
  readonly patience: number | null;
  readonly augment: readonly AugmentSpec[];
}

/** The zoo's recipe for the task, overridden by whatever the command line gives. */
function resolveRecipe(spec: ZooTaskSpec | undefined, o: Readonly<Record<string, unknown>>): Result<Recipe> {
  const hints = spec?.training ?? { ...FALLBACK, augment: [] };
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
    augment: o['no-augment'] ? [] : hints.augment,
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
    `  time        ${s.seconds.toFixed(1)} s (${s.stepMs.toFixed(1)} ms per step)`,
    `Saved ${s.out}`,
  ].join('\n');
}
