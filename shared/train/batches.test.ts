import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { augmentFrom, randomFlip, randomMask, randomShift } from './augment.ts';
import { BatchSampler } from './batches.ts';

/** 10 samples of shape [2]: sample i is [i, 100 + i], label i. */
function split(n = 10) {
  const x = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = 100 + i;
    y[i] = i;
  }
  return { n, x, y };
}

function epochLabels(s: BatchSampler, batches: number): number[][] {
  return Array.from({ length: batches }, () => {
    const size = s.next();
    return Array.from(s.y.subarray(0, size), Number);
  });
}

describe('BatchSampler', () => {
  it('visits every sample once per epoch, gathers inputs with their labels, and reshuffles', () => {
    const s = new BatchSampler(split(), [2], { batchSize: 4, seed: 1 });
    expect(s.batchesPerEpoch).toBe(3);
    const e1 = epochLabels(s, 3);
    expect(e1.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(e1.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.epoch).toBe(1);
    // Inputs follow their labels.
    for (let b = 0; b < s.size; b++) {
      const label = Number(s.y[b]);
      expect([s.x[2 * b], s.x[2 * b + 1]]).toEqual([label, 100 + label]);
    }
    const e2 = epochLabels(s, 3);
    expect(s.epoch).toBe(2);
    expect(e2.flat().sort((a, b) => a - b)).toEqual(e1.flat().sort((a, b) => a - b));
    expect(e2.flat()).not.toEqual(e1.flat());
  });

  it("drops the remainder with last: 'drop', and is deterministic for a seed", () => {
    const a = new BatchSampler(split(), [2], { batchSize: 4, seed: 5, last: 'drop' });
    const b = new BatchSampler(split(), [2], { batchSize: 4, seed: 5, last: 'drop' });
    expect(a.batchesPerEpoch).toBe(2);
    const ea = epochLabels(a, 6);
    expect(ea.every((batch) => batch.length === 4)).toBe(true);
    expect(epochLabels(b, 6)).toEqual(ea);
    expect(a.epoch).toBe(3);
    const c = new BatchSampler(split(), [2], { batchSize: 4, seed: 6, last: 'drop' });
    expect(epochLabels(c, 6)).not.toEqual(ea);
  });

  it('yields a partial batch when the split is smaller than one batch, even with drop', () => {
    const s = new BatchSampler(split(3), [2], { batchSize: 8, seed: 1, last: 'drop' });
    expect(s.next()).toBe(3);
  });

  it('augmentation changes the batch, not the split or the sample order', () => {
    const data = split();
    const plain = new BatchSampler(data, [2], { batchSize: 4, seed: 2 });
    const flipped = new BatchSampler(data, [2], {
      batchSize: 4,
      seed: 2,
      augment: (x, count) => x.fill(-1, 0, count * 2),
    });
    plain.next();
    flipped.next();
    expect([...flipped.y]).toEqual([...plain.y]);
    expect([...flipped.x]).toEqual([-1, -1, -1, -1, -1, -1, -1, -1]);
    expect(data.x[0]).toBe(0);
  });
});

describe('augmentations', () => {
  const rng = () => new Rng(3);

  it('shift moves along one axis and fills with zeros', () => {
    // One sample [1, 2, 3] (C=1, H=2, W=3); shift along W by the drawn amount.
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const r = rng();
    const expected = (() => {
      const shift = new Rng(3).int(3) - 1;
      const out = new Float32Array(6);
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++)
          out[i * 3 + j] = j - shift >= 0 && j - shift < 3 ? x[i * 3 + j - shift]! : 0;
      return [...out];
    })();
    randomShift(2, 1)(x, 1, [1, 2, 3], r);
    expect([...x]).toEqual(expected);
  });

  it('shift by a fixed amount: row 0 → row 1 along H', () => {
    // max 1 and a draw that gives +1: find a seed whose first int(3) is 2.
    let seed = 0;
    while (new Rng(seed).int(3) !== 2) seed++;
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    randomShift(1, 1)(x, 1, [1, 2, 3], new Rng(seed));
    expect([...x]).toEqual([0, 0, 0, 1, 2, 3]);
  });

  it('flip mirrors along the axis when drawn, mask zeroes a band, composition applies in order', () => {
    let seed = 0;
    while (new Rng(seed).next() >= 0.5) seed++;
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    randomFlip(2)(x, 1, [1, 2, 3], new Rng(seed));
    expect([...x]).toEqual([3, 2, 1, 6, 5, 4]);
    const y = Float32Array.from({ length: 12 }, (_, i) => i + 1);
    randomMask(1, 4)(y, 1, [1, 4, 3], new Rng(9));
    const zeros = [...y].filter((v) => v === 0).length;
    expect(zeros % 3).toBe(0); // whole rows only
    const both = augmentFrom([
      { kind: 'scale', min: 2, max: 2 },
      { kind: 'noise', std: 0 },
    ])!;
    const z = Float32Array.from([1, 2]);
    both(z, 1, [2], rng());
    expect([...z]).toEqual([2, 4]);
    expect(augmentFrom([])).toBeUndefined();
  });

  it('names a bad axis', () => {
    expect(() => randomShift(3, 1)(new Float32Array(6), 1, [1, 2, 3], rng())).toThrow(/axis 3/);
  });
});
