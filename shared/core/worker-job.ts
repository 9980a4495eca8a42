/**
 * Runs a long engine job (planning, zoo builds) in a worker thread, so the app's main process stays
 * responsive: progress events and the result come back as messages, and aborting the signal asks
 * the job to stop (it sees an aborted AbortSignal and returns E_CANCELLED).
 *
 * A job is a named export of a module: `(input, { progress, signal }) => Promise<Result<T>>`.
 * Inputs and results cross the thread boundary by structured clone (typed arrays included).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fail, type Result } from './errors.ts';
import type { ProgressEvent, ProgressSink } from './progress.ts';

export interface JobContext {
  readonly progress: ProgressSink;
  readonly signal: AbortSignal;
}

export type JobFunction<I, O> = (input: I, context: JobContext) => Promise<Result<O>>;

export type WorkerMessage<O> =
  | { readonly kind: 'progress'; readonly event: ProgressEvent }
  | { readonly kind: 'result'; readonly result: Result<O> };

export interface RunInWorkerOptions {
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
}

const ENTRY = new URL('./worker-entry.ts', import.meta.url);
// Resolved here so that the worker finds tsx whatever the process's working directory is.
const TSX_API = (() => {
  const exported = (
    createRequire(import.meta.url)('tsx/package.json') as {
      exports: Record<string, { import: { default: string } }>;
    }
  ).exports['./esm/api']!.import.default;
  return pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), exported))
    .href;
})();

/**
 * Starts a worker thread on a TypeScript entry module. The engine is TypeScript: the worker registers
 * tsx's loader itself before importing the entry, because loader flags in execArgv do not reach
 * worker threads on every Node 20 release.
 */
export function startTypeScriptWorker(entry: URL, workerData: unknown): Worker {
  const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export function runInWorker<I, O>(
  moduleUrl: URL,
  exportName: string,
  input: I,
  options: RunInWorkerOptions = {},
): Promise<Result<O>> {
  return new Promise((resolve) => {
    if (options.signal?.aborted) {
      resolve(fail('E_CANCELLED', 'The operation was cancelled.'));
      return;
    }
    const worker = startTypeScriptWorker(ENTRY, { moduleUrl: moduleUrl.href, exportName, input });
    let settled = false;
    const settle = (result: Result<O>) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve(result);
      void worker.terminate();
    };
    const onAbort = () => worker.postMessage({ kind: 'cancel' });
    options.signal?.addEventListener('abort', onAbort);
    worker.on('message', (message: WorkerMessage<O>) => {
      if (message.kind === 'progress') options.progress?.(message.event);
      else settle(message.result);
    });
    worker.on('error', (error) => settle(fail('E_INTERNAL', `The worker failed: ${error.message}`)));
    worker.on('exit', (code) =>
      settle(fail('E_INTERNAL', `The worker stopped (exit code ${code}) before returning a result.`)),
    );
  });
}
