import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { permuteSamples } from './layout.ts';
import {
  balancedDraw,
  chronologicalValidation,
  groupValidation,
  pickValidationGroups,
  splitProblems,
  stratifiedParts,
  stratifiedValidation,
} from './splits.ts';

const labels = Uint8Array.from({ length: 200 }, (_, i) => (i * 7) % 5);
const rows = Array.from({ length: 200 }, (_, i) => i);

describe('splits', () => {
  it('stratified 70/15/15 parts are disjoint, complete, proportional per class and seeded', () => {
    const [train, val, test] = stratifiedParts(rows, labels, [0.7, 0.15, 0.15], new Rng(1));
    expect(splitProblems({ train: train!, val: val!, test: test! }, 200, rows)).toEqual([]);
    for (let c = 0; c < 5; c++) {
      expect(val!.filter((i) => labels[i] === c)).toHaveLength(6);
      expect(test!.filter((i) => labels[i] === c)).toHaveLength(6);
    }
    expect(stratifiedParts(rows, labels, [0.7, 0.15, 0.15], new Rng(1))).toEqual([train, val, test]);
    expect(stratifiedParts(rows, labels, [0.7, 0.15, 0.15], new Rng(2))).not.toEqual([train, val, test]);
  });

  it('stratified validation holds the fraction out of train only', () => {
    const { train, val } = stratifiedValidation(rows.slice(0, 150), labels, 0.2, new Rng(4));
    expect(val).toHaveLength(30);
    expect(splitProblems({ train, val, test: rows.slice(150) }, 200, rows)).toEqual([]);
  });

  it('group validation keeps every group on one side', () => {
    const groups = rows.map((i) => i % 12);
    const { train, val } = groupValidation(rows, groups, new Set([10, 11]));
    expect(new Set(val.map((i) => groups[i]))).toEqual(new Set([10, 11]));
    expect(train.some((i) => groups[i]! >= 10)).toBe(false);
    expect(train.length + val.length).toBe(200);
  });

  it('random whole groups reach the fraction and never split a group', () => {
    const groups = rows.map((i) => `spk${i % 37}`);
    const picked = pickValidationGroups(rows, groups, 0.15, new Rng(9));
    const { train, val } = groupValidation(rows, groups, picked);
    expect(val.length).toBeGreaterThanOrEqual(30);
    const trainGroups = new Set(train.map((i) => groups[i]!));
    expect(val.some((i) => trainGroups.has(groups[i]!))).toBe(false);
    expect(pickValidationGroups(rows, groups, 0.15, new Rng(9))).toEqual(picked);
  });

  it('chronological validation is the tail of train', () => {
    const { train, val } = chronologicalValidation(rows.slice(0, 100), 0.15);
    expect(val).toEqual(rows.slice(85, 100));
    expect(train).toEqual(rows.slice(0, 85));
  });

  it('balanced draw takes the same count per class', () => {
    const drawn = balancedDraw(rows, labels, 20, new Rng(3));
    expect(drawn).toHaveLength(100);
    for (let c = 0; c < 5; c++) expect(drawn.filter((i) => labels[i] === c)).toHaveLength(20);
    expect(() => balancedDraw(rows, labels, 41, new Rng(3))).toThrow(/fewer than the 41/);
  });

  it('splitProblems reports overlap, range and missing rows', () => {
    const problems = splitProblems({ train: [0, 1], val: [1, 9], test: [] }, 5, [0, 1, 2, 3]);
    expect(problems.join('\n')).toMatch(/test split is empty/);
    expect(problems.join('\n')).toMatch(/row 1 is in both train and val/);
    expect(problems.join('\n')).toMatch(/row 9, outside 0..4/);
    expect(problems.join('\n')).toMatch(/in no split/);
  });
});

describe('layout', () => {
  it('transposes HWC to CHW', () => {
    // One sample [2,2,3]: value = 100h + 10w + c.
    const src = Float32Array.from(
      { length: 12 },
      (_, i) => 100 * Math.floor(i / 6) + 10 * (Math.floor(i / 3) % 2) + (i % 3),
    );
    const dst = new Float32Array(12);
    permuteSamples(src, dst, 1, [2, 2, 3], [2, 0, 1]);
    expect(Array.from(dst)).toEqual([0, 10, 100, 110, 1, 11, 101, 111, 2, 12, 102, 112]);
  });

  it('leaves single-channel HWC bytes unchanged', () => {
    const src = Float32Array.from({ length: 8 }, (_, i) => i);
    const dst = new Float32Array(8);
    permuteSamples(src, dst, 2, [2, 2, 1], [2, 0, 1]);
    expect(dst).toEqual(src);
  });
});
