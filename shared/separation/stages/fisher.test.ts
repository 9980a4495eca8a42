import { describe, expect, it } from 'vitest';
import { computeFisher, type FisherResult } from '../fisher.ts';
import { formModel, type Formation } from '../formation.ts';
import { quietStage } from './context.ts';
import { fisherByTask, fisherStage } from './fisher.ts';
import { denseTask } from './testing.ts';

function formed(t: ReturnType<typeof denseTask>): Formation {
  const f = formModel(t.model, 16);
  if (!f.ok) throw new Error(f.error.message);
  return f.value;
}

function fakeFisher(weights: number): FisherResult {
  return {
    samples: 1,
    perWeight: new Float64Array(weights).fill(1),
    pageScores: new Float64Array(Math.ceil(weights / 16)).fill(16),
    total: weights,
    zeroWeights: 0,
    zeroWeightsPerPage: new Int32Array(Math.ceil(weights / 16)),
  };
}

describe('the Fisher stage', () => {
  it('computes each model’s Fisher with seed + k, and reuses a cached result only when it fits', async () => {
    const tasks = [denseTask('a', 1), denseTask('b', 2)];
    const formations = tasks.map(formed);
    const cachedA = fakeFisher(formations[0]!.weightCount);
    // b's cached result is for another model (wrong length): computed again.
    const cache = new Map([
      ['a', cachedA],
      ['b', fakeFisher(3)],
    ]);
    const events: string[] = [];
    const r = await fisherStage(
      tasks,
      formations,
      { pageSize: 16, samples: 8, seed: 5, cache },
      {
        progress: (step, total, d) =>
          events.push(`${d?.task} ${step}/${total}${d?.message ? ` ${d.message}` : ''}`),
      },
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value[0]).toBe(cachedA);
    const direct = await computeFisher(tasks[1]!.model, tasks[1]!.data.train, {
      pageSize: 16,
      samples: 8,
      seed: 6,
    });
    if (!direct.ok) throw new Error(direct.error.message);
    expect(Array.from(r.value[1]!.perWeight)).toEqual(Array.from(direct.value.perWeight));
    expect(events[0]).toBe('a 8/16 cached');
    expect(events.at(-1)).toBe('b 16/16');
    expect([...fisherByTask(tasks, r.value).keys()]).toEqual(['a', 'b']);
  });

  it('stops when cancelled', async () => {
    const tasks = [denseTask('a', 1)];
    const r = await fisherStage(
      tasks,
      tasks.map(formed),
      { pageSize: 16, samples: 8, seed: 1 },
      { ...quietStage, signal: AbortSignal.abort() },
    );
    expect(!r.ok && r.error.code).toBe('E_CANCELLED');
  });
});
