/**
 * The kept i8 pages are exactly the pages evaluated at the kept step (step 0 included), with the
 * page average and the early/late selection on.
 */
import { describe, expect, it } from 'vitest';
import {
  gatherTask,
  optimizeJointly,
  quantizePagedState,
  type PagedState,
  type TaskGradients,
} from './optimize.ts';

function task(name: string, target: Float32Array, script: number[], evals: Float32Array[]): TaskGradients {
  let n = 0;
  return {
    name,
    weightCount: target.length,
    async trainBatch(w, grad) {
      let loss = 0;
      for (let i = 0; i < w.length; i++) {
        grad[i] = 2 * (w[i]! - target[i]!);
        loss += (w[i]! - target[i]!) ** 2;
      }
      return loss;
    },
    async validate(w) {
      evals.push(w.slice());
      return { accuracy: script[n++] ?? 0.1, loss: 0 };
    },
  };
}

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
        task('a', Float32Array.from([0.7, 0.1, -0.4, 0.2, 1.5, 2.5, 3.5, 4.5]), [...script], ea),
        task('b', Float32Array.from([0.5, 0.5, 0.5, 0.5]), [...script], eb),
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
