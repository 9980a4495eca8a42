/**
 * An architecture to build for a task's data: one of the zoo's (by task id) or a user's JSON
 * description (arch-file.ts). Either is built with the data's input shape and class count, never its
 * own, so a zoo architecture trained on a 26-class task gets 26 outputs. A layer that cannot take
 * the input (a conv or pool window larger than the map) is an E_DATA_MISMATCH naming the layer and
 * the shapes, with the zoo architectures that do take that input.
 */
import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { attempt, fail, ok, type Result } from '../core/errors.ts';
import { archFileLabel, defineArchFile, parseArchFile, type ArchFile } from './arch-file.ts';
import { buildModel, type BuiltModel } from './model-builder.ts';
import { ZOO_TASKS, zooTask, type TrainingHints } from './tasks.ts';

/** The data an architecture is built for. */
export interface BuildTarget {
  readonly task: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
}

export interface Architecture {
  /** 'zoo:mnist', or the file name of a description. */
  readonly label: string;
  /** The zoo's recipe for this architecture; a description file brings none. */
  readonly recipe?: TrainingHints;
  /** The description, for a file architecture. */
  readonly file?: ArchFile;
  /** The model for `target` (its name is the task id), initialised from `seed`. */
  build(target: BuildTarget, seed: number): Result<BuiltModel>;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Builds and turns a layer's shape complaint into E_DATA_MISMATCH, naming the architecture and task. */
function buildChecked(
  label: string,
  target: BuildTarget,
  make: () => BuiltModel,
  suggestSmaller: boolean,
): Result<BuiltModel> {
  const built = attempt(make);
  if (built.ok || built.error.code !== 'E_USAGE') return built;
  const fitting = ZOO_TASKS.filter(
    (t) => attempt(() => t.describeFor(target.inputShape, target.classes)).ok,
  ).map((t) => t.id);
  return fail(
    'E_DATA_MISMATCH',
    `Architecture ${label} cannot take task '${target.task}' input ${shapeText(target.inputShape)}: ${built.error.message}`,
    [
      suggestSmaller
        ? 'Use an architecture made for inputs this size'
        : 'Use fewer or smaller conv/pool layers (or pad "same", pool 0)',
      fitting.length > 0 ? ` (zoo architectures that take it: ${fitting.join(', ')})` : '',
      ', or describe your own with --arch my-arch.json (fields: wsep model describe --help).',
    ].join(''),
    { task: target.task, inputShape: target.inputShape },
  );
}

function zooArchitecture(id: string): Architecture | undefined {
  const spec = zooTask(id);
  if (!spec) return undefined;
  return {
    label: `zoo:${spec.id}`,
    recipe: spec.training,
    build: (target, seed) =>
      buildChecked(
        `zoo:${spec.id}`,
        target,
        () => spec.describeFor(target.inputShape, target.classes, seed, target.task),
        true,
      ),
  };
}

/** An architecture from a parsed description; `label` names it in messages. */
export function fileArchitecture(spec: ArchFile, label: string): Architecture {
  return {
    label,
    file: spec,
    build: (target, seed) =>
      buildChecked(
        label,
        target,
        () =>
          buildModel(target.task, target.inputShape, seed, (b, x) =>
            defineArchFile(spec, b, x, target.classes),
          ),
        false,
      ),
  };
}

/** True when `value` names a description file rather than a zoo architecture. */
export function isArchFile(value: string): boolean {
  return value.toLowerCase().endsWith('.json');
}

/**
 * `value` is a zoo task id or a path to a `.json` description (relative to `cwd`). An unknown id is
 * E_USAGE listing the zoo architectures.
 */
export function resolveArchitecture(value: string, cwd: string): Result<Architecture> {
  if (isArchFile(value)) {
    const path = isAbsolute(value) ? value : resolve(cwd, value);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (thrown) {
      const code = (thrown as NodeJS.ErrnoException).code;
      return code === 'ENOENT'
        ? fail('E_NOT_FOUND', `No architecture file at ${path}.`)
        : fail('E_IO', `Cannot read ${path}: ${(thrown as Error).message}`);
    }
    const spec = parseArchFile(text, value);
    if (!spec.ok) return spec;
    const summary = archFileLabel(spec.value);
    return ok(fileArchitecture(spec.value, `${basename(path)}${summary ? ` (${summary})` : ''}`));
  }
  const zoo = zooArchitecture(value);
  if (zoo) return ok(zoo);
  return fail(
    'E_USAGE',
    `Unknown architecture '${value}'.`,
    `Give a zoo architecture (${ZOO_TASKS.map((t) => t.id).join(', ')}) or a description file ending in .json.`,
  );
}
