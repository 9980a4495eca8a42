import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCsv } from './decode/csv.ts';
import { encodePng, type DecodedImage } from './decode/image.ts';
import { writeNpy, writeNpz } from './decode/npy.ts';
import { validateMeta, type TaskMeta } from './format.ts';
import { loadTask } from './load.ts';
import { importUserData, type UserImportOptions } from './user-import.ts';

let work: string;
let root: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'wsep-import-'));
  root = join(work, 'data');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function run(options: Partial<UserImportOptions> & { source: string }) {
  return importUserData({ task: 'mine', root, cwd: work, ...options });
}

function imported(options: Partial<UserImportOptions> & { source: string }) {
  const r = run(options);
  if (!r.ok) throw new Error(`${r.error.message} ${r.error.hint ?? ''}`);
  return r.value;
}

/** The import failed with `code` and a message containing every fragment, and left nothing behind. */
function refused(
  options: Partial<UserImportOptions> & { source: string },
  code: string,
  ...fragments: string[]
) {
  const r = run(options);
  if (r.ok) throw new Error('expected the import to fail');
  expect(r.error.code).toBe(code);
  for (const f of fragments) expect(r.error.message).toContain(f);
  expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  return r.error;
}

function load(task = 'mine') {
  const r = loadTask(task, { roots: [root] });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function meta(task = 'mine'): TaskMeta {
  return JSON.parse(readFileSync(join(root, task, 'meta.json'), 'utf8')) as TaskMeta;
}

// ---------------------------------------------------------------------------------------------------
// Sources made in the test.

function image(width: number, height: number, channels: 1 | 3, seed: number): DecodedImage {
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 17) % 256;
  return { width, height, channels, pixels };
}

function jpegBytes(img: DecodedImage): Uint8Array {
  const rgba = Buffer.alloc(img.width * img.height * 4, 255);
  for (let p = 0; p < img.width * img.height; p++)
    for (let c = 0; c < 3; c++)
      rgba[4 * p + c] = img.pixels[p * img.channels + (img.channels === 3 ? c : 0)]!;
  return new Uint8Array(jpeg.encode({ width: img.width, height: img.height, data: rgba }, 90).data);
}

/** `<work>/<name>/<class>/<k>.png` for 3 classes × perClass images; the first image of `bird` is a JPEG. */
function imageFolder(
  name: string,
  { perClass = 10, channels = 3, size = 8 }: { perClass?: number; channels?: 1 | 3; size?: number } = {},
): string {
  ['cat', 'dog', 'bird'].forEach((cls, c) => {
    const dir = join(work, name, cls);
    mkdirSync(dir, { recursive: true });
    for (let k = 0; k < perClass; k++) {
      const img = image(size, size, channels, c * 100 + k);
      if (cls === 'bird' && k === 0) writeFileSync(join(dir, `${k}.jpg`), jpegBytes(img));
      else writeFileSync(join(dir, `${String(k).padStart(2, '0')}.png`), encodePng(img));
    }
  });
  writeFileSync(join(work, name, '.DS_Store'), 'ignored');
  return name;
}

/** A CSV of `n` rows: six features, a subject column (4 rows each) or none, a label name; header first. */
function csvFile(name: string, n = 60, subject = true): string {
  const classes = ['walk', 'run', 'sit'];
  const rows: (string | number)[][] = [
    ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', ...(subject ? ['subject'] : []), 'label'],
  ];
  for (let i = 0; i < n; i++) {
    const f = [...Array(6).keys()].map((j) => Math.sin(i + j) * 3 + j);
    rows.push([...f, ...(subject ? [`s${Math.floor(i / 4)}`] : []), classes[i % 3]!]);
  }
  writeFileSync(join(work, name), formatCsv(rows));
  return name;
}

