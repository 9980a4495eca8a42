/**
 * From raw labels to class indices, and per-sample groups from a file. Classes are the main
 * source's distinct labels, sorted (numbers by value, names by name), unless --classes fixes the
 * names and their order; the --test source must use the same classes. Every class needs two
 * samples in the main source, one to train on and one to split off.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import { readNpy } from '../decode/npy.ts';
import { sortNames } from './images.ts';
import { readBytes, shapeText, type GroupId, type RawSource } from './source.ts';
import { isNpy } from './numpy.ts';

/** The most classes a task holds: labels are stored as one byte. */
export const MAX_CLASSES = 256;

export interface Classes {
  readonly classes: readonly string[];
  /** Class index per sample of each source, in the order given. */
  readonly y: readonly Uint8Array[];
}

const quote = (label: string | number) => (typeof label === 'number' ? String(label) : `'${label}'`);

export function assignClasses(sources: readonly RawSource[], given?: readonly string[]): Result<Classes> {
  const main = sources[0]!;
  const numeric = main.labels.every((l) => typeof l === 'number');
  let classes: string[];
  // The index of a raw label, or undefined when it is not a class.
  let index: (label: string | number) => number | undefined;
  let outside: string;
  if (given) {
    if (new Set(given).size !== given.length)
      return fail('E_USAGE', `--classes names a class twice (${given.join(',')}).`);
    classes = [...given];
    if (numeric) {
      index = (l) =>
        typeof l === 'number' && Number.isInteger(l) && l >= 0 && l < given.length ? l : undefined;
      outside = `outside --classes (${given.length} names, so labels 0..${given.length - 1})`;
    } else {
      const at = new Map(given.map((c, i) => [c, i]));
      index = (l) => at.get(String(l));
      outside = `not one of --classes (${given.join(', ')})`;
    }
  } else if (numeric) {
    const values = [...new Set(main.labels as number[])].sort((a, b) => a - b);
    const at = new Map(values.map((v, i) => [v, i]));
    classes = values.map(String);
    index = (l) => (typeof l === 'number' ? at.get(l) : undefined);
    outside = `not a label of ${main.path} (${listed(classes)})`;
  } else {
    classes = sortNames([...new Set(main.labels.map(String))]);
    const at = new Map(classes.map((c, i) => [c, i]));
    index = (l) => at.get(String(l));
    outside = `not a class of ${main.path} (${listed(classes)})`;
  }
  if (classes.length < 2) {
    return fail(
      'E_DATASET',
      `${main.path} has ${classes.length} class${classes.length === 1 ? ` (${quote(classes[0]!)})` : 'es'}; a task needs at least 2.`,
    );
  }
  if (classes.length > MAX_CLASSES)
    return fail(
      'E_DATASET',
      `${main.path} has ${classes.length} classes; a task holds at most ${MAX_CLASSES}.`,
    );

  const y: Uint8Array[] = [];
  for (const src of sources) {
    const out = new Uint8Array(src.n);
    for (let i = 0; i < src.n; i++) {
      const c = index(src.labels[i]!);
      if (c === undefined) {
        return fail(
          'E_DATASET',
          `Label ${quote(src.labels[i]!)} at ${src.where(i)} is ${outside}.`,
          given
            ? 'Add it to --classes, or fix the label.'
            : 'Every label of the --test source must also occur in the main source.',
        );
      }
      out[i] = c;
    }
    y.push(out);
  }
  const counts = new Array<number>(classes.length).fill(0);
  for (const c of y[0]!) counts[c]!++;
  const few = counts.findIndex((k) => k < 2);
  if (few >= 0) {
    return fail(
      'E_DATASET',
      `Class '${classes[few]}' has ${counts[few]} sample${counts[few] === 1 ? '' : 's'} in ${main.path}; every class needs at least 2 (one to train on, one to split off).`,
      given ? 'Add samples of it, or leave it out of --classes.' : 'Add samples of it, or remove it.',
      { counts: Object.fromEntries(classes.map((c, i) => [c, counts[i]])) },
    );
  }
  return ok({ classes, y });
}

function listed(classes: readonly string[]): string {
  return classes.length > 12 ? `${classes.slice(0, 12).join(', ')}, …` : classes.join(', ');
}

/** One group per sample from a `.npy` (numbers) or a text file (one per line). */
export function readGroupsFile(path: string, cwd: string, n: number, sourcePath: string): Result<GroupId[]> {
  const bytes = readBytes(path, cwd, 'groups file');
  if (!bytes.ok) return bytes;
  if (isNpy(bytes.value)) {
    const a = readNpy(bytes.value, path);
    if (!a.ok) return a;
    const flat = a.value.shape.length === 1 || (a.value.shape.length === 2 && a.value.shape[1] === 1);
    if (!flat || a.value.shape[0] !== n) {
      return fail(
        'E_DATASET',
        `${path} has shape ${shapeText(a.value.shape)}, but ${sourcePath} holds ${n} samples, so it must be [${n}] (one group per sample).`,
      );
    }
    return ok([...a.value.values]);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.value);
  } catch {
    return fail('E_DATASET', `${path} is neither a .npy file nor UTF-8 text.`, 'Write one group per line.');
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const empty = lines.findIndex((l) => l.trim() === '');
  if (empty >= 0)
    return fail(
      'E_DATASET',
      `${path}, line ${empty + 1}: empty; write one group per line, one line per sample.`,
    );
  if (lines.length !== n) {
    return fail(
      'E_DATASET',
      `${path} has ${lines.length} groups (lines), but ${sourcePath} holds ${n} samples; write one group per sample, in sample order.`,
    );
  }
  return ok(lines.map((l) => l.trim()));
}
