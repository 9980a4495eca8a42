import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { decodeToFloat32, encodeInt16 } from './encode.ts';
import { validateMeta, type TaskMeta } from './format.ts';
import { listTasks, loadTask } from './load.ts';
import { sha256, packTask, writeTaskDir, type TaskSource } from './write.ts';

/**
 * A tiny HWC image task: 12 samples of [2,2,3] uint8, 3 classes; train = rows 0..5, val = 6..8,
 * test = 9..11 (given in a scrambled order, so the reordering is exercised too).
 */
function imageTask(overrides: Partial<TaskSource> = {}): TaskSource {
  const n = 12;
  const x = new Uint8Array(n * 12);
  for (let i = 0; i < x.length; i++) x[i] = (i * 37 + 11) % 256;
  const y = Uint8Array.from({ length: n }, (_, i) => i % 3);
  return {
    task: 'tiny',
    title: 'Tiny test task',
    classes: ['a', 'b', 'c'],
    storedShape: [2, 2, 3],
    inputShape: [3, 2, 2],
    layout: 'HWC->CHW',
    permutation: [2, 0, 1],
    x,
    y,
    dtype: 'uint8',
    split: { train: [5, 0, 1, 2, 3, 4], val: [8, 6, 7], test: [9, 10, 11] },
    splitMethod: 'fixed by hand for the test',
    normalization: { scale: 1 / 255, axis: 0, description: 'per channel' },
    source: 'synthetic',
    license: 'CC0',
    notes: ['made in load.test.ts'],
    ...overrides,
  };
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wsep-data-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(src: TaskSource): TaskMeta {
  const packed = packTask(src);
  const written = writeTaskDir(root, packed);
  expect(written.ok).toBe(true);
  return packed.meta;
}

function metaPath(task = 'tiny'): string {
  return join(root, task, 'meta.json');
}

function editMeta(edit: (m: Record<string, unknown>) => void, task = 'tiny'): void {
  const m = JSON.parse(readFileSync(metaPath(task), 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(metaPath(task), JSON.stringify(m));
}

function loadError(task = 'tiny', verifyHashes = true): { code: string; message: string } {
  const r = loadTask(task, { root, verifyHashes });
  if (r.ok) throw new Error('expected loadTask to fail');
  return r.error;
}

describe('round trip', () => {
  it('writes a task and loads the same values in model layout, normalised by train statistics', () => {
    const src = imageTask();
    write(src);
    const r = loadTask('tiny', { root });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = r.value;
    expect(t.inputShape).toEqual([3, 2, 2]);
    expect([t.train.n, t.val.n, t.test.n]).toEqual([6, 3, 3]);
    expect(t.preprocessing.layout).toBe('HWC->CHW');
    expect(t.preprocessing.scale).toBeCloseTo(1 / 255);

    // Expected: per split in the given order, HWC -> CHW, then (v/255 − mean[c]) / std[c].
    const { mean, std } = t.preprocessing;
    const check = (rows: readonly number[], split: { x: Float32Array; y: Uint8Array }) => {
      rows.forEach((row, k) => {
        expect(split.y[k]).toBe(src.y[row]);
        for (let h = 0; h < 2; h++)
          for (let w = 0; w < 2; w++)
            for (let c = 0; c < 3; c++) {
              const raw = src.x[row * 12 + (h * 2 + w) * 3 + c]!;
              const got = split.x[k * 12 + c * 4 + h * 2 + w]!;
              expect(got).toBeCloseTo((raw / 255 - mean[c]!) / std[c]!, 5);
            }
      });
    };
    check(src.split.train, t.train);
    check(src.split.val, t.val);
    check(src.split.test, t.test);
  });

  it('round-trips float features through int16 quantisation and float32 exactly enough', () => {
    const rng = new Rng(3);
    const x = Float32Array.from({ length: 12 * 12 }, () => rng.normal() * 10 - 3);
    const y = Uint8Array.from({ length: 12 }, (_, i) => i % 2);
    const split = { train: [0, 1, 2, 3, 4, 5], val: [6, 7, 8], test: [9, 10, 11] };
    for (const dtype of ['int16', 'float32'] as const) {
      const meta = write(
        imageTask({
          x,
          y,
          dtype,
          classes: ['p', 'q'],
          storedShape: [6, 2],
          inputShape: [2, 6],
          permutation: [1, 0],
          layout: 'TC->CT',
          split,
          normalization: { scale: 1, axis: 0, description: 'per channel' },
        }),
      );
      const t = loadTask('tiny', { root });
      expect(t.ok).toBe(true);
      if (!t.ok) return;
      const bound = dtype === 'int16' ? meta.x.maxAbsError : 0;
      if (dtype === 'int16') expect(bound).toBeGreaterThan(0);
      const { mean, std } = t.value.preprocessing;
      for (let i = 0; i < 6; i++)
        for (let tt = 0; tt < 6; tt++)
          for (let c = 0; c < 2; c++) {
            const raw = x[i * 12 + tt * 2 + c]!;
            const got = t.value.train.x[i * 12 + c * 6 + tt]! * std[c]! + mean[c]!;
            expect(Math.abs(got - raw)).toBeLessThanOrEqual(bound + 1e-4);
          }
    }
  });

  it('stores integer features as exact int16', () => {
    const e = encodeInt16(Float32Array.from([2, 4095, 1977, -5]));
    expect([e.scale, e.offset, e.maxAbsError]).toEqual([1, 0, 0]);
    expect(Array.from(decodeToFloat32(e.bytes, 'int16', 1, 0))).toEqual([2, 4095, 1977, -5]);
  });

  it('lists only complete task folders', () => {
    write(imageTask());
    write(imageTask({ task: 'other' }));
    writeFileSync(join(root, 'stray.txt'), '');
    const r = listTasks(root);
    expect(r.ok && r.value).toEqual(['other', 'tiny']);
  });
});

describe('normalisation', () => {
  it('uses train statistics only: val/test outliers do not move mean or std', () => {
    const src = imageTask();
    const x = new Uint8Array(src.x);
    // Make val and test rows saturated; train statistics must not see them.
    for (const row of [...src.split.val, ...src.split.test]) x.fill(255, row * 12, (row + 1) * 12);
    write({ ...src, x });
    const r = loadTask('tiny', { root });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { mean, std } = r.value.preprocessing;
    for (let c = 0; c < 3; c++) {
      const vals: number[] = [];
      for (const row of src.split.train)
        for (let p = 0; p < 4; p++) vals.push(src.x[row * 12 + p * 3 + c]! / 255);
      const m = vals.reduce((a, b) => a + b, 0) / vals.length;
      const sd = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length);
      expect(mean[c]).toBeCloseTo(m, 6);
      expect(std[c]).toBeCloseTo(sd, 6);
    }
    // The train split itself comes out centred and scaled per channel.
    const t = r.value.train;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < t.n; i++)
        for (let p = 0; p < 4; p++) {
          const v = t.x[i * 12 + c * 4 + p]!;
          s += v;
          s2 += v * v;
        }
      expect(s / (t.n * 4)).toBeCloseTo(0, 5);
      expect(s2 / (t.n * 4)).toBeCloseTo(1, 4);
    }
  });

  it('normalises along a non-channel axis and reports it', () => {
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 12 * 8 }, (_, i) => rng.normal() + (i % 4) * 100);
    const y = Uint8Array.from({ length: 12 }, (_, i) => i % 2);
    write(
      imageTask({
        x,
        y,
        dtype: 'float32',
        classes: ['p', 'q'],
        storedShape: [2, 4],
        inputShape: [1, 2, 4],
        permutation: [0, 1],
        layout: 'none',
        normalization: { scale: 1, axis: 2, description: 'per coefficient' },
      }),
    );
    const r = loadTask('tiny', { root });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.preprocessing.axis).toBe(2);
    expect(r.value.preprocessing.mean).toHaveLength(4);
    r.value.preprocessing.mean.forEach((m, j) => expect(m).toBeGreaterThan(j * 100 - 2));
  });
});

