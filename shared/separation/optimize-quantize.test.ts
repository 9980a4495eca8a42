/**
 * Fake quantisation in the joint optimisation (optimize.ts `quantize`): every forward pass — training
 * batches and evaluations — sees int8 pages (one scale per page, shared pages quantised once for all
 * their occupants), while Adam moves the float masters by the gradient at those pages.
 */
import { describe, expect, it } from 'vitest';
import { encodeI8Pages } from '../image/quantize.ts';
import {
  gatherTask,
  optimizeJointly,
  quantizePagedState,
  type PagedState,
  type TaskGradients,
} from './optimize.ts';

/**
 * A quadratic task towards `target` that records the weights of every forward pass in `seen`; with
 * `evals`, it also records each evaluation's weights there and answers the scripted accuracies in turn.
 */
function recordingTask(
  name: string,
  target: Float32Array,
  seen: Float32Array[],
  evals?: { readonly seen: Float32Array[]; readonly accuracies: readonly number[] },
): TaskGradients {
  let evaluated = 0;
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
      evals?.seen.push(w.slice());
      const accuracy = evals ? (evals.accuracies[evaluated++] ?? 0.1) : 0.5;
      return { accuracy, loss: 0 };
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

// The kept i8 pages are exactly the pages evaluated at the kept step (step 0 included), with the page
// average and the early/late selection on.
describe('kept i8 pages', () => {
  for (const [label, script, ema, min] of [
    ['step 0 kept', [0.9, 0.2, 0.2, 0.2, 0.2], 0.9, 0.5],
    ['late kept', [0.2, 0.2, 0.2, 0.9, 0.3], 0.9, 0.5],
    ['late kept no ema', [0.2, 0.2, 0.9, 0.3, 0.3], 0, 0],
  ] as const) {
    it(label, async () => {
      const ea: Float32Array[] = [];
      const eb: Float32Array[] = [];
      const s = state();
      const tasks = [
        recordingTask('a', Float32Array.from([0.7, 0.1, -0.4, 0.2, 1.5, 2.5, 3.5, 4.5]), [], {
          seen: ea,
          accuracies: script,
        }),
        recordingTask('b', Float32Array.from([0.5, 0.5, 0.5, 0.5]), [], { seen: eb, accuracies: script }),
      ];
      const r = await optimizeJointly(s, tasks, {
        steps: 20,
        lr: 0.05,
        warmupSteps: 1,
        evalEvery: 5,
        patience: 100,
        floorPoints: 1,
        baselineVal: [0.9, 0.9],
        valCount: [100, 100],
        noiseZ: 1,
        smoothing: 1,
        selection: 'noise-shortfall',
        minStepsFraction: min,
        ema,
        quantize: { rule: 'max-abs' },
      });
      const idx = r.history.findIndex((p) => p.step === r.bestStep);
      const q = quantizePagedState(s, 'max-abs');
      const ga = gatherTask(q.state, 0, tasks[0]!, new Float32Array(8));
      const gb = gatherTask(q.state, 1, tasks[1]!, new Float32Array(4));
      expect(Array.from(ga)).toEqual(Array.from(ea[idx]!));
      expect(Array.from(gb)).toEqual(Array.from(eb[idx]!));
      // Not trivially: another evaluation saw other pages.
      expect(Array.from(ea[idx === 0 ? 4 : 0]!)).not.toEqual(Array.from(ga));
    });
  }
});
