import { describe, expect, it } from 'vitest';
import { createOptimizer, validateOptimizerSpec, type OptimizerSpec } from './optimizers.ts';

/** Runs `spec` on one parameter vector through the given gradient sequence; returns p after each step. */
function trace(spec: OptimizerSpec, p0: number[], grads: number[][]): number[][] {
  const p = Float32Array.from(p0);
  const g = new Float32Array(p0.length);
  const opt = createOptimizer(spec, [p.length]);
  return grads.map((gs) => {
    g.set(gs);
    opt.step([p], [g]);
    return [...p];
  });
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 6)));
}

describe('SGD', () => {
  it('plain SGD: p ← p − lr·(g + wd·p)', () => {
    // 1 − 0.1·(0.5 + 0.01·1) = 0.949;  −2 − 0.1·(1 − 0.02) = −2.098
    expectClose(trace({ kind: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0.01 }, [1, -2], [[0.5, 1]]), [
      [0.949, -2.098],
    ]);
  });

  it('heavy-ball momentum accumulates b ← μb + g', () => {
    // step 1: b = g → 0.95, −2.1;  step 2: b = 0.9g + g = 1.9g → 0.95 − 0.095, −2.1 − 0.19
    expectClose(
      trace(
        { kind: 'sgd', lr: 0.1, momentum: 0.9 },
        [1, -2],
        [
          [0.5, 1],
          [0.5, 1],
        ],
      ),
      [
        [0.95, -2.1],
        [0.855, -2.29],
      ],
    );
  });

  it('Nesterov steps by g + μb', () => {
    // step 1: b = g; update g + 0.9g = 1.9g → 1 − 0.095 = 0.905
    // step 2: b = 1.9g; update g + 0.9·1.9g = 2.71g → 0.905 − 0.1355 = 0.7695
    expectClose(trace({ kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }, [1], [[0.5], [0.5]]), [
      [0.905],
      [0.7695],
    ]);
  });
});

describe('Adam', () => {
  it('matches the bias-corrected update', () => {
    // step 1 moves by lr·sign(g); step 2 from m = −0.055, v = 0.00124975 with corrections 0.19, 0.001999.
    expectClose(trace({ kind: 'adam', lr: 0.1 }, [1], [[0.5], [-1]]), [[0.9], [0.93661035]]);
  });

  it('coupled weight decay adds wd·p to the gradient', () => {
    expectClose(trace({ kind: 'adam', lr: 0.1, weightDecay: 0.1 }, [1], [[0.5], [-1]]), [
      [0.9],
      [0.92526352],
    ]);
  });

  it('AdamW shrinks p by (1 − lr·wd) before the update', () => {
    expectClose(trace({ kind: 'adam', lr: 0.1, weightDecay: 0.1, decoupled: true }, [1], [[0.5], [-1]]), [
      [0.89],
      [0.91771035],
    ]);
  });

  it('updates several arrays independently, honours lr changes, and reset clears the state', () => {
    const a = Float32Array.from([1, 1]);
    const b = Float32Array.from([2]);
    const ga = Float32Array.from([1, -1]);
    const gb = Float32Array.from([3]);
    const opt = createOptimizer({ kind: 'adam', lr: 0.1 }, [2, 1]);
    opt.step([a, b], [ga, gb]);
    expect([...a]).toEqual([Math.fround(0.9), Math.fround(1.1)]);
    expect(b[0]).toBeCloseTo(1.9, 6);
    opt.lr = 0.01;
    opt.reset();
    expect(opt.steps).toBe(0);
    opt.step([a, b], [ga, gb]);
    expect(a[0]).toBeCloseTo(0.89, 6);
    expect(opt.steps).toBe(1);
  });

  it('rejects arrays of the wrong size', () => {
    const opt = createOptimizer({ kind: 'adam', lr: 0.1 }, [2]);
    expect(() => opt.step([new Float32Array(3)], [new Float32Array(3)])).toThrow(/expected 2/);
  });
});

describe('validateOptimizerSpec', () => {
  it('accepts sane specs and names what is wrong otherwise', () => {
    expect(validateOptimizerSpec({ kind: 'adam', lr: 1e-3 }).ok).toBe(true);
    const bad = validateOptimizerSpec({ kind: 'sgd', lr: -1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('E_USAGE');
    expect(validateOptimizerSpec({ kind: 'sgd', lr: 0.1, momentum: 0, nesterov: true }).ok).toBe(false);
  });
});
