/**
 * A transport for the stores' unit tests: answers each call from a table of handlers (a method with no
 * handler answers E_INTERNAL, as the real service does for an unknown method), records every request,
 * and lets a test push events and connection states. Only the wire is faked: the client, the stores
 * and their logic are the real ones.
 */
import type {
  ApiEvent,
  ApiMethod,
  ApiRequest,
  ApiResponse,
  ConnectionState,
  Transport,
  WsepError,
} from './client.ts';

export type FakeHandler = (...args: never[]) => unknown;

export interface FakeTransport extends Transport {
  readonly requests: ApiRequest[];
  /** Answers `method` with the handler's value; a thrown WsepError-shaped object becomes a failure. */
  answer(method: ApiMethod, handler: FakeHandler): void;
  /** Answers `method` with a failure. */
  refuse(method: ApiMethod, error: WsepError): void;
  emit(event: ApiEvent): void;
  setState(state: ConnectionState): void;
  /** The requests of one method, their arguments. */
  argsOf(method: ApiMethod): (readonly unknown[])[];
}

export function fakeTransport(): FakeTransport {
  const handlers = new Map<string, (args: readonly unknown[]) => ApiResponse>();
  const requests: ApiRequest[] = [];
  let onEvent: ((event: ApiEvent) => void) | null = null;
  let onState: ((state: ConnectionState) => void) | null = null;
  return {
    requests,
    async send(request) {
      requests.push(request);
      const handler = handlers.get(request.method);
      if (!handler)
        return {
          ok: false,
          error: { code: 'E_INTERNAL', message: `The service has no method ${request.method}.` },
        };
      // A JSON round trip, as on the wire: no shared objects between the test and the store.
      return JSON.parse(JSON.stringify(handler(request.args))) as ApiResponse;
    },
    listen(eventListener, stateListener) {
      onEvent = eventListener;
      onState = stateListener;
      stateListener('open');
      return () => {
        onEvent = null;
        onState = null;
      };
    },
    answer(method, handler) {
      handlers.set(method, (args) => ({
        ok: true,
        value: (handler as (...a: unknown[]) => unknown)(...args),
      }));
    },
    refuse(method, error) {
      handlers.set(method, () => ({ ok: false, error }));
    },
    emit(event) {
      onEvent?.(JSON.parse(JSON.stringify(event)) as ApiEvent);
    },
    setState(state) {
      onState?.(state);
    },
    argsOf(method) {
      return requests.filter((r) => r.method === method).map((r) => r.args);
    },
  };
}
