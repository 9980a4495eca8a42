import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  isProgressStage,
  PROGRESS_STAGES,
  ProgressTracker,
  type ProgressEvent,
  type ProgressStage,
} from './progress.ts';

/** Compiled, never run: the stage is a closed union, and a tracker reports only its own stages. */
function typeLevel(tracker: ProgressTracker<'fisher' | 'optimize'>): void {
  // @ts-expect-error -- a misspelt stage does not compile
  const typo: ProgressEvent = { stage: 'optimise', step: 0, fraction: 0 };
  void typo;
  // @ts-expect-error -- a stage the job did not declare does not compile
  tracker.report('train', 1, 2);
  tracker.report('optimize', 1, 2, {
    validation: {
      tasks: [{ task: 'a', accuracy: 0.5 }],
      criterion: { name: 'mean', value: 0.5 },
      best: true,
    },
  });
  tracker.report('optimize', 1, 2, {
    validation: {
      tasks: [],
      // @ts-expect-error -- the selection criterion is a closed union too
      criterion: { name: 'max', value: 1 },
      best: true,
    },
  });
  expectTypeOf<ProgressEvent['stage']>().toEqualTypeOf<ProgressStage>();
}
void typeLevel;

describe('ProgressTracker', () => {
  it('turns stage steps into a fraction of the whole job, weighted by stage', () => {
    const events: ProgressEvent[] = [];
    let clock = 0;
    const tracker = new ProgressTracker(
      (e) => events.push(e),
      [
        ['fisher', 1],
        ['optimize', 3],
      ],
      () => clock,
    );
    tracker.report('fisher', 1, 2, { task: 'mnist' });
    clock = 2000;
    tracker.report('optimize', 1, 3, { message: 'm' });
    expect(events[0]).toEqual({ stage: 'fisher', step: 1, total: 2, fraction: 0.125, task: 'mnist' });
    expect(events[1]!.fraction).toBeCloseTo(0.5);
    expect(events[1]!.etaSeconds).toBeCloseTo(2);
    expect(events[1]!.message).toBe('m');
  });

  it('passes validation figures through unchanged', () => {
    const events: ProgressEvent[] = [];
    const tracker = new ProgressTracker((e) => events.push(e), [['optimize', 1]]);
    const validation = {
      tasks: [{ task: 'a', accuracy: 0.9, floor: 0.95 }],
      criterion: { name: 'mean-minus-shortfall', value: 0.85 },
      best: false,
    } as const;
    tracker.report('optimize', 10, 100, { validation });
    expect(events[0]!.validation).toBe(validation);
  });
});

describe('the stage list', () => {
  it('names each stage once, and tells stages from other strings', () => {
    expect(new Set(PROGRESS_STAGES).size).toBe(PROGRESS_STAGES.length);
    expect(isProgressStage('optimize')).toBe(true);
    expect(isProgressStage('optimise')).toBe(false);
    expect(isProgressStage(3)).toBe(false);
  });
});
