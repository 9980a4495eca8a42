/**
 * Finds the planner's inputs: every `.onnx` model in a folder (plus any model named by an explicit
 * pair), each paired with its task's data (pairing.ts) and checked to fit that data (fit-check.ts)
 * before any data is loaded, so that a wrong pairing fails in a second, not after the Fisher pass.
 * A model may name the label-preserving augmentations of its training recipe (`weightsep.augment`, a
 * JSON list of train/augment.ts specs) for the joint optimisation.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { DEFAULT_DATA_ROOT, findTaskDir, loadTask, readTaskMeta } from '../datasets/load.ts';
import { readModelFile } from '../onnx/io.ts';
import type { Model } from '../onnx/types.ts';
import { validateModel } from '../onnx/validate.ts';
import { TRAINABLE_OPS } from '../autodiff/training-graph.ts';
import type { PlannerTask } from './planner.ts';
import { parseAugmentSpecs, type AugmentSpec } from '../train/augment.ts';
import { checkFit } from './fit-check.ts';
import { AUGMENT_KEY, pairingOf, pairingText, type ModelPair, type Pairing } from './pairing.ts';

export interface LoadInputsOptions {
  /**
   * Folders searched in order for each task's data (build it with datasets/roots.ts `dataRoots`);
   * default the repository's resources/data.
   */
  readonly roots?: readonly string[];
  /** Only these tasks (by name), in this order. */
  readonly only?: readonly string[];
  /**
   * Explicit pairings (absolute model paths): they override the metadata or file-name pairing of
   * those files, and a model outside the folder is added to the inputs.
   */
  readonly pairs?: readonly ModelPair[];
  /** Read each model's weightsep.augment metadata (default true; false ignores it, as --no-augment). */
  readonly augment?: boolean;
}

interface Candidate {
  /** As shown in messages: the file name inside the folder, else the path. */
  readonly label: string;
  readonly path: string;
  readonly model: Model;
  readonly pairing: Pairing;
}

function listModels(modelsDir: string, hasPairs: boolean): Result<string[]> {
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
  if (files.length === 0 && !hasPairs)
    return fail(
      'E_NOT_FOUND',
      `${modelsDir} holds no .onnx models.`,
      'Build the zoo with "npm run zoo", pass another folder, or name models with --pair.',
    );
  return ok(files);
}

function readCandidates(modelsDir: string, options: LoadInputsOptions): Result<Candidate[]> {
  const pairs = options.pairs ?? [];
  const files = listModels(modelsDir, pairs.length > 0);
  if (!files.ok) return files;
  const paths = files.value.map((f) => resolve(modelsDir, f));
  for (const p of pairs) if (!paths.includes(p.model)) paths.push(p.model);
  const candidates: Candidate[] = [];
  for (const path of paths) {
    const model = readModelFile(path);
    if (!model.ok) return model;
    const inside = relative(resolve(modelsDir), path);
    const label = inside === basename(path) ? inside : path;
    candidates.push({ label, path, model: model.value, pairing: pairingOf(model.value, path, pairs) });
  }
  return ok(candidates);
}

/** The candidates the plan takes: those of `only` (in its order), each task at most once. */
function select(candidates: readonly Candidate[], modelsDir: string, only?: readonly string[]) {
  const known = [...new Set(candidates.map((c) => c.pairing.task))].sort();
  if (only) {
    const missing = only.filter((n) => !known.includes(n));
    if (missing.length > 0)
      return fail<Candidate[]>(
        'E_NOT_FOUND',
        `No model for task(s) ${missing.join(', ')} in ${modelsDir}. Known tasks: ${known.join(', ') || 'none'}.`,
        'Models are paired with a task by --pair, their weightsep.task metadata or their file name; --only takes those tasks.',
        { missing, known },
      );
  }
  const chosen = only
    ? candidates
        .filter((c) => only.includes(c.pairing.task))
        .sort((a, b) => only.indexOf(a.pairing.task) - only.indexOf(b.pairing.task))
    : [...candidates];
  for (const [i, c] of chosen.entries()) {
    const other = chosen.slice(0, i).find((o) => o.pairing.task === c.pairing.task);
    if (other)
      return fail<Candidate[]>(
        'E_USAGE',
        `Two models are paired with task '${c.pairing.task}': ${other.label} (${pairingText(other.pairing.source)}) and ${c.label} (${pairingText(c.pairing.source)}).`,
        'A plan holds one model per task: move one out of the folder, or pair it with its own task (--pair <model.onnx>=<task>, or wsep model set-task).',
      );
  }
  return ok(chosen);
}

export function loadPlannerTasks(modelsDir: string, options: LoadInputsOptions = {}): Result<PlannerTask[]> {
  const roots = options.roots ?? [DEFAULT_DATA_ROOT];
  const candidates = readCandidates(modelsDir, options);
  if (!candidates.ok) return candidates;
  const chosen = select(candidates.value, modelsDir, options.only);
  if (!chosen.ok) return chosen;

  // Every check that needs no sample data comes first, for all models, so a mistake costs no loading.
  const mismatches: string[] = [];
  const augments = new Map<Candidate, AugmentSpec[]>();
  for (const c of chosen.value) {
    const valid = validateModel(c.model, { supportedOps: TRAINABLE_OPS, source: c.label });
    if (!valid.ok) return valid;
    const where = `Model ${c.label} (task '${c.pairing.task}', ${pairingText(c.pairing.source)})`;
    const dir = findTaskDir(c.pairing.task, roots);
    const meta = dir.ok ? readTaskMeta(dir.value) : dir;
    if (!meta.ok) {
      const pairHint = `If ${c.label} belongs to another task, pair it: --pair <model.onnx>=<task>, or wsep model set-task <model.onnx> <task>.`;
      return fail(
        meta.error.code,
        `${where}: ${meta.error.message}`,
        meta.error.hint ? `${meta.error.hint} ${pairHint}` : pairHint,
        meta.error.details,
      );
    }
    const report = checkFit(c.model, meta.value);
    if (!report.fits) {
      mismatches.push(`${where}: ${report.problems.join('; ')}`);
      continue; // its augmentations were made for other samples; the mismatch is what to report
    }
    const augmentText = c.model.metadata[AUGMENT_KEY];
    if (augmentText !== undefined && options.augment !== false) {
      const parsed = parseAugmentSpecs(augmentText, meta.value.inputShape.length);
      if (!parsed.ok)
        return fail(
          'E_USAGE',
          `Model ${c.label}: its ${AUGMENT_KEY} metadata is unusable: ${parsed.error.message}`,
          'Fix or remove the metadata entry, or plan with --no-augment to ignore it.',
        );
      augments.set(c, parsed.value);
    }
  }
  if (mismatches.length > 0)
    return fail(
      'E_DATA_MISMATCH',
      mismatches.length === 1
        ? `${mismatches[0]}.`
        : `${mismatches.length} models do not fit their tasks' data: ${mismatches.join(' | ')}.`,
      'Pair each model with the task it was made for (--pair <model.onnx>=<task>, or wsep model set-task), or train one for the task (wsep train --task <task> --arch <zoo task|arch.json>).',
      { mismatches },
    );

  const tasks: PlannerTask[] = [];
  for (const c of chosen.value) {
    const name = c.pairing.task;
    const data = loadTask(name, { roots });
    if (!data.ok)
      return fail(
        data.error.code,
        `Model ${c.label} (task '${name}'): ${data.error.message}`,
        data.error.hint,
      );
    const augment = augments.get(c);
    tasks.push({ name, model: c.model, data: data.value, ...(augment ? { augment } : {}) });
  }
  return ok(tasks);
}
