/**
 * The engine's atomic writers (bundle folders, task folders, model files) leave nothing beside their
 * target when they fail half-way: no `.name.tmp-…` folder, no `.name.123.tmp` file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, testTempDir } from '../shared/core/testing-temp.ts';
import { readTaskMeta } from '../shared/datasets/load.ts';
import { writeTaskDir } from '../shared/datasets/write.ts';
import type { WriteStep } from '../shared/image/atomic.ts';
import { tinyPlan } from '../shared/image/testing.ts';
import { writeBundle } from '../shared/image/write.ts';
import { saveModel } from '../shared/onnx/io.ts';
import { tinyConvNet } from '../shared/onnx/testing.ts';

const enospc = () => {
  throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
};

describe('a failed write leaves no temporary siblings', () => {
  it('writeBundle: failing at a file or at the final rename', async () => {
    const root = testTempDir('wsep-atomic-');
    const dir = join(root, 'bundle');
    const faults: ((step: WriteStep) => void)[] = [
      (step) => (step.kind === 'file' && step.index === 2 ? enospc() : undefined),
      (step) => (step.kind === 'rename' ? enospc() : undefined),
    ];
    for (const faultInjection of faults) {
      const r = await writeBundle(tinyPlan(2), dir, { faultInjection });
      expect(!r.ok && r.error.code).toBe('E_IO');
      expect(existsSync(dir)).toBe(false);
      expect(hiddenEntries(root)).toEqual([]);
    }
    // Replacing an existing bundle fails the same way, and the old bundle stays whole.
    expect((await writeBundle(tinyPlan(3), dir)).ok).toBe(true);
    const manifest = readFileSync(join(dir, 'manifest.json'));
    const r = await writeBundle(tinyPlan(4), dir, {
      faultInjection: (s) => (s.kind === 'rename' ? enospc() : undefined),
    });
    expect(r.ok).toBe(false);
    expect(readFileSync(join(dir, 'manifest.json'))).toEqual(manifest);
    expect(hiddenEntries(root)).toEqual([]);
  });

  it('writeBundle: refusing a folder that is not a bundle writes nothing', async () => {
    const root = testTempDir('wsep-atomic-');
    const dir = join(root, 'photos');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cat.jpg'), 'meow');
    const r = await writeBundle(tinyPlan(2), dir);
    expect(!r.ok && r.error.message).toContain('is not a bundle');
    expect(hiddenEntries(root)).toEqual([]);
  });

  it('writeTaskDir: a file that cannot be written', () => {
    const root = testTempDir('wsep-atomic-');
    const source = join('resources', 'data', 'digits8x8');
    const meta = readTaskMeta(source);
    if (!meta.ok) throw new Error(meta.error.message);
    const packed = {
      // A sub-folder that the writer does not make: the first file write fails.
      meta: { ...meta.value, x: { ...meta.value.x, file: join('missing', meta.value.x.file) } },
      x: readFileSync(join(source, meta.value.x.file)),
      y: readFileSync(join(source, meta.value.y.file)),
    };
    const r = writeTaskDir(root, packed);
    expect(!r.ok && r.error.code).toBe('E_IO');
    expect(existsSync(join(root, 'digits8x8'))).toBe(false);
    expect(hiddenEntries(root)).toEqual([]);
  });

  it('saveModel: a target that cannot be replaced', () => {
    const root = testTempDir('wsep-atomic-');
    const target = join(root, 'model.onnx');
    // A non-empty folder where the file should go: the temporary file is written, the rename fails.
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    const r = saveModel(target, tinyConvNet());
    expect(!r.ok && r.error.code).toBe('E_IO');
    expect(hiddenEntries(root)).toEqual([]);
  });
});
