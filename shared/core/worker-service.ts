/**
 * A long-lived object in a worker thread, called by method name: the planner keeps each task's
 * onnxruntime sessions in workers so that the tasks' training steps run on several cores at once
 * (onnxruntime-node runs a session on the calling thread, so promises alone do not overlap them).
 *
 * A service is a named export of a module: `(input) => Promise<Result<object>>`; its methods take
 * and return structured-cloneable values (SharedArrayBuffers are shared, not copied). A method that
 * throws, or returns a failed Result, rejects the call with a `WsepFailure`; a returned successful
 * Result answers with its value.
 */
import type { Worker } from 'node:worker_threads';
import { fail, ok, toError, WsepFailure, type Result, type WsepError } from './errors.ts';
import { startTypeScriptWorker } from './worker-job.ts';

export type ServiceFactory<I> = (input: I) => Promise<Result<object>>;

export type ServiceReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly error: WsepError }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: WsepError };

export interface ServiceRequest {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

const ENTRY = new URL('./worker-service-entry.ts', import.meta.url);

export class WorkerService {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: WsepFailure) => void }
  >();
  private stopped: WsepError | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: ServiceReply) => {
      if (m.kind !== 'reply') return;
      const waiter = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) waiter?.resolve(m.value);
      else waiter?.reject(new WsepFailure(m.error));
    });
    const stop = (error: WsepError) => {
      this.stopped ??= error;
      for (const waiter of this.pending.values()) waiter.reject(new WsepFailure(error));
      this.pending.clear();
    };
    worker.on('error', (e) => stop(toError(e)));
    worker.on('exit', (code) =>
      stop({ code: 'E_INTERNAL', message: `A worker thread stopped (exit code ${code}).` }),
    );
  }

  /** Starts the worker and waits until its factory has built the service (or failed). */
  static start<I>(moduleUrl: URL, exportName: string, input: I): Promise<Result<WorkerService>> {
    return new Promise((resolve) => {
      const worker = startTypeScriptWorker(ENTRY, { moduleUrl: moduleUrl.href, exportName, input });
      const onMessage = (m: ServiceReply) => {
        if (m.kind === 'ready') {
          cleanup();
          resolve(ok(new WorkerService(worker)));
        } else if (m.kind === 'failed') {
          cleanup();
          void worker.terminate();
          resolve({ ok: false, error: m.error });
        }
      };
      const onError = (e: Error) => {
        cleanup();
        void worker.terminate();
        resolve(fail('E_INTERNAL', `A worker thread failed while starting: ${e.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        resolve(fail('E_INTERNAL', `A worker thread stopped (exit code ${code}) while starting.`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Calls a method of the service; rejects with a WsepFailure when it fails or the worker stops. */
  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.stopped) return Promise.reject(new WsepFailure(this.stopped));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies ServiceRequest);
    });
  }

  /** Calls `method` (when given) for a clean shutdown, then ends the thread. */
  async close(method?: string): Promise<void> {
    if (method && !this.stopped) await this.call(method).catch(() => undefined);
    this.stopped ??= { code: 'E_CANCELLED', message: 'The worker service was closed.' };
    await this.worker.terminate();
  }
}
