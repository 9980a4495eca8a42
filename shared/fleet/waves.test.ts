import { describe, expect, it } from 'vitest';
import { fail, ok, type Result } from '../core/errors.ts';
import { parseWaves, runPool, splitWaves, type PoolOutcome } from './waves.ts';

const names = (n: number) => Array.from({ length: n }, (_, i) => `d${i}`);

describe('parseWaves', () => {
  it('reads percentages and fractions as cumulative shares', () => {
    expect(parseWaves('10%,100%')).toEqual(ok([0.1, 1]));
    expect(parseWaves('0.25, 0.5,1')).toEqual(ok([0.25, 0.5, 1]));
    expect(parseWaves('100%')).toEqual(ok([1]));
  });

  it('refuses shares that do not rise, leave targets out, or are not numbers', () => {
    const message = (t: string) => {
      const r = parseWaves(t);
      return r.ok ? 'accepted' : `${r.error.code} ${r.error.message}`;
    };
    expect(message('50%,10%,100%')).toMatch(/^E_USAGE .*must rise, but 10% follows 50%/);
    expect(message('10%,50%')).toMatch(/last wave must be 100%, not 50%/);
    expect(message('0%,100%')).toMatch(/"0%" is not a share/);
    expect(message('ten,100%')).toMatch(/"ten" is not a share/);
    expect(message('10%,,100%')).toMatch(/"" is not a share/);
    expect(message('150%')).toMatch(/"150%" is not a share/);
  });
});

describe('splitWaves', () => {
  it('puts a canary of at least one target first and every target in exactly one wave', () => {
    expect(splitWaves(names(3), [0.1, 1])).toEqual([['d0'], ['d1', 'd2']]);
    expect(splitWaves(names(20), [0.1, 1]).map((w) => w.length)).toEqual([2, 18]);
    expect(splitWaves(names(1), [0.1, 1])).toEqual([['d0']]);
    expect(splitWaves(names(10), [0.3, 0.5, 1]).map((w) => w.length)).toEqual([3, 2, 5]);
  });

  it('drops waves that rounding leaves empty', () => {
    expect(splitWaves(names(2), [0.1, 0.2, 1])).toEqual([['d0'], ['d1']]);
    expect(splitWaves([], [0.1, 1])).toEqual([]);
  });

  it('covers every target once for many sizes and share lists', () => {
    for (let n = 1; n <= 40; n++) {
      for (const shares of [[1], [0.1, 1], [0.05, 0.3, 0.7, 1], [0.5, 0.51, 1]]) {
        const waves = splitWaves(names(n), shares);
        expect(waves.flat()).toEqual(names(n));
        expect(waves.every((w) => w.length > 0)).toBe(true);
        expect(waves[0]!.length).toBe(Math.max(1, Math.ceil(shares[0]! * n - 1e-9)));
      }
    }
  });
});

/** A fake clock for backoff: records the waits instead of sleeping. */
function fakeSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const done = <T, R>(o: PoolOutcome<T, R>) => (o.started ? o.result : undefined);

describe('runPool', () => {
  it('keeps at most `concurrency` tasks running and answers in item order', async () => {
    let running = 0;
    let peak = 0;
    const outcomes = await runPool(
      [30, 5, 20, 1, 10],
      async (ms) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, ms));
        running--;
        return ok(ms * 2);
      },
      { concurrency: 2 },
    );
    expect(peak).toBe(2);
    expect(outcomes.map((o) => done(o))).toEqual([ok(60), ok(10), ok(40), ok(2), ok(20)]);
  });

  it('retries transient failures with doubling backoff, and not others', async () => {
    const clock = fakeSleep();
    const calls: Record<string, number> = {};
    const retried: string[] = [];
    const outcomes = await runPool(
      ['flaky', 'down', 'broken'],
      async (name, { attempt }): Promise<Result<string>> => {
        calls[name] = attempt;
        if (name === 'flaky' && attempt < 3) return fail('E_SSH_LOST', 'link dropped');
        if (name === 'down') return fail('E_SSH_CONNECT', 'refused');
        if (name === 'broken') return fail('E_HEALTH', 'accuracy fell');
        return ok(`${name} after ${attempt}`);
      },
      {
        concurrency: 1,
        retries: 3,
        backoffMs: 100,
        sleep: clock.sleep,
        onRetry: (item, attempt, error, delay) => retried.push(`${item}#${attempt} ${error.code} ${delay}`),
      },
    );
    expect(done(outcomes[0]!)).toEqual(ok('flaky after 3'));
    expect(outcomes[1]!.started && outcomes[1]!.attempts).toBe(4);
    expect(done(outcomes[1]!)?.ok).toBe(false);
    expect(outcomes[2]!.started && outcomes[2]!.attempts).toBe(1);
    expect(calls).toEqual({ flaky: 3, down: 4, broken: 1 });
    expect(clock.waits).toEqual([100, 200, 100, 200, 400]);
    expect(retried).toEqual([
      'flaky#2 E_SSH_LOST 100',
      'flaky#3 E_SSH_LOST 200',
      'down#2 E_SSH_CONNECT 100',
      'down#3 E_SSH_CONNECT 200',
      'down#4 E_SSH_CONNECT 400',
    ]);
  });

  it('stops an attempt at its time limit and aborts its signal', async () => {
    let sawAbort = false;
    const outcomes = await runPool(
      ['slow'],
      async (_item, { signal }) => {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
        sawAbort = signal.aborted;
        return ok('late');
      },
      { concurrency: 1, timeoutMs: 30 },
    );
    const r = done(outcomes[0]!);
    expect(r?.ok === false && r.error.code).toBe('E_DEVICE');
    expect(r?.ok === false && r.error.message).toMatch(/limit of 0 s|limit of 0\.\d s/);
    expect(sawAbort).toBe(true);
  });

  it('cancels running tasks and starts no more when the signal fires', async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const pool = runPool(
      [1, 2, 3, 4],
      async (n, { signal }) => {
        started.push(n);
        if (n === 2) controller.abort();
        await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
        return ok(n);
      },
      { concurrency: 2, signal: controller.signal },
    );
    const outcomes = await pool;
    expect(started).toEqual([1, 2]);
    expect(outcomes.map((o) => (o.started ? o.result.ok || o.result.error.code : 'not started'))).toEqual([
      'E_CANCELLED',
      'E_CANCELLED',
      'not started',
      'not started',
    ]);
  });

  it('starts no further task once stopWhen says so; running ones finish', async () => {
    const outcomes = await runPool(
      ['a', 'gate', 'b', 'c'],
      async (name): Promise<Result<string>> =>
        name === 'gate' ? fail('E_HEALTH', 'below the gate') : ok(name),
      { concurrency: 1, stopWhen: (_item, r) => !r.ok },
    );
    expect(outcomes.map((o) => o.started)).toEqual([true, true, false, false]);
  });

  it('turns a task that throws into a failed outcome', async () => {
    const outcomes = await runPool(
      ['x'],
      async () => {
        throw new Error('boom');
      },
      { concurrency: 1 },
    );
    const r = done(outcomes[0]!);
    expect(r?.ok === false && `${r.error.code} ${r.error.message}`).toBe('E_INTERNAL boom');
  });
});
