/**
 * Electron's main process, kept thin: one window, one instance, the app data folder with the store,
 * and the contract reached over IPC through the same dispatcher as the server mode
 * (shared/api/ipc.ts → dispatch.ts → service.ts). The renderer is served from the privileged
 * `wsep://app/` scheme with a strict Content-Security-Policy; the page gets no Node, no remote content,
 * no new windows and no navigation away, and only its own frame may call the contract.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, Menu, net, protocol, session, shell } from 'electron';
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from '../shared/api/contract.ts';
import { APP_ORIGIN, APP_SCHEME, forwardEvents, ipcCallHandler, isAppPage } from '../shared/api/ipc.ts';
import { contentSecurityPolicy } from '../shared/api/server.ts';
import { createApiService, type ApiService } from '../shared/api/service.ts';
import { userDataDir } from '../shared/fleet/store/paths.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
const RENDERER = join(REPO, 'renderer', 'dist');
const PRELOAD = join(HERE, 'dist', 'preload.cjs');

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

let service: ApiService | null = null;
let window: BrowserWindow | null = null;

/** wsep://app/<path> → a file of renderer/dist (the index for the page's own routes), with the CSP. */
async function serveRenderer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
  let file = join(RENDERER, rel);
  if (file !== RENDERER && !file.startsWith(RENDERER + sep))
    return new Response('Not found', { status: 404 });
  if (!existsSync(file) || !statSync(file).isFile()) file = join(RENDERER, 'index.html');
  const answer = await net.fetch(pathToFileURL(file).href);
  const headers = new Headers(answer.headers);
  headers.set('content-security-policy', contentSecurityPolicy(APP_ORIGIN));
  headers.set('x-content-type-options', 'nosniff');
  return new Response(answer.body, { status: answer.status, headers });
}

function openWindow(): void {
  window = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'WeightSep',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window?.show());
  const stopEvents = forwardEvents(service!, (event) => window?.webContents.send(IPC_EVENT_CHANNEL, event));
  window.on('closed', () => {
    stopEvents();
    window = null;
  });
  void window.loadURL(`${APP_ORIGIN}/index.html`);
}

function harden(): void {
  // No permission (camera, notifications, …) is ever granted to the page.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppPage(url)) event.preventDefault();
    });
    // Links to the web open in the user's browser; the app opens no windows of its own.
    contents.setWindowOpenHandler(({ url }) => {
      if (/^https?:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
}

function menu(): void {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { role: process.platform === 'darwin' ? 'appMenu' : 'fileMenu' },
      { role: 'editMenu' },
      {
        label: 'View',
        submenu: [
          { role: 'reload' },
          { role: 'toggleDevTools' },
          { type: 'separator' },
          { role: 'togglefullscreen' },
        ],
      },
      { role: 'windowMenu' },
    ]),
  );
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (window?.isMinimized()) window.restore();
    window?.focus();
  });
  void app.whenReady().then(() => {
    const created = createApiService({
      dataDir: userDataDir(),
      transport: 'electron',
      version: app.getVersion(),
      pullEverySeconds: 30,
    });
    if (!created.ok) {
      console.error(`WeightSep could not start: ${created.error.message}`);
      app.exit(1);
      return;
    }
    service = created.value;
    const answer = ipcCallHandler(service);
    ipcMain.handle(IPC_CALL_CHANNEL, (event, request: unknown) =>
      answer(event.senderFrame?.url ?? '', request),
    );
    protocol.handle(APP_SCHEME, serveRenderer);
    harden();
    menu();
    openWindow();
  });
  app.on('window-all-closed', () => app.quit());
  // Closing mid-work loses nothing recorded: jobs are cancelled, the store records how they ended.
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing || !service) return;
    closing = true;
    event.preventDefault();
    void service.close().finally(() => app.quit());
  });
}
