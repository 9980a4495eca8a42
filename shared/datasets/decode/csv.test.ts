import { describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { defaultDelimiter, formatCsv, parseCsv, parseNumber } from './csv.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('CSV round trip', () => {
  it('format → parse gives the same cells, including quoted ones', () => {
    const rows = [
      ['f1', 'f2', 'label'],
      ['1.5', '-2e3', 'a cat'],
      ['3', '4', 'comma, inside'],
      ['5', '6', 'quote " inside'],
      ['7', '8', 'new\nline'],
    ];
    const t = unwrap(parseCsv(bytes(formatCsv(rows)), 'r.csv'));
    expect(t.rows).toEqual(rows);
    expect(t.lines).toEqual([1, 2, 3, 4, 6]);
  });

  it('tab-separated for .tsv, and numbers format as they parse', () => {
    expect(defaultDelimiter('a.TSV')).toBe('\t');
    expect(defaultDelimiter('a.csv')).toBe(',');
    const rows = [
      [1, 2.5, 'x'],
      [-3, 1e-7, 'y'],
    ];
    const t = unwrap(parseCsv(formatCsv(rows, '\t'), 'r.tsv'));
    expect(t.rows.map((r) => r.map((c, i) => (i < 2 ? parseNumber(c) : c)))).toEqual(rows);
  });

  it('skips empty lines, trims cells, ignores a byte-order mark, counts lines as an editor does', () => {
    const t = unwrap(parseCsv(bytes('\uFEFFa, b\r\n\r\n 1 ,2\r\n\n3,4\n'), 'w.csv'));
    expect(t.rows).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(t.lines).toEqual([1, 3, 5]);
  });

  it('parseNumber takes plain decimals only', () => {
    expect(['1', '-0.5', '+3', '.25', '1e3', '2.', '-1E-2'].map(parseNumber)).toEqual([
      1, -0.5, 3, 0.25, 1000, 2, -0.01,
    ]);
    expect(['', ' ', 'NaN', 'inf', '0x10', '1,5', 'abc', '1e999'].map(parseNumber)).toEqual(
      new Array(8).fill(null),
    );
  });
});

describe('CSV corrupt input', () => {
  it('a ragged row names the file, the line and the counts', () => {
    const e = failureOf(parseCsv(bytes('a,b,c\n1,2,3\n\n4,5\n'), 'data/t.csv'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toBe('data/t.csv, line 4: 2 columns, but line 1 has 3.');
  });

  it('an unclosed quote names the file and line', () => {
    const e = failureOf(parseCsv(bytes('a,b\n1,"2\n3,4\n'), 'q.csv'));
    expect(e.message).toMatch(/^q\.csv, line \d: cannot parse the CSV: Quote Not Closed/);
  });

  it('binary data, bad UTF-8 and an empty file are refused', () => {
    expect(failureOf(parseCsv(Uint8Array.of(0x89, 0x50, 0, 1), 'x.csv')).message).toBe(
      'x.csv is not a text CSV file (it holds NUL bytes).',
    );
    expect(failureOf(parseCsv(Uint8Array.of(0x61, 0xff, 0xfe, 0x62), 'u.csv')).message).toBe(
      'u.csv is not UTF-8 text.',
    );
    expect(failureOf(parseCsv(bytes('\n\n'), 'e.csv')).message).toBe('e.csv holds no rows.');
  });
});
