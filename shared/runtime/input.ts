/**
 * One input file for one model of a bundle, turned into model input: a NumPy array of raw values (in
 * the model's layout or the task data's stored layout, with or without a batch axis of 1), an image
 * (PNG or JPEG: its 0..255 pixels are the raw values of an image task), or a CSV file holding one row
 * of numeric features (a header row allowed). The bundle's preprocessing is then applied exactly as the
 * task loader applies it (preprocess.ts), so a sample taken from a task's data gives the same model
 * input the planner and `wsep eval` used.
 *
 * The format is taken from the file's first bytes (NumPy magic, PNG, JPEG); other files are read as
 * CSV when named .csv, .tsv or .txt. A file that does not fit the model is E_DATA_MISMATCH saying what
 * the model takes and what the file holds.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { parseCsv, parseNumber } from '../datasets/decode/csv.ts';
import { convertChannels, decodeImage, sniffImage, type DecodedImage } from '../datasets/decode/image.ts';
import { readNpy } from '../datasets/decode/npy.ts';
import { permuteSamples } from '../datasets/layout.ts';
import { preprocessSample, storedLayout, type StoredLayout } from './preprocess.ts';
import type { RuntimeModelInfo } from './runtime.ts';

export type InputKind = 'npy' | 'image' | 'csv';

export interface PreparedInput {
  /** One sample in model layout (inputShape), preprocessed: ready for `PagedRuntime.run(x, 1)`. */
  readonly x: Float32Array;
  readonly kind: InputKind;
  /** What the file held, in words, e.g. 'PNG image 8×8, grey' or 'array [8, 8, 1] of uint8'. */
  readonly held: string;
  /** How it was read and converted, in words, e.g. 'stored layout HWC->CHW', 'RGB converted to grey'. */
  readonly notes: readonly string[];
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const CSV_EXTENSIONS = new Set(['.csv', '.tsv', '.txt']);

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;
const squeeze = (s: readonly number[]): number[] => s.filter((d) => d !== 1);
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** What model `info` takes, in words, for messages. */
export function describeModelInput(info: RuntimeModelInfo): string {
  const layout = storedLayout(info.preprocessing, info.inputShape);
  const stored =
    layout.ok && !sameShape(layout.value.storedShape, info.inputShape)
      ? ` (or ${shapeText(layout.value.storedShape)} in the data's stored layout, ${info.preprocessing.layout})`
      : '';
  return `an array of shape ${shapeText(info.inputShape)}${stored}`;
}

/** Reads `file` and prepares it as input for the model `info` describes. */
export function prepareInput(file: string, info: RuntimeModelInfo): Result<PreparedInput> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? fail('E_NOT_FOUND', `No input file ${file}.`)
      : fail('E_IO', `Cannot read ${file}: ${(thrown as Error).message}`);
  }
  return prepareInputBytes(bytes, file, info);
}

/** As `prepareInput`, for bytes already read; `file` names the input in messages and picks CSV. */
export function prepareInputBytes(
  bytes: Uint8Array,
  file: string,
  info: RuntimeModelInfo,
): Result<PreparedInput> {
  const layout = storedLayout(info.preprocessing, info.inputShape);
  if (!layout.ok) return layout;
  if (bytes.length >= 6 && NPY_MAGIC.every((b, i) => bytes[i] === b))
    return fromNpy(bytes, file, info, layout.value);
  if (sniffImage(bytes) !== null) return fromImage(bytes, file, info, layout.value);
  if (CSV_EXTENSIONS.has(extname(file).toLowerCase())) return fromCsv(bytes, file, info, layout.value);
  return fail(
    'E_USAGE',
    `Cannot tell what ${basename(file)} holds: it is not a NumPy .npy file, a PNG or a JPEG, and is not named .csv.`,
    'Pass a .npy array, a .png / .jpg image or a .csv file with one row of features.',
  );
}

