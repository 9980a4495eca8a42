/**
 * Typed calls to a service by method name, whatever carries them: worker threads today
 * (worker-service.ts), the app's IPC and the server mode later. A service's own interface defines its
 * channel map — method name → [argument tuple, answer] — and a client's `call<K>` takes the argument
 * and answer types from that map, so a wrong method name, argument or answer type does not compile
 * (the way Heroic Games Launcher types its Electron IPC channels). Nothing here knows about threads.
 *
 * Over the wire a call is `{ method, args }`, and the answer is the method's value; a method that
 * returns a `Result` answers with its value or fails with its error (see `dispatch`).
 */
import { fail, ok, toError, type Result } from './errors.ts';

/** The answer a caller gets from a method returning `R`: awaited, with a returned Result unwrapped. */
export type Answer<R> = Awaited<R> extends Result<infer T> ? T : Awaited<R>;

/** The names of a service's methods (its function-valued string keys). */
export type MethodName<S> = {
  [K in keyof S]: S[K] extends (...args: never[]) => unknown ? K : never;
}[keyof S] &
  string;

/** A channel map: method name → [argument tuple, answer]. */
export type ChannelMap = { readonly [method: string]: readonly [args: readonly unknown[], answer: unknown] };

/** The channel map of a service interface: each method's parameters and its answer. */
export type ChannelsOf<S> = {
  readonly [K in MethodName<S>]: S[K] extends (...args: infer A extends readonly unknown[]) => infer R
    ? readonly [args: A, answer: Answer<R>]
    : never;
};

/** The arguments of channel `K`. */
export type ChannelArgs<C extends ChannelMap, K extends keyof C> = C[K][0];

/** The answer of channel `K`. */
export type ChannelAnswer<C extends ChannelMap, K extends keyof C> = C[K][1];

/** The channels that take no arguments (e.g. a shutdown method). */
export type NoArgChannel<C extends ChannelMap> = {
  [K in keyof C]: C[K][0] extends readonly [] ? K : never;
}[keyof C] &
  string;

/** The calling side, for any transport: the answer's type comes from the channel map. */
export interface ServiceClient<C extends ChannelMap> {
  /** Calls `method` with `args`; rejects with a WsepFailure when the call fails. */
  call<K extends keyof C & string>(method: K, ...args: ChannelArgs<C, K>): Promise<ChannelAnswer<C, K>>;
}

/** The answering side: one handler per channel, which may answer with a value or a Result of it. */
export type ServiceHandlers<C extends ChannelMap> = {
  readonly [K in keyof C]: (
    ...args: ChannelArgs<C, K>
  ) =>
    | ChannelAnswer<C, K>
    | Result<ChannelAnswer<C, K>>
    | Promise<ChannelAnswer<C, K> | Result<ChannelAnswer<C, K>>>;
};

/**
 * Runs one call against a service object: an unknown method, a throw or a failed Result becomes a
 * failed Result; a returned Result is unwrapped; any other value is the answer. Transports (a worker
 * thread, an IPC handler) call this with what arrived over the wire, which no compiler has checked.
 */
export async function dispatch(
  service: object,
  method: string,
  args: readonly unknown[],
): Promise<Result<unknown>> {
  try {
    // Object.prototype's members (constructor, toString, __proto__…) are not a service's methods.
    const fn = method in Object.prototype ? undefined : (service as Record<string, unknown>)[method];
    if (typeof fn !== 'function')
      return fail('E_INTERNAL', `The service has no method ${method}.`, undefined, { method });
    const value: unknown = await (fn as (...a: unknown[]) => unknown).apply(service, [...args]);
    return isResult(value) ? value : ok(value);
  } catch (thrown) {
    return { ok: false, error: toError(thrown) };
  }
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  return (value.ok === true && 'value' in value) || (value.ok === false && 'error' in value);
}
