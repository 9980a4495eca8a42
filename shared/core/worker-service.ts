/**
 * A long-lived object in a worker thread, called by method name: the planner keeps each task's
 * onnxruntime sessions in workers so that the tasks' training steps run on several cores at once
 * (onnxruntime-node runs a session on the calling thread, so promises alone do not overlap them).
 *
 * A service is a named export of a module: `(input) => Promise<Result<S>>`, where `S` is the
 * service's interface; its methods take and return structured-cloneable values (SharedArrayBuffers
 * are shared, not copied). Calls are typed from `S` (service-calls.ts): `call('trainBatch', 3)` has
 * the argument and answer types of `S['trainBatch']`. A method that throws, or returns a failed
 * Result, rejects the call with a `WsepFailure`; a returned successful Result answers with its value.
 */
import type { Worker } from 'node:worker_threads';
import { fail, ok, toError, WsepFailure, type Result, type WsepError } from './errors.ts';
import type {
  ChannelAnswer,
  ChannelArgs,
  ChannelMap,
  ChannelsOf,
  NoArgChannel,
  ServiceClient,
} from './service-calls.ts';
import { startTypeScriptWorker } from './worker-job.ts';

export type ServiceFactory<I, S extends object = object> = (input: I) => Promise<Result<S>>;

/**
 * Where a service's factory lives, with its input and interface types: made once, beside the
 * factory, by `serviceRef(new URL(import.meta.url), { createThing })`, so that the export name and
 * the types cannot drift apart.
 */
export interface ServiceRef<I, S extends object> {
  readonly moduleUrl: URL;
  readonly exportName: string;
  /** Carries the types only; never read. */
  readonly types?: ServiceFactory<I, S>;
}

/** A service reference from the factory's module and the factory itself, named by its one member. */
export function serviceRef<N extends string, I, S extends object>(
  moduleUrl: URL,
  factory: { readonly [K in N]: ServiceFactory<I, S> },
): ServiceRef<I, S> {
  return { moduleUrl, exportName: Object.keys(factory)[0]! };
}

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

/** A service in a worker thread; `C` is its channel map (from `ChannelsOf<S>`). */
export class WorkerService<C extends ChannelMap> implements ServiceClient<C> {
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
  static start<I, S extends object>(
    service: ServiceRef<I, S>,
    input: I,
  ): Promise<Result<WorkerService<ChannelsOf<S>>>> {
    return new Promise((resolve) => {
      const worker = startTypeScriptWorker(ENTRY, {
        moduleUrl: service.moduleUrl.href,
        exportName: service.exportName,
        input,
      });
      const onMessage = (m: ServiceReply) => {
        if (m.kind === 'ready') {
          cleanup();
          resolve(ok(new WorkerService<ChannelsOf<S>>(worker)));
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
  call<K extends keyof C & string>(method: K, ...args: ChannelArgs<C, K>): Promise<ChannelAnswer<C, K>> {
    // The worker answers with the method's value; the channel map is the promise of its type.
    return this.send(method, args) as Promise<ChannelAnswer<C, K>>;
  }

  private send(method: string, args: readonly unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(new WsepFailure(this.stopped));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args } satisfies ServiceRequest);
    });
  }

  /** Calls `method` (when given: one that takes no arguments) for a clean shutdown, then ends the thread. */
  async close(method?: NoArgChannel<C>): Promise<void> {
    if (method && !this.stopped) await this.send(method, []).catch(() => undefined);
    this.stopped ??= { code: 'E_CANCELLED', message: 'The worker service was closed.' };
    await this.worker.terminate();
  }
}
