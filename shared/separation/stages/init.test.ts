import { describe, expect, it } from 'vitest';
import { ok } from '../../core/errors.ts';
import { INIT_KINDS, randomInit } from '../init.ts';
import { withOverrides } from '../planner-options.ts';
import { OURS } from '../strategies/ours.ts';
import { REFERENCE } from '../strategies/reference.ts';
import type { PlannerStrategy } from '../strategies/strategy.ts';
import { quietStage } from './context.ts';
import { initStage } from './init.ts';
import type { Paging } from './overlap.ts';
import { quadraticRunner, twoModelOptions, twoModels } from './testing.ts';

/** One task of 4 weights on one shared slot of 4 (no exclusive pages). */
function onePage() {
  const formation = {
    pageSize: 4,
    weightCount: 4,
    pageCount: 1,
    tensors: [{ name: 'w', dims: [4], offset: 0, length: 4 }],
    flat: Float32Array.of(1, 1, 1, 1),
  };
  const fisher = {
    samples: 1,
    perWeight: new Float64Array(4).fill(1),
    pageScores: Float64Array.of(4),
    total: 4,
    zeroWeights: 0,
    zeroWeightsPerPage: new Int32Array(1),
  };
  const paging: Paging = {
    sharedPageCount: 1,
    selfTying: 1,
    tables: [Uint32Array.of(0)],
    exclusive: [new Float32Array(0)],
    occupancyHistogram: [0, 1],
  };
  const options = withOverrides(twoModelOptions(), { method: { pageSize: 4 } });
  return { formation, fisher, paging, options };
}

/** A strategy whose candidates are the given pages. */
function offering(pages: Record<string, readonly number[]>): PlannerStrategy {
  return {
    ...OURS,
    initCandidates: () =>
      ok(Object.entries(pages).map(([kind, v]) => ({ kind, sharedPages: Float32Array.from(v) }))),
  };
}

describe('the init stage', () => {
  it('keeps the candidate with the lowest mean validation loss, recording every loss', async () => {
    const { formation, fisher, paging, options } = onePage();
    const task = quadraticRunner('a', Float32Array.of(1, 1, 1, 1));
    const events: string[] = [];
    const r = await initStage(
      offering({ far: [5, 5, 5, 5], near: [1, 1, 1, 2], exact: [1, 1, 1, 1], later: [1, 1, 1, 1] }),
      [formation],
      [fisher],
      paging,
      [task],
      options,
      { progress: (step, total, d) => events.push(`${step}/${total} ${d?.message}`) },
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.chosen).toBe('exact'); // the first of two equal losses
    expect(r.value.losses).toEqual({ far: 64, near: 1, exact: 0, later: 0 });
    expect(Array.from(r.value.state.shared)).toEqual([1, 1, 1, 1]);
    expect(r.value.state.exclusive).toBe(paging.exclusive);
    expect(events).toEqual(['1/4 far', '2/4 near', '3/4 exact', '4/4 later']);
  });

  it('takes a single candidate as it is: no evaluation, no loss recorded', async () => {
    const { formation, fisher, paging, options } = onePage();
    const task = quadraticRunner('a', Float32Array.of(1, 1, 1, 1));
    const r = await initStage(
      offering({ only: [2, 2, 2, 2] }),
      [formation],
      [fisher],
      paging,
      [task],
      options,
      quietStage,
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.chosen).toBe('only');
    expect(r.value.losses).toEqual({});
    expect(task.calls.validate).toBe(0);
  });

  it('ours offers every kind under auto, the one asked for otherwise; the reference its random init', async () => {
    const { formations, fisher } = twoModels();
    // Pages 0 and 1 of each model on the two shared slots, the rest exclusive.
    const tables = [Uint32Array.of(0, 1, 2, 3, 4, 5), Uint32Array.of(0, 1, 2)];
    const models = formations.map((f, k) => ({
      values: f.flat,
      fisher: fisher[k]!.perWeight,
      pageTable: tables[k]!,
    }));
    const shape = { sharedPageCount: 2, pageSize: 16 };
    const options = twoModelOptions();
    const auto = OURS.initCandidates(models, shape, options);
    expect(auto.ok && auto.value.map((c) => c.kind)).toEqual(INIT_KINDS);
    const one = OURS.initCandidates(
      models,
      shape,
      withOverrides(options, { method: { init: 'top-occupant' } }),
    );
    expect(one.ok && one.value.map((c) => c.kind)).toEqual(['top-occupant']);
    const reference = REFERENCE.initCandidates(models, shape, options);
    expect(reference.ok && reference.value.map((c) => c.kind)).toEqual(['random']);
    expect(reference.ok && Array.from(reference.value[0]!.sharedPages)).toEqual(
      Array.from(randomInit(2, 16, options.run.seed, 0.01)),
    );
  });
});
