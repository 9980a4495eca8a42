/**
 * The contract's two transports as test clients, so one suite runs over both: IPC-shaped calls (each
 * call and answer structured-cloned, as Electron's IPC does, through the handler electron/main.ts
 * registers) and the real server mode (HTTP calls and the event WebSocket, with the token header).
 */
import WebSocket from 'ws';
import { WsepFailure } from '../core/errors.ts';
import type { ServiceClient } from '../core/service-calls.ts';
import {
  API_CALL_PATH,
  API_EVENTS_PATH,
  TOKEN_HEADER,
  TOKEN_QUERY,
  type ApiChannels,
  type ApiEvent,
  type ApiResponse,
} from './contract.ts';
import { APP_ORIGIN, forwardEvents, ipcCallHandler } from './ipc.ts';
import { startAppServer } from './server.ts';
import type { ApiService } from './service.ts';

export interface TestTransport extends ServiceClient<ApiChannels> {
  readonly name: 'ipc' | 'server';
  /** Every event received so far, in order. */
  readonly events: ApiEvent[];
  /** Resolves with the first event (already received or to come) that `match` accepts. */
  waitFor<E extends ApiEvent>(match: (event: ApiEvent) => event is E, timeoutMs?: number): Promise<E>;
  waitFor(match: (event: ApiEvent) => boolean, timeoutMs?: number): Promise<ApiEvent>;
  close(): Promise<void>;
}

function unwrapResponse(response: ApiResponse): unknown {
  if (response.ok) return response.value;
  throw new WsepFailure(response.error);
}

function eventLog(): Pick<TestTransport, 'events' | 'waitFor'> & { push(event: ApiEvent): void } {
  const events: ApiEvent[] = [];
  const waiters = new Set<(event: ApiEvent) => void>();
  return {
    events,
    push(event) {
      events.push(event);
      for (const w of [...waiters]) w(event);
    },
    waitFor(match: (event: ApiEvent) => boolean, timeoutMs = 60_000): Promise<ApiEvent> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `No matching event within ${timeoutMs} ms; seen: ${events.map((e) => e.type).join(', ')}`,
            ),
          );
        }, timeoutMs);
        const waiter = (event: ApiEvent) => {
          if (!match(event)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(event);
        };
        waiters.add(waiter);
      });
    },
  } as Pick<TestTransport, 'events' | 'waitFor'> & { push(event: ApiEvent): void };
}

/** Calls as Electron's IPC carries them: structured clones both ways, from the app's page. */
export function ipcTransport(service: ApiService): TestTransport {
  const log = eventLog();
  const answer = ipcCallHandler(service);
  const stop = forwardEvents(service, (event) => log.push(structuredClone(event)));
  return {
    name: 'ipc',
    events: log.events,
    waitFor: log.waitFor,
    async call(method, ...args) {
      const response = await answer(`${APP_ORIGIN}/index.html`, structuredClone({ method, args }));
      return unwrapResponse(structuredClone(response)) as never;
    },
    async close() {
      stop();
    },
  };
}

/** Calls over the real server: POSTs with the token header, events from the WebSocket. */
export async function serverTransport(service: ApiService, rendererDir: string): Promise<TestTransport> {
  const log = eventLog();
  const started = await startAppServer({ service, rendererDir });
  if (!started.ok) throw new WsepFailure(started.error);
  const server = started.value;
  const socket = new WebSocket(
    `ws://127.0.0.1:${server.port}${API_EVENTS_PATH}?${TOKEN_QUERY}=${server.token}`,
  );
  socket.on('message', (data) => log.push(JSON.parse(String(data)) as ApiEvent));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    name: 'server',
    events: log.events,
    waitFor: log.waitFor,
    async call(method, ...args) {
      const response = await fetch(`${server.origin}${API_CALL_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: server.token },
        body: JSON.stringify({ method, args }),
      });
      return unwrapResponse((await response.json()) as ApiResponse) as never;
    },
    async close() {
      socket.terminate();
      await server.close();
    },
  };
}
