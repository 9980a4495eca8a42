import { describe, expect, it } from 'vitest';
import { PROGRESS_STAGES, type ProgressEvent } from '../../core/progress.ts';
import { PLANNER_STAGES, stageContexts } from './context.ts';

describe('the stages’ progress contexts', () => {
  it('report under their own stage, as fractions of the whole job weighted by each stage’s cost', () => {
    const events: ProgressEvent[] = [];
    const costs = {
      formation: 0,
      baseline: 1,
      fisher: 2,
      separate: 0,
      overlap: 0,
      init: 0,
      optimize: 7,
      final: 0,
    };
    const signal = new AbortController().signal;
    const ctx = stageContexts((e) => events.push(e), costs, signal);
    ctx.baseline.progress(1, 1);
    ctx.fisher.progress(1, 2, { task: 'a' });
    ctx.optimize.progress(7, 7, { message: 'done' });
    expect(events.map((e) => [e.stage, e.fraction, e.task, e.message])).toEqual([
      ['baseline', 0.1, undefined, undefined],
      ['fisher', 0.2, 'a', undefined],
      ['optimize', 1, undefined, 'done'],
    ]);
    expect(ctx.init.signal).toBe(signal);
    expect(stageContexts(() => {}, costs, undefined).init.signal).toBeUndefined();
  });

  it('are the planner’s part of the closed stage list, in order', () => {
    expect(PROGRESS_STAGES.filter((s) => (PLANNER_STAGES as readonly string[]).includes(s))).toEqual([
      ...PLANNER_STAGES,
    ]);
  });
});
