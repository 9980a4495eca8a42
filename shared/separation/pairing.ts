/**
 * Which task a model belongs to. In order of precedence: an explicit pair given on the command line
 * (`--pair model.onnx=task`), the model's `weightsep.task` metadata (the zoo and `wsep train` write
 * it, `wsep model set-task` sets it), else its file name without `.onnx`. The task id is also the
 * model's name in a plan and its bundle.
 */
import { basename, isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { readModelBytes, writeFileAtomic } from '../onnx/io.ts';
import { onnx } from '../onnx/proto.ts';
import type { Model } from '../onnx/types.ts';

/** Metadata key naming the model's task. */
export const TASK_KEY = 'weightsep.task';
/** Metadata key holding the training recipe's augmentations (JSON, train/augment.ts specs). */
export const AUGMENT_KEY = 'weightsep.augment';

/** An explicit pairing: a model file (absolute path) and a task id. */
export interface ModelPair {
  readonly model: string;
  readonly task: string;
}

export type PairingSource = 'pair' | 'metadata' | 'file name';

export interface Pairing {
  readonly task: string;
  readonly source: PairingSource;
}

/** How a pairing was made, for messages: "by --pair", "by its weightsep.task metadata", … */
export function pairingText(source: PairingSource): string {
  if (source === 'pair') return 'by --pair';
  if (source === 'metadata') return `by its ${TASK_KEY} metadata`;
  return 'by its file name';
}

/**
 * Reads `model.onnx=task[,model2.onnx=task2]`; model paths are resolved against `cwd`. A model named
 * twice is a usage error (which task would win?).
 */
export function parsePairs(text: string, cwd: string): Result<ModelPair[]> {
  const pairs: ModelPair[] = [];
  for (const entry of text.split(',').filter((e) => e.trim() !== '')) {
    // Task ids never hold '=', so the last one separates even a path that contains '='.
    const at = entry.lastIndexOf('=');
    const model = at > 0 ? entry.slice(0, at).trim() : '';
    const task = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!model || !task)
      return fail(
        'E_USAGE',
        `--pair entry "${entry}" is not <model.onnx>=<task>.`,
        'Example: --pair models/letters.onnx=letters,models/kws.onnx=keywords',
      );
    if (!/^[A-Za-z0-9_-]+$/.test(task))
      return fail(
        'E_USAGE',
        `--pair entry "${entry}": '${task}' is not a task id (letters, digits, _ and - only).`,
      );
    const path = isAbsolute(model) ? model : resolve(cwd, model);
    const earlier = pairs.find((p) => p.model === path);
    if (earlier)
      return fail(
        'E_USAGE',
        `--pair names ${model} twice (with '${earlier.task}' and '${task}').`,
        'Pair each model with one task.',
      );
    pairs.push({ model: path, task });
  }
  if (pairs.length === 0)
    return fail(
      'E_USAGE',
      '--pair needs at least one <model.onnx>=<task>.',
      'Example: --pair m.onnx=letters',
    );
  return ok(pairs);
}

/** The task of the model at `path` (absolute): its pair, else its metadata, else its file name. */
export function pairingOf(model: Model, path: string, pairs: readonly ModelPair[] = []): Pairing {
  const pair = pairs.find((p) => p.model === path);
  if (pair) return { task: pair.task, source: 'pair' };
  const meta = model.metadata[TASK_KEY];
  if (meta !== undefined && meta !== '') return { task: meta, source: 'metadata' };
  return { task: basename(path).replace(/\.onnx$/i, ''), source: 'file name' };
}

/**
 * Sets metadata entries of an .onnx file in place (atomically: temporary file, then rename). Works on
 * the protobuf message itself, so every other field of the file is kept as it was.
 */
export function setModelMetadata(path: string, entries: Readonly<Record<string, string>>): Result<void> {
  const read = readModelBytes(path);
  if (!read.ok) return read;
  const bytes = read.value;
  let proto: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (thrown) {
    return fail('E_ONNX_NOT_ONNX', `${path} is not a readable ONNX model: ${(thrown as Error).message}.`);
  }
  if (!proto.graph) return fail('E_ONNX_NOT_ONNX', `${path} is not an ONNX model: it holds no graph.`);
  const props = (proto.metadataProps ?? []).filter((p) => !((p.key ?? '') in entries));
  for (const [key, value] of Object.entries(entries))
    props.push(onnx.StringStringEntryProto.create({ key, value }));
  proto.metadataProps = props;
  return writeFileAtomic(path, onnx.ModelProto.encode(proto).finish());
}
