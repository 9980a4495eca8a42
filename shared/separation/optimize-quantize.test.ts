/**
 * Fake quantisation in the joint optimisation (optimize.ts `quantize`): every forward pass — training
 * batches and evaluations — sees int8 pages (one scale per page, shared pages quantised once for all
 * their occupants), while Adam moves the float masters by the gradient at those pages.
 */
import { describe, expect, it } from 'vitest';
import { encodeI8Pages } from '../image/quantize.ts';
import { optimizeJointly, quantizePagedState, type PagedState, type TaskGradients } from './optimize.ts';

/** A quadratic task towards `target` that records the weights of every forward pass. */
function recordingTask(name: string, target: Float32Array, seen: Float32Array[]): TaskGradients {
  return {
    name,
    weightCount: target.length,
    async trainBatch(w, grad) {
      seen.push(w.slice());
      let loss = 0;
      for (let i = 0; i < w.length; i++) {
        grad[i] = 2 * (w[i]! - target[i]!);
        loss += (w[i]! - target[i]!) ** 2;
      }
      return loss;
    },
    async validate(w) {
      seen.push(w.slice());
      return { accuracy: 0.5, loss: 0 };
    },
  };
}

/** Task a: page 0 on shared slot 0, page 1 exclusive; task b: page 0 on shared slot 0. P = 4. */
function state(): PagedState {
  return {
    pageSize: 4,
    sharedPageCount: 1,
    shared: Float32Array.from([0.1, -0.2, 0.3, 0.05]),
    exclusive: [Float32Array.from([1, 2, 3, 4]), new Float32Array(0)],
    tables: [Uint32Array.from([0, 1]), Uint32Array.from([0])],
    selfTied: false,
  };
}

const options = {
  steps: 20,
  lr: 0.013,
  warmupSteps: 1,
  evalEvery: 5,
  patience: 100,
  floorPoints: 100,
  baselineVal: [0.5, 0.5],
} as const;

describe('joint optimisation with int8 pages', () => {
  it('feeds every forward pass int8 pages, one scale per shared page for all its occupants', async () => {
    const seenA: Float32Array[] = [];
    const seenB: Float32Array[] = [];
    const s = state();
    await optimizeJointly(
      s,
      [
        recordingTask('a', Float32Array.from([0.7, 0.1, -0.4, 0.2, 1.5, 2.5, 3.5, 4.5]), seenA),
        recordingTask('b', Float32Array.from([0.5, 0.5, 0.5, 0.5]), seenB),
      ],
      { ...options, quantize: { rule: 'max-abs' } },
    );
    expect(seenA.length).toBeGreaterThan(20);
    for (const [i, w] of seenA.entries()) {
      // Page 0 of both tasks is shared slot 0: the same values, hence the same int8 page and scale.
      expect(Array.from(w.subarray(0, 4)), `pass ${i}`).toEqual(Array.from(seenB[i]!));
      const maxAbs = (p: Float32Array) => Math.max(...Array.from(p, Math.abs));
      for (const page of [w.subarray(0, 4), w.subarray(4, 8)]) {
        const scale = Math.fround(maxAbs(page) / 127);
        expect(encodeI8Pages(page.slice(), Float32Array.of(scale), 4).ok, `pass ${i}`).toBe(true);
      }
    }
    // The masters moved by ordinary steps and are not on the grid; the kept pages quantise to what
    // was evaluated last at the kept step.
    const q = quantizePagedState(s, 'max-abs');
    expect(encodeI8Pages(q.state.shared, q.sharedScales, 4).ok).toBe(true);
    expect(encodeI8Pages(s.shared, q.sharedScales, 4).ok).toBe(false);
  });

  it('without quantize, passes the float pages as before', async () => {
    const seen: Float32Array[] = [];
    const s = state();
    await optimizeJointly(
      s,
      [
        recordingTask('a', Float32Array.from([0.7, 0.1, -0.4, 0.2, 1.5, 2.5, 3.5, 4.5]), seen),
        recordingTask('b', Float32Array.from([0.5, 0.5, 0.5, 0.5]), []),
      ],
      options,
    );
    expect(Array.from(seen[0]!.subarray(0, 4))).toEqual(Array.from(state().shared));
  });
});
