/**
 * The server mode (`wsep app`): Node's http serves the built renderer and the contract — calls as
 * HTTP POSTs to /api/call, events over a WebSocket at /api/events — on 127.0.0.1 only.
 *
 * Every request must carry the random token of the URL the app prints: as `?token=` (the first load:
 * the answer sets it as a SameSite=Strict, HttpOnly cookie and redirects to the same page without
 * it, so it leaves the address bar and the history), as the cookie, or as the `x-wsep-token` header.
 * A request whose Host is not this server's loopback address, or whose Origin is another site's, is
 * refused before anything else: a web page elsewhere (or a DNS-rebinding name) cannot reach the
 * fleet through the user's browser.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { fail, makeError, ok, type Result } from '../core/errors.ts';
import {
  API_CALL_PATH,
  API_EVENTS_PATH,
  TOKEN_COOKIE,
  TOKEN_HEADER,
  TOKEN_QUERY,
  type ApiResponse,
} from './contract.ts';
import { handleApiRequest } from './dispatch.ts';
import type { ApiService } from './service.ts';

/** The only address the server listens on. */
export const LOOPBACK = '127.0.0.1';
/** Calls larger than this are refused (a register form or a rollout request is a few hundred bytes). */
export const MAX_CALL_BYTES = 1 << 20;

export interface AppServerOptions {
  readonly service: ApiService;
  /** Default 0: any free port. */
  readonly port?: number;
  /** The built renderer (renderer/dist); a page saying how to build it is served when it is missing. */
  readonly rendererDir: string;
  /** Default: 32 random bytes, base64url. */
  readonly token?: string;
}

export interface AppServer {
  /** The URL to open, with the token. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** The Content-Security-Policy of every page: this origin's scripts only, no plugins, no frames. */
export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Vue and ECharts set style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

type Refusal = { readonly status: 401 | 403; readonly message: string };

/** Why a request is refused (Host, Origin, token), or null when it may go on. */
function refusal(req: IncomingMessage, url: URL, port: number, token: string): Refusal | null {
  const hosts = [`${LOOPBACK}:${port}`, `localhost:${port}`];
  if (!hosts.includes(req.headers.host ?? ''))
    return { status: 403, message: `Refused: the Host header must be ${hosts[0]}.` };
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.some((h) => origin === `http://${h}`))
    return { status: 403, message: `Refused: requests from ${origin} are not allowed.` };
  const given =
    url.searchParams.get(TOKEN_QUERY) ?? headerText(req, TOKEN_HEADER) ?? cookieOf(req, TOKEN_COOKIE);
  if (given === undefined || !sameText(given, token))
    return {
      status: 401,
      message:
        'Refused: this request carries no valid app token. Open the URL the app printed (with ?token=…).',
    };
  return null;
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** The refusal as a page, for a browser that opened the app without its token (the message names an Origin, so it is escaped). */
function refusalPage(r: Refusal): string {
  const message = r.message.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WeightSep: refused</title>
<style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:40rem;color:#1b2430}h1{font-size:1.3rem}</style>
</head><body><h1>WeightSep refused this request</h1><p>${message}</p>
<p>The app prints its address with this run's token when it starts (<code>wsep app</code> or <code>npm start</code>); open that address.</p></body></html>`;
}

function refuse(req: IncomingMessage, url: URL, res: ServerResponse, r: Refusal): void {
  const wantsPage = !url.pathname.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html');
  if (!wantsPage) {
    sendJson(res, r.status, { ok: false, error: makeError('E_USAGE', r.message) } satisfies ApiResponse);
    return;
  }
  res.writeHead(r.status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(refusalPage(r));
}

function readBody(req: IncomingMessage): Promise<Result<string>> {
  return new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CALL_BYTES) tooBig = true;
      else chunks.push(chunk);
    });
    req.on('end', () =>
      resolveBody(
        tooBig
          ? fail('E_USAGE', `A call may be at most ${MAX_CALL_BYTES} bytes.`)
          : ok(Buffer.concat(chunks).toString('utf8')),
      ),
    );
    req.on('error', (e) => resolveBody(fail('E_IO', `The call could not be read: ${e.message}`)));
  });
}

