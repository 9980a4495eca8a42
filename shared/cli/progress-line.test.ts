import { describe, expect, it } from 'vitest';
import { makeError } from '../core/errors.ts';
import type { ProgressEvent, ProgressStage, ValidationFigures } from '../core/progress.ts';
import {
  createStderrOutput,
  formatDuration,
  formatProgress,
  formatValidation,
  LinesThrottle,
  resolveProgressMode,
  STATUS_LINE_MS,
  type ProgressMode,
} from './progress-line.ts';

const event = (
  stage: ProgressStage,
  fraction: number,
  extra: Partial<ProgressEvent> = {},
): ProgressEvent => ({
  stage,
  step: Math.round(fraction * 100),
  total: 100,
  fraction,
  ...extra,
});

function capture(mode: ProgressMode, withRedraw = false, now: () => number = () => 0) {
  const lines: string[] = [];
  const redraws: string[] = [];
  const output = createStderrOutput(
    mode,
    { line: (t) => lines.push(t), ...(withRedraw ? { redraw: (t: string) => redraws.push(t) } : {}) },
    now,
  );
  return { output, lines, redraws };
}

describe('formatProgress', () => {
  it('shows stage, task, steps, percent and ETA', () => {
    expect(formatProgress(event('fisher', 0.43, { task: 'mnist', etaSeconds: 52 }))).toBe(
      '[fisher]  mnist  43/100   43%  ETA 0:52',
    );
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});

const validation: ValidationFigures = {
  tasks: [
    { task: 'mnist', accuracy: 0.971, floor: 0.975 },
    { task: 'fashion', accuracy: 0.85, floor: 0.84 },
    { task: 'cifar', accuracy: 0.802, floor: 0.79 },
  ],
  criterion: { name: 'mean-minus-shortfall', value: 0.8731 },
  best: true,
};

describe('validation figures in the progress stream', () => {
  it('line and lines: a short form (mean, lowest task, tasks below floor, criterion)', () => {
    expect(formatValidation(validation)).toBe(
      'val mean 87.4%, lowest cifar 80.2%, 1 below floor; criterion 87.3% (best)',
    );
    const within = { ...validation, tasks: validation.tasks.slice(1), best: false };
    expect(formatValidation(within)).toBe('val mean 82.6%, lowest cifar 80.2%; criterion 87.3%');
    expect(formatProgress(event('optimize', 0.6, { validation }))).toBe(
      '[optimize]  60/100   60%  val mean 87.4%, lowest cifar 80.2%, 1 below floor; criterion 87.3% (best)',
    );
  });

  it('lines: every evaluation gets its line, even within the same 5% of the job', () => {
    const { output, lines } = capture('lines');
    output.progress(event('optimize', 0.6));
    output.progress(event('optimize', 0.601, { validation }));
    output.progress(event('optimize', 0.602));
    expect(lines).toEqual([
      '[optimize]  60/100   60%',
      '[optimize]  60/100   60%  val mean 87.4%, lowest cifar 80.2%, 1 below floor; criterion 87.3% (best)',
    ]);
  });

  it('line: the latest figures stay on the redrawn line until the stage changes', () => {
    const { output, redraws } = capture('line', true);
    output.progress(event('optimize', 0.6, { validation }));
    output.progress(event('optimize', 0.7));
    output.progress(event('final', 0.9));
    expect(redraws.map((r) => r.includes('val mean 87.4%'))).toEqual([true, true, false]);
  });

  it('json: the figures travel whole, per task with floors, and the criterion', () => {
    const { output, lines } = capture('json');
    output.progress(event('optimize', 0.6, { validation }));
    expect(JSON.parse(lines[0]!)).toEqual({
      type: 'progress',
      stage: 'optimize',
      step: 60,
      total: 100,
      fraction: 0.6,
      validation,
    });
  });
});

describe('resolveProgressMode', () => {
  it('turns auto into the redrawn line on a terminal and lines elsewhere', () => {
    expect(resolveProgressMode('auto', true)).toEqual({ ok: true, value: 'line' });
    expect(resolveProgressMode('auto', false)).toEqual({ ok: true, value: 'lines' });
    expect(resolveProgressMode('json', true)).toEqual({ ok: true, value: 'json' });
    const bad = resolveProgressMode('bars', false);
    expect(!bad.ok && bad.error.code).toBe('E_USAGE');
    expect(!bad.ok && bad.error.message).toContain('got "bars"');
  });
});

describe('LinesThrottle', () => {
  it('accepts every stage change, and within a stage one event per 5% of the job', () => {
    const t = new LinesThrottle();
    const accepted: string[] = [];
    const feed = (e: ProgressEvent) => {
      if (t.accept(e)) accepted.push(`${e.stage}@${e.step}`);
    };
    feed(event('baseline', 0));
    feed(event('baseline', 0.01));
    feed(event('fisher', 0.02)); // stage change, though within the same 5%
    for (let i = 3; i <= 100; i++) feed(event('optimize', i / 100));
    expect(accepted.slice(0, 3)).toEqual(['baseline@0', 'fisher@2', 'optimize@3']);
    // 5%, 10%, … 100%: exactly one event per step, the first to reach it (0.15 is not lost to rounding).
    expect(accepted.slice(3)).toEqual(Array.from({ length: 20 }, (_, i) => `optimize@${(i + 1) * 5}`));
  });

  it('starts counting again when a later stage reports a smaller fraction (a second pass)', () => {
    const t = new LinesThrottle();
    expect(t.accept(event('final', 0.9))).toBe(true);
    expect(t.accept(event('baseline', 0.1))).toBe(true);
    expect(t.accept(event('baseline', 0.12))).toBe(false);
    expect(t.accept(event('baseline', 0.15))).toBe(true);
  });
});

describe('createStderrOutput', () => {
  it('lines: about twenty progress lines for a job of hundreds of events, each with its ETA', () => {
    const { output, lines } = capture('lines');
    for (let i = 0; i <= 400; i++) output.progress(event('train', i / 400, { etaSeconds: 400 - i }));
    expect(lines.length).toBe(21);
    expect(lines[1]).toBe('[train]  5/100    5%  ETA 6:20');
    expect(lines.at(-1)).toContain('100%');
  });

  it('lines: free-form status text at most once a second, never empty, never repeated', () => {
    let clock = 0;
    const { output, lines } = capture('lines', false, () => clock);
    output.status('loading models');
    output.status('loading models');
    output.status('');
    clock += STATUS_LINE_MS / 2;
    output.status('step 1');
    clock += STATUS_LINE_MS;
    output.status('step 2');
    expect(lines).toEqual(['loading models', 'step 2']);
  });

  it('line: redraws every event and status in place, and clears it before notes and at the end', () => {
    const { output, lines, redraws } = capture('line', true);
    output.progress(event('train', 0.5));
    output.status('saving');
    output.note('plan: 2 models');
    output.finish(0);
    expect(redraws).toEqual(['[train]  50/100   50%', 'saving', '', '']);
    expect(lines).toEqual(['plan: 2 models']);
  });

  it('line without a way to redraw falls back to lines', () => {
    const { output, lines } = capture('line', false);
    output.progress(event('train', 0.5));
    output.progress(event('train', 0.51));
    expect(lines).toEqual(['[train]  50/100   50%']);
  });

  it('json: every line parses; progress events keep their fields; the last line is the result', () => {
    const { output, lines } = capture('json');
    output.progress(event('fisher', 0.25, { task: 'mnist', etaSeconds: 30, message: 'ok' }));
    output.status('loading');
    output.status('');
    output.note('plan: 2 models');
    output.finish(0);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual([
      {
        type: 'progress',
        stage: 'fisher',
        task: 'mnist',
        step: 25,
        total: 100,
        fraction: 0.25,
        etaSeconds: 30,
        message: 'ok',
      },
      { type: 'status', message: 'loading' },
      { type: 'log', message: 'plan: 2 models' },
      { type: 'result', exitCode: 0 },
    ]);
  });

  it('json: a failure ends with an error event carrying the exit code, code, message and hint', () => {
    const { output, lines } = capture('json');
    output.finish(1, makeError('E_NOT_FOUND', 'No models folder at /x.', 'Give --models.', { n: 1n }));
    expect(JSON.parse(lines[0]!)).toEqual({
      type: 'error',
      exitCode: 1,
      code: 'E_NOT_FOUND',
      message: 'No models folder at /x.',
      hint: 'Give --models.',
    });
  });

  it('text modes end with the error and its hint, or one "cancelled" line', () => {
    const failed = capture('lines');
    failed.output.finish(1, makeError('E_IO', 'Cannot write /x.', 'Free some space.'));
    expect(failed.lines).toEqual(['error: Cannot write /x.\n  hint: Free some space.']);
    const cancelled = capture('lines');
    cancelled.output.finish(130, makeError('E_CANCELLED', 'The operation was cancelled.'), 'plan');
    expect(cancelled.lines).toEqual(['wsep plan: cancelled.']);
  });

  it('none: shows no progress or status, but still notes and errors', () => {
    const { output, lines } = capture('none');
    output.progress(event('train', 1));
    output.status('x');
    output.note('note');
    output.finish(1, makeError('E_IO', 'Broken.'));
    expect(lines).toEqual(['note', 'error: Broken.']);
  });
});
