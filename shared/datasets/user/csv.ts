/**
 * A CSV file as a source: one sample per row, one label column, an optional group column, every
 * other column a numeric feature. The first row is a header when it names columns: it is said so
 * (--header / --no-header), or a column is chosen by name, or the first row holds a non-number in a
 * feature column.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import { parseCsv, parseNumber } from '../decode/csv.ts';
import { readBytes, shapeText, type RawLabel, type RawSource } from './source.ts';

export interface CsvSourceOptions {
  readonly header?: boolean;
  /** A header name, or a 1-based column number; default: the column named `label`, else the last. */
  readonly labelColumn?: string;
  readonly groupColumn?: string;
  /** Model input shape of the features (their product must be the feature count); default [F]. */
  readonly shape?: readonly number[];
  readonly delimiter?: string;
}

const isColumnNumber = (spec: string): boolean => /^\d+$/.test(spec);

/** The 0-based column a spec names: a header name first, else a 1-based number. */
function resolveColumn(
  spec: string,
  option: string,
  header: readonly string[] | null,
  width: number,
  path: string,
): Result<number> {
  if (header) {
    const byName = header.indexOf(spec);
    if (byName >= 0) return ok(byName);
  }
  if (isColumnNumber(spec) && Number(spec) >= 1 && Number(spec) <= width) return ok(Number(spec) - 1);
  const columns = header
    ? `its columns are ${header.map((h) => `'${h}'`).join(', ')}`
    : `it has ${width} columns and no header row`;
  return fail(
    'E_USAGE',
    `--${option} '${spec}' is not a column of ${path} (${columns}).`,
    'Name a column from the header, or give its number counting from 1.',
  );
}

export function readCsvSource(path: string, cwd: string, options: CsvSourceOptions): Result<RawSource> {
  const bytes = readBytes(path, cwd, 'CSV file');
  if (!bytes.ok) return bytes;
  const table = parseCsv(bytes.value, path, options.delimiter ? { delimiter: options.delimiter } : {});
  if (!table.ok) return table;
  const { rows, lines } = table.value;
  const width = rows[0]!.length;
  if (width < 2) {
    return fail(
      'E_DATASET',
      `${path} has ${width} column; it needs a label column and at least one feature column.`,
      'Separate cells with commas (or pass --delimiter).',
    );
  }

  const first = rows[0]!;
  const named = (spec: string | undefined) => spec !== undefined && !isColumnNumber(spec);
  let hasHeader: boolean;
  if (options.header !== undefined) hasHeader = options.header;
  else if (named(options.labelColumn) || named(options.groupColumn)) hasHeader = true;
  else if (options.labelColumn === undefined && first.some((c) => c.toLowerCase() === 'label'))
    hasHeader = true;
  else {
    const label = options.labelColumn !== undefined ? Number(options.labelColumn) - 1 : width - 1;
    const group = options.groupColumn !== undefined ? Number(options.groupColumn) - 1 : -1;
    hasHeader = first.some((c, j) => j !== label && j !== group && parseNumber(c) === null);
  }
  const header = hasHeader ? first : null;
  if (header && rows.length < 2) return fail('E_DATASET', `${path} has a header row but no data rows.`);

  let labelCol: number;
  if (options.labelColumn !== undefined) {
    const r = resolveColumn(options.labelColumn, 'label-column', header, width, path);
    if (!r.ok) return r;
    labelCol = r.value;
  } else {
    const byName = header ? header.findIndex((h) => h.toLowerCase() === 'label') : -1;
    labelCol = byName >= 0 ? byName : width - 1;
  }
  let groupCol = -1;
  if (options.groupColumn !== undefined) {
    const r = resolveColumn(options.groupColumn, 'group-column', header, width, path);
    if (!r.ok) return r;
    groupCol = r.value;
    if (groupCol === labelCol)
      return fail(
        'E_USAGE',
        `--group-column and the label column are the same column (${groupCol + 1}) of ${path}.`,
      );
  }
  const features = [...Array(width).keys()].filter((j) => j !== labelCol && j !== groupCol);
  if (features.length === 0)
    return fail('E_DATASET', `${path} has no feature columns besides the label and group columns.`);
  const F = features.length;
  const shape = options.shape ?? [F];
  if (shape.reduce((a, b) => a * b, 1) !== F) {
    return fail(
      'E_USAGE',
      `--shape ${shape.join('x')} holds ${shape.reduce((a, b) => a * b, 1)} values, but ${path} has ${F} feature columns.`,
      'The product of --shape must equal the number of feature columns.',
    );
  }

  const colName = (j: number) => `column ${j + 1}${header ? ` ('${header[j]}')` : ''}`;
  const start = header ? 1 : 0;
  const n = rows.length - start;
  const x = new Float32Array(n * F);
  const labels: RawLabel[] = new Array(n);
  const groups: string[] = [];
  const rowLines = lines.slice(start);
  for (let i = 0; i < n; i++) {
    const row = rows[start + i]!;
    const line = rowLines[i]!;
    for (let k = 0; k < F; k++) {
      const cell = row[features[k]!]!;
      const v = parseNumber(cell);
      if (v === null) {
        return fail(
          'E_DATASET',
          `${path}, line ${line}, ${colName(features[k]!)}: ${cell === '' ? 'the cell is empty' : `'${cell}' is not a number`}.`,
          'Every column except the label (and group) column must hold plain numbers; choose the label with --label-column.',
        );
      }
      x[i * F + k] = v;
    }
    const label = row[labelCol]!;
    if (label === '')
      return fail('E_DATASET', `${path}, line ${line}, ${colName(labelCol)}: the label is empty.`);
    labels[i] = label;
    if (groupCol >= 0) {
      const g = row[groupCol]!;
      if (g === '')
        return fail('E_DATASET', `${path}, line ${line}, ${colName(groupCol)}: the group is empty.`);
      groups.push(g);
    }
  }
  // Number labels (0, 1, 2 or 3.5) are classes by value; any other text makes them class names.
  const numbers = labels.map((l) => parseNumber(String(l)));
  if (numbers.every((v) => v !== null)) numbers.forEach((v, i) => (labels[i] = v!));

  const notes = [
    `Samples are the data rows of ${path} in file order; perSample.sourceIndex counts them from 0 (the first data row, line ${rowLines[0]}).`,
    `Label ${colName(labelCol)}${groupCol >= 0 ? `, group ${colName(groupCol)}` : ''}; features: the other ${F} columns${header ? '' : ' (no header row)'}.`,
  ];
  return ok({
    kind: 'csv',
    path,
    n,
    x,
    storedShape: shape,
    inputShape: shape,
    permutation: shape.map((_, a) => a),
    layout: 'none',
    labels,
    where: (i) => `${path}, line ${rowLines[i]}`,
    ...(groupCol >= 0 ? { groups, groupName: header ? header[groupCol]! : `column ${groupCol + 1}` } : {}),
    description: `CSV ${path}: ${n} rows, ${F} feature columns as ${shapeText(shape)}, label ${colName(labelCol)}${groupCol >= 0 ? `, group ${colName(groupCol)}` : ''}`,
    notes,
  });
}