async function answerCall(service: ApiService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    sendJson(res, 405, { ok: false, error: makeError('E_USAGE', 'Calls are POSTed.') });
    return;
  }
  // A JSON content type makes a cross-site form post impossible without a CORS preflight we never answer.
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    sendJson(res, 415, { ok: false, error: makeError('E_USAGE', 'Calls are JSON (application/json).') });
    return;
  }
  const body = await readBody(req);
  if (!body.ok) {
    sendJson(res, 413, body);
    return;
  }
  let request: unknown;
  try {
    request = JSON.parse(body.value);
  } catch {
    sendJson(res, 400, { ok: false, error: makeError('E_USAGE', 'The call is not valid JSON.') });
    return;
  }
  sendJson(res, 200, await handleApiRequest(service.api, request));
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>WeightSep</title>
<p>The app's pages are not built yet. Run <code>npm run build:renderer</code>, then reload.</p>`;

function serveFile(rendererDir: string, url: URL, origin: string, res: ServerResponse): void {
  const root = resolve(rendererDir);
  let rel: string;
  try {
    rel = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
  } catch {
    sendJson(res, 400, { ok: false, error: makeError('E_USAGE', 'The path is not valid.') });
    return;
  }
  let file = join(root, rel);
  if (file !== root && !file.startsWith(root + sep)) {
    sendJson(res, 404, { ok: false, error: makeError('E_NOT_FOUND', 'No such page.') });
    return;
  }
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  // The renderer routes in the page (history mode): a path that is no file is the app's index.
  if (!isFile(file)) {
    if (extname(rel) !== '' && rel !== '') {
      sendJson(res, 404, { ok: false, error: makeError('E_NOT_FOUND', `No file ${url.pathname}.`) });
      return;
    }
    file = join(root, 'index.html');
  }
  const headers = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': contentSecurityPolicy(origin),
  };
  if (!isFile(file)) {
    res.writeHead(200, { ...headers, 'content-type': TYPES['.html']!, 'cache-control': 'no-store' });
    res.end(NOT_BUILT);
    return;
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'cache-control': extname(file) === '.html' ? 'no-store' : 'max-age=3600',
  });
  res.end(readFileSync(file));
}

/** Starts the server on 127.0.0.1 and answers once it listens. */
export async function startAppServer(options: AppServerOptions): Promise<Result<AppServer>> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const { service } = options;
  let port = 0;
  let origin = '';
  const sockets = new Set<WebSocket>();
  const events = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const refused = refusal(req, url, port, token);
    if (refused) return refuse(req, url, res, refused);
    if (url.pathname === API_CALL_PATH) {
      void answerCall(service, req, res).catch((e: unknown) =>
        sendJson(res, 500, { ok: false, error: makeError('E_INTERNAL', String(e)) }),
      );
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      sendJson(res, 404, { ok: false, error: makeError('E_NOT_FOUND', `No API path ${url.pathname}.`) });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { ok: false, error: makeError('E_USAGE', 'Pages are read with GET.') });
      return;
    }
    if (url.searchParams.has(TOKEN_QUERY)) {
      // First load: keep the token in a cookie, and take it out of the address bar.
      url.searchParams.delete(TOKEN_QUERY);
      res.writeHead(302, {
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
        location: `${url.pathname}${url.search}${url.hash}`,
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
      return;
    }
    serveFile(options.rendererDir, url, origin, res);
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    const refused = refusal(req, url, port, token);
    if (refused || url.pathname !== API_EVENTS_PATH) {
      const status = refused ? refused.status : 404;
      socket.end(
        `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Refused'}\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    events.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const unsubscribe = service.subscribe((event) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      });
      ws.on('close', () => {
        unsubscribe();
        sockets.delete(ws);
      });
      // The renderer only listens; anything it sends is ignored.
      ws.on('message', () => undefined);
    });
  });

  const listening = await new Promise<Result<void>>((resolveListen) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      resolveListen(
        fail(
          'E_IO',
          `The app cannot listen on ${LOOPBACK}:${options.port ?? 0}: ${e.message}`,
          e.code === 'EADDRINUSE' ? 'Another program uses that port: choose another with --port.' : undefined,
        ),
      ),
    );
    server.listen(options.port ?? 0, LOOPBACK, () => resolveListen(ok(undefined)));
  });
  if (!listening.ok) return listening;
  port = (server.address() as AddressInfo).port;
  origin = `http://${LOOPBACK}:${port}`;
  return ok({
    url: `${origin}/?${TOKEN_QUERY}=${token}`,
    origin,
    port,
    token,
    async close() {
      for (const ws of sockets) ws.terminate();
      events.close();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  });
}
