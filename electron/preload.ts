/**
 * The preload: it exposes the contract and nothing else, as `window.wsep` (contract.ts WsepBridge),
 * over ipcRenderer.invoke. It runs sandboxed with context isolation, so the page never touches
 * ipcRenderer or Node; electron/main.ts checks every call's sender and argument again. Bundled by
 * `npm run build:electron` into electron/dist/preload.cjs (a sandboxed preload cannot import files).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  IPC_CALL_CHANNEL,
  IPC_EVENT_CHANNEL,
  type ApiEvent,
  type ApiRequest,
  type ApiResponse,
  type WsepBridge,
} from '../shared/api/contract.ts';

const bridge: WsepBridge = {
  call(request: ApiRequest): Promise<ApiResponse> {
    // Only the two members travel: nothing else the page put on the object reaches the main process.
    return ipcRenderer.invoke(IPC_CALL_CHANNEL, {
      method: String(request.method),
      args: Array.isArray(request.args) ? [...request.args] : [],
    }) as Promise<ApiResponse>;
  },
  onEvent(listener: (event: ApiEvent) => void): () => void {
    const forward = (_e: IpcRendererEvent, event: ApiEvent) => listener(event);
    ipcRenderer.on(IPC_EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.off(IPC_EVENT_CHANNEL, forward);
    };
  },
};

contextBridge.exposeInMainWorld('wsep', bridge);
