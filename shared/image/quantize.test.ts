import { describe, expect, it } from 'vitest';
import {
  I8_MAX,
  MIN_SCALE,
  decodeI8Pages,
  dequantizeInto,
  encodeI8Pages,
  fakeQuantizePages,
  pageScale,
  quantizePlan,
  validScale,
} from './quantize.ts';
import { tinyPlan } from './testing.ts';

/** A deterministic page-like signal: a sine with a few larger values. */
function values(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 0.7 + seed) * 0.05 + (i % 17 === 0 ? 0.3 : 0);
  return out;
}

function squaredError(a: Float32Array, b: Float32Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i]! - b[i]!) ** 2;
  return e;
}

describe('int8 pages, one scale per page', () => {
  it('max-abs: scale = max |v| / 127 as a float32, every value within half a step', () => {
    const v = values(64);
    const scales = new Float32Array(4);
    const out = new Float32Array(64);
    fakeQuantizePages(v, 16, 'max-abs', scales, out);
    for (let p = 0; p < 4; p++) {
      const page = v.subarray(p * 16, (p + 1) * 16);
      const max = Math.max(...Array.from(page, Math.abs));
      expect(scales[p]).toBe(Math.fround(max / I8_MAX));
      for (let i = 0; i < 16; i++) {
        const q = out[p * 16 + i]! / scales[p]!;
        expect(Math.abs(Math.round(q))).toBeLessThanOrEqual(I8_MAX);
        expect(Math.abs(out[p * 16 + i]! - page[i]!)).toBeLessThanOrEqual(scales[p]! / 2 + 1e-9);
      }
    }
  });

  it('mse never gives a page more squared error than max-abs', () => {
    const err = (page: Float32Array, rule: 'max-abs' | 'mse') => {
      const out = new Float32Array(page.length);
      fakeQuantizePages(page, page.length, rule, new Float32Array(1), out);
      return squaredError(page, out);
    };
    for (let seed = 0; seed < 5; seed++) {
      const page = values(256, seed);
      expect(err(page, 'mse')).toBeLessThanOrEqual(err(page, 'max-abs'));
    }
    // At 8 bits clipping rarely pays (an outlier's error grows with the square of the clip, the gain
    // on the rest is a fraction of a step each), so mse mostly returns max-abs; an outlier page too.
    const levels = Float32Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : 0.6 * (i % 2 ? 1 : -1)));
    expect(err(levels, 'mse')).toBeLessThanOrEqual(err(levels, 'max-abs'));
  });

  it('a page of zeros gets the smallest normal scale and stays zero', () => {
    const zero = new Float32Array(8);
    expect(pageScale(zero, 0, 8, 'max-abs')).toBe(MIN_SCALE);
    expect(pageScale(zero, 0, 8, 'mse')).toBe(MIN_SCALE);
    const scales = new Float32Array(1);
    fakeQuantizePages(zero, 8, 'mse', scales);
    expect(Array.from(zero)).toEqual(new Array(8).fill(0));
    expect(validScale(scales[0]!)).toBe(true);
  });

  it('encodes dequantised values back to their codes exactly, and refuses a value off the grid', () => {
    const v = values(48, 5);
    const scales = new Float32Array(3);
    fakeQuantizePages(v, 16, 'max-abs', scales);
    const encoded = encodeI8Pages(v, scales, 16);
    if (!encoded.ok) throw new Error(encoded.message);
    expect(decodeI8Pages(encoded.codes, scales, 16)).toEqual(v);
    const off = v.slice();
    off[20] = Math.fround(off[20]! + scales[1]! / 3);
    const refused = encodeI8Pages(off, scales, 16);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && [refused.page, refused.index]).toEqual([1, 4]);
  });

  it('dequantises a run across page boundaries with each page’s own scale', () => {
    const codes = Int8Array.from({ length: 40 }, (_, i) => (i % 11) - 5);
    const scales = Float32Array.from([0.5, 0.25, 2, 4, 8]);
    const out = new Float32Array(40).fill(NaN);
    dequantizeInto(codes, 5, scales, 8, out, 3, 30);
    for (let i = 0; i < 30; i++) expect(out[3 + i]).toBe(codes[5 + i]! * scales[Math.floor((5 + i) / 8)]!);
    expect(Number.isNaN(out[2]!)).toBe(true);
    expect(Number.isNaN(out[33]!)).toBe(true);
  });

  it('judges stored scales: finite float32 > 0 only', () => {
    expect([1, MIN_SCALE, Math.fround(0.1)].every(validScale)).toBe(true);
    expect([0, -1, Infinity, NaN, 0.1].some(validScale)).toBe(false);
  });

  it('quantizePlan gives every page of a plan a scale and values on its grid', () => {
    const plan = quantizePlan(tinyPlan(4), 'mse');
    expect(plan.valueType).toBe('i8');
    expect(plan.sharedScales!.length).toBe(plan.sharedPageCount);
    expect(encodeI8Pages(plan.sharedPages, plan.sharedScales!, plan.pageSize).ok).toBe(true);
    for (const m of plan.models) {
      expect(m.exclusiveScales!.length).toBe(m.exclusivePages.length / plan.pageSize);
      expect(encodeI8Pages(m.exclusivePages, m.exclusiveScales!, plan.pageSize).ok).toBe(true);
    }
  });
});
