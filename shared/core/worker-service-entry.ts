/** The worker side of worker-service.ts: builds the service, then answers calls one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { toError } from './errors.ts';
import { dispatch } from './service-calls.ts';
import type { ServiceFactory, ServiceReply, ServiceRequest } from './worker-service.ts';
import { importEntryFunction, type WorkerEntryData } from './worker-module.ts';

const data = workerData as WorkerEntryData;
const port = parentPort!;
const post = (message: ServiceReply) => port.postMessage(message);

let service: object | undefined;
try {
  const factory = (await importEntryFunction(data, 'service')) as ServiceFactory<unknown>;
  const built = await factory(data.input);
  if (built.ok) service = built.value;
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
      const answer = await dispatch(target, request.method, request.args);
      post(
        answer.ok
          ? { kind: 'reply', id: request.id, ok: true, value: answer.value }
          : { kind: 'reply', id: request.id, ok: false, error: answer.error },
      );
    });
  });
  post({ kind: 'ready' });
} else {
  port.close();
}
