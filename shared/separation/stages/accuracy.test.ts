import { describe, expect, it } from 'vitest';
import { DataType } from '../../onnx/types.ts';
import { formWeights } from '../formation.ts';
import type { PagedState } from '../optimize.ts';
import { baselineStage, finalStage } from './accuracy.ts';
import { quietStage } from './context.ts';
import { quadraticRunner } from './testing.ts';

describe('the accuracy stages', () => {
  it('baseline: each task’s validation and test accuracy at its own formed weights, in task order', async () => {
    const a = quadraticRunner('a', Float32Array.of(1, 1));
    const b = quadraticRunner('b', Float32Array.of(0, 0, 0));
    const formed = [Float32Array.of(1, 1), Float32Array.of(1, 1, 1)].map((w) => {
      const f = formWeights([{ name: 'w', dataType: DataType.FLOAT, dims: [w.length], data: w }], 2);
      if (!f.ok) throw new Error(f.error.message);
      return f.value;
    });
    const events: string[] = [];
    const r = await baselineStage([a, b], formed, {
      progress: (step, total, d) => events.push(`${step}/${total} ${d?.task}`),
    });
    if (!r.ok) throw new Error(r.error.message);
    // a sits at its target (distance 0), b is 3 away (squared distance 3).
    expect(r.value).toEqual([
      { val: 1, test: 0.5 },
      { val: 0.25, test: 0.125 },
    ]);
    // Tasks finish concurrently: one event per task, counting up.
    expect(events.map((e) => e.split(' ')[0])).toEqual(['1/2', '2/2']);
    expect(events.map((e) => e.split(' ')[1]).sort()).toEqual(['a', 'b']);
  });

  it('final: the weights each task’s page table gathers, and their accuracy', async () => {
    // Task a: page 0 on shared slot 0, page 1 exclusive; task b: its one page on slot 0.
    const state: PagedState = {
      pageSize: 2,
      sharedPageCount: 1,
      shared: Float32Array.of(3, 4),
      exclusive: [Float32Array.of(5, 6), new Float32Array(0)],
      tables: [Uint32Array.of(0, 1), Uint32Array.of(0)],
      selfTied: false,
    };
    const a = quadraticRunner('a', Float32Array.of(3, 4, 5, 6));
    const b = quadraticRunner('b', Float32Array.of(3, 5));
    const r = await finalStage(state, [a, b], quietStage);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.weights.map((w) => Array.from(w))).toEqual([
      [3, 4, 5, 6],
      [3, 4],
    ]);
    expect(r.value.accuracy).toEqual([
      { val: 1, test: 0.5 },
      { val: 0.5, test: 0.25 },
    ]);
    const cancelled = await finalStage(state, [a, b], { ...quietStage, signal: AbortSignal.abort() });
    expect(!cancelled.ok && cancelled.error.code).toBe('E_CANCELLED');
  });
});
