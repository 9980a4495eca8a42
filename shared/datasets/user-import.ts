/**
 * `wsep data import`: turns a user's own data (an image folder, a CSV, NumPy arrays) into a task
 * folder of the in-repo format (format.ts), which `wsep train`, `wsep plan` and `wsep eval` read
 * like any bundled task. The source is read and checked completely, labels mapped to classes, the
 * splits chosen and the values encoded before anything is written; the folder is then written
 * atomically (write.ts), so a failure at any point leaves no task folder and no temporary files.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { formatBytes } from '../core/units.ts';
import type { NormalizationPolicy, StoredDtype, TaskMeta } from './format.ts';
import { DEFAULT_DATA_ROOT, listTasks, loadTask } from './load.ts';
import { sampleSize, type Preprocessing } from './types.ts';
import { packTask, writeTaskDir } from './write.ts';
import { readCsvSource } from './user/csv.ts';
import { readImageFolders } from './user/images.ts';
import { assignClasses, readGroupsFile } from './user/labels.ts';
import { isNpy, isZip, readNumpySource } from './user/numpy.ts';
import {
  exists,
  isDirectory,
  readHead,
  shapeText,
  type GroupId,
  type RawSource,
  type SourceKind,
} from './user/source.ts';
import { chooseSplit } from './user/splits.ts';

export type NormalizeChoice = 'channel' | 'global' | 'none';

export interface UserImportOptions {
  /** Image folder, CSV file, .npz, x.npy, or a folder holding x.npy and y.npy. */
  readonly source: string;
  readonly task: string;
  /** The folder the task folder is written into (see roots.ts `importRoot`). */
  readonly root: string;
  /** Relative paths are read from here. */
  readonly cwd: string;
  readonly force?: boolean;
  readonly title?: string;
  readonly license?: string;
  /** A second source of the same kind that is the test split as it is. */
  readonly test?: string;
  readonly testLabels?: string;
  readonly labels?: string;
  readonly groups?: string;
  readonly testGroups?: string;
  /** Share of the main source carved off as test when there is no --test (default 0.2). */
  readonly testFraction?: number;
  /** Share of the non-test part held out for validation (default 0.15). */
  readonly valFraction?: number;
  readonly seed?: number;
  readonly normalize?: NormalizeChoice;
  readonly classes?: readonly string[];
  // Image folders.
  readonly size?: { readonly width: number; readonly height: number };
  readonly channels?: 1 | 3;
  // CSV.
  readonly header?: boolean;
  readonly labelColumn?: string;
  readonly groupColumn?: string;
  readonly shape?: readonly number[];
  readonly delimiter?: string;
  // NumPy.
  readonly layout?: 'hwc';
  /** One line per stage (reading, splitting, writing), for a command to show. */
  readonly onStage?: (line: string) => void;
}

export interface UserImportResult {
  readonly dir: string;
  readonly meta: TaskMeta;
  /** The normalisation the loader derives (train statistics), as a device would apply it. */
  readonly preprocessing: Preprocessing;
  /** Things worth knowing that did not stop the import. */
  readonly warnings: readonly string[];
}

export const DEFAULT_TEST_FRACTION = 0.2;
export const DEFAULT_VAL_FRACTION = 0.15;
/** Stands in as the group of --test samples that have none, so perSample.group covers every sample. */
export const TEST_SOURCE_GROUP = '(test source)';

const KIND_WORDS: Readonly<Record<SourceKind, string>> = {
  images: 'an image folder',
  csv: 'a CSV file',
  numpy: 'NumPy data',
};

/** Which kind of source a path is: by folder contents or the file's first bytes, not its name. */
export function detectKind(path: string, cwd: string): Result<SourceKind> {
  if (!exists(path, cwd)) return fail('E_NOT_FOUND', `No file or folder at ${path}.`, 'Check the path.');
  if (isDirectory(path, cwd)) return ok(exists(join(path, 'x.npy'), cwd) ? 'numpy' : 'images');
  const bytes = readHead(path, cwd, 8);
  if (!bytes.ok) return bytes;
  if (isZip(bytes.value) || isNpy(bytes.value)) return ok('numpy');
  return ok('csv');
}

