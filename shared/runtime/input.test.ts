/**
 * One input file → model input → class: a sample taken raw from a task's stored data (as .npy in
 * either layout, as a PNG, as a CSV row) becomes exactly the model input the task loader makes, and the
 * runtime gives it the class `predict` gives that sample of the loaded split.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../datasets/decode/image.ts';
import { writeNpy } from '../datasets/decode/npy.ts';
import { loadTask } from '../datasets/load.ts';
import type { TaskData } from '../datasets/types.ts';
import { classify, softmax } from './classify.ts';
import { describeModelInput, prepareInput, prepareInputBytes } from './input.ts';
import { preprocessSample, storedLayout } from './preprocess.ts';
import { PagedRuntime, type RuntimeModelInfo } from './runtime.ts';
import { rawSample, taskBundle } from './testing.ts';

let root: string;
let rt: PagedRuntime;
let data: ReadonlyMap<string, TaskData>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-input-'));
  data = (await taskBundle(join(root, 'bundle'))).data;
  const opened = await PagedRuntime.open(join(root, 'bundle'));
  if (!opened.ok) throw new Error(opened.error.message);
  rt = opened.value;
});
afterAll(async () => {
  await rt.close();
  rmSync(root, { recursive: true, force: true });
});

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(root, name);
  writeFileSync(path, bytes);
  return path;
}

function info(name: string): RuntimeModelInfo {
  return rt.modelInfo(name)!;
}

/** Info for a task without a bundle: what prepareInput needs is the task's shape, classes and preprocessing. */
function taskInfo(d: TaskData): RuntimeModelInfo {
  const zero = { before: 0, after: 0 };
  return {
    name: d.task,
    inputShape: d.inputShape,
    classes: d.classes,
    preprocessing: d.preprocessing,
    accuracy: { test: zero, val: zero },
  };
}

function loadedSample(d: TaskData, i: number): Float32Array {
  const per = d.inputShape.reduce((a, b) => a * b, 1);
  return d.test.x.slice(i * per, (i + 1) * per);
}

