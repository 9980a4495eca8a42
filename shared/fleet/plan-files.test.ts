import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import { listPlanFiles, missingFiles, totalBytes } from './plan-files.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('listPlanFiles', () => {
  it('lists every file below the folder with its size and hash, sorted, leaving hidden entries out', () => {
    const dir = testTempDir('plan-files-');
    mkdirSync(join(dir, 'graphs'));
    mkdirSync(join(dir, 'health'));
    writeFileSync(join(dir, 'manifest.json'), '{}');
    writeFileSync(join(dir, 'graphs', 'a.onnx'), 'graph');
    writeFileSync(join(dir, 'health', 'health.json'), 'hh');
    writeFileSync(join(dir, '.manifest.json.tmp-1'), 'half');
    const listed = listPlanFiles(dir);
    expect(listed.ok && listed.value).toEqual([
      { path: 'graphs/a.onnx', bytes: 5, sha256: sha('graph') },
      { path: 'health/health.json', bytes: 2, sha256: sha('hh') },
      { path: 'manifest.json', bytes: 2, sha256: sha('{}') },
    ]);
    expect(listed.ok && totalBytes(listed.value)).toBe(9);
  });

  it('fails with E_IO naming a folder that is not there', () => {
    const listed = listPlanFiles('/nonexistent/wsep-plan');
    expect(!listed.ok && listed.error.code).toBe('E_IO');
  });
});

describe('missingFiles', () => {
  it('skips a file only when path, size and hash all match', () => {
    const wanted = [
      { path: 'a', bytes: 1, sha256: sha('a') },
      { path: 'b', bytes: 1, sha256: sha('b') },
      { path: 'c', bytes: 1, sha256: sha('c') },
      { path: 'd', bytes: 1, sha256: sha('d') },
    ];
    const present = [
      { path: 'a', bytes: 1, sha256: sha('a') },
      { path: 'b', bytes: 1, sha256: sha('x') },
      { path: 'c', bytes: 2, sha256: sha('c') },
    ];
    expect(missingFiles(wanted, present).map((f) => f.path)).toEqual(['b', 'c', 'd']);
  });
});
