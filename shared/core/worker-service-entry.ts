/** The worker side of worker-service.ts: builds the service, then answers calls one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { toError, type Result } from './errors.ts';
import type { ServiceFactory, ServiceReply, ServiceRequest } from './worker-service.ts';
import { importEntryFunction, type WorkerEntryData } from './worker-module.ts';

const data = workerData as WorkerEntryData;
const port = parentPort!;
const post = (message: ServiceReply) => port.postMessage(message);

let service: Record<string, unknown> | undefined;
try {
  const factory = (await importEntryFunction(data, 'service')) as ServiceFactory<unknown>;
  const built = await factory(data.input);
  if (built.ok) service = built.value as Record<string, unknown>;
  else post({ kind: 'failed', error: built.error });
} catch (thrown) {
  post({ kind: 'failed', error: toError(thrown) });
}

if (service) {
  const target = service;
  // Calls run one after another, in the order they arrive: a service holds state (sessions, samplers).
  let queue = Promise.resolve();
  port.on('message', (request: ServiceRequest) => {
    queue = queue.then(async () => {
      try {
        const method = target[request.method];
        if (typeof method !== 'function')
          throw new Error(`The worker service has no method ${request.method}.`);
        const value: unknown = await (method as (...a: unknown[]) => unknown).apply(target, [
          ...request.args,
        ]);
        // A returned Result is unwrapped: its error rejects the call, its value is the answer.
        const result = value as Partial<Result<unknown>> | undefined;
        if (result && typeof result === 'object' && result.ok === false && 'error' in result) {
          post({ kind: 'reply', id: request.id, ok: false, error: result.error! });
        } else if (result && typeof result === 'object' && result.ok === true && 'value' in result) {
          post({ kind: 'reply', id: request.id, ok: true, value: result.value });
        } else post({ kind: 'reply', id: request.id, ok: true, value });
      } catch (thrown) {
        post({ kind: 'reply', id: request.id, ok: false, error: toError(thrown) });
      }
    });
  });
  post({ kind: 'ready' });
} else {
  port.close();
}
