/**
 * CSV text for user data import (csv-parse): records with the line number an editor shows for each,
 * so every later complaint (a ragged row, a non-numeric cell, an unknown label) can point at the line.
 * Cells are trimmed, empty lines skipped, a UTF-8 byte-order mark ignored. Which row is a header and
 * what the columns mean is the importer's business (user-csv.ts); this module only reads the table.
 */
import { parse } from 'csv-parse/sync';
import { fail, ok, type Result } from '../../core/errors.ts';

export interface CsvTable {
  /** Every non-empty record, each with the same number of cells. */
  readonly rows: readonly (readonly string[])[];
  /** 1-based line of each record (its last line, for a quoted cell spanning lines). */
  readonly lines: readonly number[];
}

export interface CsvOptions {
  /** One character; default from the file name: tab for `.tsv`, else comma. */
  readonly delimiter?: string;
}

export function defaultDelimiter(file: string): string {
  return /\.tsv$/i.test(file) ? '\t' : ',';
}

interface InfoRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

export function parseCsv(
  input: Uint8Array | string,
  file: string,
  options: CsvOptions = {},
): Result<CsvTable> {
  const delimiter = options.delimiter ?? defaultDelimiter(file);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (input.includes(0))
      return fail(
        'E_DATASET',
        `${file} is not a text CSV file (it holds NUL bytes).`,
        'Pass a .csv text file.',
      );
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      return fail('E_DATASET', `${file} is not UTF-8 text.`, 'Save the CSV as UTF-8.');
    }
  }
  let records: InfoRecord[];
  try {
    records = parse(text, {
      delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }) as unknown as InfoRecord[];
  } catch (thrown) {
    const e = thrown as Error & { lines?: unknown };
    const line = typeof e.lines === 'number' ? `, line ${e.lines}` : '';
    return fail('E_DATASET', `${file}${line}: cannot parse the CSV: ${e.message.replace(/\.$/, '')}.`);
  }
  if (records.length === 0) return fail('E_DATASET', `${file} holds no rows.`);
  const width = records[0]!.record.length;
  for (const { record, info } of records) {
    if (record.length !== width) {
      return fail(
        'E_DATASET',
        `${file}, line ${info.lines}: ${record.length} column${record.length === 1 ? '' : 's'}, but line ${records[0]!.info.lines} has ${width}.`,
        'Every row needs the same columns; look for a missing or extra delimiter on that line.',
      );
    }
  }
  return ok({ rows: records.map((r) => r.record), lines: records.map((r) => r.info.lines) });
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A plain decimal number (no hex, no empty cell, no 'NaN'), or null. */
export function parseNumber(cell: string): number | null {
  if (!NUMBER.test(cell)) return null;
  const v = Number(cell);
  return Number.isFinite(v) ? v : null;
}

/** CSV text for `rows` (cells quoted where they must be), ending in a newline. */
export function formatCsv(rows: readonly (readonly (string | number)[])[], delimiter = ','): string {
  const cell = (v: string | number): string => {
    const s = String(v);
    return s.includes(delimiter) || /["\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(delimiter)).join('\n') + '\n';
}