describe('corrupt input', () => {
  it('names the file and the sizes when x is truncated', () => {
    write(imageTask());
    truncateSync(join(root, 'tiny', 'x.u8'), 100);
    const e = loadError();
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain(join(root, 'tiny', 'x.u8'));
    expect(e.message).toContain('has 100 bytes, expected 144');
  });

  it('names the file, sample and classes when a label is out of range', () => {
    write(imageTask());
    const yPath = join(root, 'tiny', 'y.u8');
    const y = readFileSync(yPath);
    y[4] = 7;
    writeFileSync(yPath, y);
    editMeta((m) => ((m.y as Record<string, unknown>).sha256 = sha256(y)));
    const e = loadError();
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain(yPath);
    expect(e.message).toContain('sample 4 has label 7, out of range for the 3 classes');
  });

  it('detects edited bytes through the hash', () => {
    write(imageTask());
    const xPath = join(root, 'tiny', 'x.u8');
    const x = readFileSync(xPath);
    x[0] = x[0]! ^ 1;
    writeFileSync(xPath, x);
    expect(loadError().message).toContain("does not match field 'x.sha256'");
  });

  it('names a missing meta field', () => {
    write(imageTask());
    editMeta((m) => delete m.inputShape);
    const e = loadError();
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain(metaPath());
    expect(e.message).toContain("field 'inputShape' is missing");
  });

  it('names a bad meta field', () => {
    write(imageTask());
    editMeta((m) => ((m.splits as Record<string, Record<string, number>>).val!.start = 5));
    const e = loadError();
    expect(e.message).toContain("field 'splits.val.start' is 5 but the previous split ends at 6");
  });

  it('names a missing sample file', () => {
    write(imageTask());
    unlinkSync(join(root, 'tiny', 'x.u8'));
    const e = loadError();
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain(`Missing file ${join(root, 'tiny', 'x.u8')}`);
    expect(e.message).toContain("field 'x.file'");
  });

  it('reports a meta.json that is not JSON', () => {
    write(imageTask());
    writeFileSync(metaPath(), '{ nope');
    const e = loadError();
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain(`${metaPath()} is not valid JSON`);
  });

  it('reports an unknown task with the known ones', () => {
    write(imageTask());
    const r = loadTask('absent', { root });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_NOT_FOUND');
      expect(r.error.message).toContain('Known tasks: tiny');
    }
  });

  it('never throws, even on a folder whose meta is an array', () => {
    write(imageTask());
    writeFileSync(metaPath(), '[]');
    expect(() => loadTask('tiny', { root })).not.toThrow();
    expect(loadError().message).toContain('must hold a JSON object');
  });

  it('rejects inconsistent shapes and permutations in meta', () => {
    const meta = packTask(imageTask()).meta;
    const bad = validateMeta({ ...meta, inputShape: [3, 3, 2], permutation: [0, 0, 1] }, 'm.json');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.message).toContain(
        "field 'inputShape' [3,3,2] must hold as many values as storedShape [2,2,3]",
      );
      expect((bad.error.details as { problems: string[] }).problems.join('\n')).toContain(
        "field 'permutation'",
      );
    }
  });
});
