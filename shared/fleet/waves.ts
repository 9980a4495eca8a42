/**
 * Scheduling of a rollout, with nothing about devices in it: targets split into waves (a canary
 * share first, then the rest), and a pool that runs one wave's tasks with bounded concurrency, a
 * timeout per attempt, retries with exponential backoff for transient failures only, and cancel.
 */
import { fail, makeError, ok, type ErrorCode, type Result, type WsepError } from '../core/errors.ts';

/** `--waves` when not given: a tenth of the targets (at least one device) first, then all. */
export const DEFAULT_WAVES = '10%,100%';

/**
 * Parses cumulative wave shares: `10%,50%,100%` or `0.1,0.5,1`. Shares rise strictly and the last
 * is the whole fleet, so every target lands in exactly one wave.
 */
export function parseWaves(text: string): Result<number[]> {
  const parts = text.split(',').map((s) => s.trim());
  const shares: number[] = [];
  for (const part of parts) {
    const percent = part.endsWith('%');
    const n = Number(percent ? part.slice(0, -1) : part);
    const share = percent ? n / 100 : n;
    if (part === '' || !Number.isFinite(n) || share <= 0 || share > 1) {
      return fail(
        'E_USAGE',
        `--waves: "${part}" is not a share of the fleet between 0 (exclusive) and 100%.`,
        'Give rising cumulative shares, e.g. --waves 10%,100% or --waves 0.25,1.',
      );
    }
    if (shares.length > 0 && share <= shares[shares.length - 1]!) {
      return fail(
        'E_USAGE',
        `--waves: the shares must rise, but ${part} follows ${formatShare(shares[shares.length - 1]!)}.`,
        'Each wave is cumulative: e.g. 10%,50%,100% means a tenth, then half, then all.',
      );
    }
    shares.push(share);
  }
  if (shares[shares.length - 1] !== 1) {
    return fail(
      'E_USAGE',
      `--waves: the last wave must be 100%, not ${formatShare(shares[shares.length - 1] ?? 0)}.`,
      'End the list with 100% so that every target gets the plan.',
    );
  }
  return ok(shares);
}

function formatShare(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/**
 * Splits targets (in order) into waves by cumulative shares. Wave i ends at ceil(share·n) targets;
 * the first wave holds at least one target (a canary), and waves left empty by rounding are dropped.
 */
export function splitWaves<T>(targets: readonly T[], shares: readonly number[]): T[][] {
  const waves: T[][] = [];
  let start = 0;
  for (const share of shares) {
    const end = Math.min(targets.length, Math.max(1, Math.ceil(share * targets.length - 1e-9)));
    if (end > start) waves.push(targets.slice(start, end));
    start = Math.max(start, end);
  }
  if (start < targets.length) waves.push(targets.slice(start));
  return waves;
}

/** Failures worth another attempt: the device could not be reached, or the link dropped. */
export const TRANSIENT_CODES: readonly ErrorCode[] = ['E_SSH_CONNECT', 'E_SSH_LOST'];

export function isTransient(error: WsepError): boolean {
  return TRANSIENT_CODES.includes(error.code);
}

export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted on cancel and when the attempt's time is up; a task stops its work when it fires. */
  readonly signal: AbortSignal;
}

export type PoolTask<T, R> = (item: T, context: AttemptContext) => Promise<Result<R>>;

export type PoolOutcome<T, R> =
  | {
      readonly item: T;
      readonly started: true;
      readonly result: Result<R>;
      readonly attempts: number;
    }
  | { readonly item: T; readonly started: false };

