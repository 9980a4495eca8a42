import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, useTempDir } from '../shared/core/testing-temp.ts';
import { importUserData } from '../shared/datasets/user-import.ts';
import { EXAMPLE_CLASSES, writeExampleData } from './example-data.ts';

describe('the guide’s example data', () => {
  const dir = useTempDir('wsep-example-');

  it('writes disjoint train and test folders of PNGs that wsep data import takes', () => {
    const [train, test] = writeExampleData(dir, { train: 6, test: 2 });
    expect(readdirSync(train!).sort()).toEqual([...EXAMPLE_CLASSES].sort());
    for (const cls of EXAMPLE_CLASSES) {
      expect(readdirSync(join(train!, cls))).toHaveLength(6);
      expect(readdirSync(join(test!, cls))).toHaveLength(2);
    }
    expect(hiddenEntries(dir)).toEqual([]);
    const imported = importUserData({
      source: train!,
      test: test!,
      task: 'clothes5',
      root: join(dir, 'data'),
      cwd: dir,
      valFraction: 0.34,
    });
    if (!imported.ok) throw new Error(imported.error.message);
    expect(imported.value.meta.inputShape).toEqual([1, 28, 28]);
    expect(imported.value.meta.counts.test).toBe(10);
  });
});