function npArrays(n: number, per: number[], seed = 0) {
  const size = per.reduce((a, b) => a * b, 1);
  return {
    x: {
      dtype: 'float32' as const,
      shape: [n, ...per],
      values: Array.from({ length: n * size }, (_, i) => Math.cos(i * 0.7 + seed) * 2),
    },
    y: {
      dtype: 'int64' as const,
      shape: [n],
      values: Array.from({ length: n }, (_, i) => (i * 7 + seed) % 4),
    },
  };
}

// ---------------------------------------------------------------------------------------------------

describe('image folders', () => {
  it('imports 3 classes × 10 (one JPEG) as uint8 HWC with stratified splits', () => {
    const r = imported({ source: imageFolder('photos') });
    expect(r.dir).toBe(join(root, 'mine'));
    const m = meta();
    expect(m.classes).toEqual(['bird', 'cat', 'dog']);
    expect(m.storedShape).toEqual([8, 8, 3]);
    expect(m.inputShape).toEqual([3, 8, 8]);
    expect(m.permutation).toEqual([2, 0, 1]);
    expect(m.layout).toBe('HWC->CHW');
    expect(m.x.dtype).toBe('uint8');
    expect(m.normalization).toMatchObject({ scale: 1 / 255, axis: 0 });
    // Per class: 2 of 10 to test, round(0.15 · 8) = 1 to validation.
    expect(m.counts.perClass).toEqual({ train: [7, 7, 7], val: [1, 1, 1], test: [2, 2, 2] });
    expect(m.source).toContain('30 images (29 PNG, 1 JPEG)');
    expect(m.splitMethod).toContain('seed 0');
    const t = load();
    expect(t.inputShape).toEqual([3, 8, 8]);
    expect([t.train.n, t.val.n, t.test.n]).toEqual([21, 3, 6]);
    expect(t.train.x.length).toBe(21 * 3 * 64);
    expect(r.preprocessing.mean).toHaveLength(3);
  });

  it('stores the exact pixels: a stored sample is its PNG, channels first', () => {
    imported({ source: imageFolder('photos') });
    const m = meta();
    const raw = readFileSync(join(root, 'mine', 'x.u8'));
    // sourceIndex order: bird (0..9, the JPEG first), cat (10..19), dog (20..29).
    const k = m.perSample.sourceIndex.indexOf(12);
    const want = image(8, 8, 3, 2).pixels; // cat/02.png (cat is made first, seed 0 · 100 + 2)
    expect([...raw.subarray(k * 192, (k + 1) * 192)]).toEqual([...want]);
  });

  it('grey images stay 1 channel; --channels 3 repeats them, --channels 1 greys colour', () => {
    imported({ source: imageFolder('grey', { channels: 1 }) });
    expect(meta().inputShape).toEqual([1, 8, 8]);
    imported({ source: 'grey', task: 'grey3', channels: 3 });
    expect(meta('grey3').inputShape).toEqual([3, 8, 8]);
    imported({ source: imageFolder('colour'), task: 'col1', channels: 1 });
    expect(meta('col1').storedShape).toEqual([8, 8, 1]);
    expect(meta('col1').notes.join(' ')).toContain('converted to grey');
  });

  it('mixed sizes need --size, which resizes them all', () => {
    imageFolder('mixed');
    const big = image(12, 10, 3, 5);
    writeFileSync(join(work, 'mixed', 'dog', '99.png'), encodePng(big));
    writeFileSync(join(work, 'mixed', 'cat', '98.png'), encodePng(big));
    const e = refused(
      { source: 'mixed' },
      'E_DATASET',
      'The images have 2 different sizes: 8x8 (30 files, e.g. mixed/bird/0.jpg); 12x10 (2 files, e.g. mixed/cat/98.png)',
    );
    expect(e.hint).toContain('--size');
    imported({ source: 'mixed', size: { width: 6, height: 5 } });
    expect(meta().storedShape).toEqual([5, 6, 3]);
    expect(meta().notes.join(' ')).toContain('32 images were resized to 6x5');
  });

  it('a --test folder is the test split as it is', () => {
    imageFolder('train');
    imageFolder('held', { perClass: 3 });
    imported({ source: 'train', test: 'held' });
    const m = meta();
    expect(m.counts.test).toBe(9);
    expect(m.counts.train + m.counts.val).toBe(30);
    expect(m.perSample.sourceIndex.slice(-9)).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38]);
    expect(m.splitMethod).toContain('test = every sample of held');
  });

  it('--classes fixes names and order; a folder outside it is an error naming it', () => {
    imported({ source: imageFolder('photos'), classes: ['dog', 'cat', 'bird'] });
    expect(meta().classes).toEqual(['dog', 'cat', 'bird']);
    rmSync(root, { recursive: true });
    refused(
      { source: 'photos', classes: ['dog', 'cat'] },
      'E_DATASET',
      "Label 'bird' at photos/bird/0.jpg is not one of --classes (dog, cat)",
    );
  });
});

