import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIRMWARE_DIR } from './board.ts';
import { FIRMWARE_EXIT_CODES } from './exit-codes.ts';

describe('firmware exit codes', () => {
  it('are the same in engine.h, the README table and the runner', () => {
    const header = readFileSync(join(FIRMWARE_DIR, 'src/engine.h'), 'utf8');
    const inC = [...header.matchAll(/WSEP_EXIT_\w+ = (\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    const readme = readFileSync(join(FIRMWARE_DIR, 'README.md'), 'utf8');
    const table = new Map(
      [...readme.matchAll(/^\|\s*(\d+)\s*\|\s*(.+?)\s*\|$/gm)].map((m) => [Number(m[1]), m[2]]),
    );
    const inTs = Object.keys(FIRMWARE_EXIT_CODES)
      .map(Number)
      .sort((a, b) => a - b);
    expect(inC).toEqual(inTs);
    expect([...table.keys()].sort((a, b) => a - b)).toEqual(inTs);
    for (const code of inTs) expect(table.get(code), `code ${code}`).toBe(FIRMWARE_EXIT_CODES[code]);
  });
});