function usage(message: string, hint?: string): Result<never> {
  return fail('E_USAGE', message, hint);
}

/** Options that only make sense for some kinds of source are refused for the others. */
function checkOptions(o: UserImportOptions, kind: SourceKind): Result<void> {
  const only: [keyof UserImportOptions, string, SourceKind][] = [
    ['size', '--size', 'images'],
    ['channels', '--channels', 'images'],
    ['header', '--header / --no-header', 'csv'],
    ['labelColumn', '--label-column', 'csv'],
    ['groupColumn', '--group-column', 'csv'],
    ['shape', '--shape', 'csv'],
    ['delimiter', '--delimiter', 'csv'],
    ['layout', '--layout', 'numpy'],
    ['labels', '--labels', 'numpy'],
    ['testLabels', '--test-labels', 'numpy'],
  ];
  for (const [key, flag, k] of only)
    if (o[key] !== undefined && kind !== k)
      return usage(`${flag} applies to ${KIND_WORDS[k]}, but ${o.source} is ${KIND_WORDS[kind]}.`);
  if (o.test !== undefined && o.testFraction !== undefined)
    return usage(
      '--test-fraction carves the test split off the source; with --test the test split is given.',
      'Drop one of them.',
    );
  if (o.test === undefined && (o.testLabels !== undefined || o.testGroups !== undefined))
    return usage('--test-labels and --test-groups describe the --test source; pass --test too.');
  if (o.groups !== undefined && o.groupColumn !== undefined)
    return usage('--groups and --group-column both give the groups; use one.');
  for (const [name, v] of [
    ['--test-fraction', o.testFraction],
    ['--val-fraction', o.valFraction],
  ] as const) {
    if (v !== undefined && !(v > 0 && v < 1))
      return usage(`${name} must be between 0 and 1 (exclusive), got ${v}.`);
  }
  if (o.seed !== undefined && !(Number.isSafeInteger(o.seed) && o.seed >= 0))
    return usage(`--seed must be a whole number ≥ 0, got ${o.seed}.`);
  return ok(undefined);
}

function readSource(
  kind: Exclude<SourceKind, 'images'>,
  path: string,
  labels: string | undefined,
  o: UserImportOptions,
): Result<RawSource> {
  if (kind === 'csv') {
    return readCsvSource(path, o.cwd, {
      ...(o.header !== undefined ? { header: o.header } : {}),
      ...(o.labelColumn !== undefined ? { labelColumn: o.labelColumn } : {}),
      ...(o.groupColumn !== undefined ? { groupColumn: o.groupColumn } : {}),
      ...(o.shape !== undefined ? { shape: o.shape } : {}),
      ...(o.delimiter !== undefined ? { delimiter: o.delimiter } : {}),
    });
  }
  return readNumpySource(path, o.cwd, {
    ...(labels !== undefined ? { labels } : {}),
    ...(o.layout !== undefined ? { layout: o.layout } : {}),
  });
}

/** Attaches a --groups / --test-groups file to a source (which must not carry groups already). */
function withGroups(src: RawSource, file: string | undefined, o: UserImportOptions): Result<RawSource> {
  if (file === undefined) return ok(src);
  if (src.groups) {
    return usage(
      `${src.path} already holds groups (${src.groupName}); ${file} would replace them.`,
      'Drop the groups file, or remove the groups from the source.',
    );
  }
  const groups = readGroupsFile(file, o.cwd, src.n, src.path);
  if (!groups.ok) return groups;
  return ok({ ...src, groups: groups.value, groupName: basename(file).replace(/\.[^.]*$/, '') || 'group' });
}

/** int16 when every value is an integer it holds exactly (no loss, half the bytes), else float32. */
export function floatDtype(x: Float32Array): StoredDtype {
  for (const v of x) if (!Number.isInteger(v) || v < -32767 || v > 32767) return 'float32';
  return 'int16';
}

