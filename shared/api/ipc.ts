/**
 * The Electron transport's two halves that need no Electron: answering a call that arrived over IPC
 * (the sender checked first: only the app's own page may call) and forwarding the app's events to a
 * window. electron/main.ts wires them to `ipcMain.handle` and `webContents.send`; the contract tests
 * drive them with IPC-shaped (structured-cloned) calls, since the Electron binary cannot run in CI.
 */
import { makeError } from '../core/errors.ts';
import type { ApiEvent, ApiResponse } from './contract.ts';
import { handleApiRequest } from './dispatch.ts';
import type { ApiService } from './service.ts';

/** The origin the Electron window loads the renderer from (electron/main.ts registers the scheme). */
export const APP_SCHEME = 'wsep';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** Whether an IPC call comes from the app's own page (not a frame or a page navigated elsewhere). */
export function isAppPage(senderUrl: string): boolean {
  try {
    const url = new URL(senderUrl);
    return url.protocol === `${APP_SCHEME}:` && url.host === 'app';
  } catch {
    return false;
  }
}

/** The handler of IPC calls: `(sender's URL, the call as received) → the answer to send back`. */
export function ipcCallHandler(
  service: ApiService,
): (senderUrl: string, request: unknown) => Promise<ApiResponse> {
  return async (senderUrl, request) => {
    if (!isAppPage(senderUrl))
      return {
        ok: false,
        error: makeError(
          'E_USAGE',
          `Refused: a call from ${senderUrl || 'an unknown page'}, not the app's page.`,
        ),
      };
    return handleApiRequest(service.api, request);
  };
}

/** Sends every app event to `send` (a window's webContents) until the returned function is called. */
export function forwardEvents(service: ApiService, send: (event: ApiEvent) => void): () => void {
  return service.subscribe(send);
}
