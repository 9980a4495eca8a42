import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, testTempDir, useTempDir } from './testing-temp.ts';

let madeByFirstTest = '';
const shared = useTempDir('testing-temp-');

describe('test temp folders', () => {
  it('makes a fresh wsep- folder for the running test', () => {
    madeByFirstTest = testTempDir('testing-temp-');
    expect(madeByFirstTest).toMatch(/wsep-testing-temp-\w+$/);
    mkdirSync(join(madeByFirstTest, 'nested'));
    writeFileSync(join(madeByFirstTest, 'nested', 'file'), 'x');
    expect(existsSync(shared)).toBe(true);
  });

  it('removes it, contents and all, when that test ends; the file’s folder lives on', () => {
    expect(madeByFirstTest).not.toBe('');
    expect(existsSync(madeByFirstTest)).toBe(false);
    expect(existsSync(shared)).toBe(true);
  });

  it('lists hidden entries, the leftovers of an interrupted atomic write', () => {
    writeFileSync(join(shared, '.b.tmp-1-ab'), '');
    writeFileSync(join(shared, 'b'), '');
    expect(hiddenEntries(shared)).toEqual(['.b.tmp-1-ab']);
  });
});
