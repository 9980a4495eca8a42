/** The worker side of worker-job.ts: loads the job's module, runs it, and posts progress and the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { toError, type Result } from './errors.ts';
import type { JobFunction, WorkerMessage } from './worker-job.ts';

interface EntryData {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly input: unknown;
}

const data = workerData as EntryData;
const port = parentPort!;
const controller = new AbortController();
port.on('message', (m: { kind: string }) => {
  if (m.kind === 'cancel') controller.abort();
});

const post = (message: WorkerMessage<unknown>) => port.postMessage(message);

let result: Result<unknown>;
try {
  const module = (await import(data.moduleUrl)) as Record<string, unknown>;
  const job = module[data.exportName];
  if (typeof job !== 'function') throw new Error(`${data.moduleUrl} has no job named ${data.exportName}.`);
  result = await (job as JobFunction<unknown, unknown>)(data.input, {
    progress: (event) => post({ kind: 'progress', event }),
    signal: controller.signal,
  });
} catch (thrown) {
  result = { ok: false, error: toError(thrown) };
}
post({ kind: 'result', result });
port.close();