function finish(
  file: string,
  raw: Float32Array,
  from: 'stored' | 'model',
  info: RuntimeModelInfo,
  kind: InputKind,
  held: string,
  notes: string[],
): Result<PreparedInput> {
  const bad = raw.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)} holds ${raw[bad]} at flat index ${bad}; values must be finite.`,
    );
  const x = preprocessSample(raw, from, info.preprocessing, info.inputShape);
  if (!x.ok) return x;
  return ok({ x: x.value, kind, held, notes });
}

function fromNpy(
  bytes: Uint8Array,
  file: string,
  info: RuntimeModelInfo,
  layout: StoredLayout,
): Result<PreparedInput> {
  const array = readNpy(bytes, file);
  if (!array.ok) return array;
  const { shape, dtype, values } = array.value;
  const held = `array ${shapeText(shape)} of ${dtype}`;
  const raw = Float32Array.from(values);
  const fits = (target: readonly number[]): boolean =>
    sameShape(shape, target) || sameShape(shape, [1, ...target]);
  const stored = `stored layout ${info.preprocessing.layout}`;
  if (fits(info.inputShape)) {
    const notes = ['model layout'];
    if (!layout.identity && fits(layout.storedShape))
      notes.push(`the shape fits the ${stored} too; read as model layout`);
    return finish(file, raw, 'model', info, 'npy', held, notes);
  }
  if (fits(layout.storedShape)) return finish(file, raw, 'stored', info, 'npy', held, [stored]);
  // Other size-1 axes (a channel of 1 left out or added) do not change the order of the values.
  const s = squeeze(shape);
  if (sameShape(s, squeeze(info.inputShape)))
    return finish(file, raw, 'model', info, 'npy', held, ['model layout, size-1 axes ignored']);
  if (sameShape(s, squeeze(layout.storedShape)))
    return finish(file, raw, 'stored', info, 'npy', held, [`${stored}, size-1 axes ignored`]);
  const per = info.inputShape.reduce((a, b) => a * b, 1);
  const several =
    shape.length > 1 && shape[0]! > 1 && shape.slice(1).reduce((a, b) => a * b, 1) === per
      ? ` It looks like ${shape[0]} samples; wsep run classifies one.`
      : '';
  return fail(
    'E_DATA_MISMATCH',
    `${basename(file)} holds ${held}, but model "${info.name}" takes ${describeModelInput(info)}, optionally with a leading batch axis of 1.${several}`,
    several ? 'Save one sample, e.g. np.save(path, x[i:i+1]).' : undefined,
  );
}

/** Image geometry of the stored layout: height, width and channels, or undefined for non-image tasks. */
function imageGeometry(layout: StoredLayout): { h: number; w: number; c: number } | undefined {
  const L = layout.letters;
  if (!L.includes('H') || !L.includes('W') || !/^[HWC]+$/.test(L)) return undefined;
  const size = (letter: string): number => (L.includes(letter) ? layout.storedShape[L.indexOf(letter)]! : 1);
  return { h: size('H'), w: size('W'), c: size('C') };
}

function fromImage(
  bytes: Uint8Array,
  file: string,
  info: RuntimeModelInfo,
  layout: StoredLayout,
): Result<PreparedInput> {
  const decoded = decodeImage(bytes, file);
  if (!decoded.ok) return decoded;
  let img: DecodedImage = decoded.value;
  const colour = (c: number): string => (c === 1 ? 'grey' : c === 3 ? 'RGB' : `${c} channels`);
  const held = `${sniffImage(bytes) === 'png' ? 'PNG' : 'JPEG'} image ${img.width}×${img.height}, ${colour(img.channels)}`;
  const geometry = imageGeometry(layout);
  if (!geometry)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)} is an image, but model "${info.name}" does not take images: it takes ${describeModelInput(info)} (layout "${info.preprocessing.layout}").`,
      'Pass a .npy array or a .csv row of its features.',
    );
  const { h, w, c } = geometry;
  if (img.width !== w || img.height !== h)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)} is ${img.width}×${img.height} pixels, but model "${info.name}" takes ${w}×${h} ${colour(c)} images.`,
      `Resize the image to ${w}×${h} pixels first.`,
    );
  const notes: string[] = [];
  if (img.channels !== c) {
    if (c !== 1 && c !== 3)
      return fail(
        'E_DATA_MISMATCH',
        `${basename(file)} has ${colour(img.channels)} pixels, but model "${info.name}" takes images with ${c} channels.`,
      );
    notes.push(`${colour(img.channels)} converted to ${colour(c)}`);
    img = convertChannels(img, c);
  }
  // Pixels come as HWC; the stored layout may name the same axes in another order.
  const from = c === 1 && !layout.letters.includes('C') ? 'HW' : 'HWC';
  const raw = new Float32Array(img.pixels);
  const stored = new Float32Array(raw.length);
  permuteSamples(
    raw,
    stored,
    1,
    [...from].map((l) => (l === 'H' ? h : l === 'W' ? w : c)),
    [...layout.letters].map((l) => from.indexOf(l)),
  );
  return finish(file, stored, 'stored', info, 'image', held, notes);
}

function fromCsv(
  bytes: Uint8Array,
  file: string,
  info: RuntimeModelInfo,
  layout: StoredLayout,
): Result<PreparedInput> {
  const table = parseCsv(bytes, file);
  if (!table.ok) return table;
  const { rows, lines } = table.value;
  const numeric = (row: readonly string[]): boolean => row.every((cell) => parseNumber(cell) !== null);
  const header = !numeric(rows[0]!);
  const data = header ? rows.slice(1) : rows;
  const dataLines = header ? lines.slice(1) : lines;
  if (data.length === 0)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)} holds only a header row, no features (a first row with a non-numeric cell is read as the header).`,
    );
  if (data.length > 1)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)} holds ${data.length} rows of features; wsep run classifies one input.`,
      'Keep one row (and the header, if any).',
    );
  const row = data[0]!;
  const badCell = row.findIndex((cell) => parseNumber(cell) === null);
  if (badCell >= 0)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)}, line ${dataLines[0]}, column ${badCell + 1}: "${row[badCell]}" is not a number.`,
    );
  const per = info.inputShape.reduce((a, b) => a * b, 1);
  if (row.length !== per)
    return fail(
      'E_DATA_MISMATCH',
      `${basename(file)} holds ${row.length} values in its row, but model "${info.name}" takes ${per} features${per === info.inputShape[0] ? '' : ` (${describeModelInput(info)})`}.`,
      row.length === per + 1 ? 'Drop the label column.' : undefined,
    );
  const raw = Float32Array.from(row.map((cell) => parseNumber(cell)!));
  const notes = header ? ['header row skipped'] : [];
  if (!layout.identity) notes.push(`values read in the stored layout ${info.preprocessing.layout}`);
  return finish(
    file,
    raw,
    layout.identity ? 'model' : 'stored',
    info,
    'csv',
    `CSV row of ${row.length} values`,
    notes,
  );
}