describe('CSV', () => {
  it('imports rows with a header, names as labels, --shape, float32 features', () => {
    csvFile('har.csv');
    imported({ source: 'har.csv', shape: [3, 2], groupColumn: 'subject' });
    const m = meta();
    expect(m.classes).toEqual(['run', 'sit', 'walk']);
    expect(m.storedShape).toEqual([3, 2]);
    expect(m.inputShape).toEqual([3, 2]);
    expect(m.layout).toBe('none');
    expect(m.x.dtype).toBe('float32');
    expect(m.counts.total).toBe(60);
    expect(m.perSample.groupName).toBe('subject');
    const t = load();
    expect(t.inputShape).toEqual([3, 2]);
    expect(t.train.n + t.val.n + t.test.n).toBe(60);
  });

  it('group-disjoint: no subject is in two splits', () => {
    csvFile('har.csv', 120);
    imported({ source: 'har.csv', groupColumn: 'subject', seed: 3 });
    const m = meta();
    const g = m.perSample.group!;
    const part = (name: 'train' | 'val' | 'test') =>
      new Set(g.slice(m.splits[name].start, m.splits[name].start + m.splits[name].count));
    const [train, val, test] = [part('train'), part('val'), part('test')];
    for (const s of val) expect(train.has(s)).toBe(false);
    for (const s of test) expect(train.has(s) || val.has(s)).toBe(false);
    expect(test.size).toBeGreaterThan(0);
    expect(val.size).toBeGreaterThan(0);
    expect(m.counts.test).toBeGreaterThanOrEqual(0.2 * 120);
    expect(m.splitMethod).toContain('group-disjoint by subject');
  });

  it('integer features are stored exactly as int16; no header row and numbered columns work', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [i % 3, i * 2 - 30, 7, i]);
    writeFileSync(join(work, 'plain.csv'), formatCsv(rows));
    imported({ source: 'plain.csv', labelColumn: '1' });
    const m = meta();
    expect(m.x.dtype).toBe('int16');
    expect(m.x.maxAbsError).toBe(0);
    expect(m.classes).toEqual(['0', '1', '2']);
    expect(m.storedShape).toEqual([3]);
  });

  it('--normalize none keeps raw values; global uses one mean', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [i + 0.5, -i, i % 2 === 0 ? 'even' : 'odd']);
    writeFileSync(join(work, 'n.csv'), formatCsv(rows));
    imported({ source: 'n.csv', normalize: 'none' });
    const m = meta();
    expect(m.normalization).toMatchObject({ method: 'none', axis: null, scale: 1 });
    expect(validateMeta(m, 'meta.json').ok).toBe(true);
    const t = load();
    expect(t.preprocessing.mean).toEqual([0]);
    expect(t.preprocessing.std).toEqual([1]);
    const first = m.perSample.sourceIndex[0]!;
    expect([...t.train.x.subarray(0, 2)]).toEqual([first + 0.5, -first + 0]);
    imported({ source: 'n.csv', task: 'g', normalize: 'global' });
    expect(load('g').preprocessing.mean).toHaveLength(1);
    expect(meta('g').normalization.method).toBeUndefined();
  });

  it('a --groups text file splits by group too', () => {
    const rows = Array.from({ length: 40 }, (_, i) => [i, i % 4]);
    writeFileSync(join(work, 'g.csv'), formatCsv(rows));
    writeFileSync(
      join(work, 'sessions.txt'),
      rows.map((_, i) => `day${Math.floor(i / 5)}`).join('\n') + '\n',
    );
    imported({ source: 'g.csv', groups: 'sessions.txt' });
    expect(meta().perSample.groupName).toBe('sessions');
    expect(new Set(meta().perSample.group).size).toBe(8);
  });
});

