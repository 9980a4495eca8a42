/**
 * The app's long work as jobs: each runs in a worker thread (the fleet's jobs, the planner's), streams
 * its progress as 'job.progress' events, ends with a 'job.ended' event that carries its result or
 * error, and stops when cancelled. The registry is what `listJobs`, `getJob` and `cancelJob` read; it
 * lives as long as the app (jobs are not persisted: what they did is in the store and the plans folder).
 */
import { makeError, type Result } from '../core/errors.ts';
import type { ProgressEvent, ProgressSink } from '../core/progress.ts';
import type { AnyJob, ApiEvent, Job, JobKind, JobResults, JobState } from './contract.ts';

/** What a job's work gets: the signal to stop on, and where its progress goes. */
export interface JobWork {
  readonly signal: AbortSignal;
  readonly progress: ProgressSink;
}

type MutableJob<K extends JobKind> = {
  -readonly [P in keyof Job<K>]: Job<K>[P];
};

interface Running {
  job: MutableJob<JobKind>;
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

/** Progress events of one job are sent at most this often (a rollout's uploads report every chunk). */
const PROGRESS_EVERY_MS = 100;

export class JobRegistry {
  readonly #jobs = new Map<string, Running>();
  #next = 1;

  constructor(private readonly emit: (event: ApiEvent) => void) {}

  /**
   * Starts `work` as a job of `kind` and answers the job at once. `after` runs when it succeeded
   * (e.g. to tell the renderer what changed), before 'job.ended' goes out.
   */
  start<K extends JobKind>(
    kind: K,
    subject: string,
    work: (w: JobWork) => Promise<Result<JobResults[K]>>,
    after?: (result: JobResults[K]) => void,
  ): Job<K> {
    const id = `job-${this.#next++}`;
    const abort = new AbortController();
    const job: MutableJob<K> = {
      id,
      kind,
      subject,
      state: 'running',
      startedAt: new Date().toISOString(),
      endedAt: null,
      progress: null,
      perTask: {},
      result: null,
      error: null,
    };
    let lastSent = 0;
    let pending: ProgressEvent | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const send = () => {
      timer = null;
      if (pending === null || job.state !== 'running') return;
      lastSent = Date.now();
      this.emit({ type: 'job.progress', jobId: id, kind, event: pending });
      pending = null;
    };
    const progress: ProgressSink = (event) => {
      job.progress = event;
      if (event.task !== undefined) job.perTask = { ...job.perTask, [event.task]: event };
      pending = event;
      // A task's events can come fast: send the newest, no more often than PROGRESS_EVERY_MS.
      const wait = PROGRESS_EVERY_MS - (Date.now() - lastSent);
      if (wait <= 0) send();
      else timer ??= setTimeout(send, wait);
    };
    const done = (async () => {
      let result: Result<JobResults[K]>;
      try {
        result = await work({ signal: abort.signal, progress });
      } catch (thrown) {
        result = {
          ok: false,
          error: makeError('E_INTERNAL', thrown instanceof Error ? thrown.message : String(thrown)),
        };
      }
      if (timer !== null) clearTimeout(timer);
      send();
      const state: JobState = result.ok
        ? 'succeeded'
        : result.error.code === 'E_CANCELLED' || abort.signal.aborted
          ? 'cancelled'
          : 'failed';
      job.state = state;
      job.endedAt = new Date().toISOString();
      if (result.ok) {
        job.result = result.value;
        try {
          after?.(result.value);
        } catch {
          // What `after` announces is a courtesy to the renderer; the job's own result stands.
        }
      } else job.error = result.error;
      this.emit({ type: 'job.ended', job: snapshot(job) as unknown as AnyJob });
    })();
    this.#jobs.set(id, { job: job as MutableJob<JobKind>, abort, done });
    const started = snapshot(job);
    this.emit({ type: 'job.started', job: started as unknown as AnyJob });
    return started;
  }

  list(): AnyJob[] {
    return [...this.#jobs.values()].map((r) => snapshot(r.job) as AnyJob).reverse();
  }

  get(id: string): Result<AnyJob> {
    const running = this.#jobs.get(id);
    if (!running) return { ok: false, error: makeError('E_NOT_FOUND', `There is no job "${id}".`) };
    return { ok: true, value: snapshot(running.job) as AnyJob };
  }

  /** Asks the job to stop; it ends 'cancelled' (or as it was, when it had already ended). */
  cancel(id: string): Result<AnyJob> {
    const running = this.#jobs.get(id);
    if (!running) return { ok: false, error: makeError('E_NOT_FOUND', `There is no job "${id}".`) };
    if (running.job.state === 'running') running.abort.abort();
    return { ok: true, value: snapshot(running.job) as AnyJob };
  }

  /** Whether a job of `kind` about `subject` is running (e.g. a second rollback of one device). */
  busy(kind: JobKind, subject: string): boolean {
    return [...this.#jobs.values()].some(
      (r) => r.job.kind === kind && r.job.subject === subject && r.job.state === 'running',
    );
  }

  /** Cancels every running job and waits until each has ended (the app is closing). */
  async close(): Promise<void> {
    for (const r of this.#jobs.values()) if (r.job.state === 'running') r.abort.abort();
    await Promise.all([...this.#jobs.values()].map((r) => r.done));
  }
}

function snapshot<K extends JobKind>(job: MutableJob<K>): Job<K> {
  return { ...job, perTask: { ...job.perTask } };
}