function normalization(
  choice: NormalizeChoice,
  pixels: boolean,
  inputShape: readonly number[],
): NormalizationPolicy {
  const scale = pixels ? 1 / 255 : 1;
  const after = pixels ? ', after · 1/255' : '';
  if (choice === 'none')
    return {
      scale,
      axis: null,
      method: 'none',
      description: `none: samples are used as stored${after} (mean 0, std 1)`,
    };
  if (choice === 'global')
    return {
      scale,
      axis: null,
      description: `one mean and std over all values${after}, statistics from the train split`,
    };
  const what =
    pixels && inputShape.length === 3
      ? 'channel'
      : inputShape.length === 1
        ? 'feature'
        : 'index of input axis 0';
  return {
    scale,
    axis: 0,
    description: `per ${what} (axis 0 of inputShape ${shapeText(inputShape)})${after}, statistics from the train split`,
  };
}

/** The main source's samples followed by the test source's (both of the main source's type). */
function concat(a: Uint8Array | Float32Array, b: Uint8Array | Float32Array | undefined, length: number) {
  const out = a instanceof Uint8Array ? new Uint8Array(length) : new Float32Array(length);
  out.set(a);
  if (b) out.set(b, a.length);
  return out;
}

export function importUserData(o: UserImportOptions): Result<UserImportResult> {
  const stage = o.onStage ?? (() => {});
  if (!/^[A-Za-z0-9_-]+$/.test(o.task))
    return usage(
      `'${o.task}' is not a task id; use letters, digits, _ and - only.`,
      'e.g. --task my_sensors',
    );
  const dir = join(o.root, o.task);
  if (existsSync(dir) && !o.force)
    return usage(`${dir} already exists.`, 'Pass --force to replace it, or choose another --task id.');

  const kind = detectKind(o.source, o.cwd);
  if (!kind.ok) return kind;
  const checked = checkOptions(o, kind.value);
  if (!checked.ok) return checked;
  if (o.test !== undefined) {
    const testKind = detectKind(o.test, o.cwd);
    if (!testKind.ok) return testKind;
    if (testKind.value !== kind.value)
      return usage(
        `--test ${o.test} is ${KIND_WORDS[testKind.value]}, but the source ${o.source} is ${KIND_WORDS[kind.value]}; both must be of one kind.`,
      );
  }

  stage(
    `reading ${o.source} (${KIND_WORDS[kind.value]})${o.test !== undefined ? ` and --test ${o.test}` : ''}`,
  );
  let main: RawSource;
  let test: RawSource | undefined;
  if (kind.value === 'images') {
    const read = readImageFolders(o.source, o.test, o.cwd, {
      ...(o.size ? { size: o.size } : {}),
      ...(o.channels ? { channels: o.channels } : {}),
    });
    if (!read.ok) return read;
    main = read.value.main;
    test = read.value.test;
  } else {
    const m = readSource(kind.value, o.source, o.labels, o);
    if (!m.ok) return m;
    main = m.value;
    if (o.test !== undefined) {
      const t = readSource(kind.value, o.test, o.testLabels, o);
      if (!t.ok) return t;
      test = t.value;
    }
  }
  const g = withGroups(main, o.groups, o);
  if (!g.ok) return g;
  main = g.value;
  if (test) {
    const tg = withGroups(test, o.testGroups, o);
    if (!tg.ok) return tg;
    test = tg.value;
    if (shapeText(test.storedShape) !== shapeText(main.storedShape) || test.layout !== main.layout) {
      return fail(
        'E_DATASET',
        `The --test samples are ${shapeText(test.storedShape)} but the source samples are ${shapeText(main.storedShape)}; both must have one sample shape.`,
      );
    }
    if (test.x.constructor !== main.x.constructor) {
      return fail(
        'E_DATASET',
        `The --test samples are ${test.x instanceof Uint8Array ? 'uint8' : 'not uint8'} but the source samples are ${main.x instanceof Uint8Array ? 'uint8' : 'not uint8'}; save both with one dtype.`,
      );
    }
  }
  stage(
    `read ${main.n} samples of ${shapeText(main.storedShape)} from ${o.source}${test ? `, ${test.n} from ${o.test}` : ''}`,
  );

  const labelled = assignClasses(test ? [main, test] : [main], o.classes);
  if (!labelled.ok) return labelled;
  const { classes } = labelled.value;
  const n = main.n + (test?.n ?? 0);
  const y = new Uint8Array(n);
  y.set(labelled.value.y[0]!);
  if (test) y.set(labelled.value.y[1]!, main.n);

  const warnings: string[] = [];
  let groups: GroupId[] | undefined;
  if (main.groups) {
    groups = [...main.groups];
    if (test) {
      if (test.groups) {
        const mainSet = new Set(main.groups.map(String));
        const shared = [...new Set(test.groups.map(String))].filter((v) => mainSet.has(v));
        if (shared.length > 0)
          warnings.push(
            `${shared.length} ${main.groupName} value${shared.length > 1 ? 's' : ''} (${shared.slice(0, 5).join(', ')}${shared.length > 5 ? ', …' : ''}) occur in both the source and --test; test is then not group-disjoint from train.`,
          );
        groups.push(...test.groups);
      } else groups.push(...new Array<GroupId>(test.n).fill(TEST_SOURCE_GROUP));
    }
  }

  const choice = chooseSplit({
    mainCount: main.n,
    testCount: test?.n ?? 0,
    y,
    classes,
    ...(main.groups ? { groups: main.groups, groupName: main.groupName ?? 'group' } : {}),
    testFraction: o.testFraction ?? DEFAULT_TEST_FRACTION,
    valFraction: o.valFraction ?? DEFAULT_VAL_FRACTION,
    seed: o.seed ?? 0,
    mainPath: o.source,
    ...(o.test !== undefined ? { testPath: o.test } : {}),
  });
  if (!choice.ok) return choice;
  const { split, method } = choice.value;
  stage(
    `split: train ${split.train.length}, val ${split.val.length}, test ${split.test.length} (${main.groups ? `group-disjoint by ${main.groupName}` : 'stratified by class'})`,
  );

  const x = concat(main.x, test?.x, n * sampleSize(main.storedShape));
  const dtype: StoredDtype = x instanceof Uint8Array ? 'uint8' : floatDtype(x);
  const pixels = x instanceof Uint8Array;

  const packed = (() => {
    try {
      return ok(
        packTask({
          task: o.task,
          title: o.title ?? `${o.task}: imported from ${basename(o.source)}`,
          classes,
          storedShape: main.storedShape,
          inputShape: main.inputShape,
          layout: main.layout,
          permutation: main.permutation,
          x,
          y,
          dtype,
          split,
          splitMethod: method,
          normalization: normalization(o.normalize ?? 'channel', pixels, main.inputShape),
          source: test ? `${main.description}; test: ${test.description}` : main.description,
          license: o.license ?? 'not stated (imported with wsep data import; pass --license to record it)',
          notes: [
            ...main.notes,
            ...(test
              ? [
                  ...test.notes,
                  `perSample.sourceIndex: 0..${main.n - 1} are ${o.source}, ${main.n}..${n - 1} are the --test source ${o.test} in its order.`,
                ]
              : []),
            ...(groups && test && !test.groups
              ? [
                  `perSample.group of the --test samples is '${TEST_SOURCE_GROUP}' (the --test source has no groups).`,
                ]
              : []),
          ],
          ...(groups ? { groups, groupName: main.groupName ?? 'group' } : {}),
        }),
      );
    } catch (thrown) {
      return fail('E_INTERNAL', `Cannot pack ${o.task}: ${(thrown as Error).message}`);
    }
  })();
  if (!packed.ok) return packed;
  const meta = packed.value.meta;
  stage(
    `encoding: ${meta.x.dtype} ${shapeText(meta.storedShape)}, ${formatBytes(meta.x.bytes + meta.y.bytes)} (${meta.x.maxAbsError === 0 ? 'exact' : `max error ${meta.x.maxAbsError}`})`,
  );

  const written = writeTaskDir(o.root, packed.value);
  if (!written.ok) return written;
  // Read back through the loader every command uses: checks the folder and gives the statistics.
  const loaded = loadTask(o.task, { roots: [o.root] });
  if (!loaded.ok) return loaded;
  stage(`wrote ${written.value}`);
  const bundled = listTasks(DEFAULT_DATA_ROOT);
  if (bundled.ok && bundled.value.includes(o.task) && o.root !== DEFAULT_DATA_ROOT)
    warnings.push(
      `'${o.task}' is also a bundled task: commands reading ${o.root} first will use this one instead.`,
    );
  return ok({ dir: written.value, meta, preprocessing: loaded.value.preprocessing, warnings });
}
