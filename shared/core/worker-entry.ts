/** The worker side of worker-job.ts: loads the job's module, runs it, and posts progress and the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { toError, type Result } from './errors.ts';
import type { JobFunction, WorkerMessage } from './worker-job.ts';
import { importEntryFunction, type WorkerEntryData } from './worker-module.ts';

const data = workerData as WorkerEntryData;
const port = parentPort!;
const controller = new AbortController();
port.on('message', (m: { kind: string }) => {
  if (m.kind === 'cancel') controller.abort();
});

const post = (message: WorkerMessage<unknown>) => port.postMessage(message);

let result: Result<unknown>;
try {
  const job = (await importEntryFunction(data, 'job')) as JobFunction<unknown, unknown>;
  result = await job(data.input, {
    progress: (event) => post({ kind: 'progress', event }),
    signal: controller.signal,
  });
} catch (thrown) {
  result = { ok: false, error: toError(thrown) };
}
post({ kind: 'result', result });
port.close();
