import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { augmentFrom, parseAugmentSpecs } from './augment.ts';

describe('parseAugmentSpecs', () => {
  it('reads what the zoo writes into model metadata, and the result augments', () => {
    const text = JSON.stringify([
      { kind: 'shift', axis: 1, max: 2 },
      { kind: 'flip', axis: 2 },
      { kind: 'noise', std: 0.05 },
    ]);
    const r = parseAugmentSpecs(text, 3);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toHaveLength(3);
    const x = Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => i);
    augmentFrom(r.value)!(x, 2, [1, 4, 4], new Rng(1));
    expect(Array.from(x)).not.toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it('names the entry and the field that is wrong', () => {
    const bad = (v: unknown, rank = 3) => {
      const r = parseAugmentSpecs(typeof v === 'string' ? v : JSON.stringify(v), rank);
      return r.ok ? 'ok' : r.error.message;
    };
    expect(bad('{not json')).toMatch(/not valid JSON/);
    expect(bad({ kind: 'shift' })).toMatch(/must be a JSON array/);
    expect(bad([{ kind: 'rotate' }])).toMatch(
      /Augmentation 1 has kind "rotate"; expected one of shift, flip/,
    );
    expect(
      bad([
        { kind: 'flip', axis: 1 },
        { kind: 'shift', axis: 1 },
      ]),
    ).toMatch(/Augmentation 2 \(shift\) needs a number for "max"/);
    expect(bad([{ kind: 'mask', axis: 3, maxWidth: 2 }])).toMatch(/has axis 3; samples have 3 axes/);
    expect(bad([])).toBe('ok');
  });
});
