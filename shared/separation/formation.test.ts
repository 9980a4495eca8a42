import { describe, expect, it } from 'vitest';
import { floatTensor } from '../onnx/builder.ts';
import { tinyConvNet } from '../onnx/testing.ts';
import { selectWeights } from '../onnx/weights.ts';
import {
  formModel,
  formWeights,
  pageLength,
  pageRange,
  pageSums,
  pageView,
  unformWeights,
} from './formation.ts';

describe('formation', () => {
  it('flattens tensors in order, records offsets and counts pages with a logical pad', () => {
    const a = floatTensor('a', [2, 3], [1, 2, 3, 4, 5, 6]);
    const b = floatTensor('b', [3], [7, 8, 9]);
    const f = formWeights([a, b], 4);
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    expect(Array.from(f.value.flat)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(f.value.tensors).toEqual([
      { name: 'a', dims: [2, 3], offset: 0, length: 6 },
      { name: 'b', dims: [3], offset: 6, length: 3 },
    ]);
    expect(f.value.weightCount).toBe(9);
    expect(f.value.pageCount).toBe(3); // ⌈9/4⌉
    expect(pageRange(2, 9, 4)).toEqual({ start: 8, end: 9 });
    expect(pageLength(2, 9, 4)).toBe(1);
    expect(Array.from(pageView(f.value.flat, 2, 4))).toEqual([9]);
  });

  it('adds no phantom page when n mod P = 0', () => {
    const f = formWeights([floatTensor('a', [8], new Float32Array(8))], 4);
    expect(f.ok && f.value.pageCount).toBe(2);
    expect(pageLength(1, 8, 4)).toBe(4);
    expect(pageLength(2, 8, 4)).toBe(0);
  });

  it('round-trips through unformWeights', () => {
    const model = tinyConvNet(3);
    const f = formModel(model, 16);
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    const back = unformWeights(f.value.flat, f.value.tensors);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    const original = selectWeights(model);
    expect(back.value.map((t) => t.name)).toEqual(original.map((t) => t.name));
    back.value.forEach((t, i) => {
      expect(t.dims).toEqual(original[i]!.dims);
      expect(Array.from(t.data as Float32Array)).toEqual(Array.from(original[i]!.data as Float32Array));
    });
    expect(f.value.weightCount).toBe(4 * 9 + 4 + 3 * 64 + 3);
  });

  it('sums a per-weight quantity per page', () => {
    expect(Array.from(pageSums(Float64Array.from([1, 2, 3, 4, 5]), 2))).toEqual([3, 7, 5]);
  });

  it('refuses bad inputs with actionable errors', () => {
    expect(formWeights([], 4).ok).toBe(false);
    const bad = formWeights([floatTensor('w', [2], [1, NaN])], 4);
    expect(!bad.ok && bad.error.message).toContain('"w"');
    const size = formWeights([floatTensor('w', [2], [1, 2])], 0);
    expect(!size.ok && size.error.code).toBe('E_USAGE');
    const mismatch = unformWeights(new Float32Array(3), [{ name: 'a', dims: [2], offset: 0, length: 2 }]);
    expect(mismatch.ok).toBe(false);
  });
});