describe('NumPy', () => {
  it('an .npz with x, y and groups: float x stored float32, group-disjoint', () => {
    const { x, y } = npArrays(80, [4]);
    const groups = {
      dtype: 'int32' as const,
      shape: [80],
      values: Array.from({ length: 80 }, (_, i) => i % 10),
    };
    writeFileSync(join(work, 'd.npz'), writeNpz({ x, y, groups }));
    imported({ source: 'd.npz' });
    const m = meta();
    expect(m.classes).toEqual(['0', '1', '2', '3']);
    expect(m.x.dtype).toBe('float32');
    expect(m.perSample.group).toHaveLength(80);
    const t = load();
    expect(t.inputShape).toEqual([4]);
    expect(t.train.n + t.val.n + t.test.n).toBe(80);
  });

  it('an x.npy + --labels pair with --layout hwc, and the folder form, give the same task', () => {
    const n = 24;
    const x = {
      dtype: 'uint8' as const,
      shape: [n, 5, 4, 3],
      values: Array.from({ length: n * 60 }, (_, i) => (i * 13) % 256),
    };
    const y = { dtype: 'uint8' as const, shape: [n], values: Array.from({ length: n }, (_, i) => i % 3) };
    mkdirSync(join(work, 'pair'));
    writeFileSync(join(work, 'pair', 'x.npy'), writeNpy(x));
    writeFileSync(join(work, 'pair', 'y.npy'), writeNpy(y));
    imported({ source: 'pair/x.npy', labels: 'pair/y.npy', layout: 'hwc' });
    const m = meta();
    expect(m.x.dtype).toBe('uint8');
    expect(m.storedShape).toEqual([5, 4, 3]);
    expect(m.inputShape).toEqual([3, 5, 4]);
    expect(m.layout).toBe('HWC->CHW');
    expect(m.normalization.scale).toBeCloseTo(1 / 255);
    imported({ source: 'pair', task: 'folder', layout: 'hwc' });
    expect(readFileSync(join(root, 'folder', 'x.u8'))).toEqual(readFileSync(join(root, 'mine', 'x.u8')));
    expect(load('folder').inputShape).toEqual([3, 5, 4]);
  });

  it('--test with --test-labels, and --classes for integer labels (index = label)', () => {
    const a = npArrays(40, [2, 3]);
    const b = npArrays(12, [2, 3], 1);
    writeFileSync(join(work, 'x.npy'), writeNpy(a.x));
    writeFileSync(join(work, 'y.npy'), writeNpy(a.y));
    writeFileSync(join(work, 'tx.npy'), writeNpy(b.x));
    writeFileSync(join(work, 'ty.npy'), writeNpy(b.y));
    imported({
      source: 'x.npy',
      labels: 'y.npy',
      test: 'tx.npy',
      testLabels: 'ty.npy',
      classes: ['a', 'b', 'c', 'd'],
    });
    const m = meta();
    expect(m.classes).toEqual(['a', 'b', 'c', 'd']);
    expect(m.counts.test).toBe(12);
    expect(m.inputShape).toEqual([2, 3]);
    const y = readFileSync(join(root, 'mine', 'y.u8'));
    m.perSample.sourceIndex.forEach((src, k) => {
      expect(y[k]).toBe(src < 40 ? a.y.values[src] : b.y.values[src - 40]);
    });
  });
});

