import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, testTempDir } from '../core/testing-temp.ts';
import { readModelFile } from '../onnx/io.ts';
import { onnx } from '../onnx/proto.ts';
import { AUGMENT_KEY, TASK_KEY, pairingOf, parsePairs, setModelMetadata } from './pairing.ts';
import { saveTinyModel, tinyModel } from './pairing-fixtures.ts';

describe('parsePairs', () => {
  it('reads model=task pairs, resolving model paths against the working folder', () => {
    const r = parsePairs('a.onnx=letters, /abs/b.onnx=kws', '/work');
    expect(r.ok && r.value).toEqual([
      { model: '/work/a.onnx', task: 'letters' },
      { model: '/abs/b.onnx', task: 'kws' },
    ]);
    // The last '=' separates, so a path may hold one.
    expect(parsePairs('dir=1/m.onnx=t', '/w').ok && parsePairs('dir=1/m.onnx=t', '/w')).toMatchObject({
      value: [{ model: '/w/dir=1/m.onnx', task: 't' }],
    });
  });

  it('names the entry that is wrong', () => {
    const bad = (text: string) => {
      const r = parsePairs(text, '/w');
      return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
    };
    expect(bad('a.onnx')).toBe('E_USAGE: --pair entry "a.onnx" is not <model.onnx>=<task>.');
    expect(bad('=t')).toMatch(/entry "=t" is not/);
    expect(bad('a.onnx=my task')).toMatch(/'my task' is not a task id/);
    expect(bad('a.onnx=x,./a.onnx=y')).toBe("E_USAGE: --pair names ./a.onnx twice (with 'x' and 'y').");
    expect(bad(',')).toMatch(/needs at least one/);
  });
});

describe('pairingOf', () => {
  it('prefers an explicit pair, then the weightsep.task metadata, then the file name', () => {
    const plain = tinyModel([4], 2);
    const tagged = { ...plain, metadata: { [TASK_KEY]: 'mnist' } };
    expect(pairingOf(plain, '/m/letters.onnx')).toEqual({ task: 'letters', source: 'file name' });
    expect(pairingOf(tagged, '/m/letters.onnx')).toEqual({ task: 'mnist', source: 'metadata' });
    expect(pairingOf(tagged, '/m/letters.onnx', [{ model: '/m/letters.onnx', task: 'emnist' }])).toEqual({
      task: 'emnist',
      source: 'pair',
    });
    expect(pairingOf(tagged, '/m/letters.onnx', [{ model: '/m/other.onnx', task: 'emnist' }]).source).toBe(
      'metadata',
    );
  });
});

describe('setModelMetadata', () => {
  it('round trip: sets and replaces entries, keeps the others and every other field', () => {
    const dir = testTempDir('wsep-pairing-');
    const path = saveTinyModel(join(dir, 'm.onnx'), [4], 2, { [TASK_KEY]: 'old', [AUGMENT_KEY]: '[]' });
    // A field the plain codec does not model (doc_string) survives the rewrite.
    const proto = onnx.ModelProto.decode(readFileSync(path));
    proto.docString = 'kept as it was';
    writeFileSync(path, onnx.ModelProto.encode(proto).finish());
    const before = readModelFile(path);
    expect(setModelMetadata(path, { [TASK_KEY]: 'letters', extra: 'x' }).ok).toBe(true);
    const after = readModelFile(path);
    if (!after.ok || !before.ok) throw new Error('unreadable');
    expect(after.value.metadata).toEqual({ [AUGMENT_KEY]: '[]', [TASK_KEY]: 'letters', extra: 'x' });
    expect(after.value.graph).toEqual(before.value.graph);
    expect(onnx.ModelProto.decode(readFileSync(path)).docString).toBe('kept as it was');
    expect(hiddenEntries(dir)).toEqual([]);
  });

  it('refuses a file that is not ONNX or not there, and leaves it as it was', () => {
    const dir = testTempDir('wsep-pairing-');
    const path = join(dir, 'bad.onnx');
    writeFileSync(path, 'not a model at all');
    const r = setModelMetadata(path, { [TASK_KEY]: 'x' });
    expect(!r.ok && r.error.code).toBe('E_ONNX_NOT_ONNX');
    expect(readFileSync(path, 'utf8')).toBe('not a model at all');
    const missing = setModelMetadata(join(dir, 'none.onnx'), { [TASK_KEY]: 'x' });
    expect(!missing.ok && missing.error.code).toBe('E_NOT_FOUND');
    expect(hiddenEntries(dir)).toEqual([]);
  });
});