export interface PoolOptions<T, R> {
  /** At most this many tasks at once (≥ 1). */
  readonly concurrency: number;
  /** Each attempt's time limit; the attempt's signal is aborted and it fails with E_DEVICE. */
  readonly timeoutMs?: number;
  /** Further attempts after a transient failure (default 2). */
  readonly retries?: number;
  /** The wait before the first retry, doubled for each further one (default 500 ms). */
  readonly backoffMs?: number;
  readonly signal?: AbortSignal;
  /** Which failures are retried (default: `isTransient`). */
  readonly transient?: (error: WsepError) => boolean;
  /** Waits between attempts; tests pass a fake clock. Resolves early when `signal` fires. */
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Told before each retry. */
  readonly onRetry?: (item: T, attempt: number, error: WsepError, delayMs: number) => void;
  /** Stop starting tasks once an outcome says so (a failed canary); tasks already running finish. */
  readonly stopWhen?: (item: T, result: Result<R>) => boolean;
}

export function sleepMs(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const cancelled = (): WsepError => makeError('E_CANCELLED', 'The operation was cancelled.');

/** One attempt, bounded by its own timeout and the outer signal. */
async function attemptOnce<T, R>(
  task: PoolTask<T, R>,
  item: T,
  attempt: number,
  options: PoolOptions<T, R>,
): Promise<Result<R>> {
  const controller = new AbortController();
  const outer = options.signal;
  const onOuter = () => controller.abort();
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A task that ignores its signal must not hold the pool: the race ends the attempt either way.
  const limits = new Promise<Result<R>>((resolve) => {
    if (options.timeoutMs !== undefined) {
      const seconds = Math.round(options.timeoutMs / 100) / 10;
      timer = setTimeout(() => {
        controller.abort();
        resolve(
          fail(
            'E_DEVICE',
            `The attempt took longer than its limit of ${seconds} s and was stopped.`,
            'Raise --timeout, or check the device and its link.',
            { timeoutMs: options.timeoutMs },
          ),
        );
      }, options.timeoutMs);
    }
    controller.signal.addEventListener('abort', () => {
      if (outer?.aborted) resolve({ ok: false, error: cancelled() });
    });
  });
  try {
    const run = task(item, { attempt, signal: controller.signal }).catch((thrown: unknown): Result<R> =>
      fail('E_INTERNAL', thrown instanceof Error ? thrown.message : String(thrown)),
    );
    return await Promise.race([run, limits]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    controller.abort();
  }
}

async function withRetries<T, R>(
  task: PoolTask<T, R>,
  item: T,
  options: PoolOptions<T, R>,
): Promise<{ result: Result<R>; attempts: number }> {
  const retries = options.retries ?? 2;
  const transient = options.transient ?? isTransient;
  const sleep = options.sleep ?? sleepMs;
  let delay = options.backoffMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    const result = await attemptOnce(task, item, attempt, options);
    if (result.ok || attempt > retries || !transient(result.error) || options.signal?.aborted)
      return { result, attempts: attempt };
    options.onRetry?.(item, attempt + 1, result.error, delay);
    await sleep(delay, options.signal);
    if (options.signal?.aborted) return { result: { ok: false, error: cancelled() }, attempts: attempt };
    delay *= 2;
  }
}

/**
 * Runs `task` for every item, at most `concurrency` at once, and returns one outcome per item in the
 * items' order. Items not started (cancelled, or stopped by `stopWhen`) say so.
 */
export async function runPool<T, R>(
  items: readonly T[],
  task: PoolTask<T, R>,
  options: PoolOptions<T, R>,
): Promise<PoolOutcome<T, R>[]> {
  const outcomes: (PoolOutcome<T, R> | undefined)[] = items.map(() => undefined);
  const width = Math.max(1, Math.floor(options.concurrency));
  let next = 0;
  let stopped = false;
  const lane = async (): Promise<void> => {
    while (!stopped && !options.signal?.aborted && next < items.length) {
      const index = next++;
      const item = items[index]!;
      const { result, attempts } = await withRetries(task, item, options);
      outcomes[index] = { item, started: true, result, attempts };
      if (options.stopWhen?.(item, result)) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return items.map((item, i) => outcomes[i] ?? { item, started: false });
}
