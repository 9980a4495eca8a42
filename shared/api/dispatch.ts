/**
 * The one dispatcher both transports share: a call as it arrived over the wire (an HTTP body, an IPC
 * invoke's argument — nothing a compiler has checked) is checked for shape and method name, run
 * against the contract's handlers (core/service-calls.ts `dispatch`), and answered as an ApiResponse.
 */
import { makeError } from '../core/errors.ts';
import { dispatch } from '../core/service-calls.ts';
import { API_METHODS, type ApiResponse } from './contract.ts';
import type { ApiHandlers } from './service.ts';

const METHODS: ReadonlySet<string> = new Set(API_METHODS);

export async function handleApiRequest(api: ApiHandlers, request: unknown): Promise<ApiResponse> {
  if (typeof request !== 'object' || request === null)
    return { ok: false, error: makeError('E_USAGE', 'A call must be an object { method, args }.') };
  const { method, args } = request as { method?: unknown; args?: unknown };
  if (typeof method !== 'string' || !METHODS.has(method))
    return {
      ok: false,
      error: makeError('E_USAGE', `The app has no command ${JSON.stringify(method)}.`, undefined, { method }),
    };
  if (args !== undefined && !Array.isArray(args))
    return { ok: false, error: makeError('E_USAGE', `The arguments of ${method} must be a list.`) };
  return dispatch(api, method, (args as unknown[] | undefined) ?? []);
}