function prepared(path: string, name: string): { x: Float32Array; notes: readonly string[]; held: string } {
  const p = prepareInput(path, info(name));
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

describe('prepareInput and classify', () => {
  it('a digits8x8 test sample as .npy (stored and model layout) and as PNG gives the loaded input and the class predict gives', async () => {
    const d = data.get('digits8x8')!;
    if (!(await rt.switchTo('digits8x8')).ok) throw new Error('switch');
    const predicted = await rt.predict(d.test);
    if (!predicted.ok) throw new Error(predicted.error.message);
    for (const i of [0, 1, 7, 42, d.test.n - 1]) {
      const raw = rawSample('digits8x8', 'test', i);
      expect(raw.storedShape).toEqual([8, 8, 1]);
      const expected = loadedSample(d, i);
      const inputs = [
        file(`d${i}-stored.npy`, writeNpy({ dtype: 'uint8', shape: [8, 8, 1], values: raw.values })),
        file(`d${i}-batch.npy`, writeNpy({ dtype: 'float32', shape: [1, 8, 8, 1], values: raw.values })),
        file(`d${i}-model.npy`, writeNpy({ dtype: 'float64', shape: [1, 1, 8, 8], values: raw.values })),
        file(`d${i}-squeezed.npy`, writeNpy({ dtype: 'int16', shape: [8, 8], values: raw.values })),
        file(
          `d${i}.png`,
          encodePng({ width: 8, height: 8, channels: 1, pixels: Uint8Array.from(raw.values) }),
        ),
      ];
      for (const path of inputs) {
        const p = prepared(path, 'digits8x8');
        expect(p.x, path).toEqual(expected);
        const c = await classify(rt, 'digits8x8', p.x, 3);
        if (!c.ok) throw new Error(c.error.message);
        expect(c.value.predicted.index, path).toBe(predicted.value.predictions[i]);
        expect(c.value.predicted.label).toBe(d.classes[predicted.value.predictions[i]!]);
        expect(c.value.top).toHaveLength(3);
      }
    }
    // A colour image whose luma is those grey pixels is converted, and says so (blue off by 4 moves
    // the BT.601 luma by 0.456, which rounds away).
    const raw = rawSample('digits8x8', 'test', 3);
    const rgb = Uint8Array.from({ length: 192 }, (_, k) => {
      const v = raw.values[Math.floor(k / 3)]!;
      return k % 3 === 2 ? (v > 251 ? v - 4 : v + 4) : v;
    });
    const p = prepared(
      file('rgb.png', encodePng({ width: 8, height: 8, channels: 3, pixels: rgb })),
      'digits8x8',
    );
    expect(p.x).toEqual(loadedSample(d, 3));
    expect(p.held).toBe('PNG image 8×8, RGB');
    expect(p.notes).toEqual(['RGB converted to grey']);
  });

  it('a wall_following test sample as a CSV row (with and without header) and as .npy', async () => {
    const d = data.get('wall_following')!;
    if (!(await rt.switchTo('wall_following')).ok) throw new Error('switch');
    const predicted = await rt.predict(d.test);
    if (!predicted.ok) throw new Error(predicted.error.message);
    for (const i of [0, 5, 99]) {
      const raw = rawSample('wall_following', 'test', i);
      const row = Array.from(raw.values, (v) => String(v)).join(',');
      const header = Array.from(raw.values, (_, k) => `s${k + 1}`).join(',');
      for (const path of [
        file(`w${i}.csv`, `${row}\n`),
        file(`w${i}-header.csv`, `${header}\n${row}\n`),
        file(`w${i}.npy`, writeNpy({ dtype: 'float32', shape: [24], values: raw.values })),
        file(`w${i}-batch.npy`, writeNpy({ dtype: 'float32', shape: [1, 24], values: raw.values })),
      ]) {
        const p = prepared(path, 'wall_following');
        expect(p.x, path).toEqual(loadedSample(d, i));
        const c = await classify(rt, 'wall_following', p.x);
        if (!c.ok) throw new Error(c.error.message);
        expect(c.value.predicted.index).toBe(predicted.value.predictions[i]);
        expect(c.value.top).toHaveLength(4); // --top 5 of 4 classes
        const sum = c.value.top.reduce((a, s) => a + s.score, 0);
        expect(sum).toBeCloseTo(1, 9);
      }
    }
    expect(prepared(join(root, 'w0-header.csv'), 'wall_following').notes).toEqual(['header row skipped']);
  });

  it('applies every stored layout of the zoo as the task loader does (HWC colour, TC->CT, none with per-band statistics)', () => {
    for (const [name, indices] of [
      ['cifar10', [0, 11]],
      ['har_chest_accel', [0, 13]],
      ['speech_commands', [2]],
    ] as const) {
      const loaded = loadTask(name);
      if (!loaded.ok) throw new Error(loaded.error.message);
      const d = loaded.value;
      for (const i of indices) {
        const raw = rawSample(name, 'test', i);
        const x = preprocessSample(raw.values, 'stored', d.preprocessing, d.inputShape);
        expect(x.ok && x.value, name).toEqual(loadedSample(d, i));
        const npy = prepareInputBytes(
          writeNpy({ dtype: 'float32', shape: [1, ...raw.storedShape], values: raw.values }),
          `${name}.npy`,
          taskInfo(d),
        );
        expect(npy.ok && npy.value.x, name).toEqual(loadedSample(d, i));
        if (name === 'cifar10') {
          const png = encodePng({ width: 32, height: 32, channels: 3, pixels: Uint8Array.from(raw.values) });
          const fromPng = prepareInputBytes(png, 'cat.png', taskInfo(d));
          expect(fromPng.ok && fromPng.value.x).toEqual(loadedSample(d, i));
          expect(fromPng.ok && fromPng.value.notes).toEqual([]);
          // A grey image for a colour model: each grey value repeated in R, G and B.
          const grey = Uint8Array.from({ length: 1024 }, (_, k) => raw.values[3 * k]!);
          const fromGrey = prepareInputBytes(
            encodePng({ width: 32, height: 32, channels: 1, pixels: grey }),
            'grey.png',
            taskInfo(d),
          );
          const repeated = Float32Array.from({ length: 3072 }, (_, k) => grey[Math.floor(k / 3)]!);
          const expectedGrey = preprocessSample(repeated, 'stored', d.preprocessing, d.inputShape);
          expect(fromGrey.ok && fromGrey.value.x).toEqual(expectedGrey.ok && expectedGrey.value);
          expect(fromGrey.ok && fromGrey.value.notes).toEqual(['grey converted to RGB']);
        }
      }
    }
    const layout = storedLayout({ scale: 1, mean: [0], std: [1], layout: 'TC->CT' }, [3, 1, 128]);
    expect(layout.ok && layout.value).toEqual({
      letters: 'TC',
      storedShape: [128, 3],
      permutation: [1, 0],
      identity: false,
    });
    const bad = storedLayout({ scale: 1, mean: [0], std: [1], layout: 'HWC->HHW' }, [3, 4, 4]);
    expect(!bad.ok && bad.error.code).toBe('E_BUNDLE');
  });

  it('refuses inputs that do not fit the model, saying what it takes and what the file holds', () => {
    const mismatch = (path: string, name: string, pattern: RegExp, hint?: RegExp): void => {
      const p = prepareInput(path, info(name));
      expect(p.ok, path).toBe(false);
      if (p.ok) return;
      expect(p.error.code, path).toBe('E_DATA_MISMATCH');
      expect(p.error.message, path).toMatch(pattern);
      if (hint) expect(p.error.hint, path).toMatch(hint);
    };
    expect(describeModelInput(info('digits8x8'))).toBe(
      "an array of shape [1, 8, 8] (or [8, 8, 1] in the data's stored layout, HWC->CHW)",
    );
    mismatch(
      file('small.npy', writeNpy({ dtype: 'float32', shape: [7, 7], values: new Float32Array(49) })),
      'digits8x8',
      /small\.npy holds array \[7, 7\] of float32, but model "digits8x8" takes an array of shape \[1, 8, 8\] \(or \[8, 8, 1\] in the data's stored layout, HWC->CHW\), optionally with a leading batch axis of 1\./,
    );
    mismatch(
      file('many.npy', writeNpy({ dtype: 'float32', shape: [5, 24], values: new Float32Array(120) })),
      'wall_following',
      /holds array \[5, 24\] of float32, .* It looks like 5 samples; wsep run classifies one\./,
      /x\[i:i\+1\]/,
    );
    mismatch(
      file('nan.npy', writeNpy({ dtype: 'float32', shape: [24], values: new Float32Array(24).fill(NaN) })),
      'wall_following',
      /holds NaN at flat index 0/,
    );
    mismatch(
      file('big.png', encodePng({ width: 10, height: 9, channels: 1, pixels: new Uint8Array(90) })),
      'digits8x8',
      /big\.png is 10×9 pixels, but model "digits8x8" takes 8×8 grey images\./,
      /Resize the image to 8×8/,
    );
    mismatch(
      file('photo.png', encodePng({ width: 8, height: 8, channels: 3, pixels: new Uint8Array(192) })),
      'wall_following',
      /photo\.png is an image, but model "wall_following" does not take images: it takes an array of shape \[24\]/,
    );
    mismatch(
      file('wide.csv', `${'1,'.repeat(24)}2\n`),
      'wall_following',
      /holds 25 values in its row, but model "wall_following" takes 24 features\./,
      /Drop the label column/,
    );
    mismatch(
      file('rows.csv', 'a,b\n1,2\n3,4\n'),
      'wall_following',
      /holds 2 rows of features; wsep run classifies one input/,
    );
    mismatch(
      file('text.csv', `${'1,'.repeat(23)}x\n${'1,'.repeat(23)}oops\n`),
      'wall_following',
      /text\.csv, line 2, column 24: "oops" is not a number/,
    );
    mismatch(file('header.csv', 'a,b\n'), 'wall_following', /holds only a header row/);
    mismatch(file('digits.csv', `${'0,'.repeat(63)}0\n`), 'wall_following', /holds 64 values/);
    const unknown = prepareInput(file('thing.bin', 'hello'), info('wall_following'));
    expect(!unknown.ok && unknown.error.code).toBe('E_USAGE');
    expect(!unknown.ok && unknown.error.message).toMatch(/Cannot tell what thing\.bin holds/);
    const missing = prepareInput(join(root, 'none.npy'), info('wall_following'));
    expect(!missing.ok && missing.error.code).toBe('E_NOT_FOUND');
    const corrupt = prepareInput(
      file(
        'broken.npy',
        writeNpy({ dtype: 'float32', shape: [24], values: new Float32Array(24) }).subarray(0, 100),
      ),
      info('wall_following'),
    );
    expect(!corrupt.ok && corrupt.error.code).toBe('E_DATASET');
  });

  it('classify ranks by softmax and refuses unknown models', async () => {
    const [a, b] = softmax([0, Math.log(3)]);
    expect(a).toBeCloseTo(0.25, 12);
    expect(b).toBeCloseTo(0.75, 12);
    expect(Array.from(softmax([1000, 1000]))).toEqual([0.5, 0.5]);
    const none = await classify(rt, 'nope', new Float32Array(24));
    expect(!none.ok && none.error.message).toMatch(/no model "nope"/);
    const badTop = await classify(rt, 'wall_following', new Float32Array(24), 0);
    expect(!badTop.ok && badTop.error.code).toBe('E_USAGE');
  });
});