describe('replacing and validating', () => {
  it('refuses an existing task folder unless --force', () => {
    imageFolder('photos');
    imported({ source: 'photos' });
    const before = readFileSync(join(root, 'mine', 'meta.json'), 'utf8');
    const r = run({ source: 'photos', seed: 5 });
    expect(!r.ok && r.error.code).toBe('E_USAGE');
    expect(!r.ok && r.error.hint).toContain('--force');
    expect(readFileSync(join(root, 'mine', 'meta.json'), 'utf8')).toBe(before);
    imported({ source: 'photos', seed: 5, force: true });
    expect(meta().splitMethod).toContain('seed 5');
    expect(readdirSync(root)).toEqual(['mine']);
  });

  it('normalization.method: absent and none are valid, anything else is not', () => {
    imported({ source: csvFile('har.csv', 60, false) });
    const m = meta() as unknown as Record<string, unknown>;
    expect(validateMeta(m, 'meta.json').ok).toBe(true);
    const bad = validateMeta(
      { ...m, normalization: { ...(m.normalization as object), method: 'zscore' } },
      'meta.json',
    );
    expect(!bad.ok && bad.error.message).toContain("field 'normalization.method' must be 'none' or absent");
  });
});

describe('bad input leaves nothing behind', () => {
  it('a non-image file in a class folder is named', () => {
    imageFolder('photos');
    writeFileSync(join(work, 'photos', 'cat', 'notes.txt'), 'hello');
    refused({ source: 'photos' }, 'E_DATASET', '1 file in photos is not PNG or JPEG: photos/cat/notes.txt');
  });

  it('files outside class folders are named', () => {
    imageFolder('photos');
    writeFileSync(join(work, 'photos', 'README.md'), '# data');
    refused(
      { source: 'photos' },
      'E_DATASET',
      'photos holds 1 file outside the class sub-folders: photos/README.md',
    );
  });

  it('a truncated PNG is named', () => {
    imageFolder('photos');
    const png = encodePng(image(8, 8, 3, 1));
    writeFileSync(join(work, 'photos', 'dog', '05.png'), png.subarray(0, png.length - 20));
    refused({ source: 'photos' }, 'E_DATASET', 'photos/dog/05.png is not a readable PNG image');
  });

  it('a class with one sample is named with its count', () => {
    imageFolder('photos');
    mkdirSync(join(work, 'photos', 'eel'));
    writeFileSync(join(work, 'photos', 'eel', 'a.png'), encodePng(image(8, 8, 3, 9)));
    refused(
      { source: 'photos' },
      'E_DATASET',
      "Class 'eel' has 1 sample in photos; every class needs at least 2",
    );
  });

  it('a ragged CSV row names the file and line', () => {
    writeFileSync(join(work, 'r.csv'), 'a,b,label\n1,2,x\n3,4,y\n5,y\n');
    refused({ source: 'r.csv' }, 'E_DATASET', 'r.csv, line 4: 2 columns, but line 1 has 3.');
  });

  it('a non-numeric CSV cell names the file, line and column', () => {
    const rows = Array.from({ length: 10 }, (_, i) => [i, i * 2, i % 2]);
    const text = formatCsv([['f', 'g', 'label'], ...rows]).replace('\n6,12,0\n', '\n6,twelve,0\n');
    writeFileSync(join(work, 'c.csv'), text);
    refused({ source: 'c.csv' }, 'E_DATASET', "c.csv, line 8, column 2 ('g'): 'twelve' is not a number.");
  });

  it('a label outside --classes names the label, the file and the line', () => {
    csvFile('har.csv', 30, false);
    refused(
      { source: 'har.csv', classes: ['walk', 'run'] },
      'E_DATASET',
      "Label 'sit' at har.csv, line 4 is not one of --classes (walk, run)",
    );
  });

  it('an integer label outside --classes names the file and row', () => {
    const { x, y } = npArrays(20, [3]);
    writeFileSync(join(work, 'd.npz'), writeNpz({ x, y }));
    refused(
      { source: 'd.npz', classes: ['a', 'b', 'c'] },
      'E_DATASET',
      "Label 3 at d.npz 'y', row 1 is outside --classes (3 names, so labels 0..2)",
    );
  });

  it('a float label with a fraction names the file and row', () => {
    const { x } = npArrays(10, [3]);
    const y = { dtype: 'float32' as const, shape: [10], values: [0, 1, 0, 1, 0, 1.5, 0, 1, 0, 1] };
    writeFileSync(join(work, 'd.npz'), writeNpz({ x, y }));
    refused({ source: 'd.npz' }, 'E_DATASET', "d.npz 'y', row 5: label 1.5 is not a whole number");
  });

  it('an .npz without y, and an x.npy without --labels', () => {
    const { x } = npArrays(10, [3]);
    writeFileSync(
      join(work, 'd.npz'),
      writeNpz({ x, labels: { dtype: 'uint8', shape: [10], values: new Array(10).fill(0) } }),
    );
    refused({ source: 'd.npz' }, 'E_DATASET', "d.npz has no array named 'y' (it holds 'labels', 'x')");
    writeFileSync(join(work, 'x.npy'), writeNpy(x));
    refused(
      { source: 'x.npy' },
      'E_USAGE',
      'x.npy holds the samples only; name the labels with --labels y.npy.',
    );
  });

  it('labels of the wrong length, and a Fortran-ordered x', () => {
    const { x, y } = npArrays(10, [3]);
    writeFileSync(join(work, 'x.npy'), writeNpy(x));
    writeFileSync(join(work, 'y.npy'), writeNpy({ ...y, shape: [9], values: y.values.slice(0, 9) }));
    refused(
      { source: 'x.npy', labels: 'y.npy' },
      'E_DATASET',
      'y.npy has shape [9], but x.npy holds 10 samples',
    );
    const fortran = new Uint8Array(writeNpy(x));
    const text = Buffer.from(fortran)
      .toString('latin1')
      .replace("'fortran_order': False", "'fortran_order': True ");
    writeFileSync(join(work, 'x.npy'), Buffer.from(text, 'latin1'));
    refused(
      { source: 'x.npy', labels: 'y.npy' },
      'E_DATASET',
      'x.npy is stored in Fortran (column-major) order',
    );
  });

  it('a groups file of the wrong length, and too few groups', () => {
    csvFile('har.csv', 30, false);
    writeFileSync(join(work, 'g.txt'), 'a\nb\n');
    refused(
      { source: 'har.csv', groups: 'g.txt' },
      'E_DATASET',
      'g.txt has 2 groups (lines), but har.csv holds 30 samples',
    );
    writeFileSync(join(work, 'g.txt'), Array.from({ length: 30 }, (_, i) => (i < 15 ? 'p' : 'q')).join('\n'));
    refused(
      { source: 'har.csv', groups: 'g.txt' },
      'E_DATASET',
      'har.csv has 2 distinct g values; group-disjoint splits need at least 3',
    );
  });

  it('an empty validation split names the option to raise', () => {
    const rows = Array.from({ length: 6 }, (_, i) => [i, i % 2]);
    writeFileSync(join(work, 't.csv'), formatCsv(rows));
    refused(
      { source: 't.csv' },
      'E_DATASET',
      'The validation split is empty: 6 samples are too few for --val-fraction 0.15.',
    );
  });

  it('options of another kind of source, and a --test of another kind, are usage errors', () => {
    csvFile('har.csv', 60, false);
    refused(
      { source: 'har.csv', size: { width: 8, height: 8 } },
      'E_USAGE',
      '--size applies to an image folder, but har.csv is a CSV file.',
    );
    imageFolder('photos');
    refused(
      { source: 'har.csv', test: 'photos' },
      'E_USAGE',
      '--test photos is an image folder, but the source har.csv is a CSV file',
    );
    refused({ source: 'missing.csv' }, 'E_NOT_FOUND', 'No file or folder at missing.csv.');
    refused({ source: 'har.csv', task: 'no/slash' }, 'E_USAGE', "'no/slash' is not a task id");
  });
});
