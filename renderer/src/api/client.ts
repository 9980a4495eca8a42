/**
 * The renderer's one way to reach the app: the contract's calls and events (shared/api/contract.ts)
 * over whichever transport this window has — Electron's preload bridge (`window.wsep`) when present,
 * else HTTP + WebSocket to the server mode that served the page. Pages and stores see only
 * `ApiClient`: a typed `call` that answers with a Result (a failure is a value, never a throw) and
 * an event stream. Tests fake the `Transport` below, the boundary where the wire begins.
 */
import {
  API_CALL_PATH,
  API_EVENTS_PATH,
  TOKEN_HEADER,
  TOKEN_QUERY,
  type ApiAnswer,
  type ApiArgs,
  type ApiEvent,
  type ApiMethod,
  type ApiRequest,
  type ApiResponse,
  type WsepBridge,
  type WsepError,
} from '../../../shared/api/contract.ts';

export type * from '../../../shared/api/contract.ts';

/** A call's outcome, as the engine's Result: the value, or the error as the engine words it. */
export type CallResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WsepError };

/** 'open': events flow; 'connecting': (re)connecting; 'closed': no events until it reconnects. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The wire: one request/response exchange per call, and a stream of events with its state. */
export interface Transport {
  /** Sends one call; rejects only when the request could not travel (the app is gone). */
  send(request: ApiRequest): Promise<ApiResponse>;
  /** Starts listening; returns the function that stops it. */
  listen(onEvent: (event: ApiEvent) => void, onState: (state: ConnectionState) => void): () => void;
}

export interface ApiClient {
  call<K extends ApiMethod>(method: K, ...args: ApiArgs<K>): Promise<CallResult<ApiAnswer<K>>>;
  /** Every event the app pushes; returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /** The event stream's state changes; the listener gets the current state at once. */
  onState(listener: (state: ConnectionState) => void): () => void;
  /** Stops listening for events (tests, and a window being closed). */
  close(): void;
}

/** A failure made here, when the call never got an answer from the app. */
export function unreachable(why: string): WsepError {
  return {
    code: 'E_IO',
    message: `The app did not answer: ${why}`,
    hint: 'Is `wsep app` still running? Reload the page once it is.',
  };
}

function isApiResponse(value: unknown): value is ApiResponse {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; error?: unknown };
  if (v.ok === true) return 'value' in v;
  return v.ok === false && typeof v.error === 'object' && v.error !== null;
}

export function createClient(transport: Transport): ApiClient {
  const eventListeners = new Set<(event: ApiEvent) => void>();
  const stateListeners = new Set<(state: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  const stop = transport.listen(
    (event) => {
      for (const listener of [...eventListeners]) listener(event);
    },
    (next) => {
      state = next;
      for (const listener of [...stateListeners]) listener(next);
    },
  );
  return {
    async call<K extends ApiMethod>(method: K, ...args: ApiArgs<K>): Promise<CallResult<ApiAnswer<K>>> {
      let response: ApiResponse;
      try {
        response = await transport.send({ method, args });
      } catch (thrown) {
        return { ok: false, error: unreachable(thrown instanceof Error ? thrown.message : String(thrown)) };
      }
      if (!isApiResponse(response))
        return { ok: false, error: unreachable(`a malformed answer to ${method}`) };
      // The contract types the answer per method; what arrived is the service's own value for it.
      return response.ok ? { ok: true, value: response.value as ApiAnswer<K> } : response;
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      listener(state);
      return () => stateListeners.delete(listener);
    },
    close() {
      stop();
      eventListeners.clear();
      stateListeners.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Electron: the preload's bridge

export function bridgeTransport(bridge: WsepBridge): Transport {
  return {
    send: (request) => bridge.call(request),
    listen(onEvent, onState) {
      const off = bridge.onEvent(onEvent);
      // IPC is up as long as the window is: there is nothing to connect.
      onState('open');
      return off;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Server mode: HTTP POST for calls, a WebSocket for events, the token from the printed URL

/**
 * The token of the URL the server printed: read from `?token=` on the first load, kept for the tab's
 * life in sessionStorage (a reload keeps working) and taken out of the address bar so that it is not
 * copied along with the page's address. The server also sets a cookie on that first load.
 */
export function takeToken(
  location: Location,
  storage: Storage | null,
  history: History | null,
): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get(TOKEN_QUERY);
  if (fromUrl) {
    storage?.setItem('wsep-token', fromUrl);
    url.searchParams.delete(TOKEN_QUERY);
    history?.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage?.getItem('wsep-token') ?? null;
}

export interface ServerTransportOptions {
  /** The page's origin, e.g. http://127.0.0.1:4173. */
  readonly origin: string;
  readonly token: string | null;
  /** Reconnect delays grow from this to 10 s. */
  readonly retryMs?: number;
}

export function serverTransport(options: ServerTransportOptions): Transport {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers[TOKEN_HEADER] = options.token;
  const firstRetry = options.retryMs ?? 500;
  return {
    async send(request) {
      const response = await fetch(new URL(API_CALL_PATH, options.origin), {
        method: 'POST',
        headers,
        body: JSON.stringify(request),
        credentials: 'same-origin',
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (isApiResponse(body)) return body;
      const refused = response.status === 401 || response.status === 403;
      return {
        ok: false,
        error: refused
          ? {
              code: 'E_USAGE',
              message: `The app refused the request (HTTP ${response.status}): this page has no valid token.`,
              hint: 'Open the URL that `wsep app` printed, with its ?token=…',
            }
          : unreachable(`HTTP ${response.status} ${text.slice(0, 200)}`),
      };
    },
    listen(onEvent, onState) {
      let socket: WebSocket | null = null;
      let stopped = false;
      let delay = firstRetry;
      let timer: ReturnType<typeof setTimeout> | null = null;
      const connect = (): void => {
        onState('connecting');
        const url = new URL(API_EVENTS_PATH, options.origin);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        if (options.token) url.searchParams.set(TOKEN_QUERY, options.token);
        const ws = new WebSocket(url);
        socket = ws;
        ws.onopen = () => {
          delay = firstRetry;
          onState('open');
        };
        ws.onmessage = (message) => {
          if (typeof message.data !== 'string') return;
          try {
            onEvent(JSON.parse(message.data) as ApiEvent);
          } catch {
            // A message that is not JSON is not an event of the contract: ignore it.
          }
        };
        ws.onclose = () => {
          socket = null;
          if (stopped) return;
          onState('closed');
          timer = setTimeout(connect, delay);
          delay = Math.min(delay * 2, 10_000);
        };
      };
      connect();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        socket?.close();
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// This window's client

declare global {
  interface Window {
    /** Electron's preload bridge (electron/preload.ts); absent in a browser. */
    readonly wsep?: WsepBridge;
  }
}

/** The transport this window has: the preload's bridge in Electron, else the server that served it. */
export function connectClient(): ApiClient {
  if (window.wsep) return createClient(bridgeTransport(window.wsep));
  let storage: Storage | null = null;
  try {
    storage = window.sessionStorage;
  } catch {
    // Storage can be switched off; the cookie the server set still carries the token.
  }
  const token = takeToken(window.location, storage, window.history);
  return createClient(serverTransport({ origin: window.location.origin, token }));
}

let current: ApiClient | null = null;

/** Installs the client that stores use (main.ts at start; unit tests with a faked transport). */
export function setClient(client: ApiClient | null): void {
  current = client;
}

export function useClient(): ApiClient {
  if (!current) throw new Error('No API client: call setClient() before using a store.');
  return current;
}
