import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from './progress.ts';
import { runInWorker } from './worker-job.ts';

const fixture = new URL('./worker-job.fixture.ts', import.meta.url);

describe('runInWorker', () => {
  it('streams progress events and returns the result with typed arrays intact', async () => {
    const events: ProgressEvent[] = [];
    const r = await runInWorker<{ n: number; delayMs: number }, Float32Array>(
      fixture,
      'countTo',
      { n: 5, delayMs: 1 },
      { progress: (e) => events.push(e) },
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(Array.from(r.value)).toEqual([0, 1, 2, 3, 4]);
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
  });

  it('cancels a running job through the signal', async () => {
    const controller = new AbortController();
    const pending = runInWorker(
      fixture,
      'countTo',
      { n: 10_000, delayMs: 5 },
      { signal: controller.signal, progress: (e) => e.step === 3 && controller.abort() },
    );
    const r = await pending;
    expect(!r.ok && r.error.code).toBe('E_CANCELLED');
  });

  it('turns a throwing job into an error value', async () => {
    const r = await runInWorker(fixture, 'explode', {});
    expect(!r.ok && r.error.message).toContain('boom');
    const missing = await runInWorker(fixture, 'nope', {});
    expect(!missing.ok && missing.error.message).toContain('no job named nope');
  });
});
