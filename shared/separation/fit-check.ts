/**
 * Does a model fit a task's data? The planner, `wsep train`, `wsep model set-task` and `wsep inspect`
 * all ask this before any work, so a model paired with the wrong task fails at once with what differs
 * in words, instead of deep inside onnxruntime or with a silently wrong class count.
 *
 * What is compared, as the trainer and the evaluator use a model: its one data input (the graph
 * inputs that are not initializers) must take float32 samples of exactly the task's `inputShape`
 * after the batch axis, and its first output must be the logits, [batch, classes], with as many
 * classes as the task has.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { DataType, dataTypeName, type Dim, type Model } from '../onnx/types.ts';

/** What the check needs of a task: TaskData and TaskMeta (meta.json) both have these fields. */
export interface TaskSignature {
  readonly task: string;
  readonly inputShape: readonly number[];
  readonly classes: readonly string[];
}

/** What a model takes and gives, as far as it declares it. */
export interface ModelSignature {
  /** The data inputs (graph inputs that are not initializers). */
  readonly inputs: readonly string[];
  /** The one data input's dims after the batch axis; null when it has no recorded shape. */
  readonly inputShape: readonly Dim[] | null;
  readonly inputType: string | null;
  /** The first output's class count, when it is declared as [batch, classes]. */
  readonly classes: number | null;
  readonly outputShape: readonly Dim[] | null;
}

export interface FitReport {
  readonly task: string;
  readonly fits: boolean;
  /** Each difference in one phrase, e.g. "model outputs 10 classes, task 'x' has 26". */
  readonly problems: readonly string[];
  readonly model: ModelSignature;
}

function dimsText(dims: readonly Dim[]): string {
  return `[${dims.map((d) => (typeof d === 'number' ? d : d === null ? '?' : d)).join(', ')}]`;
}

export function modelSignature(model: Model): ModelSignature {
  const initializers = new Set(model.graph.initializers.map((t) => t.name));
  const data = model.graph.inputs.filter((i) => !initializers.has(i.name));
  const input = data.length === 1 ? data[0]! : undefined;
  const output = model.graph.outputs[0];
  const outputShape = output?.shape ? [...output.shape] : null;
  const classes = outputShape && outputShape.length === 2 ? outputShape[1] : undefined;
  return {
    inputs: data.map((i) => i.name),
    inputShape: input?.shape ? input.shape.slice(1) : null,
    inputType: input ? dataTypeName(input.elemType) : null,
    classes: typeof classes === 'number' ? classes : null,
    outputShape,
  };
}

export function checkFit(model: Model, task: TaskSignature): FitReport {
  const sig = modelSignature(model);
  const problems: string[] = [];
  const name = `task '${task.task}'`;
  const wanted = dimsText(task.inputShape);
  const initializers = new Set(model.graph.initializers.map((t) => t.name));
  const input = model.graph.inputs.find((i) => !initializers.has(i.name));
  if (sig.inputs.length === 0) problems.push('model has no data input');
  else if (sig.inputs.length > 1)
    problems.push(
      `model has ${sig.inputs.length} data inputs (${sig.inputs.join(', ')}); WeightSep feeds exactly one`,
    );
  else {
    if (input && input.elemType !== DataType.FLOAT)
      problems.push(`model takes ${sig.inputType} input, ${name} gives float32`);
    if (sig.inputShape === null) problems.push(`model input has no recorded shape, ${name} gives ${wanted}`);
    else if (
      sig.inputShape.length !== task.inputShape.length ||
      sig.inputShape.some((d, i) => d !== task.inputShape[i])
    )
      problems.push(`model takes ${dimsText(sig.inputShape)}, ${name} gives ${wanted}`);
  }
  if (sig.classes === null) {
    const declared = sig.outputShape ? dimsText(sig.outputShape) : 'no shape';
    problems.push(
      `model's first output (${declared}) is not declared as [batch, classes] logits, ${name} has ${task.classes.length} classes`,
    );
  } else if (sig.classes !== task.classes.length)
    problems.push(`model outputs ${sig.classes} classes, ${name} has ${task.classes.length}`);
  return { task: task.task, fits: problems.length === 0, problems, model: sig };
}

/**
 * The check as a result: E_DATA_MISMATCH naming `label` (e.g. "Model letters.onnx") and every
 * difference, with what to do about it.
 */
export function requireFit(model: Model, task: TaskSignature, label: string): Result<void> {
  const report = checkFit(model, task);
  if (report.fits) return ok(undefined);
  return fail(
    'E_DATA_MISMATCH',
    `${label} does not fit task '${task.task}': ${report.problems.join('; ')}.`,
    `Pair the model with the task it was made for (--pair <model.onnx>=<task>, or wsep model set-task), or train one for '${task.task}' (wsep train --task ${task.task} --arch <zoo task|arch.json>).`,
    { task: task.task, problems: report.problems },
  );
}
