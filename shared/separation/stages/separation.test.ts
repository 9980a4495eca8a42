import { describe, expect, it } from 'vitest';
import { OURS } from '../strategies/ours.ts';
import { REFERENCE } from '../strategies/reference.ts';
import { quietStage } from './context.ts';
import { separationPreflight, separationStage } from './separation.ts';
import { twoModelOptions as optionsFor, twoModels } from './testing.ts';

const { tasks: TASKS, formations: FORMATIONS, fisher: FISHER } = twoModels();

describe('the separation stage', () => {
  it('refuses, before any Fisher, a device our method cannot fit; the reference’s fixed pool takes any', () => {
    const small = optionsFor(3, 2);
    const ours = separationPreflight(OURS, TASKS, FORMATIONS, small);
    expect(!ours.ok && ours.error.code).toBe('E_BUDGET');
    expect(!ours.ok && ours.error.message).toMatch(/level-2 budget .* short by/);
    expect(separationPreflight(REFERENCE, TASKS, FORMATIONS, small).ok).toBe(true);
    expect(separationPreflight(OURS, TASKS, FORMATIONS, optionsFor()).ok).toBe(true);
  });

  it('ours: the pool the level-1 budget holds; each model keeps its highest-ranked pages exclusive', () => {
    const messages: string[] = [];
    const r = separationStage(OURS, TASKS, FORMATIONS, FISHER, optionsFor(), {
      progress: (_, __, d) => messages.push(d?.message ?? ''),
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.sharedPageCount).toBe(3);
    expect(r.value.selfTying).toBe(1);
    // a: 6 pages, 3 forced exclusive (its top-ranked 4, 3, 2; the short last page 5 has 3 weights,
    // so little Fisher mass); the one extra page goes by share to b's top page.
    expect(r.value.units.map((units) => units.map((u) => Array.from(u)))).toEqual([
      [[0], [1], [5]],
      [[0], [1]],
    ]);
    expect(messages).toEqual(['3 shared pages']);
  });

  it('ours with self-tying: a model ties its lowest-ranked pages so that they fit fewer slots', () => {
    const r = separationStage(OURS, TASKS, FORMATIONS, FISHER, optionsFor(2, 3, 2), quietStage);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.selfTying).toBe(2);
    expect(r.value.units.every((units) => units.length <= r.value.sharedPageCount)).toBe(true);
    expect(r.value.units[0]!.some((u) => u.length === 2)).toBe(true);
  });

  it('the reference: its fixed pool (all 9 pages here), one page per unit, never self-tied', () => {
    const r = separationStage(REFERENCE, TASKS, FORMATIONS, FISHER, optionsFor(3, 4, 2), quietStage);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.sharedPageCount).toBe(9);
    expect(r.value.selfTying).toBe(1);
    expect(r.value.units.flat().every((u) => u.length === 1)).toBe(true);
  });

  it('names a task it has no Fisher for', () => {
    const r = separationStage(OURS, TASKS, FORMATIONS, FISHER.slice(0, 1), optionsFor(), quietStage);
    expect(!r.ok && r.error.message).toBe('The separation has no Fisher for task b.');
  });
});
